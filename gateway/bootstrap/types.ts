// The gateway's own view of a bootstrap: only what halyard implements, already validated. Portable.
import type { ForwardClientCertConfig } from "../xfcc.js";
import type { FieldPath } from "./errors.js";
import type { SecretSource } from "./listener-tls.js";

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface SocketAddr {
  address: string;
  port: number;
}

export interface NodeInfo {
  id: string;
  cluster: string;
  metadata: Record<string, JsonValue>;
}

export interface WasmFilterConfig {
  /** HttpFilter.name, e.g. "envoy.filters.http.wasm". */
  filterName: string;
  name: string;
  rootId: string;
  vmId: string;
  runtime: string;
  /** code.local.filename resolved against the bootstrap's directory. */
  codePath: string;
  /** Where codePath came from, for errors about the file. */
  codeField: FieldPath;
  configuration: string | Uint8Array;
  vmConfiguration: string | Uint8Array;
  failOpen: boolean;
}

export interface RouteMatchConfig {
  kind: "prefix" | "path";
  value: string;
  caseSensitive: boolean;
  /** RouteMatch.headers, all of which must match (e.g. the hash routes matching x-halyard-cluster). */
  headers?: HeaderMatchConfig[];
}

/** One RouteMatch.headers entry: exact string_match or present_match, optionally inverted. Name lower-case. */
export interface HeaderMatchConfig {
  name: string;
  /** Undefined: present_match. */
  exact?: string;
  invert: boolean;
}

export interface WeightedClusterConfig {
  clusters: Array<{ name: string; weight: number }>;
  /** Sum of the weights (or the configured total_weight, which must equal it). */
  totalWeight: number;
}

/** Bits of Envoy's retry_on conditions; see gateway/retry-policy.ts. */
export type RetryOnBits = number;

export interface RetryPolicyConfig {
  retryOn: RetryOnBits;
  numRetries: number;
  /** 0: no per-try timeout. */
  perTryTimeoutMs: number;
  retriableStatusCodes: number[];
  /** envoy.retry_host_predicates.previous_hosts configured. */
  previousHosts: boolean;
  hostSelectionMaxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export type HashPolicyConfig = { terminal: boolean } & (
  | { kind: "header"; name: string }
  | { kind: "cookie"; name: string; ttlSeconds?: number; path: string }
  | { kind: "source_ip" }
  | { kind: "query_parameter"; name: string }
);

export interface RouteActionConfig {
  /** Exactly one of cluster / clusterHeader / weightedClusters is set. */
  cluster?: string;
  clusterHeader?: string;
  weightedClusters?: WeightedClusterConfig;
  /** 0 disables the timeout (Envoy's default is 15 s). */
  timeoutMs: number;
  clusterNotFoundStatus: number;
  /** The route's retry_policy, else the virtual host's. */
  retryPolicy?: RetryPolicyConfig;
  hashPolicy?: HashPolicyConfig[];
}

export interface RouteConfig {
  name: string;
  match: RouteMatchConfig;
  action: RouteActionConfig;
  /** request_headers_to_remove (lower case): dropped by the router before the request goes upstream. */
  requestHeadersToRemove?: string[];
  /** The route's metadata as a serialized envoy.config.core.v3.Metadata (the `xds.route_metadata` property). */
  metadata?: Uint8Array;
}

export interface VirtualHostConfig {
  name: string;
  domains: string[];
  routes: RouteConfig[];
  /** include_request_attempt_count / include_attempt_count_in_response. */
  includeAttemptCount?: boolean;
  /** require_tls ALL: a request whose x-forwarded-proto is not https gets a 301 to https (Envoy's SSL redirect). */
  requireTls?: boolean;
  includeAttemptCountInResponse?: boolean;
}

export interface RouteTableConfig {
  name: string;
  virtualHosts: VirtualHostConfig[];
}

/** One scope of scoped_routes: requests whose scope key equals `key` are routed by `routeConfig`. */
export interface ScopeConfig {
  name: string;
  key: string;
  routeConfig: RouteTableConfig;
}

/** HCM scoped_routes: the scope key is the value of one request header, read when the route is resolved. */
export interface ScopedRoutesConfig {
  name: string;
  /** header_value_extractor.name, lower-case. */
  keyHeader: string;
  scopes: ScopeConfig[];
}

export interface HcmConfig {
  statPrefix: string;
  /** The route table (route_config / rds); empty for scoped_routes, whose tables are per scope. */
  routeConfig: RouteTableConfig;
  scopedRoutes?: ScopedRoutesConfig;
  /** The wasm filters in order; the router is always last and implicit. */
  httpFilters: WasmFilterConfig[];
  useRemoteAddress: boolean;
  accessLogs?: AccessLogConfig[];
  /** codec_type HTTP1: no HTTP/2 (neither the h2c preface nor ALPN h2). Default AUTO. */
  http1Only?: boolean;
  /** internal_address_config.cidr_ranges: downstream addresses whose requests are internal (x-envoy-* kept). */
  internalAddresses?: CidrRangeConfig[];
  /** forward_client_cert_details + set_current_client_cert_details; absent: Envoy's default, SANITIZE. */
  forwardClientCert?: ForwardClientCertConfig;
}

/** Envoy's default text format to stdout/stderr or a file. */
export type AccessLogConfig = { kind: "stdout" } | { kind: "stderr" } | { kind: "file"; path: string };

export interface ListenerConfig {
  name: string;
  address: SocketAddr;
  hcm: HcmConfig;
  /** TLS filter chains; absent: plain text only. */
  tls?: ListenerTlsConfig;
}

/** One TLS filter chain: the certificate it serves and the SNI names that select it. PEM text, already read. */
export interface TlsChainConfig {
  /** The chain's name, else filter_chains[i]. */
  name: string;
  /** filter_chain_match.server_names: exact names or "*.suffix"; empty: the chain for any (or no) SNI. */
  serverNames: string[];
  certificateChain: string;
  privateKey: string;
  /** CA bundle client certificates are verified against (validation context). */
  trustedCa?: string;
  requireClientCertificate: boolean;
  /** alpn_protocols as emitted that the gateway speaks (h2, http/1.1), in order; absent: h2 and http/1.1. */
  alpnProtocols?: string[];
  /** The SDS names the certificate and the CA came from: re-read when the SecretSource's watch fires. */
  certificateSecret?: string;
  trustedCaSecret?: string;
}

export interface ListenerTlsConfig {
  chains: TlsChainConfig[];
  /** A plain-text chain exists too: TLS is told from plain text by the first byte, as tls_inspector does. */
  plaintext: boolean;
  /** Where SDS-named material is re-read from when it changes (its optional `watch`). */
  secrets?: SecretSource;
}

export type LbPolicy = "ROUND_ROBIN" | "LEAST_REQUEST" | "RANDOM" | "RING_HASH" | "MAGLEV";

export interface CircuitBreakerConfig {
  maxConnections: number;
  maxPendingRequests: number;
  maxRequests: number;
  maxRetries: number;
}

export interface OutlierDetectionConfig {
  consecutive5xx: number;
  consecutiveGatewayFailure: number;
  /** Percent chance (0-100) that a detected outlier is really ejected. */
  enforcingConsecutive5xx: number;
  enforcingConsecutiveGatewayFailure: number;
  intervalMs: number;
  baseEjectionTimeMs: number;
  maxEjectionTimeMs: number;
  maxEjectionPercent: number;
  alwaysEjectOneHost: boolean;
}

export interface ClusterConfig {
  name: string;
  connectTimeoutMs: number;
  endpoints: EndpointConfig[];
  /** Defaults: ROUND_ROBIN, Envoy's default thresholds, no outlier detection, 50% panic threshold. */
  lbPolicy?: LbPolicy;
  /** LEAST_REQUEST choice_count (default 2). */
  choiceCount?: number;
  /** RING_HASH minimum_ring_size / maximum_ring_size. */
  ringSize?: { min: number; max: number };
  /** MAGLEV table_size (prime). */
  maglevTableSize?: number;
  circuitBreakers?: CircuitBreakerConfig;
  outlierDetection?: OutlierDetectionConfig;
  healthyPanicThreshold?: number;
  /** Upstream keep-alive pool limits (common_http_protocol_options). */
  idleTimeoutMs?: number;
  /** explicit_http_config.http2_protocol_options: HTTP/2 (h2c, prior knowledge) to the endpoints. */
  http2?: boolean;
  maxRequestsPerConnection?: number;
  /** type ORIGINAL_DST (lb_policy CLUSTER_PROVIDED): hosts made per request from its destination (original-dst.ts). */
  originalDst?: OriginalDstConfig;
  /** transport_socket: TLS to every endpoint no transport_socket_matches entry picks. Absent: plain text. */
  tls?: UpstreamTlsConfig;
  /** transport_socket_matches in order; the first whose `match` the endpoint's metadata satisfies wins. */
  transportSocketMatches?: TransportSocketMatchConfig[];
  /** type STRICT_DNS / LOGICAL_DNS: endpoints are names resolved at run time (gateway/dns-hosts.ts). */
  dns?: DnsClusterConfig;
}

export type DnsLookupFamily = "AUTO" | "V4_ONLY" | "V6_ONLY" | "V4_PREFERRED" | "ALL";

/** How a STRICT_DNS / LOGICAL_DNS cluster resolves its endpoints' names. */
export interface DnsClusterConfig {
  kind: "STRICT_DNS" | "LOGICAL_DNS";
  lookupFamily: DnsLookupFamily;
  refreshRateMs: number;
  respectTtl: boolean;
  /** dns_failure_refresh_rate: backoff after a failed resolution; absent: refreshRateMs. */
  failureRefresh?: { baseMs: number; maxMs: number };
  /** CaresDnsResolverConfig.resolvers ("ip" / "[ip6]" with port); absent: the system resolver (getaddrinfo). */
  resolvers?: SocketAddr[];
}

/** An endpoint: its address, and the metadata transport_socket_matches are matched against. */
export interface EndpointConfig extends SocketAddr {
  /** filter_metadata["envoy.transport_socket_match"] of the LbEndpoint and of its LocalityLbEndpoints. */
  socketMatch?: { endpoint?: Record<string, JsonValue>; locality?: Record<string, JsonValue> };
}

export type TlsVersion = "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";

/** One SAN matcher (match_typed_subject_alt_names; match_subject_alt_names has sanType "ANY"). */
export interface SanMatcherConfig {
  sanType: "DNS" | "URI" | "IP_ADDRESS" | "EMAIL" | "ANY";
  kind: "exact" | "prefix" | "suffix" | "contains";
  value: string;
  ignoreCase: boolean;
}

/** An UpstreamTlsContext. PEM text is read when the config is built; `sds` names a secret that may later change. */
export interface UpstreamTlsConfig {
  /** "" sends no SNI. */
  sni: string;
  alpn: string[];
  certificate?: { certificateChain: string; privateKey: string; sds?: string };
  /** Without it the server's certificate is not verified (Envoy's behaviour without a validation context). */
  trustedCa?: { pem: string; sds?: string };
  /** Empty: any certificate the CA verifies. */
  sans: SanMatcherConfig[];
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
}

export interface TransportSocketMatchConfig {
  name: string;
  match: Record<string, JsonValue>;
  /** undefined: plain text (raw_buffer). */
  tls?: UpstreamTlsConfig;
}

/** dynamic_resources: listeners (lds) and clusters (cds) over one ADS stream to a static cluster's endpoint. */
export interface AdsSourceConfig {
  cluster: string;
  lds: boolean;
  cds: boolean;
  /** api_type DELTA_GRPC: incremental xDS. */
  delta?: boolean;
}

export interface GatewayConfig {
  node: NodeInfo;
  admin?: SocketAddr;
  listeners: ListenerConfig[];
  clusters: ClusterConfig[];
  ads?: AdsSourceConfig;
}

/** An address range (envoy.config.core.v3.CidrRange). */
export interface CidrRangeConfig {
  addressPrefix: string;
  prefixLen: number;
}

/** original_dst_lb_config: the destination may come from a request header (IP:port) instead of the authority. */
export interface OriginalDstConfig {
  /** use_http_header: the header (http_header_name, default x-envoy-original-dst-host); absent: not used. */
  httpHeader?: string;
}
