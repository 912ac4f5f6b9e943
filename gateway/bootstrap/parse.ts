// Bootstrap text -> GatewayConfig, or a BootstrapError whose message is one line naming the file, the line and the
// field path. Portable (the caller supplies path resolution and the file check).
import { BootstrapSchema } from "../../gen/envoy/config/bootstrap/v3/bootstrap_pb.js";
import { registry } from "../../gen/registry.js";
import { buildConfig, ProblemError } from "./build.js";
import { BootstrapError, problemAt } from "./errors.js";
import type { SecretSource } from "./listener-tls.js";
import { decodeJson } from "./proto-json.js";
import { readSource } from "./source.js";
import { findUnsupported } from "./supported.js";
import type { GatewayConfig } from "./types.js";

export interface ParseOptions {
  resolvePath(name: string): string;
  /** Returns why a referenced file (wasm code) cannot be used, or undefined when it is fine. */
  checkFile?(path: string): string | undefined;
  /** Certificates of TLS listeners (files, SDS secrets). */
  secrets?: SecretSource;
}

export function parseBootstrap(file: string, text: string, opts: ParseOptions): GatewayConfig {
  const source = readSource(file, text);
  const decoded = decodeJson(BootstrapSchema, source.json, registry);
  if (!decoded.ok) throw new BootstrapError(source.describe(decoded.problem));
  const unsupported = findUnsupported(BootstrapSchema, source.json, registry);
  if (unsupported) throw new BootstrapError(source.describe(unsupported));
  let config: GatewayConfig;
  try {
    config = buildConfig(decoded.message, opts);
  } catch (e) {
    if (e instanceof ProblemError) throw new BootstrapError(source.describe(e.problem));
    throw e;
  }
  for (const l of config.listeners) {
    for (const f of l.hcm.httpFilters) {
      const why = opts.checkFile?.(f.codePath);
      if (why) throw new BootstrapError(source.describe(problemAt(f.codeField, `${why}: ${f.codePath}`)));
    }
  }
  return config;
}
