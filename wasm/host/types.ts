// Public types of the proxy-wasm host (the contract the gateway codes against).
import type { MetricsRegistry } from "./metrics.js";
import type { SharedState } from "./shared.js";

/** Lower-case keys, pseudo-headers (:method, :path, :authority, :scheme, :status) included; filters mutate it in place. */
export type HeaderMap = Array<[string, string]>;

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "critical";

/** A plugin/stream property value; encoded as Envoy does (strings raw, integers int64 LE, bools one byte). */
export type PropertyValue = Uint8Array | string | bigint | number | boolean;

export interface HttpCallResponse {
  headers: HeaderMap;
  body: Uint8Array;
  trailers: HeaderMap;
}

export interface HostOptions {
  /** Default: warn and above to console.error. */
  log?(level: LogLevel, message: string, plugin: string): void;
  /** Returned by proxy_get_log_level; messages below it are dropped. Default "info". */
  logLevel?: LogLevel;
  /** Dispatches proxy_http_call to a named cluster. Rejecting delivers on_http_call_response with 0 headers. */
  httpCall?(cluster: string, headers: HeaderMap, body: Uint8Array | null, trailers: HeaderMap, timeoutMs: number): Promise<HttpCallResponse>;
  /** Wall clock in ns; default Date.now()*1e6. */
  now?(): bigint;
  /** Monotonic clock in ns; default performance.now(). */
  monotonicNow?(): bigint;
  /** clear_route_cache is built in (calls stream.onClearRouteCache). */
  foreignFunctions?: Record<string, (args: Uint8Array, stream: StreamHandle | null) => Uint8Array | null>;
  /** Shared across plugins; default a new one per plugin. */
  metrics?: MetricsRegistry;
  /** Shared data (with CAS) and shared queues keyed by vm_id; default a process-wide one. */
  shared?: SharedState;
  /** Plugin-wide extra properties, e.g. "node.id", "node.metadata.X"; path parts joined with ".". */
  properties?: Record<string, PropertyValue>;
}

export interface PluginConfig {
  name: string;
  rootId: string;
  vmId?: string;
  /** Plugin configuration bytes (JSON for our filters). */
  configuration?: string | Uint8Array;
  vmConfiguration?: string | Uint8Array;
  /** Envoy's fail_open: a trapped filter lets the stream continue instead of answering 503. */
  failOpen?: boolean;
}

export interface StreamInfo {
  request?: { id?: string; protocol?: string; time?: Date; scheme?: string; method?: string; path?: string; host?: string; headers?: HeaderMap };
  /** Peer of the downstream connection. */
  source?: { address: string; port: number; principal?: string };
  destination?: { address: string; port: number };
  connection?: {
    id?: number;
    mtls?: boolean;
    requestedServerName?: string;
    tlsVersion?: string;
    uriSanPeerCertificate?: string;
    uriSanLocalCertificate?: string;
    subjectPeerCertificate?: string;
    dnsSanPeerCertificate?: string;
  };
  upstream?: { address?: string; port?: number };
  routeName?: string;
  clusterName?: string;
  /**
   * The route this stream resolves to now, asked at each read so it follows clear_route_cache (the embedder
   * re-resolves after it): its name and its metadata as a serialized envoy.config.core.v3.Metadata. When given,
   * `route_name` / `xds.route_name` / `xds.route_metadata` come from it (else `routeName`); undefined = no route.
   */
  route?: () => RouteProperties | undefined;
  /** Per-stream extras/overrides, keyed by dotted path. */
  properties?: Record<string, PropertyValue>;
  /**
   * Envoy's per-request filter state: one map shared by every plugin stream of the same request. When present,
   * proxy_set_property stores into it and proxy_get_property reads it first, so a later filter sees what an
   * earlier one set (halyard.authz reads halyard.jwt's verified payload). Absent: each stream keeps its own.
   */
  filterState?: Map<string, Uint8Array>;
}

/** What StreamInfo.route reports of the resolved route. */
export interface RouteProperties {
  name: string;
  /** Serialized envoy.config.core.v3.Metadata (absent: the route has none). */
  metadata?: Uint8Array;
}

export type FilterOutcome =
  | { kind: "continue" }
  | { kind: "local_response"; status: number; headers: HeaderMap; body: Uint8Array; details: string; grpcStatus?: number };

export type BodyOutcome = FilterOutcome & { body?: Uint8Array };

export interface ResponseInfo {
  code?: number;
  codeDetails?: string;
  flags?: string[];
  upstreamAddress?: string;
  bytesSent?: number;
}

export interface HttpStream {
  onRequestHeaders(headers: HeaderMap, endOfStream: boolean): Promise<FilterOutcome>;
  onRequestBody(body: Uint8Array, endOfStream: boolean): Promise<BodyOutcome>;
  onRequestTrailers(trailers: HeaderMap): Promise<FilterOutcome>;
  onResponseHeaders(headers: HeaderMap, endOfStream: boolean): Promise<FilterOutcome>;
  onResponseBody(body: Uint8Array, endOfStream: boolean): Promise<BodyOutcome>;
  onResponseTrailers(trailers: HeaderMap): Promise<FilterOutcome>;
  /** What the router did, for response.* properties. The stream may keep `info` itself: do not change it afterwards. */
  setResponseInfo(info: ResponseInfo): void;
  /**
   * The same callbacks as on* (Envoy's decoder/encoder names), for embedders on a hot path: the outcome itself when
   * the filter answers synchronously (the common case: no promise, no microtask), a promise when it paused the stream.
   */
  decodeHeaders(headers: HeaderMap, endOfStream: boolean): FilterOutcome | Promise<FilterOutcome>;
  decodeData(body: Uint8Array, endOfStream: boolean): BodyOutcome | Promise<BodyOutcome>;
  decodeTrailers(trailers: HeaderMap): FilterOutcome | Promise<FilterOutcome>;
  encodeHeaders(headers: HeaderMap, endOfStream: boolean): FilterOutcome | Promise<FilterOutcome>;
  encodeData(body: Uint8Array, endOfStream: boolean): BodyOutcome | Promise<BodyOutcome>;
  encodeTrailers(trailers: HeaderMap): FilterOutcome | Promise<FilterOutcome>;
  onClearRouteCache?: () => void;
  /** proxy_on_done, proxy_on_log, proxy_on_delete; idempotent. */
  done(): void;
  /** close_stream was called by the guest. */
  readonly closed: boolean;
}

/** What a foreign function sees of the calling stream (null when called from the root context). */
export type StreamHandle = HttpStream;
