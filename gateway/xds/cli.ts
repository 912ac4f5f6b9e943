// `halyard gateway --xds <host:port> --node <id> [--labels k=v,...]` (or --xds-rest <url> to poll REST-JSON), and
// `halyard gateway -c <bootstrap>` whose bootstrap has dynamic_resources.ads_config: the gateway fed by the control
// plane. Prints one line per listener bound or removed, per (re)connection and per rejected update. Node-only.
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { JsonObject } from "@bufbuild/protobuf";
import type { LogLevel } from "../../wasm/host/index.js";
import type { GatewayConfig, SocketAddr } from "../bootstrap/types.js";
import type { SecretSource } from "../bootstrap/listener-tls.js";
import { AdsClient, type AdsEvent } from "./ads-client.js";
import { DynamicGateway, type ListenerEvent } from "./apply.js";
import { kindOfTypeUrl } from "./convert.js";
import { parseLabels, xdsNode } from "./node-identity.js";
import { RemoteCodeCache } from "./remote-code.js";
import { RestXdsClient, type RestPollEvent } from "./rest-client.js";
import { XdsState } from "./state.js";
import { IDENTITY_USAGE, identityFlagsProblem, parseIdentityFlag, startWorkloadIdentity, type IdentityFlags } from "../identity/identity-flags.js";
import { workloadSecrets } from "../identity/workload-secrets.js";
import type { WorkloadCertificateManager } from "../identity/manager.js";
import {
  DEFAULT_INBOUND_PORT, DEFAULT_OUTBOUND_PORT, isSidecarNode, isUnboundSidecarListener, localizeForSidecar, outboundDispatcher, type SidecarPorts,
} from "./sidecar.js";
import { DEFAULT_OPS, OPS_USAGE, parseOpsFlag, waitForSignal, type OpsFlags } from "../ops-flags.js";
import { fileSecrets } from "../secrets-node.js";

export const XDS_USAGE = `halyard gateway --xds <host:port> [--delta] | --xds-rest <http://host:port>  --node <id> [--labels k=v,...] [--wasm <halyard.wasm>] [--log-level <level>] [sidecar~ nodes: --inbound-port 15006 --outbound-port 15001 --app-port <p>] [${IDENTITY_USAGE}] ${OPS_USAGE}`;
/** Node metadata naming where this proxy has halyard.wasm (control/translate/xds/node.ts reads it). */
const METADATA_WASM_PATH = "HALYARD_WASM_PATH";
/** The halyard.wasm this package builds (dist/gateway/xds/ -> wasm/build/). */
const BUNDLED_WASM = fileURLToPath(new URL("../../../wasm/build/halyard.wasm", import.meta.url));
const LEVELS: LogLevel[] = ["trace", "debug", "info", "warn", "error", "critical"];
/** Reconnect/poll back-off: Envoy's 500 ms base, capped lower than Envoy's 30 s so a gateway is back quickly. */
const BACKOFF = { baseMs: 500, maxMs: 5000 };

type Source = { kind: "grpc"; target: string; delta: boolean } | { kind: "rest"; url: string };

interface XdsArgs {
  source: Source;
  nodeId: string;
  labels?: Record<string, string>;
  wasm: string;
  logLevel?: LogLevel;
  ops: OpsFlags;
  /** Set for a `sidecar~` node: where its loopback listeners are bound and where the app is. */
  sidecar?: SidecarPorts;
  /** --ca and --token-file: SDS `default` / `ROOTCA` from the rotating workload certificate. */
  identity?: IdentityFlags & { ca: string; tokenFile: string };
}

function parseArgs(argv: string[]): XdsArgs | string {
  let target: string | undefined;
  let url: string | undefined;
  let nodeId: string | undefined;
  let labels: Record<string, string> | undefined;
  let logLevel: LogLevel | undefined;
  let wasm = BUNDLED_WASM;
  let delta = false;
  const sidecarFlags: Partial<SidecarPorts> = {};
  const identity: IdentityFlags = {};
  const ops: OpsFlags = { ...DEFAULT_OPS };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const took = parseOpsFlag(argv, i, ops);
    if (typeof took === "string") return took;
    if (took > 0) {
      i += took - 1;
      continue;
    }
    const idTook = parseIdentityFlag(argv, i, identity);
    if (typeof idTook === "string") return idTook;
    if (idTook > 0) {
      i += idTook - 1;
      continue;
    }
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v === "") throw new Error(`${a} needs a value`);
      return v;
    };
    try {
      if (a === "--xds") target = value();
      else if (a === "--xds-rest") url = value();
      else if (a === "--node") nodeId = value();
      else if (a === "--labels") labels = parseLabels(value());
      else if (a === "--wasm") wasm = resolve(value());
      else if (a === "--delta") delta = true;
      else if (a === "--inbound-port") sidecarFlags.inbound = portValue(a, value());
      else if (a === "--outbound-port") sidecarFlags.outbound = portValue(a, value());
      else if (a === "--app-port") sidecarFlags.app = portValue(a, value());
      else if (a === "-l" || a === "--log-level") {
        const v = value() as LogLevel;
        if (!LEVELS.includes(v)) return `unknown log level "${v}"`;
        logLevel = v;
      } else return `unknown argument "${a}"`;
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  }
  if ((target === undefined) === (url === undefined)) return "exactly one of --xds <host:port> or --xds-rest <url> is required";
  if (nodeId === undefined) return "--node <id> is required (e.g. router~10.0.0.1~ingress.istio-system~istio-system.svc.cluster.local)";
  if (target !== undefined && !/^(\[[0-9a-fA-F:.]+\]|[^\s:/\[\]]+):\d{1,5}$/.test(target)) return `--xds: "${target}" is not host:port`;
  if (delta && target === undefined) return "--delta goes with --xds (REST polling is state of the world)";
  if (url !== undefined && !/^https?:\/\/[^\s/]+\/?$/.test(url)) return `--xds-rest: "${url}" is not an http://host:port URL`;
  const identityProblem = identityFlagsProblem(identity);
  if (identityProblem) return identityProblem;
  const sidecar = isSidecarNode(nodeId);
  if (!sidecar && Object.keys(sidecarFlags).length > 0) return `--inbound-port, --outbound-port and --app-port are for sidecar~ nodes, not "${nodeId}"`;
  return {
    source: target !== undefined ? { kind: "grpc", target, delta } : { kind: "rest", url: url! },
    nodeId,
    wasm,
    ops,
    ...(labels ? { labels } : {}),
    ...(logLevel ? { logLevel } : {}),
    ...(identity.ca && identity.tokenFile ? { identity: { ...identity, ca: identity.ca, tokenFile: identity.tokenFile } } : {}),
    ...(sidecar ? { sidecar: { inbound: DEFAULT_INBOUND_PORT, outbound: DEFAULT_OUTBOUND_PORT, ...sidecarFlags } } : {}),
  };
}

function portValue(flag: string, v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new Error(`${flag}: "${v}" is not a port number (0-65535)`);
  return n;
}

/** `halyard gateway --xds ...`. */
export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (typeof args === "string") {
    process.stderr.write(`halyard gateway: ${args}\nusage: ${XDS_USAGE}\n`);
    return 1;
  }
  let node;
  try {
    node = xdsNode({ id: args.nodeId, metadata: { [METADATA_WASM_PATH]: args.wasm }, ...(args.labels ? { labels: args.labels } : {}) }, true);
  } catch (e) {
    process.stderr.write(`halyard gateway: --node: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  const base: GatewayConfig = {
    node: { id: node.id, cluster: node.cluster, metadata: (node.metadata ?? {}) as JsonObject },
    listeners: [],
    clusters: [],
    ads: { cluster: "xds", lds: true, cds: true },
  };
  let manager: WorkloadCertificateManager | undefined;
  if (args.identity) {
    try {
      manager = await startWorkloadIdentity(args.identity, (line) => process.stdout.write(`halyard gateway: ${line}\n`), String(node.metadata?.NAMESPACE ?? ""));
    } catch (e) {
      process.stderr.write(`halyard gateway: ${e instanceof Error ? e.message : String(e)}\n`);
      return 1;
    }
  }
  try {
    return await serveFromControlPlane(base, args.source, node, process.cwd(), args.logLevel, args.ops, args.sidecar, manager);
  } finally {
    manager?.close();
  }
}

/** `halyard gateway -c <bootstrap>` with dynamic_resources: ADS to the first endpoint of the ads_config cluster. */
export async function runWithBootstrap(config: GatewayConfig, file: string, logLevel: LogLevel | undefined, ops: OpsFlags = DEFAULT_OPS): Promise<number> {
  const ads = config.ads!;
  const endpoint = config.clusters.find((c) => c.name === ads.cluster)!.endpoints[0]!;
  const node = xdsNode({ id: config.node.id, cluster: config.node.cluster, metadata: config.node.metadata as JsonObject }, false);
  return serveFromControlPlane(config, { kind: "grpc", target: hostPort(endpoint), delta: ads.delta === true }, node, dirname(resolve(file)), logLevel, ops);
}

async function serveFromControlPlane(
  base: GatewayConfig,
  source: Source,
  node: ReturnType<typeof xdsNode>,
  baseDir: string,
  logLevel: LogLevel | undefined,
  ops: OpsFlags,
  sidecar?: SidecarPorts,
  identity?: WorkloadCertificateManager,
): Promise<number> {
  const out = (line: string) => process.stdout.write(`halyard gateway: ${line}\n`);
  const remoteCode = new RemoteCodeCache();
  const secrets = withIdentity(identity, fileSecrets({ baseDir, ...(ops.secretsDir ? { secretsDir: ops.secretsDir } : {}) }));
  const gateway = new DynamicGateway(base, {
    upstreamSecrets: secrets,
    ...(sidecar ? { unbound: isUnboundSidecarListener, dispatch: outboundDispatcher(sidecar) } : {}),
    ...(logLevel ? { logLevel } : {}),
    ...(ops.accessLog ? { defaultAccessLog: ops.accessLog } : {}),
    remoteCode,
    onListener: (e) => out(describeListener(e)),
  });
  try {
    await gateway.startAdmin();
  } catch (e) {
    process.stderr.write(`halyard gateway: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  if (gateway.adminAddress) out(`admin on http://${hostPort(gateway.adminAddress)}`);
  let applied = 0;
  const state = new XdsState({
    base,
    remoteCode,
    resolvePath: (name) => resolve(baseDir, name),
    secrets,
    apply: async (config) => {
      await gateway.apply(config);
      out(`xds: configuration ${++applied} applied (${config.listeners.length} listeners, ${config.clusters.length} clusters)`);
    },
    log: (line) => out(line),
    ...(sidecar ? { localize: (kind, messages) => localizeForSidecar(kind, messages, sidecar, once(out)) } : {}),
  });
  let client: { close(): void };
  if (source.kind === "grpc") {
    out(`xds: ADS${source.delta ? " (delta)" : ""} to ${source.target} as node "${node.id}"`);
    const verbose = logLevel === "debug" || logLevel === "trace";
    const ads = new AdsClient({
      target: source.target,
      node,
      subscriber: state,
      ...(source.delta ? { delta: state } : {}),
      backoff: BACKOFF,
      onEvent: (e) => {
        if (e.kind !== "acked" || verbose) out(describeAds(e));
      },
    });
    ads.start();
    client = ads;
  } else {
    out(`xds: REST polling of ${source.url} as node "${node.id}"`);
    const rest = new RestXdsClient({ baseUrl: source.url, node, subscriber: state, backoff: BACKOFF, onPoll: (e) => reportPoll(e, out) });
    rest.start();
    client = { close: () => rest.stop() };
  }
  const signal = await waitForSignal(() => void gateway.close());
  out(`${signal}, shutting down (draining for up to ${ops.drainMs} ms)`);
  client.close();
  state.close();
  await gateway.drain(ops.drainMs);
  return 0;
}

function withIdentity(identity: WorkloadCertificateManager | undefined, files: SecretSource): SecretSource {
  return identity ? workloadSecrets(identity, files) : files;
}

/** Says each distinct line once (a chain choice is reported at the first response, not at every push). */
const said = new Set<string>();
function once(out: (line: string) => void): (line: string) => void {
  return (line) => {
    if (said.has(line)) return;
    said.add(line);
    out(line);
  };
}

function describeListener(e: ListenerEvent): string {
  if (e.kind === "removed") return `listener "${e.name}" removed (was on ${e.scheme ?? "http"}://${hostPort(e.address)})`;
  const mapped = e.mapping ? ` (port ${e.mapping.from} mapped to ${e.mapping.to}: ports below 1024 need privileges)` : "";
  return `listener "${e.name}" on ${e.scheme ?? "http"}://${hostPort(e.address)}${mapped}`;
}

function describeAds(e: AdsEvent): string {
  const kind = (typeUrl: string) => kindOfTypeUrl(typeUrl) ?? typeUrl;
  switch (e.kind) {
    case "connected":
      return "xds: connected";
    case "disconnected":
      return `xds: disconnected (${e.reason}); reconnecting in ${e.retryInMs} ms`;
    case "acked":
      return `xds: ACK ${kind(e.typeUrl)} version ${e.version}`;
    case "nacked":
      return `xds: NACK ${kind(e.typeUrl)} version ${e.version}: ${e.error}`;
  }
}

function reportPoll(e: RestPollEvent, out: (line: string) => void): void {
  if (e.status === "error") out(`xds: REST ${e.kind}: ${e.error}`);
  else if (e.status === 200 && !e.accepted) out(`xds: NACK ${e.kind} version ${e.version}: ${e.error}`);
}

function hostPort(a: SocketAddr): string {
  return a.address.includes(":") ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
