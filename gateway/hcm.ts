// HTTP connection manager: downstream request -> header map with pseudo-headers -> wasm filter chain (request headers, body)
// -> router -> filter chain in reverse (response headers, body) -> web Response. Local responses from a filter skip
// the rest of the request path and, as in Envoy, still pass through the filters' response callbacks. Portable.
import type { FilterOutcome, HeaderMap, HttpStream, StreamInfo, WasmPlugin } from "../wasm/host/index.js";
import type { HcmConfig, SocketAddr } from "./bootstrap/types.js";
import { fromWebHeaders, getHeader, removeHeader, setHeader, toWebHeaders } from "./headers.js";
import { localReply, type Router, type RouterResponse } from "./router.js";

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
  };
}

export interface DownstreamInfo {
  remote: SocketAddr;
  local: SocketAddr;
  connectionId?: number;
}

type LocalResponseOutcome = Extract<FilterOutcome, { kind: "local_response" }>;

export class HttpConnectionManager {
  constructor(
    readonly config: HcmConfig,
    private readonly plugins: readonly WasmPlugin[],
    private readonly router: Router,
    private readonly onError: (message: string) => void = (m) => console.error(m),
  ) {}

  async handle(req: DownstreamRequest, down: DownstreamInfo): Promise<Response> {
    const headers: HeaderMap = [
      [":authority", req.authority],
      [":path", req.path],
      [":method", req.method],
      [":scheme", req.scheme],
      ...req.headers,
    ];
    this.decorateRequest(headers, down);

    const method = req.method;
    const initial = this.router.match(headers);
    const info: StreamInfo = {
      request: {
        id: getHeader(headers, "x-request-id")!,
        protocol: "HTTP/1.1",
        time: new Date(),
        scheme: getHeader(headers, ":scheme")!,
        method,
        path: getHeader(headers, ":path")!,
        host: getHeader(headers, ":authority")!,
        headers,
      },
      source: down.remote,
      destination: down.local,
      ...(down.connectionId !== undefined ? { connection: { id: down.connectionId } } : {}),
      ...(initial ? { routeName: initial.route.name, clusterName: this.router.clusterName(initial, headers) } : {}),
    };
    const streams: HttpStream[] = [];
    try {
      const body = await req.body();
      for (const p of this.plugins) streams.push(p.createStream(info));
      const decoded = await this.decode(streams, headers, body);
      const res = decoded.kind === "local" ? decoded.response : await this.router.forward(headers, decoded.body);
      for (const s of streams) {
        s.setResponseInfo({
          code: res.status,
          codeDetails: res.details,
          flags: res.flags,
          ...(res.upstream ? { upstreamAddress: `${res.upstream.address}:${res.upstream.port}` } : {}),
        });
      }
      const out = await this.encode(streams, res);
      return toWebResponse(out, method);
    } catch (e) {
      this.onError(`halyard gateway: ${this.config.statPrefix}: ${e instanceof Error ? e.message : String(e)}`);
      return toWebResponse(localReply(500, "internal error", "halyard_internal_error", []), method);
    } finally {
      for (const s of streams) s.done();
    }
  }

  // What Envoy's HCM adds before the filters run: x-request-id, x-forwarded-proto, and (use_remote_address) XFF.
  private decorateRequest(headers: HeaderMap, down: DownstreamInfo): void {
    if (!getHeader(headers, "x-request-id")) headers.push(["x-request-id", crypto.randomUUID()]);
    if (!getHeader(headers, "x-forwarded-proto")) headers.push(["x-forwarded-proto", getHeader(headers, ":scheme") ?? "http"]);
    if (this.config.useRemoteAddress) {
      const xff = getHeader(headers, "x-forwarded-for");
      setHeader(headers, "x-forwarded-for", xff ? `${xff}, ${down.remote.address}` : down.remote.address);
    }
  }

  /** Runs the request path through the filters; returns the (possibly replaced) body or a local response. */
  private async decode(
    streams: HttpStream[],
    headers: HeaderMap,
    body: Uint8Array,
  ): Promise<{ kind: "proxy"; body: Uint8Array } | { kind: "local"; response: RouterResponse }> {
    for (const s of streams) {
      const o = await s.onRequestHeaders(headers, body.length === 0);
      if (o.kind === "local_response") return { kind: "local", response: filterLocalReply(o) };
    }
    if (body.length > 0) {
      for (const s of streams) {
        const o = await s.onRequestBody(body, true);
        if (o.kind === "local_response") return { kind: "local", response: filterLocalReply(o) };
        if (o.body) body = o.body;
      }
      if (getHeader(headers, "content-length") !== undefined) setHeader(headers, "content-length", String(body.length));
    }
    return { kind: "proxy", body };
  }

  /** Response path: filters in reverse order, as Envoy's encoder chain runs. */
  private async encode(streams: HttpStream[], res: RouterResponse): Promise<RouterResponse> {
    const headers = res.headers;
    let body = res.body;
    const reversed = [...streams].reverse();
    for (const s of reversed) {
      const o = await s.onResponseHeaders(headers, body.length === 0);
      if (o.kind === "local_response") return filterLocalReply(o);
    }
    if (body.length > 0) {
      for (const s of reversed) {
        const o = await s.onResponseBody(body, true);
        if (o.kind === "local_response") return filterLocalReply(o);
        if (o.body) body = o.body;
      }
    }
    const status = Number(getHeader(headers, ":status") ?? res.status);
    return { ...res, status: Number.isInteger(status) ? status : res.status, headers, body };
  }
}

function filterLocalReply(o: LocalResponseOutcome): RouterResponse {
  const headers: HeaderMap = [[":status", String(o.status)], ...o.headers.filter(([k]) => k !== ":status" && k !== "content-length")];
  if (o.body.length > 0 && getHeader(headers, "content-type") === undefined) headers.push(["content-type", "text/plain"]);
  headers.push(["content-length", String(o.body.length)]);
  return { status: o.status, headers, body: o.body, details: o.details, flags: [], local: true };
}

function toWebResponse(res: RouterResponse, method: string): Response {
  const headers = toWebHeaders(res.headers);
  const noBody = method === "HEAD" || res.status === 204 || res.status === 304 || (res.status >= 100 && res.status < 200);
  if (!noBody) headers.set("content-length", String(res.body.length));
  // Bodies here are never backed by a SharedArrayBuffer.
  return new Response(noBody || res.body.length === 0 ? null : (res.body as Uint8Array<ArrayBuffer>), { status: res.status, headers });
}
