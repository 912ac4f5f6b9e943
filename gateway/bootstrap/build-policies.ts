// The bootstrap's load balancing, resilience and logging fields -> GatewayConfig: cluster lb_policy and its lb
// configs, circuit breakers, outlier detection, panic threshold, pool idle timeout; route weighted_clusters,
// retry_policy and hash_policy; HCM access_log. Checks what Envoy's config loading checks. Portable.
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import type { Duration } from "@bufbuild/protobuf/wkt";
import type { AccessLog } from "../../gen/envoy/config/accesslog/v3/accesslog_pb.js";
import { Cluster_LbPolicy, type Cluster } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import type { RetryPolicy, RouteAction_HashPolicy, WeightedCluster } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import { FileAccessLogSchema } from "../../gen/envoy/extensions/access_loggers/file/v3/file_pb.js";
import { DEFAULT_CIRCUIT_BREAKERS } from "../clusters.js";
import { DEFAULT_MAGLEV_TABLE_SIZE } from "../lb/maglev.js";
import { DEFAULT_OUTLIER_DETECTION } from "../outlier.js";
import { parseRetryOn, RETRY_ON } from "../retry-policy.js";
import { ProblemError } from "./build.js";
import { problemAt, type FieldPath } from "./errors.js";
import { FILE_LOG_TYPE, PREVIOUS_HOSTS_TYPE, STDERR_LOG_TYPE, STDOUT_LOG_TYPE } from "./supported.js";
import type { AccessLogConfig, ClusterConfig, HashPolicyConfig, LbPolicy, OutlierDetectionConfig, RetryPolicyConfig, WeightedClusterConfig } from "./types.js";

function fail(path: FieldPath, message: string): never {
  throw new ProblemError(problemAt(path, message));
}

function ms(d: Duration | undefined, fallback: number): number {
  return d ? Number(d.seconds) * 1000 + Math.round(d.nanos / 1e6) : fallback;
}

const LB_POLICIES: Partial<Record<Cluster_LbPolicy, LbPolicy>> = {
  [Cluster_LbPolicy.ROUND_ROBIN]: "ROUND_ROBIN",
  [Cluster_LbPolicy.LEAST_REQUEST]: "LEAST_REQUEST",
  [Cluster_LbPolicy.RING_HASH]: "RING_HASH",
  [Cluster_LbPolicy.RANDOM]: "RANDOM",
  [Cluster_LbPolicy.MAGLEV]: "MAGLEV",
};
const LB_CONFIG_POLICY: Record<string, [string, LbPolicy]> = {
  leastRequestLbConfig: ["least_request_lb_config", "LEAST_REQUEST"],
  ringHashLbConfig: ["ring_hash_lb_config", "RING_HASH"],
  maglevLbConfig: ["maglev_lb_config", "MAGLEV"],
};
const MAX_RING_SIZE = 8 * 1024 * 1024;

/** The cluster fields beyond name, type, endpoints and connect_timeout (only those that differ from the defaults). */
export function clusterPolicies(c: Cluster, path: FieldPath): Partial<ClusterConfig> {
  const out: Partial<ClusterConfig> = {};
  const lb = LB_POLICIES[c.lbPolicy];
  if (!lb) fail([...path, "lb_policy"], `${Cluster_LbPolicy[c.lbPolicy] ?? c.lbPolicy} is not supported by halyard gateway`);
  if (lb !== "ROUND_ROBIN") out.lbPolicy = lb;
  const lbc = c.lbConfig;
  if (lbc.case !== undefined) {
    const [field, wants] = LB_CONFIG_POLICY[lbc.case] ?? [lbc.case, undefined];
    const p = [...path, field];
    if (wants !== lb) fail(p, `only valid with lb_policy ${wants ?? "?"} (lb_policy is ${lb})`);
    if (lbc.case === "leastRequestLbConfig" && lbc.value.choiceCount !== undefined) {
      if (lbc.value.choiceCount < 2) fail([...p, "choice_count"], "must be at least 2");
      out.choiceCount = lbc.value.choiceCount;
    } else if (lbc.case === "ringHashLbConfig") {
      const min = Number(lbc.value.minimumRingSize ?? 1024n);
      const max = Number(lbc.value.maximumRingSize ?? BigInt(MAX_RING_SIZE));
      if (min < 1 || min > MAX_RING_SIZE) fail([...p, "minimum_ring_size"], `must be between 1 and ${MAX_RING_SIZE}`);
      if (max < min || max > MAX_RING_SIZE) fail([...p, "maximum_ring_size"], `must be between minimum_ring_size and ${MAX_RING_SIZE}`);
      out.ringSize = { min, max };
    } else if (lbc.case === "maglevLbConfig" && lbc.value.tableSize !== undefined) {
      const size = Number(lbc.value.tableSize);
      if (!isPrime(size) || size > 5_000_011) fail([...p, "table_size"], `${size} is not a prime number up to 5000011`);
      out.maglevTableSize = size;
    }
  }
  if (lb === "MAGLEV") out.maglevTableSize ??= DEFAULT_MAGLEV_TABLE_SIZE;

  const thresholds = c.circuitBreakers?.thresholds ?? [];
  if (thresholds.length > 1) fail([...path, "circuit_breakers", "thresholds"], "one thresholds entry (priority DEFAULT) is supported by halyard gateway");
  const t = thresholds[0];
  if (t) {
    const d = DEFAULT_CIRCUIT_BREAKERS;
    out.circuitBreakers = {
      maxConnections: t.maxConnections ?? d.maxConnections,
      maxPendingRequests: t.maxPendingRequests ?? d.maxPendingRequests,
      maxRequests: t.maxRequests ?? d.maxRequests,
      maxRetries: t.maxRetries ?? d.maxRetries,
    };
    if (out.circuitBreakers.maxConnections < 1) fail([...path, "circuit_breakers", "thresholds", 0, "max_connections"], "must be at least 1");
  }
  if (c.outlierDetection) out.outlierDetection = outlierDetection(c.outlierDetection, [...path, "outlier_detection"]);
  const panic = c.commonLbConfig?.healthyPanicThreshold;
  if (panic) {
    if (!(panic.value >= 0 && panic.value <= 100)) fail([...path, "common_lb_config", "healthy_panic_threshold", "value"], "must be a percentage (0-100)");
    out.healthyPanicThreshold = panic.value;
  }
  const idle = c.commonHttpProtocolOptions?.idleTimeout;
  if (idle) out.idleTimeoutMs = ms(idle, 0);
  return out;
}

function outlierDetection(od: NonNullable<Cluster["outlierDetection"]>, path: FieldPath): OutlierDetectionConfig {
  const d = DEFAULT_OUTLIER_DETECTION;
  const cfg: OutlierDetectionConfig = {
    consecutive5xx: od.consecutive5xx ?? d.consecutive5xx,
    consecutiveGatewayFailure: od.consecutiveGatewayFailure ?? d.consecutiveGatewayFailure,
    enforcingConsecutive5xx: od.enforcingConsecutive5xx ?? d.enforcingConsecutive5xx,
    enforcingConsecutiveGatewayFailure: od.enforcingConsecutiveGatewayFailure ?? d.enforcingConsecutiveGatewayFailure,
    intervalMs: ms(od.interval, d.intervalMs),
    baseEjectionTimeMs: ms(od.baseEjectionTime, d.baseEjectionTimeMs),
    maxEjectionTimeMs: ms(od.maxEjectionTime, d.maxEjectionTimeMs),
    maxEjectionPercent: Math.min(100, od.maxEjectionPercent ?? d.maxEjectionPercent),
    alwaysEjectOneHost: od.alwaysEjectOneHost ?? d.alwaysEjectOneHost,
  };
  if (cfg.enforcingConsecutive5xx > 100) fail([...path, "enforcing_consecutive_5xx"], "must be a percentage (0-100)");
  if (cfg.enforcingConsecutiveGatewayFailure > 100) fail([...path, "enforcing_consecutive_gateway_failure"], "must be a percentage (0-100)");
  if (cfg.intervalMs <= 0) fail([...path, "interval"], "must be greater than 0");
  if (cfg.baseEjectionTimeMs <= 0) fail([...path, "base_ejection_time"], "must be greater than 0");
  return cfg;
}

function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let i = 2; i * i <= n; i++) if (n % i === 0) return false;
  return true;
}

/** weighted_clusters: names must exist (when the cluster set is known); total_weight, if given, is the sum. */
export function weightedClusters(w: WeightedCluster, path: FieldPath, clusters: Set<string> | undefined): WeightedClusterConfig {
  if (w.clusters.length === 0) fail([...path, "clusters"], "at least one cluster is required");
  const entries = w.clusters.map((c, i) => {
    if (!c.name) fail([...path, "clusters", i, "name"], "must not be empty (cluster_header entries are not supported by halyard gateway)");
    if (clusters && !clusters.has(c.name)) fail([...path, "clusters", i, "name"], `unknown cluster "${c.name}"`);
    return { name: c.name, weight: c.weight ?? 0 };
  });
  const sum = entries.reduce((n, c) => n + c.weight, 0);
  if (sum === 0) fail([...path, "clusters"], "the weights must not all be 0");
  if (w.totalWeight !== undefined && w.totalWeight !== sum) fail([...path, "total_weight"], `${w.totalWeight} is not the sum of the cluster weights (${sum})`);
  return { clusters: entries, totalWeight: sum };
}

const RETRY_NAMES = Object.keys(RETRY_ON).join(", ");

export function retryPolicy(p: RetryPolicy, path: FieldPath): RetryPolicyConfig {
  const retryOn = parseRetryOn(p.retryOn, (name) => fail([...path, "retry_on"], `unknown retry condition "${name}" (halyard gateway supports ${RETRY_NAMES})`));
  p.retryHostPredicate.forEach((h, i) => {
    const url = h.configType.case === "typedConfig" ? h.configType.value.typeUrl : "";
    if (url.slice(url.lastIndexOf("/") + 1) !== PREVIOUS_HOSTS_TYPE && h.name !== "envoy.retry_host_predicates.previous_hosts") {
      fail([...path, "retry_host_predicate", i], `only envoy.retry_host_predicates.previous_hosts (${PREVIOUS_HOSTS_TYPE}) is supported by halyard gateway`);
    }
  });
  p.retriableStatusCodes.forEach((c, i) => {
    if (c < 100 || c > 599) fail([...path, "retriable_status_codes", i], `${c} is not an HTTP status code`);
  });
  const base = ms(p.retryBackOff?.baseInterval, 25);
  const max = ms(p.retryBackOff?.maxInterval, base * 10);
  if (base <= 0) fail([...path, "retry_back_off", "base_interval"], "must be greater than 0");
  if (max < base) fail([...path, "retry_back_off", "max_interval"], "must be at least base_interval");
  return {
    retryOn,
    numRetries: p.numRetries ?? 1,
    perTryTimeoutMs: ms(p.perTryTimeout, 0),
    retriableStatusCodes: [...p.retriableStatusCodes],
    previousHosts: p.retryHostPredicate.length > 0,
    hostSelectionMaxAttempts: p.hostSelectionRetryMaxAttempts > 0n ? Number(p.hostSelectionRetryMaxAttempts) : 1,
    backoffBaseMs: base,
    backoffMaxMs: max,
  };
}

export function hashPolicy(h: RouteAction_HashPolicy, path: FieldPath): HashPolicyConfig {
  const s = h.policySpecifier;
  const terminal = h.terminal;
  switch (s.case) {
    case "header":
      if (!s.value.headerName) fail([...path, "header", "header_name"], "must not be empty");
      return { kind: "header", name: s.value.headerName.toLowerCase(), terminal };
    case "cookie":
      if (!s.value.name) fail([...path, "cookie", "name"], "must not be empty");
      return { kind: "cookie", name: s.value.name, path: s.value.path, terminal, ...(s.value.ttl ? { ttlSeconds: Number(s.value.ttl.seconds) } : {}) };
    case "connectionProperties":
      if (!s.value.sourceIp) fail([...path, "connection_properties", "source_ip"], "must be true (the only connection property)");
      return { kind: "source_ip", terminal };
    case "queryParameter":
      if (!s.value.name) fail([...path, "query_parameter", "name"], "must not be empty");
      return { kind: "query_parameter", name: s.value.name, terminal };
    default:
      fail(path, "one of header, cookie, connection_properties or query_parameter is required");
  }
}

export function accessLog(l: AccessLog, path: FieldPath): AccessLogConfig {
  if (l.configType.case !== "typedConfig") fail(path, `typed_config is required (${STDOUT_LOG_TYPE}, ${STDERR_LOG_TYPE} or ${FILE_LOG_TYPE})`);
  const any = l.configType.value;
  const type = any.typeUrl.slice(any.typeUrl.lastIndexOf("/") + 1);
  if (type === STDOUT_LOG_TYPE) return { kind: "stdout" };
  if (type === STDERR_LOG_TYPE) return { kind: "stderr" };
  const file = anyUnpack(any, FileAccessLogSchema);
  if (!file) fail([...path, "typed_config"], `expected ${FILE_LOG_TYPE}`);
  if (!file.path) fail([...path, "typed_config", "path"], "must not be empty");
  return { kind: "file", path: file.path };
}
