// `halyard analyze`'s engine: load and validate files, build the config set and service registry from the
// documents that are valid, and run every analyzer over them.
import { buildConfigSet } from "../config/config-set.js";
import type { ConfigError } from "../config/errors.js";
import { listConfigFiles, type ConfigDocument } from "../config/load.js";
import { loadAndValidate } from "../config/validate.js";
import { buildRegistry, type RegistryOptions } from "../registry/registry.js";
import { conflictingGateways } from "./analyzers/conflicting-gateways.js";
import { destinationHosts } from "./analyzers/destination-hosts.js";
import { destinationRuleHosts } from "./analyzers/destination-rule-hosts.js";
import { destinationSubsets } from "./analyzers/destination-subsets.js";
import { gatewayReferences } from "./analyzers/gateway-references.js";
import { meshGatewayHosts } from "./analyzers/mesh-gateway-hosts.js";
import { unreachableRules } from "./analyzers/unreachable-rules.js";
import { createContext, type Analyzer } from "./context.js";
import { sortAndDedupe, type AnalysisMessage } from "./messages.js";

export const ANALYZERS: readonly Analyzer[] = [
  destinationHosts,
  destinationSubsets,
  gatewayReferences,
  meshGatewayHosts,
  unreachableRules,
  conflictingGateways,
  destinationRuleHosts,
];

export interface AnalysisResult {
  /** Config files read. */
  files: string[];
  documents: ConfigDocument[];
  /** Load and validation errors, then what the registry could not serve; each is an error. */
  errors: ConfigError[];
  /** Analyzer findings on the valid documents, in istioctl's order. */
  messages: AnalysisMessage[];
}

/** Analyzes already-loaded documents; those with validation errors are left out of the analysis. */
export function analyzeDocuments(documents: readonly ConfigDocument[], validationErrors: readonly ConfigError[], options?: RegistryOptions): Omit<AnalysisResult, "files"> {
  const invalid = documentsWithErrors(documents, validationErrors);
  const config = buildConfigSet(documents.filter((d) => !invalid.has(d)));
  const registry = buildRegistry(config, options);
  const ctx = createContext(config, registry);
  return {
    documents: [...documents],
    errors: [...validationErrors, ...registry.issues],
    messages: sortAndDedupe(ANALYZERS.flatMap((analyze) => analyze(ctx))),
  };
}

export async function analyzePaths(paths: readonly string[], options?: RegistryOptions): Promise<AnalysisResult> {
  const { files } = await listConfigFiles(paths);
  const { documents, errors } = await loadAndValidate(paths);
  return { files, ...analyzeDocuments(documents, errors, options) };
}

/**
 * The documents errors are about: in the same file, the last document starting at or before the error's line,
 * if it is the resource the error names (errors about documents that did not load name no loaded document).
 */
function documentsWithErrors(documents: readonly ConfigDocument[], errors: readonly ConfigError[]): Set<ConfigDocument> {
  const out = new Set<ConfigDocument>();
  for (const e of errors) {
    if (!e.kind) continue;
    let owner: ConfigDocument | undefined;
    for (const d of documents) if (d.file === e.file && d.line <= e.line && (!owner || d.line > owner.line)) owner = d;
    if (owner && owner.kind === e.kind && owner.namespace === e.namespace && owner.name === e.name) out.add(owner);
  }
  return out;
}
