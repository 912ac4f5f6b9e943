// `halyard gateway -c <bootstrap.yaml>`: run the data plane from a static Envoy v3 bootstrap, or (--xds, or a
// bootstrap with dynamic_resources) from the control plane: see xds/cli.ts. Node-only.
import type { LogLevel } from "../wasm/host/index.js";
import { BootstrapError } from "./bootstrap/errors.js";
import { loadBootstrapFile } from "./bootstrap/load.js";
import { GatewayStartError, startGateway } from "./gateway.js";
import { DEFAULT_OPS, OPS_USAGE, parseOpsFlag, waitForSignal, type OpsFlags } from "./ops-flags.js";
import { tuneV8ForRequestTraffic } from "./v8-tuning-node.js";

const USAGE = `usage: halyard gateway -c <bootstrap.yaml|json> [--log-level trace|debug|info|warn|error|critical] ${OPS_USAGE}\n       halyard gateway --xds <host:port> --node <id> [--labels k=v,...] ${OPS_USAGE}`;
const LEVELS: LogLevel[] = ["trace", "debug", "info", "warn", "error", "critical"];
const XDS_FLAGS = ["--xds", "--xds-rest", "--node", "--labels", "--wasm", "--delta"];

export async function run(argv: string[]): Promise<number> {
  tuneV8ForRequestTraffic();
  if (argv.some((a) => XDS_FLAGS.includes(a))) return (await import("./xds/cli.js")).run(argv);
  let file: string | undefined;
  let logLevel: LogLevel | undefined;
  const ops: OpsFlags = { ...DEFAULT_OPS };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const took = parseOpsFlag(argv, i, ops);
    if (typeof took === "string") return usageError(took);
    if (took > 0) {
      i += took - 1;
      continue;
    }
    if (a === "-c" || a === "--config-path") file = argv[++i];
    else if (a === "-l" || a === "--log-level") {
      const v = argv[++i] as LogLevel;
      if (!LEVELS.includes(v)) return usageError(`unknown log level "${v ?? ""}"`);
      logLevel = v;
    } else if (a === "-h" || a === "--help") {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    } else return usageError(`unknown argument "${a}"`);
  }
  if (!file) return usageError("missing -c <bootstrap file>");

  let gateway;
  try {
    const config = loadBootstrapFile(file, ops.secretsDir ? { secretsDir: ops.secretsDir } : {});
    if (config.ads) return await (await import("./xds/cli.js")).runWithBootstrap(config, file, logLevel, ops);
    gateway = await startGateway(config, { file, ...(logLevel ? { logLevel } : {}), ...(ops.accessLog ? { defaultAccessLog: ops.accessLog } : {}) });
  } catch (e) {
    if (e instanceof BootstrapError || e instanceof GatewayStartError) {
      process.stderr.write(`halyard gateway: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  // Admin first: scripts (and our tests) treat the last listener line as "ready".
  if (gateway.admin) process.stdout.write(`halyard gateway: admin on http://${hostPort(gateway.admin.address)}\n`);
  for (const l of gateway.listeners) process.stdout.write(`halyard gateway: listener "${l.name}" on ${l.scheme ?? "http"}://${hostPort(l.address)}\n`);

  const running = gateway;
  const signal = await waitForSignal(() => void running.close());
  process.stdout.write(`halyard gateway: ${signal}, shutting down (draining for up to ${ops.drainMs} ms)\n`);
  await running.drain(ops.drainMs);
  return 0;
}

function hostPort(a: { address: string; port: number }): string {
  return a.address.includes(":") ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

function usageError(msg: string): number {
  process.stderr.write(`halyard gateway: ${msg}\n${USAGE}\n`);
  return 1;
}
