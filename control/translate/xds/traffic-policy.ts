// A DestinationRule's traffic policy for one cluster, merged as Istio merges it (MergeTrafficPolicy): the top
// level's own port-level settings first, then the subset's fields replace the top level's one by one, then the
// subset's port-level settings (which replace connectionPool, loadBalancer, outlierDetection and tls outright,
// defaults included, as Istio's docs say). Then each part as the Envoy cluster fields Istio writes.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Cluster_CommonLbConfigSchema, Cluster_LbPolicy, type ClusterSchema } from "../../../gen/envoy/config/cluster/v3/cluster_pb.js";
import type { RouteAction_HashPolicySchema } from "../../../gen/envoy/config/route/v3/route_components_pb.js";
import type { ClientTLSSettings, ConnectionPoolSettings, LoadBalancerSettings, OutlierDetection, TrafficPolicy } from "../../config/types.js";
import { DEFAULT_CONNECT_TIMEOUT_MS, durationFromMs, istioDuration, MAX_UINT32, TranslateError } from "./common.js";

type ClusterInit = MessageInitShape<typeof ClusterSchema>;
type HashPolicyInit = MessageInitShape<typeof RouteAction_HashPolicySchema>;

/** The parts of a traffic policy that apply to one port of one cluster. */
export interface PortPolicy {
  loadBalancer?: LoadBalancerSettings;
  connectionPool?: ConnectionPoolSettings;
  outlierDetection?: OutlierDetection;
  tls?: ClientTLSSettings;
}

const PORT_REPLACED = ["connectionPool", "loadBalancer", "outlierDetection", "tls"] as const;

function pick(policy: PortPolicy): PortPolicy {
  const out: PortPolicy = {};
  for (const f of PORT_REPLACED) if (policy[f] !== undefined) (out as Record<string, unknown>)[f] = policy[f];
  return out;
}

function applyPortLevel(policy: TrafficPolicy, port: number): PortPolicy {
  const level = (policy.portLevelSettings ?? []).find((p) => p.port?.number === port);
  return level ? replacedBy(level) : pick(policy);
}

function replacedBy(level: object): PortPolicy {
  const out: PortPolicy = {};
  for (const f of PORT_REPLACED) (out as Record<string, unknown>)[f] = (level as Record<string, unknown>)[f];
  return out;
}

/** The policy for `port` of a cluster: top level, overridden by the subset's policy (if any). */
export function mergeTrafficPolicy(top: TrafficPolicy | undefined, subset: TrafficPolicy | undefined, port: number): PortPolicy {
  const base = top ? applyPortLevel(top, port) : {};
  if (!subset) return base;
  const level = (subset.portLevelSettings ?? []).find((p) => p.port?.number === port);
  if (level) return replacedBy(level);
  return { ...base, ...pick(subset) };
}

/** Where a policy came from, for error messages: `DestinationRule ns/name: spec.trafficPolicy`. */
export type PolicyWhere = string;

function duration(text: string | undefined, where: PolicyWhere, field: string) {
  try {
    return istioDuration(text, `${where}.${field}`);
  } catch (e) {
    throw new TranslateError((e as Error).message);
  }
}

const SIMPLE_LB: Record<string, Cluster_LbPolicy> = {
  ROUND_ROBIN: Cluster_LbPolicy.ROUND_ROBIN,
  LEAST_REQUEST: Cluster_LbPolicy.LEAST_REQUEST,
  LEAST_CONN: Cluster_LbPolicy.LEAST_REQUEST,
  RANDOM: Cluster_LbPolicy.RANDOM,
};

/** Istio's default ring size when ringHash (or the deprecated minimumRingSize) leaves it unset. */
const DEFAULT_MINIMUM_RING_SIZE = 1024n;

export function isPassthroughLb(lb: LoadBalancerSettings | undefined): boolean {
  return lb?.simple === "PASSTHROUGH";
}

/** lb_policy and its config; Istio's default is LEAST_REQUEST. */
export function applyLoadBalancer(cluster: ClusterInit, lb: LoadBalancerSettings | undefined, where: PolicyWhere): void {
  const hash = lb?.consistentHash;
  if (hash) {
    if (hash.maglev) {
      cluster.lbPolicy = Cluster_LbPolicy.MAGLEV;
      cluster.lbConfig = { case: "maglevLbConfig", value: hash.maglev.tableSize ? { tableSize: BigInt(hash.maglev.tableSize) } : {} };
    } else {
      cluster.lbPolicy = Cluster_LbPolicy.RING_HASH;
      const min = hash.ringHash?.minimumRingSize ?? (hash as { minimumRingSize?: number }).minimumRingSize;
      cluster.lbConfig = { case: "ringHashLbConfig", value: { minimumRingSize: min ? BigInt(min) : DEFAULT_MINIMUM_RING_SIZE } };
    }
    return;
  }
  const simple = lb?.simple ?? "LEAST_REQUEST";
  if (simple === "UNSPECIFIED") {
    cluster.lbPolicy = Cluster_LbPolicy.LEAST_REQUEST;
    return;
  }
  const policy = SIMPLE_LB[simple];
  if (policy === undefined && simple !== "PASSTHROUGH") throw new TranslateError(`${where}.loadBalancer.simple: unsupported load balancer "${simple}"`);
  cluster.lbPolicy = policy ?? Cluster_LbPolicy.CLUSTER_PROVIDED;
}

/** The route's hash policy for a consistentHash load balancer (RDS carries it, the cluster only the ring). */
export function hashPolicies(lb: LoadBalancerSettings | undefined, where: PolicyWhere): HashPolicyInit[] {
  const hash = lb?.consistentHash;
  if (!hash) return [];
  if (hash.httpHeaderName) return [{ policySpecifier: { case: "header", value: { headerName: hash.httpHeaderName } } }];
  if (hash.httpCookie) {
    const c = hash.httpCookie;
    const ttl = duration(c.ttl, where, "loadBalancer.consistentHash.httpCookie.ttl");
    return [{ policySpecifier: { case: "cookie", value: { name: c.name, ...(c.path ? { path: c.path } : {}), ...(ttl ? { ttl } : {}) } } }];
  }
  if (hash.useSourceIp) return [{ policySpecifier: { case: "connectionProperties", value: { sourceIp: true } } }];
  if (hash.httpQueryParameterName) return [{ policySpecifier: { case: "queryParameter", value: { name: hash.httpQueryParameterName } } }];
  return [];
}

export interface ConnectionPoolResult {
  /** For typed_extension_protocol_options' common_http_protocol_options. */
  idleTimeout?: ReturnType<typeof durationFromMs>;
  maxRequestsPerConnection?: number;
}

/** circuit_breakers (Istio's unlimited defaults, overridden by the pool settings) and connect_timeout. */
export function applyConnectionPool(cluster: ClusterInit, pool: ConnectionPoolSettings | undefined, where: PolicyWhere): ConnectionPoolResult {
  const threshold = {
    maxConnections: MAX_UINT32,
    maxPendingRequests: MAX_UINT32,
    maxRequests: MAX_UINT32,
    maxRetries: MAX_UINT32,
    trackRemaining: true,
  };
  cluster.connectTimeout = durationFromMs(DEFAULT_CONNECT_TIMEOUT_MS);
  const out: ConnectionPoolResult = {};
  const http = pool?.http;
  if (http) {
    if (http.http2MaxRequests && http.http2MaxRequests > 0) threshold.maxRequests = http.http2MaxRequests;
    if (http.http1MaxPendingRequests && http.http1MaxPendingRequests > 0) threshold.maxPendingRequests = http.http1MaxPendingRequests;
    if (http.maxRetries && http.maxRetries > 0) threshold.maxRetries = http.maxRetries;
    if (http.maxRequestsPerConnection && http.maxRequestsPerConnection > 0) out.maxRequestsPerConnection = http.maxRequestsPerConnection;
    const idle = duration(http.idleTimeout, where, "connectionPool.http.idleTimeout");
    if (idle) out.idleTimeout = idle;
  }
  const tcp = pool?.tcp;
  if (tcp) {
    const connect = duration(tcp.connectTimeout, where, "connectionPool.tcp.connectTimeout");
    if (connect) cluster.connectTimeout = connect;
    if (tcp.maxConnections && tcp.maxConnections > 0) threshold.maxConnections = tcp.maxConnections;
  }
  cluster.circuitBreakers = { thresholds: [threshold] };
  return out;
}

/**
 * outlier_detection as Istio writes it: success-rate ejection off, each consecutive-error detector enforced at
 * 100% when its threshold is positive; minHealthPercent becomes the panic threshold (0 when unset, so a small
 * service is not sent to ejected hosts).
 */
export function applyOutlierDetection(cluster: ClusterInit, outlier: OutlierDetection | undefined, where: PolicyWhere): void {
  if (!outlier) return;
  const out: NonNullable<ClusterInit["outlierDetection"]> = { enforcingSuccessRate: 0 };
  const legacy = (outlier as { consecutiveErrors?: number }).consecutiveErrors;
  const five = outlier.consecutive5xxErrors ?? legacy;
  if (five !== undefined) {
    out.consecutive5xx = five;
    out.enforcingConsecutive5xx = five > 0 ? 100 : 0;
  }
  if (outlier.consecutiveGatewayErrors !== undefined) {
    out.consecutiveGatewayFailure = outlier.consecutiveGatewayErrors;
    out.enforcingConsecutiveGatewayFailure = outlier.consecutiveGatewayErrors > 0 ? 100 : 0;
  }
  const interval = duration(outlier.interval, where, "outlierDetection.interval");
  if (interval) out.interval = interval;
  const base = duration(outlier.baseEjectionTime, where, "outlierDetection.baseEjectionTime");
  if (base) out.baseEjectionTime = base;
  if (outlier.maxEjectionPercent && outlier.maxEjectionPercent > 0) out.maxEjectionPercent = outlier.maxEjectionPercent;
  cluster.outlierDetection = out;
  cluster.commonLbConfig = create(Cluster_CommonLbConfigSchema, { healthyPanicThreshold: { value: Math.max(0, outlier.minHealthPercent ?? 0) } });
}

/** Istio's DestinationRule localityLbSetting (or the mesh default, enabled). */
export interface LocalityLbSetting {
  enabled?: boolean;
  distribute?: { from?: string; to?: Record<string, number> }[];
  failover?: { from?: string; to?: string }[];
  failoverPriority?: string[];
}

export function localityLbSetting(lb: LoadBalancerSettings | undefined): LocalityLbSetting | undefined {
  const setting = (lb as { localityLbSetting?: LocalityLbSetting } | undefined)?.localityLbSetting;
  if (setting?.enabled === false) return undefined;
  return setting ?? {};
}
