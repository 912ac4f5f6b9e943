// `halyard agent --node <id> --ca <host:port> --token-file <f> [--sds-socket <path>] [--xds <host:port>] ...`:
// istio-agent's identity half for a real Envoy. It keeps the workload certificate fresh (key generated here, CSR to
// the CA, renewed at half its lifetime) and serves it over SDS on a Unix socket (`default` and `ROOTCA`), which the
// bootstrap from `halyard bootstrap --sds-socket <path>` points Envoy at. It does not proxy xDS: Envoy connects to
// the control plane itself; --xds only supplies the CA address (<xds host>:15012) when --ca is not given.
import { resolve } from "node:path";
import { parseNodeId } from "../../control/registry/node.js";
import { waitForSignal } from "../ops-flags.js";
import { caNextToXds, IDENTITY_USAGE, identityFlagsProblem, parseIdentityFlag, startWorkloadIdentity, type IdentityFlags } from "./identity-flags.js";
import { DEFAULT_SDS_SOCKET, startSdsServer } from "./sds-server.js";

const USAGE = `usage: halyard agent --node <id> ${IDENTITY_USAGE} [--sds-socket ${DEFAULT_SDS_SOCKET}] [--xds <host:port>]`;

export interface AgentArgs {
  nodeId: string;
  namespace: string;
  identity: IdentityFlags & { ca: string; tokenFile: string };
  sdsSocket: string;
}

export function parseAgentArgs(argv: readonly string[]): AgentArgs | { error: string } {
  let nodeId: string | undefined;
  let xds: string | undefined;
  let sdsSocket = DEFAULT_SDS_SOCKET;
  const identity: IdentityFlags = {};
  for (let i = 0; i < argv.length; i++) {
    const took = parseIdentityFlag(argv, i, identity);
    if (typeof took === "string") return { error: `${took}; ${USAGE}` };
    if (took > 0) {
      i += took - 1;
      continue;
    }
    const arg = argv[i]!;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const [flag, inline] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    const value = () => inline ?? argv[++i];
    if (flag === "-h" || flag === "--help") return { error: USAGE };
    if (flag === "--node" || flag === "--xds" || flag === "--sds-socket") {
      const v = value();
      if (!v) return { error: `${flag} needs a value; ${USAGE}` };
      if (flag === "--node") nodeId = v;
      else if (flag === "--xds") xds = v;
      else sdsSocket = v;
    } else return { error: `${arg.startsWith("-") ? "unknown option" : "unexpected argument"} ${JSON.stringify(arg)}; ${USAGE}` };
  }
  if (!nodeId) return { error: `--node is required; ${USAGE}` };
  let namespace: string;
  try {
    namespace = parseNodeId(nodeId).namespace;
  } catch (e) {
    return { error: `--node: ${(e as Error).message}` };
  }
  if (!identity.ca && xds !== undefined) {
    const ca = caNextToXds(xds);
    if (!ca) return { error: `--xds: "${xds}" is not host:port; ${USAGE}` };
    identity.ca = ca;
  }
  if (!identity.ca) return { error: `--ca <host:port> (or --xds, for <xds host>:15012) is required; ${USAGE}` };
  const problem = identityFlagsProblem(identity);
  if (problem) return { error: `${problem}; ${USAGE}` };
  return { nodeId, namespace, identity: identity as AgentArgs["identity"], sdsSocket: resolve(sdsSocket) };
}

export async function run(argv: string[]): Promise<number> {
  const args = parseAgentArgs(argv);
  if ("error" in args) {
    process.stderr.write(`halyard agent: ${args.error}\n`);
    return 1;
  }
  const out = (line: string) => process.stdout.write(`halyard agent: ${line}\n`);
  let manager;
  let sds;
  try {
    manager = await startWorkloadIdentity(args.identity, out, args.namespace);
    sds = await startSdsServer({ socketPath: args.sdsSocket, manager, log: out });
  } catch (e) {
    manager?.close();
    process.stderr.write(`halyard agent: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  out(`sds on unix:${sds.socketPath} (secrets "default" and "ROOTCA" for ${manager.spiffeId})`);
  const signal = await waitForSignal(() => process.exit(1));
  out(`${signal}, shutting down`);
  manager.close();
  await sds.close();
  return 0;
}
