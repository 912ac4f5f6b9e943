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
import type { HeaderMap } from "../wasm/host/index.js";
import { BodyStream } from "./body-stream.js";
import { readWhole } from "./request-body.js";
import { UpstreamError, type UpstreamRequest, type UpstreamResponse, type UpstreamTarget, type UpstreamTransport } from "./upstream.js";

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
    // fetch() gets a request body whole here: a streamed one is read to its end first.
    const reqBody = req.more ? await readWhole(req.body, req.more).catch((e: unknown) => {
      throw new UpstreamError("reset", `request body: ${e instanceof Error ? e.message : String(e)}`);
    }) : req.body;
    const signal = timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined;
    const hasBody = reqBody.length > 0 || !BODYLESS_METHODS.has(req.method);
    target.connectionOpened();
    let responded = false;
    let streaming = false;
    try {
      const res = await this.fetchFn(url, {
        method: req.method,
        headers,
        redirect: "manual",
        ...(hasBody ? { body: reqBody as Uint8Array<ArrayBuffer> } : {}),
        ...(signal ? { signal } : {}),
      });
      responded = true;
      const length = Number(res.headers.get("content-length") ?? NaN);
      if (res.body && !(length <= WHOLE_BODY_LIMIT)) {
        streaming = true;
        const more = streamBody(res.body, () => signal?.aborted === true);
        more.onFinish(() => target.connectionClosed());
        return { status: res.status, headers: responseHeaders(res.headers), body: new Uint8Array(0), more };
      }
      const body = new Uint8Array(await res.arrayBuffer());
      return { status: res.status, headers: responseHeaders(res.headers), body };
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

/** The rest of a fetch() response: read while the consumer wants more; its timeout signal still applies. */
function streamBody(body: ReadableStream<Uint8Array>, timedOut: () => boolean): BodyStream {
  const reader = body.getReader();
  let paused = true;
  let pumping = false;
  const pump = async () => {
    if (pumping) return;
    pumping = true;
    try {
      while (!paused && !more.finished) {
        const { done, value } = await reader.read();
        if (done) return more.end();
        more.push(value);
      }
    } catch (e) {
      more.fail(new UpstreamError(timedOut() ? "timeout" : "reset", e instanceof Error ? e.message : String(e)));
    } finally {
      pumping = false;
    }
  };
  const more: BodyStream = new BodyStream({
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
      void pump();
    },
    abort: () => {
      reader.cancel().catch(() => {});
    },
  });
  return more;
}
