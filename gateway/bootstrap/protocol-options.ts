// A cluster's typed_extension_protocol_options: Envoy's HttpProtocolOptions. explicit_http_config picks the upstream
// protocol (http2_protocol_options: HTTP/2 over plain text with prior knowledge, what Istio emits for HTTP2/GRPC
// ports; http_protocol_options: HTTP/1.1); common_http_protocol_options.idle_timeout sets the pool's idle timeout.
// Portable.
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import type { Cluster } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { HttpProtocolOptionsSchema } from "../../gen/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.js";
import type { FieldPath } from "./errors.js";

export const HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

export interface ProtocolOptions {
  idleTimeoutMs?: number;
  http2?: boolean;
}

/** Throws via `fail` (the builder's) on what the gateway cannot do. */
export function protocolOptions(c: Cluster, path: FieldPath, fail: (path: FieldPath, message: string) => never): ProtocolOptions {
  const any = c.typedExtensionProtocolOptions[HTTP_PROTOCOL_OPTIONS];
  if (!any) return {};
  const p = [...path, "typed_extension_protocol_options", HTTP_PROTOCOL_OPTIONS];
  const options = anyUnpack(any, HttpProtocolOptionsSchema);
  if (!options) fail(p, `expected a ${HTTP_PROTOCOL_OPTIONS}`);
  const upstream = options.upstreamProtocolOptions;
  const http2 = upstream.case === "explicitHttpConfig" && upstream.value.protocolConfig.case === "http2ProtocolOptions";
  const out: ProtocolOptions = http2 ? { http2: true } : {};
  const idle = options.commonHttpProtocolOptions?.idleTimeout;
  if (!idle) return out;
  if (c.commonHttpProtocolOptions) fail(p, "common_http_protocol_options is also set on the cluster; set it in one place");
  return { ...out, idleTimeoutMs: Number(idle.seconds) * 1000 + Math.round(idle.nanos / 1e6) };
}
