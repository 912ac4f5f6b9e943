// What every analyzer reads: the config set, the service registry built from it, and the line of any field of
// a resource (messages point at the offending field, as istioctl does when it reads files).
import type { ConfigSet } from "../config/config-set.js";
import type { FieldPath } from "../config/errors.js";
import type { ConfigDocument } from "../config/load.js";
import type { Resource } from "../config/types.js";
import type { ServiceRegistry } from "../registry/registry.js";
import type { AnalysisMessage, Origin } from "./messages.js";

export interface AnalysisContext {
  config: ConfigSet;
  registry: ServiceRegistry;
  /** The resource as a message origin, pointing at `path` when given, else at the resource's first line. */
  origin(resource: Resource<string, unknown>, path?: FieldPath): Origin;
}

export type Analyzer = (ctx: AnalysisContext) => AnalysisMessage[];

export function createContext(config: ConfigSet, registry: ServiceRegistry): AnalysisContext {
  const documents = new Map<string, ConfigDocument>();
  for (const d of config.documents) documents.set(`${d.file}:${d.line}`, d);
  return {
    config,
    registry,
    origin(resource, path) {
      const { file, line } = resource.source;
      const doc = path ? documents.get(`${file}:${line}`) : undefined;
      return { kind: resource.kind, namespace: resource.metadata.namespace, name: resource.metadata.name, file, line: doc ? doc.lineOf(path!) : line };
    },
  };
}
