// HTTP connection manager: downstream request -> header map with pseudo-headers -> wasm filter chain (request headers,
// body) -> router -> filter chain in reverse (response headers, body) -> response. Local responses from a filter skip
// the rest of the request path and, as in Envoy, still pass through the filters' response callbacks. Portable:
// `serve` returns the response as data (the Node fast path writes it straight to the socket), `handle` as a web
// Response (Hono, Workers).
import type { BodyOutcome, FilterOutcome, HeaderMap, HttpStream, ResponseInfo, RouteProperties, StreamInfo, WasmPlugin } from "../wasm/host/index.js";
import { formatDefault, type AccessLogSink } from "./access-log.js";
import { BodyStream } from "./body-stream.js";
import { filteredBody } from "./filtered-body.js";
import { WHOLE_REQUEST_BODY_LIMIT } from "./request-body.js";
import type { HcmConfig, RouteConfig, SocketAddr } from "./bootstrap/types.js";
import { fromWebHeaders, getHeader, removeHeader, setHeader, toWebHeaders } from "./headers.js";
import { isGrpcRequest, toGrpcLocalReply } from "./grpc-local-reply.js";
import { sanitizeEnvoyHeaders } from "./internal-address.js";
import { peerConnectionInfo, type DownstreamTls } from "./peer-identity.js";
import { localReply, type Router, type RouterResponse } from "./router.js";
import type { RouteMatch } from "./routes.js";
import { UpstreamError } from "./upstream.js";
import { bodyStreamFromReadable, readableFromBodyStream } from "./web-body.js";
import { applyForwardClientCert, DEFAULT_FORWARD_CLIENT_CERT } from "./xfcc.js";

/** A downstream request as the HCM needs it; built from a web Request (portable) or by a runtime's fast path. */
export interface DownstreamRequest {
  method: string;
  /** The request target as received (path and query). */
  path: string;
  authority: string;
  scheme: string;
  /** Lower-case regular headers without Host (that is :authority). */
  headers: HeaderMap;
  /** The whole body; empty when there is none. */
  body(): Promise<Uint8Array>;
  /** Envoy's %PROTOCOL%: "HTTP/1.1" (the default), "HTTP/1.0" or "HTTP/2". */
  protocol?: string;
  /** The request's trailers (HTTP/2, chunked HTTP/1.1), complete once body() has resolved. */
  trailers?(): HeaderMap;
  /**
   * The body as a stream, instead of body(): resolves with what has arrived so far and, when the body has not
   * ended yet, `more` (the rest, ended by the trailers). Absent: only body() (a runtime that reads bodies whole).
   */
  streamBody?(): Promise<StreamedBody>;
}

export interface StreamedBody {
  body: Uint8Array;
  more?: BodyStream;
}

export function fromWebRequest(req: Request): DownstreamRequest {
  const url = new URL(req.url);
  const headers = fromWebHeaders(req.headers);
  removeHeader(headers, "host");
  return {
    method: req.method,
    path: url.pathname + url.search,
    authority: req.headers.get("host") ?? url.host,
    scheme: url.protocol.replace(/:$/, ""),
    headers,
    body: async () => (req.body ? new Uint8Array(await req.arrayBuffer()) : new Uint8Array(0)),
    ...(streamsBody(req) ? { streamBody: async () => ({ body: new Uint8Array(0), more: bodyStreamFromReadable(req.body!, downstreamBodyError) }) } : {}),
  };
}

/** As on Node: a body of unknown length, or longer than the whole-body limit, streams. */
function streamsBody(req: Request): boolean {
  if (!req.body) return false;
  const length = Number(req.headers.get("content-length") ?? NaN);
  return !(length <= WHOLE_REQUEST_BODY_LIMIT);
}

function downstreamBodyError(e: unknown): Error {
  return new Error(`downstream request body: ${e instanceof Error ? e.message : String(e)}`);
}

export interface DownstreamInfo {
  remote: SocketAddr;
  local: SocketAddr;
  connectionId?: number;
  /** Set when the connection is TLS: SNI, negotiated version ("TLSv1.3"), and the verified peer certificate (mTLS). */
  tls?: DownstreamTls;
}

/** The response the HCM settled on, ready to be written downstream. */
export interface HcmResponse {
  response: RouterResponse;
  /** The request method (HEAD responses carry no body). */
  method: string;
}

/** A request the HTTP/1 codec answered itself because it could not be read: Envoy's downstream protocol error. */
export interface ProtocolError {
  status: number;
  startMs: number;
  /** The local reply's body bytes. */
  bytesSent: number;
}

type LocalResponseOutcome = Extract<FilterOutcome, { kind: "local_response" }>;
const NO_TRAILERS: HeaderMap = [];
const PROTOCOL_ERROR_FLAGS = ["DPE"];
const EMPTY = new Uint8Array(0);

export class HttpConnectionManager {
  constructor(
    readonly config: HcmConfig,
    private readonly plugins: readonly WasmPlugin[],
    private readonly router: Router,
    private readonly onError: (message: string) => void = (m) => console.error(m),
    private readonly accessLogs: readonly AccessLogSink[] = [],
  ) {}

  /** The portable entry: a web Response. */
  async handle(req: DownstreamRequest, down: DownstreamInfo): Promise<Response> {
    return toWebResponse(await this.serve(req, down));
  }

  /**
   * A request the codec refused before it became a stream (malformed, smuggling-shaped, headers too large): logged
   * as Envoy logs a downstream protocol error, with the DPE flag and no request headers to show.
   */
  logProtocolError({ status, startMs, bytesSent }: ProtocolError): void {
    if (this.accessLogs.length === 0) return;
    const line = formatDefault({
      startMs,
      requestHeaders: NO_TRAILERS,
      responseHeaders: NO_TRAILERS,
      protocol: "HTTP/1.1",
      status,
      flags: PROTOCOL_ERROR_FLAGS,
      bytesReceived: 0,
      bytesSent,
      durationMs: Date.now() - startMs,
    });
    for (const l of this.accessLogs) l(line);
  }

  async serve(req: DownstreamRequest, down: DownstreamInfo): Promise<HcmResponse> {
    const startMs = Date.now();
    const headers: HeaderMap = [[":authority", req.authority], [":path", req.path], [":method", req.method], [":scheme", req.scheme]];
    for (const h of req.headers) headers.push(h);
    this.decorateRequest(headers, req.scheme, down);
    // The request's draw for weighted_clusters: one per request, so the stream info and the router agree.
    const pick = Math.random();
    const grpc = isGrpcRequest(headers);
    let out: RouterResponse;
    let bytesReceived = 0;
    // A request body still arriving (`more`) streams upstream; one that is all here takes the whole-body path.
    let more: BodyStream | undefined;
    try {
      let body: Uint8Array;
      if (req.streamBody) {
        const first = await req.streamBody();
        body = first.body;
        more = first.more;
      } else body = await req.body();
      bytesReceived = body.length;
      const trailers = more ? NO_TRAILERS : (req.trailers?.() ?? NO_TRAILERS);
      if (this.plugins.length === 0) {
        out = await this.router.forward(headers, body, down, pick, trailers, more);
        if (out.local && grpc) toGrpcLocalReply(out);
      } else out = await this.filtered(req, down, headers, body, trailers, pick, startMs, grpc, more);
    } catch (e) {
      this.onError(`halyard gateway: ${this.config.statPrefix}: ${e instanceof Error ? e.message : String(e)}`);
      out = localReply(500, "internal error", "halyard_internal_error", []);
      if (more && !more.finished) drain(more);
    }
    const streamedIn = more;
    if (this.accessLogs.length > 0) {
      const res = out;
      const log = () => {
        const line = formatDefault({
          startMs,
          requestHeaders: headers,
          responseHeaders: res.headers,
          protocol: req.protocol ?? "HTTP/1.1",
          status: res.status,
          flags: res.flags,
          bytesReceived: bytesReceived + (streamedIn?.bytes ?? 0),
          bytesSent: res.body.length + (res.more?.bytes ?? 0),
          durationMs: Date.now() - startMs,
          upstream: res.upstream,
        });
        for (const l of this.accessLogs) l(line);
      };
      // A streamed response is logged when it ends, with what ended it.
      if (res.more) res.more.onFinish((e) => {
        if (e) streamFailed(res, e);
        log();
      });
      else log();
    }
    return { response: out, method: req.method };
  }

  private async filtered(
    req: DownstreamRequest,
    down: DownstreamInfo,
    headers: HeaderMap,
    body: Uint8Array,
    trailers: HeaderMap,
    pick: number,
    startMs: number,
    grpc: boolean,
    more?: BodyStream,
  ): Promise<RouterResponse> {
    // The route as Envoy caches it: resolved on demand, dropped by a filter's clear_route_cache, then resolved again
    // from the headers as they are (scoped routes follow the scope header a filter wrote).
    let cached: RouteMatch | undefined | null = null;
    const resolve = () => (cached === null ? (cached = this.router.match(headers)) : cached);
    const clearRouteCache = () => {
      cached = null;
    };
    const initial = resolve();
    const conn = streamConnection(down);
    const info: StreamInfo = {
      request: {
        id: getHeader(headers, "x-request-id")!,
        protocol: req.protocol ?? "HTTP/1.1",
        time: new Date(startMs),
        scheme: req.scheme,
        method: req.method,
        path: req.path,
        host: req.authority,
        headers,
      },
      source: conn.source,
      connection: conn.connection,
      destination: down.local,
      ...(initial ? { routeName: initial.route.name, clusterName: this.router.clusterName(initial, headers, pick) } : {}),
      route: () => routeProperties(resolve()),
      // One filter state per request, shared by every plugin's stream (halyard.authz reads what halyard.jwt set).
      filterState: new Map(),
    };
    const streams: HttpStream[] = [];
    // Bodies still streaming through the filters (request, response): the filters stay until both have ended.
    const open: BodyStream[] = [];
    let requestOut: BodyStream | undefined;
    try {
      for (const p of this.plugins) {
        const s = p.createStream(info);
        s.onClearRouteCache = clearRouteCache;
        streams.push(s);
      }
      // decode/encode stay synchronous while every filter answers synchronously: no promise, no microtask per filter.
      const decoding = this.decode(streams, headers, more ? EMPTY : body, trailers, grpc, 0, null, more !== undefined);
      const decoded = decoding instanceof Promise ? await decoding : decoding;
      let res: RouterResponse;
      if (decoded.kind === "local") {
        res = decoded.response;
        if (more) drain(more);
      } else if (more) {
        // The headers went through with end_of_stream false; the body follows chunk by chunk as it arrives.
        requestOut = this.decodeStreaming(streams, body, more);
        open.push(requestOut);
        res = await this.router.forward(headers, EMPTY, down, pick, NO_TRAILERS, requestOut, resolve);
        if (res.local && grpc) toGrpcLocalReply(res);
      } else {
        res = await this.router.forward(headers, decoded.body, down, pick, trailers, undefined, resolve);
        if (res.local && grpc) toGrpcLocalReply(res);
      }
      // One object for every stream: the host keeps it as it is (never changes it).
      const responseInfo: ResponseInfo = { code: res.status, codeDetails: res.details, flags: res.flags };
      if (res.upstream) responseInfo.upstreamAddress = `${res.upstream.address}:${res.upstream.port}`;
      for (const s of streams) s.setResponseInfo(responseInfo);
      const encoding = this.encode(streams, res, grpc);
      const encoded = encoding instanceof Promise ? await encoding : encoding;
      // A streaming response keeps its filters until its body has gone through them.
      if (encoded.more) open.push(encoded.more);
      return encoded;
    } catch (e) {
      requestOut?.abort("request failed");
      throw e;
    } finally {
      let left = open.length;
      const release = () => {
        if (--left <= 0) for (const s of streams) s.done();
      };
      if (left === 0) release();
      else for (const b of open) b.onFinish(release);
    }
  }

  // What Envoy's HCM adds before the filters run: x-request-id, x-forwarded-proto, and (use_remote_address) XFF.
  private decorateRequest(headers: HeaderMap, scheme: string, down: DownstreamInfo): void {
    // x-envoy-* hygiene first: an external caller's timeout and retry headers never reach the filters or router.
    sanitizeEnvoyHeaders(headers, { useRemoteAddress: this.config.useRemoteAddress, internalAddresses: this.config.internalAddresses, remote: down.remote });
    let requestId = false;
    let proto = false;
    let protoAt = -1;
    let protoCount = 0;
    let xffAt = -1;
    let xffCount = 0;
    for (let i = 4; i < headers.length; i++) {
      const k = headers[i]![0];
      if (k === "x-request-id") requestId = headers[i]![1] !== "";
      else if (k === "x-forwarded-proto") {
        proto = headers[i]![1] !== "";
        if (protoCount++ === 0) protoAt = i;
      } else if (k === "x-forwarded-for" && xffCount++ === 0) xffAt = i;
    }
    if (!requestId) headers.push(["x-request-id", crypto.randomUUID()]);
    if (this.config.useRemoteAddress) {
      // At the edge the client's x-forwarded-proto is not trusted: the connection's scheme wins. With at most one
      // of each header this is setHeader's result without its scans.
      replaceHeader(headers, "x-forwarded-proto", scheme || "http", protoAt, protoCount);
      const xff = xffAt >= 0 ? headers[xffAt]![1] : "";
      replaceHeader(headers, "x-forwarded-for", xff ? `${xff}, ${down.remote.address}` : down.remote.address, xffAt, xffCount);
    } else if (!proto) headers.push(["x-forwarded-proto", scheme || "http"]);
    applyForwardClientCert(headers, this.config.forwardClientCert ?? DEFAULT_FORWARD_CLIENT_CERT, down.tls);
  }

  /**
   * Runs the request path through the filters: headers, then body, then trailers, each through every filter in order.
   * Returns the (possibly replaced) body or a local response. Step k is callback k / n of filter k % n; when a filter
   * pauses (its outcome is a promise) the rest runs from that step once it settles.
   */
  private decode(
    streams: HttpStream[],
    headers: HeaderMap,
    body: Uint8Array,
    trailers: HeaderMap,
    grpc: boolean,
    step = 0,
    settled: BodyOutcome | null = null,
    headersOnly = false,
  ): Decoded | Promise<Decoded> {
    const n = streams.length;
    const hasTrailers = trailers.length > 0;
    for (; step < 3 * n; step++) {
      if (step === n && headersOnly) break; // a streamed body goes through decodeStreaming
      if (step === n && body.length === 0) step = 2 * n; // no body: on to the trailers
      if (step >= 2 * n && !hasTrailers) break;
      const s = streams[step % n]!;
      const o: BodyOutcome | Promise<BodyOutcome> =
        settled ??
        (step < n ? s.decodeHeaders(headers, !headersOnly && body.length === 0 && !hasTrailers) : step < 2 * n ? s.decodeData(body, !hasTrailers) : s.decodeTrailers(trailers));
      settled = null;
      if (o instanceof Promise) {
        const at = step;
        return o.then((r) => this.decode(streams, headers, body, trailers, grpc, at, r, headersOnly));
      }
      if (o.kind === "local_response") return { kind: "local", response: filterLocalReply(o, grpc) };
      if (o.body) body = o.body;
      if (step === 2 * n - 1 && getHeader(headers, "content-length") !== undefined) setHeader(headers, "content-length", String(body.length));
    }
    return { kind: "proxy", body };
  }

  /**
   * A request body still arriving, through the filters after its headers: each chunk through every filter's
   * decodeData in order (`first` is the part that came with the headers), then an empty last chunk with
   * end_of_stream or the trailers through decodeTrailers. What passes goes on as the returned stream (the router's
   * upstream body). A filter answering StopIterationAndBuffer gets its data back from the host with the next chunk,
   * so nothing passes it until it continues or the body ends (buffered as Envoy does). Chunks are handled one at a
   * time, in order. A local reply once the request has gone upstream cannot be sent: the upstream request is reset.
   */
  private decodeStreaming(streams: HttpStream[], first: Uint8Array, up: BodyStream): BodyStream {
    return filteredBody({
      filters: streams.map((s) => ({ data: (c, eos) => s.decodeData(c, eos), trailers: (t) => s.decodeTrailers(t) })),
      source: up,
      first,
      lateLocalReply: (out) => out.fail(new Error("a filter sent a local reply after the request went upstream")),
      // The upstream attempt is over; the downstream keeps sending and what it sends is dropped.
      abort: () => drain(up),
    });
  }

  /** Response path: filters in reverse order, as Envoy's encoder chain runs; steps as in decode. */
  private encode(streams: HttpStream[], res: RouterResponse, grpc: boolean, step = 0, settled: BodyOutcome | null = null): RouterResponse | Promise<RouterResponse> {
    const n = streams.length;
    const headers = res.headers;
    const trailers = res.trailers;
    const hasTrailers = trailers !== undefined && trailers.length > 0;
    const streaming = res.more !== undefined;
    for (; step < 3 * n; step++) {
      if (step === n && streaming) return this.encodeStreaming(streams, res, grpc);
      if (step === n && res.body.length === 0) step = 2 * n;
      // gRPC's status arrives in the trailers; response.grpc_status reads it from them.
      if (step >= 2 * n && !hasTrailers) break;
      const s = streams[n - 1 - (step % n)]!;
      const o: BodyOutcome | Promise<BodyOutcome> =
        settled ??
        (step < n ? s.encodeHeaders(headers, !streaming && res.body.length === 0 && !hasTrailers) : step < 2 * n ? s.encodeData(res.body, !hasTrailers) : s.encodeTrailers(trailers!));
      settled = null;
      if (o instanceof Promise) {
        const at = step;
        return o.then((r) => this.encode(streams, res, grpc, at, r));
      }
      if (o.kind === "local_response") {
        res.more?.abort("response replaced by a filter's local reply");
        return filterLocalReply(o, grpc);
      }
      if (o.body) res.body = o.body;
    }
    return settleStatus(res);
  }

  /**
   * The body of a streaming response through the filters, chunk by chunk as it arrives (after its headers went
   * through encodeHeaders): each chunk through every filter's encodeData in reverse order, end_of_stream on an empty
   * last chunk (or the trailers through encodeTrailers). A filter that buffers (StopIterationAndBuffer) gets its
   * data back with the next chunk from the host, so nothing passes it until it continues. Chunks are handled one
   * at a time, in order, also when a filter answers later. A filter's local reply can no longer be sent: the
   * stream is reset, as Envoy does once the response has started.
   */
  private encodeStreaming(streams: HttpStream[], res: RouterResponse, grpc: boolean): RouterResponse {
    const up = res.more!;
    const out = filteredBody({
      filters: [...streams].reverse().map((s) => ({ data: (c, eos) => s.encodeData(c, eos), trailers: (t) => s.encodeTrailers(t) })),
      source: up,
      first: res.body,
      lateLocalReply: (body) => {
        body.fail(new Error("a filter sent a local reply after the response headers"));
        up.abort("filter local reply after headers");
      },
      onFilterError: () => up.abort("filter failed"),
      abort: () => up.abort("downstream reset"),
    });
    res.body = new Uint8Array(0);
    res.more = out;
    return settleStatus(res);
  }
}

/** Reads the rest of a request body nobody forwards, so the downstream can finish sending (no-op once it is read). */
function drain(body: BodyStream): void {
  try {
    body.start({ data: () => {}, end: () => {}, error: () => {} });
  } catch {
    body.resume(); // already read by someone else
  }
}

function settleStatus(res: RouterResponse): RouterResponse {
  const status = Number(getHeader(res.headers, ":status") ?? res.status);
  res.status = Number.isInteger(status) ? status : res.status;
  return res;
}

/** Envoy's flags for a response that ended abnormally after its headers: UT (route timeout), UR (upstream reset), DC. */
function streamFailed(res: RouterResponse, e: Error): void {
  if (e instanceof UpstreamError) {
    const timeout = e.kind === "timeout";
    res.flags.push(timeout ? "UT" : "UR");
    res.details = timeout ? "upstream_response_timeout" : "upstream_reset_after_response_started{remote_reset}";
  } else {
    res.flags.push("DC");
    res.details = "downstream_remote_disconnect";
  }
}

/** setHeader(h, name, value), given where the first `name` is (`at`, -1 for none) and how many there are. */
function replaceHeader(h: HeaderMap, name: string, value: string, at: number, count: number): void {
  if (count === 0) h.push([name, value]);
  else if (count === 1) h[at] = [name, value];
  else setHeader(h, name, value);
}

type Decoded = { kind: "proxy"; body: Uint8Array } | { kind: "local"; response: RouterResponse };

// What xds.route_name / xds.route_metadata read, one object per route (the metadata bytes are encoded at build).
const routeProps = new WeakMap<RouteConfig, RouteProperties>();

function routeProperties(m: RouteMatch | undefined): RouteProperties | undefined {
  if (!m) return undefined;
  let p = routeProps.get(m.route);
  if (!p) {
    p = m.route.metadata ? { name: m.route.name, metadata: m.route.metadata } : { name: m.route.name };
    routeProps.set(m.route, p);
  }
  return p;
}

function filterLocalReply(o: LocalResponseOutcome, grpc: boolean): RouterResponse {
  const headers: HeaderMap = [[":status", String(o.status)], ...o.headers.filter(([k]) => k !== ":status" && k !== "content-length")];
  if (o.body.length > 0 && getHeader(headers, "content-type") === undefined) headers.push(["content-type", "text/plain"]);
  headers.push(["content-length", String(o.body.length)]);
  const reply: RouterResponse = { status: o.status, headers, body: o.body, details: o.details, flags: [], upstream: undefined, local: true, attempts: 0 };
  return grpc ? toGrpcLocalReply(reply, o.grpcStatus) : reply;
}

type StreamConnection = Pick<StreamInfo, "source" | "connection">;
/** Per downstream connection (the listener makes one DownstreamInfo per connection); the host only reads them. */
const connectionInfo = new WeakMap<DownstreamInfo, StreamConnection>();

/** source (with source.principal on mTLS) and connection.* for the filters. */
function streamConnection(down: DownstreamInfo): StreamConnection {
  let c = connectionInfo.get(down);
  if (c === undefined) {
    const { connection, principal } = peerConnectionInfo(down.tls);
    if (down.connectionId !== undefined) connection.id = down.connectionId;
    c = { source: principal !== undefined ? { ...down.remote, principal } : down.remote, connection };
    connectionInfo.set(down, c);
  }
  return c;
}

/** Statuses and methods whose responses carry no body. */
export function responseHasNoBody(status: number, method: string): boolean {
  return method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200);
}

export function toWebResponse(out: HcmResponse): Response {
  const res = out.response;
  const headers = toWebHeaders(res.headers);
  const noBody = responseHasNoBody(res.status, out.method);
  if (res.more) {
    if (noBody) res.more.abort("no body for this response");
    // The upstream's content-length (if any) stays; the body streams.
    else return new Response(readableFromBodyStream(res.body, res.more, "downstream cancelled the response"), { status: res.status, headers });
  }
  if (!noBody) headers.set("content-length", String(res.body.length));
  // Bodies here are never backed by a SharedArrayBuffer.
  return new Response(noBody || res.body.length === 0 ? null : (res.body as Uint8Array<ArrayBuffer>), { status: res.status, headers });
}
