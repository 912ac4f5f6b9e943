// The router filter, executing what the route and the filters decided, in Envoy's terms: route -> cluster
// (cluster, cluster_header or weighted_clusters) -> host (load balancer, hash policy, retry host predicate) ->
// circuit breakers -> upstream attempt, with timeouts, retries and back-off, outlier detection reports, Envoy's
// local replies and response flags. The x-envoy-* control headers a filter sets are read here and never sent
// upstream. Portable.
import type { HeaderMap } from "../wasm/host/index.js";
import type { BodyStream } from "./body-stream.js";
import { ReplayableRequestBody } from "./request-body.js";
import type { RetryPolicyConfig, SocketAddr } from "./bootstrap/types.js";
import type { Cluster, ClusterManager, Host } from "./clusters.js";
import { computeHash } from "./hash-policy.js";
import { Backoff, effectiveRetryPolicy, retriableFailure, retriableResponse, type EffectiveRetryPolicy } from "./retry-policy.js";
import type { RouteMatch, RouteResolver } from "./routes.js";
import { UpstreamError, type UpstreamRequest, type UpstreamResponse, type UpstreamTransport } from "./upstream.js";

export interface RouterResponse {
  status: number;
  headers: HeaderMap; // :status included
  body: Uint8Array;
  /** Response trailers (HTTP/2 and chunked HTTP/1.1 upstreams: gRPC's grpc-status, grpc-message). */
  trailers?: HeaderMap;
  /** The rest of a response still arriving (`body` is what came with the headers); it carries the trailers. */
  more?: BodyStream;
  /** Envoy's response code details and response flags (NR, NC, UH, UF, UC, UT, UO, URX) for logs and filters. */
  details: string;
  flags: string[];
  upstream?: SocketAddr;
  /** True when the router answered locally instead of proxying. */
  local: boolean;
  /** Upstream attempts made (0 when none was). */
  attempts: number;
}

/** What the router needs of the downstream connection (hash policies, generated cookies). */
export interface RouterDownstream {
  remote: SocketAddr;
  local: SocketAddr;
}

const RESET_PREFIX = "upstream connect error or disconnect/reset before headers. reset reason: ";
const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

// Request headers that steer the router and are removed before the request goes upstream.
const CONTROL_HEADERS = new Set([
  "x-envoy-upstream-rq-timeout-ms",
  "x-envoy-upstream-rq-per-try-timeout-ms",
  "x-envoy-max-retries",
  "x-envoy-retry-on",
  "x-envoy-retry-grpc-on",
  "x-envoy-retriable-status-codes",
  "x-envoy-expected-rq-timeout-ms",
  "x-envoy-attempt-count",
]);
// Connection-specific headers never cross a proxy hop (RFC 9110 7.6.1), plus any the Connection header names.
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "host"]);

export function localReply(status: number, body: string, details: string, flags: string[], extra: HeaderMap = []): RouterResponse {
  const bytes = encoder.encode(body);
  const headers: HeaderMap = [[":status", String(status)]];
  if (bytes.length > 0) headers.push(["content-type", "text/plain"]);
  headers.push(["content-length", String(bytes.length)], ...extra);
  return { status, headers, body: bytes, details, flags, upstream: undefined, local: true, attempts: 0 };
}

const overflowReply = () => localReply(503, `${RESET_PREFIX}overflow`, "upstream_reset_before_response_started{overflow}", ["UO"]);
const noHealthyReply = () => localReply(503, "no healthy upstream", "no_healthy_upstream", ["UH"]);
// Envoy's dynamic forward proxy when a destination name does not resolve.
const dnsFailureReply = () => localReply(503, "DNS resolution failure", "dns_resolution_failure", ["DF"]);
const timeoutReply = (perTry: boolean) => localReply(504, "upstream request timeout", perTry ? "upstream_per_try_timeout" : "upstream_response_timeout", ["UT"]);

type Attempt =
  | { kind: "response"; res: UpstreamResponse; elapsedMs: number }
  | { kind: "failure"; failure: "connect_failure" | "reset" | "timeout"; transportFailure?: string }
  | { kind: "pending_timeout" };

export interface RouterOptions {
  now?: () => number;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export class Router {
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly routes: RouteResolver,
    private readonly clusters: ClusterManager,
    private readonly transport: UpstreamTransport,
    opts: RouterOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** The route for these headers as they are now (scoped routes: the scope key header is read at each call). */
  match(headers: HeaderMap): RouteMatch | undefined {
    return this.routes.matchHeaders(headers);
  }

  /**
   * The cluster a matched route names for these headers ("" when cluster_header is missing). `pick` is the
   * request's uniform random number in [0, 1) for weighted_clusters, fixed per request so that every caller agrees.
   */
  clusterName(m: RouteMatch, headers: HeaderMap, pick: number): string {
    const a = m.route.action;
    if (a.cluster !== undefined) return a.cluster;
    if (a.clusterHeader !== undefined) {
      for (const [k, v] of headers) if (k === a.clusterHeader) return v;
      return "";
    }
    const w = a.weightedClusters!;
    let point = Math.floor(pick * w.totalWeight);
    for (const c of w.clusters) {
      if (point < c.weight) return c.name;
      point -= c.weight;
    }
    return w.clusters[w.clusters.length - 1]!.name;
  }

  /**
   * `trailers`: the request's trailers (gRPC streams end with them), sent upstream when the protocol carries them.
   * `more`: the rest of a request body still arriving (`body` is what came first; the trailers end it): it streams
   * upstream, kept for retries up to 1 MiB (past that the request is not retried). `cachedRoute`: the route as the
   * HCM has it cached (Envoy's router takes the cached route, matched again only after a filter cleared the cache);
   * default: matched from the headers now.
   */
  async forward(
    headers: HeaderMap,
    body: Uint8Array,
    down: RouterDownstream,
    pick: number,
    trailers: HeaderMap = [],
    more?: BodyStream,
    cachedRoute?: () => RouteMatch | undefined,
  ): Promise<RouterResponse> {
    const replay = more ? new ReplayableRequestBody(body, more) : undefined;
    const res = await this.route(headers, body, down, pick, trailers, replay, cachedRoute ? cachedRoute() : this.match(headers));
    // Answered here: nothing reads the rest of the body, which is drained so the downstream can finish sending.
    if (replay && res.local) replay.detach();
    return res;
  }

  private async route(
    headers: HeaderMap,
    body: Uint8Array,
    down: RouterDownstream,
    pick: number,
    trailers: HeaderMap,
    replay: ReplayableRequestBody | undefined,
    m: RouteMatch | undefined,
  ): Promise<RouterResponse> {
    if (!m) return localReply(404, "", "route_not_found", ["NR"]);
    if (m.virtualHost.requireTls) {
      const redirect = sslRedirect(headers);
      if (redirect) return redirect;
    }
    const cluster = this.clusters.get(this.clusterName(m, headers, pick));
    if (!cluster) return localReply(m.route.action.clusterNotFoundStatus, "", "cluster_not_found", ["NC"]);
    // ORIGINAL_DST: the request names its host (gateway/original-dst.ts); every attempt goes there.
    let pinned: Host | undefined;
    if (cluster.originalDst) {
      const dst = await cluster.originalDst.hostFor(headers, this.transport.resolve?.bind(this.transport));
      if ("kind" in dst) return dst.kind === "dns" ? dnsFailureReply() : noHealthyReply();
      pinned = dst;
    } else if (cluster.hosts.length === 0) return noHealthyReply();

    // One pass: the upstream headers, and the control headers the route's policy is merged with.
    let connectionHeader: string | undefined;
    for (const [k, v] of headers) if (k === "connection") connectionHeader = v;
    const named = connectionHeader ? connectionHeader.toLowerCase().split(",").map((s) => s.trim()) : undefined;
    // The route's request_headers_to_remove (the translator's x-halyard-cluster: internal, never sent upstream).
    const removed = m.route.requestHeadersToRemove;
    // Scoped routes: the scope key header (x-halyard-scope) only selects the route table; never sent upstream.
    const scopeHeader = this.routes.scopeHeader;
    const upstream: HeaderMap = [];
    let method = "GET";
    let path = "/";
    let authority = "";
    let rqTimeout: string | undefined;
    let perTryTimeout: string | undefined;
    let retryOn: string | undefined;
    let grpcRetryOn: string | undefined;
    let maxRetries: string | undefined;
    let retriableCodes: string | undefined;
    let teTrailers = false;
    for (const pair of headers) {
      const k = pair[0];
      if (k.charCodeAt(0) === 58 /* ":" */) {
        if (k === ":method") method = pair[1];
        else if (k === ":path") path = pair[1];
        else if (k === ":authority") authority = pair[1];
        continue;
      }
      if (HOP_BY_HOP.has(k)) {
        if (k === "te" && pair[1].split(",").some((v) => v.trim().toLowerCase() === "trailers")) teTrailers = true;
        continue;
      }
      if (named?.includes(k) || removed?.includes(k) || k === scopeHeader) continue;
      if (k.startsWith("x-envoy-") && CONTROL_HEADERS.has(k)) {
        if (k === "x-envoy-upstream-rq-timeout-ms") rqTimeout = pair[1];
        else if (k === "x-envoy-upstream-rq-per-try-timeout-ms") perTryTimeout = pair[1];
        else if (k === "x-envoy-retry-on") retryOn = pair[1];
        else if (k === "x-envoy-retry-grpc-on") grpcRetryOn = pair[1];
        else if (k === "x-envoy-max-retries") maxRetries = pair[1];
        else if (k === "x-envoy-retriable-status-codes") retriableCodes = pair[1];
        continue;
      }
      upstream.push(pair);
    }
    if (teTrailers) upstream.push(["te", "trailers"]);
    upstream.push(["host", authority || cluster.name]);

    const action = m.route.action;
    const routePolicy: RetryPolicyConfig | undefined = action.retryPolicy;
    const policy = effectiveRetryPolicy(routePolicy, { retryOn, grpcRetryOn, maxRetries, retriableStatusCodes: retriableCodes });
    const globalMs = millis(rqTimeout) ?? action.timeoutMs;
    let perTryMs = millis(perTryTimeout) ?? routePolicy?.perTryTimeoutMs ?? 0;
    if (globalMs > 0 && perTryMs >= globalMs) perTryMs = 0;

    let hash: bigint | undefined;
    let setCookies: string[] = [];
    const lb = cluster.config.lbPolicy;
    if ((lb === "RING_HASH" || lb === "MAGLEV") && action.hashPolicy) {
      const r = computeHash(action.hashPolicy, { headers, path, remote: down.remote, local: down.local });
      hash = r.hash;
      setCookies = r.setCookies;
    }

    const vhost = m.virtualHost;
    const req: UpstreamRequest = { method, path, headers: upstream, body, ...(trailers.length > 0 ? { trailers } : {}) };
    const res = await this.attempts(cluster, policy, req, globalMs, perTryMs, hash, vhost.includeAttemptCount === true, pinned, replay);
    if (setCookies.length > 0) for (const c of setCookies) res.headers.push(["set-cookie", c]);
    if (vhost.includeAttemptCountInResponse && res.attempts > 0) res.headers.push(["x-envoy-attempt-count", String(res.attempts)]);
    return res;
  }

  private async attempts(
    cluster: Cluster,
    policy: EffectiveRetryPolicy,
    req: UpstreamRequest,
    globalMs: number,
    perTryMs: number,
    hash: bigint | undefined,
    attemptCountHeader: boolean,
    pinned?: Host,
    replay?: ReplayableRequestBody,
  ): Promise<RouterResponse> {
    const started = this.now();
    const deadline = globalMs > 0 ? started + globalMs : Infinity;
    let retriesLeft = policy.retriesAllowed;
    let backoff: Backoff | undefined;
    let holdsRetry = false;
    const tried: Host[] = [];
    const baseHeaders = req.headers;
    const baseLength = baseHeaders.length;
    for (let attempt = 1; ; attempt++) {
      const host = pinned ?? this.chooseHost(cluster, policy, hash, tried);
      if (!host) return done(noHealthyReply(), undefined, attempt - 1);
      tried.push(host);

      // Envoy's expected timeout: the per-try timeout, else what is left of the global one.
      const remaining = deadline - this.now();
      const tryMs = perTryMs > 0 && perTryMs < remaining ? perTryMs : remaining;
      const expected = attempt === 1 ? (perTryMs > 0 ? perTryMs : globalMs) : Number.isFinite(tryMs) ? Math.max(1, Math.round(tryMs)) : 0;
      // The first attempt appends to the router's own header list; a retry starts again from its original length.
      const headers = attempt === 1 ? baseHeaders : baseHeaders.slice(0, baseLength);
      if (expected > 0) headers.push(["x-envoy-expected-rq-timeout-ms", String(expected)]);
      if (attemptCountHeader) headers.push(["x-envoy-attempt-count", String(attempt)]);

      const attemptReq: UpstreamRequest = replay ? { ...req, headers, body: EMPTY, more: replay.attempt() } : { ...req, headers };
      const outcome = await this.attemptOnce(cluster, host, attemptReq, tryMs, deadline);
      if (holdsRetry) {
        cluster.endRetry();
        holdsRetry = false;
      }
      if (outcome === "overflow") return done(overflowReply(), host, attempt);

      let retriable: boolean;
      let final: RouterResponse;
      if (outcome.kind === "response") {
        cluster.reportOutcome(host, outcome.res.status);
        retriable = retriableResponse(policy, outcome.res.status, outcome.res.headers);
        final = upstreamReply(outcome.res, host, outcome.elapsedMs);
      } else if (outcome.kind === "pending_timeout") {
        return done(timeoutReply(false), undefined, attempt);
      } else if (outcome.failure === "timeout") {
        cluster.reportOutcome(host, 504);
        const global = !(perTryMs > 0 && perTryMs < remaining);
        if (global) return done(timeoutReply(false), host, attempt);
        retriable = retriableFailure(policy, "per_try_timeout");
        final = done(timeoutReply(true), host, attempt);
      } else {
        cluster.reportOutcome(host, 503);
        retriable = retriableFailure(policy, outcome.failure);
        final = done(failureReply(outcome.failure, outcome.transportFailure), host, attempt);
      }
      final.attempts = attempt;
      // A streamed body past the buffer limit cannot be sent again: no retry (Envoy's retry buffer overflow).
      if (!retriable || (replay !== undefined && !replay.replayable)) return final;
      // Retried: a response that was still streaming is dropped (its upstream stream reset).
      if (outcome.kind === "response") outcome.res.more?.abort("retried");
      // Envoy's RetryStateImpl::shouldRetry: the retry budget, then the cluster's max_retries breaker.
      if (retriesLeft === 0) {
        final.flags.push("URX");
        return final;
      }
      retriesLeft--;
      if (!cluster.tryStartRetry()) {
        final.flags.push("UO");
        return final;
      }
      holdsRetry = true;
      backoff ??= new Backoff(policy.backoffBaseMs, policy.backoffMaxMs, this.random);
      const wait = backoff.nextMs();
      if (this.now() + wait >= deadline) {
        await this.sleep(Math.max(0, deadline - this.now()));
        cluster.endRetry();
        return done(timeoutReply(false), undefined, attempt);
      }
      if (wait > 0) await this.sleep(wait);
      if (replay !== undefined && !replay.replayable) {
        cluster.endRetry();
        holdsRetry = false;
        return final;
      }
    }
  }

  // Retry host predicate previous_hosts: reselect (up to host_selection_retry_max_attempts times) while the pick
  // was already tried; then take the last pick.
  private chooseHost(cluster: Cluster, policy: EffectiveRetryPolicy, hash: bigint | undefined, tried: Host[]): Host | undefined {
    const reselect = policy.previousHosts && tried.length > 0 ? policy.hostSelectionMaxAttempts : 0;
    let host: Host | undefined;
    for (let i = 0; i <= reselect; i++) {
      host = cluster.chooseHost(hash === undefined ? { attempt: i } : { hash, attempt: i });
      if (!host || !tried.includes(host)) return host;
    }
    return host;
  }

  private async attemptOnce(cluster: Cluster, host: Host, req: UpstreamRequest, tryMs: number, deadline: number): Promise<Attempt | "overflow"> {
    const admission = cluster.admit(host, Number.isFinite(deadline) ? Math.max(1, deadline - this.now()) : 0);
    if (admission === "overflow") return "overflow";
    if (admission !== "ready" && !(await admission)) return { kind: "pending_timeout" };
    const t0 = this.now();
    const timeout = Number.isFinite(tryMs) ? Math.max(1, Math.min(tryMs, deadline - t0)) : 0;
    let streaming = false;
    try {
      const res = await this.transport.send(host, cluster.config.connectTimeoutMs, req, timeout);
      if (res.more) {
        // The request stays active (circuit breakers) until its response has ended.
        streaming = true;
        res.more.onFinish(() => cluster.release(host));
      }
      return { kind: "response", res, elapsedMs: this.now() - t0 };
    } catch (e) {
      if (!(e instanceof UpstreamError)) throw e;
      return { kind: "failure", failure: e.kind, ...(e.transportFailure ? { transportFailure: e.transportFailure } : {}) };
    } finally {
      if (!streaming) cluster.release(host);
    }
  }
}

function upstreamReply(res: UpstreamResponse, host: Host, elapsedMs: number): RouterResponse {
  const out: HeaderMap = [[":status", String(res.status)]];
  let named: string[] | undefined;
  for (const [k, v] of res.headers) if (k === "connection") named = v.toLowerCase().split(",").map((s) => s.trim());
  for (const pair of res.headers) {
    const k = pair[0];
    if (k === "connection" || k === "keep-alive" || k === "proxy-connection" || k === "transfer-encoding" || k === "upgrade") continue;
    if (named?.includes(k)) continue;
    out.push(pair);
  }
  out.push(["x-envoy-upstream-service-time", String(elapsedMs)]);
  const reply: RouterResponse = { status: res.status, headers: out, body: res.body, details: "via_upstream", flags: [], upstream: host.address, local: false, attempts: 1 };
  if (res.trailers && res.trailers.length > 0) reply.trailers = res.trailers;
  if (res.more) reply.more = res.more;
  return reply;
}

// Envoy's require_tls: a request that did not arrive over TLS (x-forwarded-proto, which the connection manager
// sets) is redirected, 301, to the same host and path over https.
function sslRedirect(headers: HeaderMap): RouterResponse | undefined {
  let proto = "";
  let authority = "";
  let path = "/";
  for (const [k, v] of headers) {
    if (k === "x-forwarded-proto") proto = v;
    else if (k === ":authority") authority = v;
    else if (k === ":path") path = v;
  }
  if (proto.toLowerCase() === "https") return undefined;
  return localReply(301, "", "direct_response", [], [["location", `https://${authority}${path}`]]);
}

function done(r: RouterResponse, host: Host | undefined, attempts: number): RouterResponse {
  if (host) r.upstream = host.address;
  r.attempts = attempts;
  return r;
}

// A failed TLS handshake adds Envoy's ", transport failure reason: ..." to the body.
function failureReply(kind: "connect_failure" | "reset", transportFailure?: string): RouterResponse {
  const reason = transportFailure ? `, transport failure reason: ${transportFailure}` : "";
  return kind === "connect_failure"
    ? localReply(503, `${RESET_PREFIX}connection failure${reason}`, "upstream_reset_before_response_started{connection_failure}", ["UF"])
    : localReply(503, `${RESET_PREFIX}connection termination`, "upstream_reset_before_response_started{connection_termination}", ["UC"]);
}

// A non-negative integer header value in milliseconds (0 disables), or undefined when absent or malformed.
function millis(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = v.trim();
  return /^\d+$/.test(t) ? Number(t) : undefined;
}
