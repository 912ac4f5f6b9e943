// `halyard serve -f <file|dir>... [--xds-port 15010] [--http-port 15014] [--host 0.0.0.0] [--ca-port 15012]
// [--workload-cert-ttl 24h] [--state-dir .halyard] [--trust-domain cluster.local] [--wasm-remote[=<url>]]
// [--outbound-traffic-policy ALLOW_ANY|REGISTRY_ONLY]`:
// the control plane. The command needs a SnapshotBuilder (the Istio → xDS translator), or a factory making one
// from the translate options (`--wasm-remote`: proxies fetch halyard.wasm from this HTTP port, by URL and sha256).
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseDuration } from "../ca/duration.js";
import { formatError } from "../config/errors.js";
import { DEFAULT_OUTBOUND_TRAFFIC_MODE, parseOutboundTrafficMode, type OutboundTrafficMode } from "../translate/outbound-policy.js";
import { serve, ServeConfigError, type SnapshotBuilder } from "../serve.js";
import { WASM_HTTP_PATH } from "../serve-wasm.js";
import type { CommandModule } from "./commands.js";
import { cliArgs } from "./args.js";

const USAGE =
  "usage: halyard serve -f <file|dir> [-f <file|dir>]... [--xds-port 15010] [--http-port 15014] [--host 0.0.0.0]" +
  " [--ca-port 15012] [--workload-cert-ttl 24h] [--state-dir .halyard] [--trust-domain cluster.local] [--wasm-remote[=<url>]]" +
  " [--outbound-traffic-policy ALLOW_ANY|REGISTRY_ONLY]";

/** The module `--wasm-remote` serves: the one `node scripts/build.js wasm` builds. */
const WASM_FILE = fileURLToPath(new URL("../../../wasm/build/halyard.wasm", import.meta.url));

/** What the translator is told when proxies fetch halyard.wasm from this control plane. */
export interface ServeTranslateOptions {
  wasm?: { kind: "remote"; url: string; sha256: string };
  /** `--outbound-traffic-policy`: the mesh default for sidecars no Sidecar resource sets one for. */
  outboundTrafficPolicy?: OutboundTrafficMode;
  /** `--trust-domain`: SPIFFE ids in upstream SAN checks and the authz filter's trust domain. */
  security?: { trustDomain: string };
}
export type ServeBuilderFactory = (options: ServeTranslateOptions) => SnapshotBuilder;

export interface ServeArgs {
  paths: string[];
  xdsPort: number;
  httpPort: number;
  host: string;
  caPort: number;
  workloadCertTtlMs: number;
  stateDir: string;
  trustDomain: string;
  /**
   * `--wasm-remote`: serve halyard.wasm at /wasm/halyard.wasm and point proxies there (true: at the --host and
   * --http-port address; a string: that URL, for when --host is 0.0.0.0 or proxies see another address).
   */
  wasmRemote?: true | string;
  /** MeshConfig outboundTrafficPolicy.mode (default ALLOW_ANY, as Istio). */
  outboundTrafficPolicy: OutboundTrafficMode;
}

export function parseServeArgs(argv: readonly string[]): ServeArgs | { error: string } {
  const args: ServeArgs = {
    paths: [],
    xdsPort: 15010,
    httpPort: 15014,
    host: "0.0.0.0",
    caPort: 15012,
    workloadCertTtlMs: 24 * 3_600_000,
    stateDir: resolve(".halyard"),
    trustDomain: "cluster.local",
    outboundTrafficPolicy: DEFAULT_OUTBOUND_TRAFFIC_MODE,
  };
  let takingPaths = false;
  for (const { arg, flag, inline, value } of cliArgs(argv)) {
    const port = () => {
      const v = value();
      const n = Number(v);
      if (!/^\d+$/.test(v) || n > 65535) throw new Error(`${flag}: "${v}" is not a port number (0-65535)`);
      return n;
    };
    const duration = () => {
      const v = value();
      const ms = parseDuration(v);
      if (ms === undefined) throw new Error(`${flag}: "${v}" is not a duration such as 24h, 90m or 3600s`);
      return ms;
    };
    try {
      if (flag === "-f" || flag === "--filename") {
        if (inline !== undefined) args.paths.push(inline);
        else takingPaths = true;
      } else if (flag === "--xds-port") (args.xdsPort = port()), (takingPaths = false);
      else if (flag === "--http-port") (args.httpPort = port()), (takingPaths = false);
      else if (flag === "--host") (args.host = value()), (takingPaths = false);
      else if (flag === "--ca-port") (args.caPort = port()), (takingPaths = false);
      else if (flag === "--workload-cert-ttl") (args.workloadCertTtlMs = duration()), (takingPaths = false);
      else if (flag === "--state-dir") (args.stateDir = resolve(value())), (takingPaths = false);
      else if (flag === "--trust-domain") (args.trustDomain = value()), (takingPaths = false);
      else if (flag === "--outbound-traffic-policy") (args.outboundTrafficPolicy = parseOutboundTrafficMode(value(), flag)), (takingPaths = false);
      else if (flag === "--wasm-remote") (args.wasmRemote = inline === undefined ? true : wasmUrl(inline)), (takingPaths = false);
      else if (flag === "-h" || flag === "--help") return { error: USAGE };
      else if (arg.startsWith("-")) return { error: `unknown option ${arg}; ${USAGE}` };
      else if (takingPaths) args.paths.push(arg);
      else return { error: `unexpected argument ${JSON.stringify(arg)}; ${USAGE}` };
    } catch (e) {
      return { error: `${(e as Error).message}; ${USAGE}` };
    }
  }
  if (args.paths.length === 0) return { error: `no config given (-f); ${USAGE}` };
  return args;
}

function wasmUrl(v: string): string {
  let url: URL | undefined;
  try {
    url = new URL(v);
  } catch {
    url = undefined;
  }
  if (!url || url.protocol !== "http:") throw new Error(`--wasm-remote: "${v}" is not an http:// URL (e.g. http://10.0.0.5:15014${WASM_HTTP_PATH})`);
  return v;
}

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The `serve` command serving what `builder` makes of the config. Runs until SIGINT or SIGTERM. */
export function createServeCommand(builder: SnapshotBuilder | ServeBuilderFactory): CommandModule {
  return {
    async run(argv) {
      const args = parseServeArgs(argv);
      if ("error" in args) {
        process.stderr.write(`halyard serve: ${args.error}\n`);
        return 1;
      }
      let plane;
      try {
        plane = await serve({
          paths: args.paths,
          builder: (served) => {
            if (typeof builder !== "function") return builder;
            return builder({
              ...(args.wasmRemote && served.wasm ? { wasm: { kind: "remote" as const, ...served.wasm } } : {}),
              outboundTrafficPolicy: args.outboundTrafficPolicy,
              security: { trustDomain: args.trustDomain },
            });
          },
          ...(args.wasmRemote ? { wasm: { file: WASM_FILE, ...(typeof args.wasmRemote === "string" ? { url: args.wasmRemote } : {}) } } : {}),
          host: args.host,
          xdsPort: args.xdsPort,
          httpPort: args.httpPort,
          ca: { port: args.caPort, stateDir: args.stateDir, workloadCertTtlMs: args.workloadCertTtlMs, trustDomain: args.trustDomain },
        });
      } catch (e) {
        if (e instanceof ServeConfigError) {
          process.stderr.write(e.errors.map((x) => formatError(x) + "\n").join(""));
          return 1;
        }
        process.stderr.write(`halyard serve: ${e instanceof Error ? e.message : String(e)}\n`);
        return 1;
      }
      process.stdout.write(`xds grpc on ${hostPort(plane.xds.host, plane.xds.port)}\n`);
      process.stdout.write(`http on http://${hostPort(plane.http.host, plane.http.port)} (REST xDS /v3/discovery:*, /debug/configz, /debug/syncz, /healthz/ready, /ca/root-cert.pem)\n`);
      if (plane.wasm) process.stdout.write(`wasm ${plane.wasm.url} (sha256 ${plane.wasm.sha256})\n`);
      if (plane.ca) process.stdout.write(`ca grpc+tls on ${hostPort(plane.ca.host, plane.ca.port)} (istio.v1.auth.IstioCertificateService)\n`);
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once("SIGINT", () => resolve("SIGINT"));
        process.once("SIGTERM", () => resolve("SIGTERM"));
      });
      process.stdout.write(`${signal}: shutting down\n`);
      await plane.close();
      return 0;
    },
  };
}
