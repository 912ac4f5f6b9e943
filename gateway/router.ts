// The router filter: route -> cluster (cluster or cluster_header) -> endpoint -> upstream, with Envoy's local replies
// and x-envoy-* request headers. Filters decide (by editing headers), the router executes. Portable.
import type { HeaderMap } from "../wasm/host/index.js";
import type { SocketAddr } from "./bootstrap/types.js";
import type { ClusterManager } from "./clusters.js";
import { getHeader, removeHeader, setHeader, stripHopByHop, withoutPseudo } from "./headers.js";
import type { RouteMatch, RouteTable } from "./routes.js";
import { UpstreamError, type UpstreamTransport } from "./upstream.js";

export interface RouterResponse {
  status: number;
  headers: HeaderMap; // :status included
  body: Uint8Array;
  /** Envoy's response code details and response flags (NR, NC, UH, UF, UC, UT) for logs and filters. */
  details: string;
  flags: string[];
  upstream?: SocketAddr;
  /** True when the router answered locally instead of proxying. */
  local: boolean;
}

const UPSTREAM_RESET_PREFIX = "upstream connect error or disconnect/reset before headers. reset reason: ";

export function localReply(status: number, body: string, details: string, flags: string[], extra: HeaderMap = []): RouterResponse {
  const bytes = new TextEncoder().encode(body);
  const headers: HeaderMap = [[":status", String(status)]];
  if (bytes.length > 0) headers.push(["content-type", "text/plain"]);
  headers.push(["content-length", String(bytes.length)], ...extra);
  return { status, headers, body: bytes, details, flags, local: true };
}

export class Router {
  constructor(
    private readonly routes: RouteTable,
    private readonly clusters: ClusterManager,
    private readonly transport: UpstreamTransport,
  ) {}

  match(headers: HeaderMap): RouteMatch | undefined {
    return this.routes.match(getHeader(headers, ":authority") ?? "", getHeader(headers, ":path") ?? "/");
  }

  /** The cluster a matched route names for these headers ("" when cluster_header is missing). */
  clusterName(m: RouteMatch, headers: HeaderMap): string {
    const a = m.route.action;
    return a.cluster ?? getHeader(headers, a.clusterHeader!) ?? "";
  }

  async forward(headers: HeaderMap, body: Uint8Array): Promise<RouterResponse> {
    const m = this.match(headers);
    if (!m) return localReply(404, "", "route_not_found", ["NR"]);
    const name = this.clusterName(m, headers);
    const cluster = this.clusters.get(name);
    if (!cluster) return localReply(m.route.action.clusterNotFoundStatus, "", "cluster_not_found", ["NC"]);
    const endpoint = cluster.pick();
    if (!endpoint) return localReply(503, "no healthy upstream", "no_healthy_upstream", ["UH"]);

    const timeoutMs = requestTimeout(headers, m.route.action.timeoutMs);
    const upstreamHeaders = withoutPseudo(headers);
    stripHopByHop(upstreamHeaders);
    for (const h of ["x-envoy-upstream-rq-timeout-ms", "x-envoy-upstream-rq-per-try-timeout-ms", "x-envoy-expected-rq-timeout-ms"]) {
      removeHeader(upstreamHeaders, h);
    }
    if (timeoutMs > 0) upstreamHeaders.push(["x-envoy-expected-rq-timeout-ms", String(timeoutMs)]);
    setHeader(upstreamHeaders, "host", getHeader(headers, ":authority") ?? endpoint.address);

    const started = Date.now();
    try {
      const res = await this.transport.send(
        endpoint,
        cluster.config.connectTimeoutMs,
        { method: getHeader(headers, ":method") ?? "GET", path: getHeader(headers, ":path") ?? "/", headers: upstreamHeaders, body },
        timeoutMs,
      );
      const out: HeaderMap = [[":status", String(res.status)], ...res.headers];
      stripHopByHop(out);
      out.push(["x-envoy-upstream-service-time", String(Date.now() - started)]);
      return { status: res.status, headers: out, body: res.body, details: "via_upstream", flags: [], upstream: endpoint, local: false };
    } catch (e) {
      if (!(e instanceof UpstreamError)) throw e;
      if (e.kind === "timeout") return { ...localReply(504, "upstream request timeout", "upstream_response_timeout", ["UT"]), upstream: endpoint };
      if (e.kind === "connect_failure") {
        return { ...localReply(503, `${UPSTREAM_RESET_PREFIX}connection failure`, "upstream_reset_before_response_started{connection_failure}", ["UF"]), upstream: endpoint };
      }
      return { ...localReply(503, `${UPSTREAM_RESET_PREFIX}connection termination`, "upstream_reset_before_response_started{connection_termination}", ["UC"]), upstream: endpoint };
    }
  }
}

// x-envoy-upstream-rq-timeout-ms overrides the route timeout (0 disables it), as Envoy's router does.
function requestTimeout(headers: HeaderMap, routeMs: number): number {
  const v = getHeader(headers, "x-envoy-upstream-rq-timeout-ms");
  if (v !== undefined && /^\d+$/.test(v.trim())) return Number(v.trim());
  return routeMs;
}
