// proxy_http_call for the wasm host: sends to a named cluster through the same upstream transport. Portable.
import type { HeaderMap, HostOptions } from "../wasm/host/index.js";
import type { ClusterManager } from "./clusters.js";
import { getHeader, stripHopByHop, withoutPseudo } from "./headers.js";
import type { UpstreamTransport } from "./upstream.js";

export function clusterHttpCall(clusters: ClusterManager, transport: UpstreamTransport): NonNullable<HostOptions["httpCall"]> {
  return async (clusterName, headers, body, _trailers, timeoutMs) => {
    const cluster = clusters.get(clusterName);
    if (!cluster) throw new Error(`http_call: unknown cluster "${clusterName}"`);
    const ep = cluster.pick();
    if (!ep) throw new Error(`http_call: no healthy upstream in cluster "${clusterName}"`);
    const h: HeaderMap = withoutPseudo(headers);
    stripHopByHop(h);
    h.push(["host", getHeader(headers, ":authority") ?? clusterName]);
    const res = await transport.send(
      ep,
      cluster.config.connectTimeoutMs,
      { method: getHeader(headers, ":method") ?? "GET", path: getHeader(headers, ":path") ?? "/", headers: h, body: body ?? new Uint8Array(0) },
      timeoutMs,
    );
    return { headers: [[":status", String(res.status)], ...res.headers], body: res.body, trailers: [] };
  };
}
