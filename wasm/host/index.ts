// Public API of the proxy-wasm ABI v0.2.1 host (runtime-neutral: Node and workerd).
export { WasmPlugin } from "./plugin.js";
export { PluginError } from "./errors.js";
export { MetricsRegistry, type MetricKind, type MetricSample } from "./metrics.js";
export { SharedState, processSharedState } from "./shared.js";
export { serializePairs, parsePairs } from "./pairs.js";
export type {
  BodyOutcome,
  FilterOutcome,
  HeaderMap,
  HostOptions,
  HttpCallResponse,
  HttpStream,
  LogLevel,
  PluginConfig,
  PropertyValue,
  ResponseInfo,
  RouteProperties,
  StreamHandle,
  StreamInfo,
} from "./types.js";
