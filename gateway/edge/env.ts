// The worker's settings from its environment (wrangler vars / secrets) and what the embedding module bundles.
// Exactly one config source: a snapshot (HALYARD_SNAPSHOT, or one bundled into the worker's own entry module) or
// REST-JSON polling of a control plane (HALYARD_XDS_URL with HALYARD_NODE_ID). Every problem is one line naming the
// variable. Portable.
import type { Node } from "../../gen/envoy/config/core/v3/base_pb.js";
import type { LogLevel } from "../../wasm/host/index.js";
import type { NodeInfo } from "../bootstrap/types.js";
import { edgeNode, parseLabels } from "./node.js";

/** The variables the worker reads; anything else in env is ignored. */
export interface WorkerEnv {
  /** A snapshot as `halyard proxy-config all -o json` prints it: JSON text, or an object (a JSON wrangler var). */
  HALYARD_SNAPSHOT?: unknown;
  /** The control plane's HTTP port (REST-JSON xDS), e.g. http://127.0.0.1:15014. */
  HALYARD_XDS_URL?: unknown;
  /** router~<ip>~<name>.<namespace>~<namespace>.svc.cluster.local; required with HALYARD_XDS_URL. */
  HALYARD_NODE_ID?: unknown;
  /** k=v,k2=v2: the node's LABELS (what Gateway selectors match). */
  HALYARD_LABELS?: unknown;
  /** Least time between two polls, in ms (default 5000). */
  HALYARD_POLL_INTERVAL_MS?: unknown;
  /** The listener every request goes to (default: by the request's port, else the only one). */
  HALYARD_LISTENER?: unknown;
  /** The wasm filters' log level (trace, debug, info, warn, error, critical). */
  HALYARD_LOG_LEVEL?: unknown;
}

export type EdgeSource = { kind: "snapshot"; label: string; value: unknown } | { kind: "rest"; url: string; intervalMs: number };

export interface EdgeSettings {
  source: EdgeSource;
  node: Node;
  nodeInfo: NodeInfo;
  listener?: string;
  logLevel?: LogLevel;
}

export class EnvError extends Error {
  override name = "EnvError";
}

const LEVELS: readonly LogLevel[] = ["trace", "debug", "info", "warn", "error", "critical"];
export const DEFAULT_POLL_INTERVAL_MS = 5000;
const DEFAULT_NODE_ID = "router~127.0.0.1~halyard-worker.default~default.svc.cluster.local";

function text(env: WorkerEnv, key: keyof WorkerEnv): string | undefined {
  const v = env[key];
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") throw new EnvError(`${key}: expected a string, got ${Array.isArray(v) ? "a list" : typeof v}`);
  return v;
}

/** `bundledSnapshot`: a snapshot the worker's entry module imports (see createEdgeWorker). */
export function readSettings(env: WorkerEnv, bundledSnapshot?: unknown): EdgeSettings {
  const envSnapshot = env.HALYARD_SNAPSHOT === undefined || env.HALYARD_SNAPSHOT === "" ? undefined : env.HALYARD_SNAPSHOT;
  const url = text(env, "HALYARD_XDS_URL");
  const sources = [bundledSnapshot !== undefined && "a bundled snapshot", envSnapshot !== undefined && "HALYARD_SNAPSHOT", url !== undefined && "HALYARD_XDS_URL"].filter(Boolean);
  if (sources.length === 0) throw new EnvError("no configuration: set HALYARD_SNAPSHOT (a `halyard proxy-config all -o json` snapshot) or HALYARD_XDS_URL and HALYARD_NODE_ID");
  if (sources.length > 1) throw new EnvError(`${sources.join(" and ")} are both set; give exactly one configuration source`);

  const nodeId = text(env, "HALYARD_NODE_ID");
  const labelsText = text(env, "HALYARD_LABELS");
  const labels = labelsText === undefined ? undefined : parseLabels("HALYARD_LABELS", labelsText);
  let source: EdgeSource;
  if (url !== undefined) {
    if (!/^https?:\/\/[^\s/]+\/?$/.test(url)) throw new EnvError(`HALYARD_XDS_URL: "${url}" is not an http(s)://host[:port] URL`);
    if (nodeId === undefined) throw new EnvError("HALYARD_NODE_ID is required with HALYARD_XDS_URL (e.g. router~10.0.0.1~edge.istio-system~istio-system.svc.cluster.local)");
    source = { kind: "rest", url, intervalMs: pollInterval(env) };
  } else if (bundledSnapshot !== undefined) source = { kind: "snapshot", label: "bundled snapshot", value: bundledSnapshot };
  else source = { kind: "snapshot", label: "HALYARD_SNAPSHOT", value: envSnapshot };

  const { node, info } = edgeNode(nodeId ?? DEFAULT_NODE_ID, labels);
  const listener = text(env, "HALYARD_LISTENER");
  const level = text(env, "HALYARD_LOG_LEVEL");
  if (level !== undefined && !LEVELS.includes(level as LogLevel)) throw new EnvError(`HALYARD_LOG_LEVEL: "${level}" is not one of ${LEVELS.join(", ")}`);
  return {
    source,
    node,
    nodeInfo: info,
    ...(listener !== undefined ? { listener } : {}),
    ...(level !== undefined ? { logLevel: level as LogLevel } : {}),
  };
}

function pollInterval(env: WorkerEnv): number {
  const v = env.HALYARD_POLL_INTERVAL_MS;
  if (v === undefined || v === "") return DEFAULT_POLL_INTERVAL_MS;
  const n = typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 0) throw new EnvError(`HALYARD_POLL_INTERVAL_MS: ${JSON.stringify(v)} is not a whole number of milliseconds`);
  return n;
}
