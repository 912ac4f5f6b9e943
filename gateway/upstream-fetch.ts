// UpstreamTransport over fetch(), for runtimes without sockets (Workers). Portable: fetch, Headers, AbortSignal.
//
// What fetch() cannot do as Envoy does, and what this transport does instead:
// - No connection pool is visible: each request counts as one connection of its endpoint while it runs, so the
//   cluster's max_connections bounds the requests in flight to that cluster.
// - The runtime sets Host from the URL (the endpoint's address:port); the request's :authority goes upstream as
//   x-forwarded-host unless the request already carries one.
// - No separate connect phase: connect_timeout is not enforced on its own (the route's timeouts are), and a request
//   that fails before any response (workerd reports a refused connection and a reset alike as "Network connection
//   lost") is reported as connect_failure.
// - No upstream TLS: a target with a TLS transport socket fails (connect_failure) rather than going out in plain
//   text. (Without a SecretSource the config builder already refuses such clusters.)
// - A request body still arriving streams upstream as a ReadableStream, with the request's content-length kept where
//   the runtime can (workerd's FixedLengthStream), chunked otherwise; request trailers are not sent.
import type { HeaderMap } from "../wasm/host/index.js";
import { UpstreamError, type UpstreamRequest, type UpstreamResponse, type UpstreamTarget, type UpstreamTransport } from "./upstream.js";
import { bodyStreamFromReadable, readableFromBodyStream } from "./web-body.js";

export interface FetchTransportOptions {
  /** Default: the global fetch. */
  fetch?: typeof fetch;
}

const BODYLESS_METHODS = new Set(["GET", "HEAD", "DELETE", "OPTIONS", "TRACE"]);
/** A response with a content-length up to this is read whole (one buffer downstream); others stream. */
const WHOLE_BODY_LIMIT = 64 * 1024;

export class FetchUpstreamTransport implements UpstreamTransport {
  private readonly fetchFn: typeof fetch;

  constructor(opts: FetchTransportOptions = {}) {
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
  }

  async send(target: UpstreamTarget, _connectTimeoutMs: number, req: UpstreamRequest, timeoutMs: number): Promise<UpstreamResponse> {
    if (target.tls) throw new UpstreamError("connect_failure", "upstream TLS is not supported by the fetch transport");
    const url = `http://${hostPort(target.address.address, target.address.port)}${req.path.startsWith("/") ? req.path : `/${req.path}`}`;
    let headers: Headers;
    try {
      headers = upstreamHeaders(req.headers);
    } catch (e) {
      throw new UpstreamError("connect_failure", `invalid request header: ${e instanceof Error ? e.message : String(e)}`);
    }
    const body = req.more ? streamedRequestBody(req) : req.body;
    const signal = timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined;
    const hasBody = req.more !== undefined || req.body.length > 0 || !BODYLESS_METHODS.has(req.method);
    target.connectionOpened();
    let responded = false;
    let streaming = false;
    try {
      const res = await this.fetchFn(url, {
        method: req.method,
        headers,
        redirect: "manual",
        ...(hasBody ? { body: body as BodyInit, duplex: "half" } : {}),
        ...(signal ? { signal } : {}),
      });
      responded = true;
      const length = Number(res.headers.get("content-length") ?? NaN);
      if (res.body && !(length <= WHOLE_BODY_LIMIT)) {
        streaming = true;
        const more = bodyStreamFromReadable(res.body, (e) => new UpstreamError(signal?.aborted ? "timeout" : "reset", e instanceof Error ? e.message : String(e)));
        more.onFinish(() => target.connectionClosed());
        return { status: res.status, headers: responseHeaders(res.headers), body: new Uint8Array(0), more };
      }
      return { status: res.status, headers: responseHeaders(res.headers), body: new Uint8Array(await res.arrayBuffer()) };
    } catch (e) {
      if (signal?.aborted) throw new UpstreamError("timeout", "upstream request timeout");
      const why = e instanceof Error ? e.message : String(e);
      throw new UpstreamError(responded ? "reset" : "connect_failure", why);
    } finally {
      if (!streaming) target.connectionClosed();
    }
  }

  close(): void {
    // Nothing pooled.
  }
}

function hostPort(address: string, port: number): string {
  return address.includes(":") && !address.startsWith("[") ? `[${address}]:${port}` : `${address}:${port}`;
}

function upstreamHeaders(h: HeaderMap): Headers {
  const out = new Headers();
  let authority: string | undefined;
  for (const [k, v] of h) {
    if (k === "host") authority = v;
    else if (k !== "content-length") out.append(k, v);
  }
  if (authority && !out.has("x-forwarded-host")) out.set("x-forwarded-host", authority);
  return out;
}

function responseHeaders(headers: Headers): HeaderMap {
  const out: HeaderMap = [];
  headers.forEach((value, name) => {
    if (name !== "set-cookie") out.push([name, value]);
  });
  for (const c of headers.getSetCookie()) out.push(["set-cookie", c]);
  return out;
}

/** workerd's stream that sends a known length instead of chunked encoding. */
type FixedLengthStreamCtor = new (length: number) => TransformStream<Uint8Array, Uint8Array>;

function streamedRequestBody(req: UpstreamRequest): ReadableStream<Uint8Array> {
  const stream = readableFromBodyStream(req.body, req.more!);
  const length = Number(req.headers.find(([k]) => k === "content-length")?.[1] ?? NaN);
  const Fixed = (globalThis as { FixedLengthStream?: FixedLengthStreamCtor }).FixedLengthStream;
  return Fixed && Number.isSafeInteger(length) && length >= 0 ? stream.pipeThrough(new Fixed(length)) : stream;
}
