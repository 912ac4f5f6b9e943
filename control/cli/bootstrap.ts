// `halyard bootstrap --node <id> --xds <host:port> [--wasm <path>] [--label k=v]... [--sds-socket <path>] [-o json|yaml]`:
// the Envoy v3 bootstrap (canonical proto3 JSON) that connects a proxy to `halyard serve` over ADS; with
// --sds-socket, the workload certificate comes from `halyard agent` on that Unix socket.
import { toJson } from "@bufbuild/protobuf";
import { stringify } from "yaml";
import { BootstrapSchema } from "../../gen/envoy/config/bootstrap/v3/bootstrap_pb.js";
import { registry as protoRegistry } from "../../gen/registry.js";
import { buildBootstrap, parseHostPort, type BootstrapOptions } from "../translate/xds/bootstrap.js";
import type { Output } from "./proxy-config.js";
import { cliArgs, keyValue } from "./args.js";

const USAGE = "usage: halyard bootstrap --node <id> --xds <host:port> [--wasm <path>] [--label k=v]... [--sds-socket <path>] [-o json|yaml]";

export function parseBootstrapArgs(argv: readonly string[]): (BootstrapOptions & { output: "json" | "yaml" }) | { error: string } {
  let nodeId = "";
  let xds: BootstrapOptions["xds"] | undefined;
  let wasmPath: string | undefined;
  let sdsSocket: string | undefined;
  let output: "json" | "yaml" = "json";
  const labels: Record<string, string> = {};
  try {
    for (const { arg, flag, value } of cliArgs(argv)) {
      if (flag === "--node") nodeId = value();
      else if (flag === "--xds") xds = parseHostPort(value(), "--xds");
      else if (flag === "--wasm") wasmPath = value();
      else if (flag === "--sds-socket") sdsSocket = value();
      else if (flag === "--label") {
        const [k, v] = keyValue(flag, value());
        labels[k] = v;
      } else if (flag === "-o" || flag === "--output") {
        const o = value();
        if (o !== "json" && o !== "yaml") throw new Error(`-o: "${o}" is not one of json, yaml`);
        output = o;
      } else if (flag === "-h" || flag === "--help") return { error: USAGE };
      else return { error: `${arg.startsWith("-") ? "unknown option" : "unexpected argument"} ${JSON.stringify(arg)}; ${USAGE}` };
    }
  } catch (e) {
    return { error: `${(e as Error).message}; ${USAGE}` };
  }
  if (!nodeId) return { error: `--node is required; ${USAGE}` };
  if (!xds) return { error: `--xds is required; ${USAGE}` };
  return { nodeId, xds, output, labels, ...(wasmPath ? { wasmPath } : {}), ...(sdsSocket ? { sdsSocket } : {}) };
}

export async function runBootstrap(argv: string[], io: Output): Promise<number> {
  const args = parseBootstrapArgs(argv);
  if ("error" in args) {
    io.err(`halyard bootstrap: ${args.error}\n`);
    return 1;
  }
  let bootstrap;
  try {
    bootstrap = buildBootstrap(args);
  } catch (e) {
    io.err(`halyard bootstrap: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  const json = toJson(BootstrapSchema, bootstrap, { registry: protoRegistry });
  io.out(args.output === "yaml" ? stringify(json) : `${JSON.stringify(json, null, 2)}\n`);
  return 0;
}

export function run(argv: string[]): Promise<number> {
  return runBootstrap(argv, { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) });
}
