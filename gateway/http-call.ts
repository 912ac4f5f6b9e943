// proxy_http_call for the wasm host: sends to a named cluster through the same upstream transport, with the cluster's
// load balancer and circuit breakers. Portable.
import type { HeaderMap, HostOptions } from "../wasm/host/index.js";
import type { ClusterManager } from "./clusters.js";
import { getHeader, stripHopByHop, withoutPseudo } from "./headers.js";
import type { UpstreamTransport } from "./upstream.js";

export function clusterHttpCall(clusters: ClusterManager, transport: UpstreamTransport): NonNullable<HostOptions["httpCall"]> {
  return async (clusterName, headers, body, _trailers, timeoutMs) => {
    const cluster = clusters.get(clusterName);
    if (!cluster) throw new Error(`http_call: unknown cluster "${clusterName}"`);
    const host = cluster.chooseHost({ attempt: 0 });
    if (!host) throw new Error(`http_call: no healthy upstream in cluster "${clusterName}"`);
    const admission = cluster.admit(host, timeoutMs);
    if (admission === "overflow") throw new Error(`http_call: cluster "${clusterName}" is over its circuit breaker limits`);
    if (admission !== "ready" && !(await admission)) throw new Error(`http_call: timed out waiting for a connection to cluster "${clusterName}"`);
    const h: HeaderMap = withoutPseudo(headers);
    stripHopByHop(h);
    h.push(["host", getHeader(headers, ":authority") ?? clusterName]);
    try {
      const res = await transport.send(
        host,
        cluster.config.connectTimeoutMs,
        { method: getHeader(headers, ":method") ?? "GET", path: getHeader(headers, ":path") ?? "/", headers: h, body: body ?? new Uint8Array(0) },
        timeoutMs,
      );
      cluster.reportOutcome(host, res.status);
      return { headers: [[":status", String(res.status)], ...res.headers], body: res.body, trailers: [] };
    } finally {
      cluster.release(host);
    }
  };
}
