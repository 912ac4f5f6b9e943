// Enumerations of the proxy-wasm ABI v0.2.1 (values as in the spec's "Types" section).

/** proxy_status_t */
export enum WasmResult {
  Ok = 0,
  NotFound = 1,
  BadArgument = 2,
  SerializationFailure = 3,
  ParseFailure = 4,
  InvalidMemoryAccess = 6,
  Empty = 7,
  CasMismatch = 8,
  InternalFailure = 10,
  Unimplemented = 12,
}

/** proxy_action_t, returned by the stream callbacks. */
export enum Action {
  Continue = 0,
  Pause = 1,
}

/** proxy_log_level_t */
export enum LogLevel {
  Trace = 0,
  Debug = 1,
  Info = 2,
  Warn = 3,
  Error = 4,
  Critical = 5,
}

/** proxy_buffer_type_t */
export enum BufferType {
  HttpRequestBody = 0,
  HttpResponseBody = 1,
  DownstreamData = 2,
  UpstreamData = 3,
  HttpCallResponseBody = 4,
  GrpcCallMessage = 5,
  VmConfiguration = 6,
  PluginConfiguration = 7,
  ForeignFunctionArguments = 8,
}

/** proxy_map_type_t */
export enum MapType {
  HttpRequestHeaders = 0,
  HttpRequestTrailers = 1,
  HttpResponseHeaders = 2,
  HttpResponseTrailers = 3,
  GrpcCallInitialMetadata = 4,
  GrpcCallTrailingMetadata = 5,
  HttpCallResponseHeaders = 6,
  HttpCallResponseTrailers = 7,
}

/** proxy_peer_type_t */
export enum PeerType {
  Unknown = 0,
  Local = 1,
  Remote = 2,
}

/** proxy_stream_type_t */
export enum StreamType {
  HttpRequest = 0,
  HttpResponse = 1,
  Downstream = 2,
  Upstream = 3,
}

/** proxy_metric_type_t */
export enum MetricType {
  Counter = 0,
  Gauge = 1,
  Histogram = 2,
}

/** wasi_clock_id_t */
export enum WasiClock {
  Realtime = 0,
  Monotonic = 1,
}

/** "No gRPC status" for proxy_send_local_response (Envoy reads -1 as absent). */
export const GRPC_STATUS_NONE: u32 = 0xffffffff;
