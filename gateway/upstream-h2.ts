// HTTP/2 upstreams (clusters with http2_protocol_options): one node:http2 client session per endpoint and TLS
// context, plain text with prior knowledge (h2c) or over TLS (h2 offered by ALPN; HTTP/2 is spoken whatever the
// server picks, as Envoy's explicit HTTP/2 codec does), every request a stream on it, as Envoy's HTTP/2 pool
// multiplexes. A session that receives GOAWAY or fails, or whose TLS material was superseded, takes no new streams
// (the next request opens a new one); its open streams finish. A session counts as connected after its TLS
// handshake. Request and response trailers are carried (gRPC). Reports each session to the target as one
// connection. Node-only.
import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http2";
import { connect as tlsConnect } from "node:tls";
import type { HeaderMap } from "../wasm/host/index.js";
import { BodyStream, writeWithBackpressure } from "./body-stream.js";
import { tlsFailureReason, type UpstreamTlsConnection } from "./upstream-tls-node.js";
import { UpstreamError, type UpstreamRequest, type UpstreamResponse, type UpstreamTarget } from "./upstream.js";
import { joinChunks } from "./chunks-node.js";

// Connection-specific headers HTTP/2 forbids (RFC 9113 8.2.2); "te" is allowed with "trailers" only.
const FORBIDDEN = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "http2-settings", "host"]);

interface PooledSession {
  session: ClientHttp2Session;
  connected: boolean;
  /** Why a TLS session failed before it was connected (its handshake). */
  tlsFailure?: string;
}

export class Http2UpstreamPool {
  private readonly sessions = new Map<string, PooledSession>();
  /** endpoint + TLS context -> the session key in use (the material version changes it). */
  private readonly currentKey = new Map<string, string>();
  /** Sessions closing gracefully (their endpoint was drained) until their streams end: close() still ends them. */
  private readonly closing = new Set<ClientHttp2Session>();

  private sessionFor(target: UpstreamTarget, tls: UpstreamTlsConnection | undefined): PooledSession {
    const key = tls ? `${target.key}|${tls.key}` : target.key;
    const existing = this.sessions.get(key);
    if (existing && !existing.session.closed && !existing.session.destroyed) return existing;
    const { address, port } = target.address;
    const host = address.includes(":") ? `[${address}]` : address;
    const session = tls
      ? connect(`https://${host}:${port}`, {
          createConnection: () => {
            const socket = tlsConnect({ ...tls.options, host: address, port });
            // The socket's own error (a failed handshake) comes before the session's and its streams' (and always
            // after `entry` below exists: it is asynchronous).
            socket.once("error", (e: NodeJS.ErrnoException) => {
              if (!entry.connected && e.code !== "ECONNREFUSED") entry.tlsFailure = tlsFailureReason(e);
            });
            return socket;
          },
        })
      : connect(`http://${host}:${port}`);
    const entry: PooledSession = { session, connected: false };
    this.sessions.set(key, entry);
    if (tls) {
      const base = `${target.key}|${tls.contextKey}`;
      const previous = this.currentKey.get(base);
      this.currentKey.set(base, key);
      const old = previous !== undefined && previous !== key ? this.sessions.get(previous) : undefined;
      if (old) {
        this.sessions.delete(previous!);
        old.session.close();
      }
    }
    target.connectionOpened();
    const forget = () => {
      if (this.sessions.get(key) === entry) this.sessions.delete(key);
    };
    session.once("connect", () => (entry.connected = true));
    session.once("goaway", forget);
    // Stream errors report the failure to their requests; the session's own error only retires it.
    session.on("error", forget);
    session.once("close", () => {
      forget();
      target.connectionClosed();
    });
    if (target.pool.idleTimeoutMs !== undefined && target.pool.idleTimeoutMs > 0) {
      session.setTimeout(target.pool.idleTimeoutMs, () => session.close());
    }
    return entry;
  }

  /** The endpoint left every cluster: its sessions close gracefully (GOAWAY; streams in flight finish). */
  drainEndpoint(endpointKey: string): void {
    for (const [key, entry] of this.sessions) {
      if (key !== endpointKey && !key.startsWith(`${endpointKey}|`)) continue;
      this.sessions.delete(key);
      const { session } = entry;
      this.closing.add(session);
      session.close(() => this.closing.delete(session));
    }
  }

  send(target: UpstreamTarget, connectTimeoutMs: number, req: UpstreamRequest, timeoutMs: number, tls?: UpstreamTlsConnection): Promise<UpstreamResponse> {
    return new Promise((resolve, reject) => {
      const entry = this.sessionFor(target, tls);
      const { session } = entry;
      let settled = false;
      let routeTimer: ReturnType<typeof setTimeout> | undefined;
      let connectTimer: ReturnType<typeof setTimeout> | undefined;
      const finish = (err: UpstreamError | null, res?: UpstreamResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(routeTimer);
        clearTimeout(connectTimer);
        if (err) {
          if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
          req.more?.abort("upstream attempt failed");
          reject(err);
        } else resolve(res!);
      };
      const failure = (message: string) => new UpstreamError(entry.connected ? "reset" : "connect_failure", message, entry.connected ? undefined : entry.tlsFailure);

      const streamed = req.more !== undefined;
      // A streamed body's trailers (if any) are known at its end only: the stream always waits for them.
      const hasTrailers = streamed || (req.trailers !== undefined && req.trailers.length > 0);
      let stream: ReturnType<ClientHttp2Session["request"]>;
      try {
        stream = session.request(requestHeaders(req, target, tls !== undefined), { endStream: !streamed && req.body.length === 0 && !hasTrailers, waitForTrailers: hasTrailers });
      } catch (e) {
        req.more?.abort("upstream attempt failed");
        reject(new UpstreamError(entry.connected ? "reset" : "connect_failure", e instanceof Error ? e.message : String(e)));
        return;
      }
      // The attempt's timeout covers the whole response (Envoy's route timeout): once it streams, it ends the stream.
      if (timeoutMs > 0) routeTimer = setTimeout(() => fail(new UpstreamError("timeout", "upstream request timeout")), timeoutMs);
      if (!entry.connected && connectTimeoutMs > 0) {
        connectTimer = setTimeout(() => {
          if (entry.connected) return;
          finish(new UpstreamError("connect_failure", "connect timeout"));
          session.destroy();
        }, connectTimeoutMs);
        session.once("connect", () => clearTimeout(connectTimer));
      }
      let lateTrailers: HeaderMap | undefined;
      // An empty trailer block (HEADERS with END_STREAM) ends a streamed body that had none.
      if (hasTrailers) stream.once("wantTrailers", () => stream.sendTrailers(toOutgoing((streamed ? lateTrailers : req.trailers) ?? [])));

      let status = 0;
      let headers: HeaderMap = [];
      let trailers: HeaderMap | undefined;
      const chunks: Buffer[] = [];
      // Once the response streams (`more`), failures end that stream instead of the promise.
      let more: BodyStream | undefined;
      const failStream = (err: UpstreamError) => {
        clearTimeout(routeTimer);
        if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
        more!.fail(err);
      };
      const fail = (err: UpstreamError) => (more ? failStream(err) : finish(err));
      stream.on("response", (h: IncomingHttpHeaders) => {
        status = Number(h[":status"] ?? 502);
        headers = fromIncoming(h);
        // What arrives with the headers in one read is answered whole; otherwise the rest streams.
        setImmediate(() => {
          if (settled || stream.readableEnded) return;
          const body = joinChunks(chunks);
          more = new BodyStream({
            pause: () => stream.pause(),
            resume: () => stream.resume(),
            abort: () => {
              clearTimeout(routeTimer);
              if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
            },
          });
          settled = true;
          clearTimeout(connectTimer);
          resolve({ status, headers, body, more });
        });
      });
      stream.on("trailers", (t: IncomingHttpHeaders) => (trailers = fromIncoming(t)));
      stream.on("data", (c: Buffer) => (more ? more.push(c) : chunks.push(c)));
      stream.on("end", () => {
        // A streamed response ends with its stream's close: Node also ends the readable side on a reset.
        if (more) return;
        if (status === 0) return finish(failure("upstream stream ended without a response"));
        const body = joinChunks(chunks);
        finish(null, { status, headers, body, ...(trailers ? { trailers } : {}) });
      });
      stream.on("error", (e: Error) => fail(more ? new UpstreamError("reset", e.message) : failure(e.message)));
      stream.on("close", () => {
        if (more) {
          if (more.finished) return;
          if (stream.readableEnded && (stream.rstCode === undefined || stream.rstCode === constants.NGHTTP2_NO_ERROR)) {
            clearTimeout(routeTimer);
            return more.end(trailers);
          }
          return failStream(new UpstreamError("reset", `upstream stream reset (code ${stream.rstCode})`));
        }
        if (!settled) finish(failure(`upstream stream closed (${stream.rstCode === undefined ? "no response" : `reset code ${stream.rstCode}`})`));
      });
      if (!req.more) {
        stream.end(req.body.length > 0 ? req.body : undefined);
        return;
      }
      const body = req.more;
      if (req.body.length > 0) stream.write(req.body);
      stream.once("close", () => body.abort("upstream stream closed"));
      // The stream's window (and the session's) pauses the downstream until the upstream reads on.
      body.start({
        data: writeWithBackpressure(stream, body),
        end: (t) => {
          lateTrailers = t;
          stream.end();
        },
        error: () => {
          if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
        },
      });
    });
  }

  close(): void {
    for (const { session } of this.sessions.values()) session.destroy();
    for (const session of this.closing) session.destroy();
    this.sessions.clear();
    this.closing.clear();
    this.currentKey.clear();
  }
}

function requestHeaders(req: UpstreamRequest, target: UpstreamTarget, secure: boolean): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ":method": req.method, ":path": req.path, ":scheme": secure ? "https" : "http", ":authority": target.key };
  for (const [k, v] of req.headers) {
    if (k === "host") out[":authority"] = v;
    else if (k === "content-length") out[k] = req.more ? v : String(req.body.length);
    else if (FORBIDDEN.has(k) || (k === "te" && v.toLowerCase() !== "trailers")) continue;
    else append(out, k, v);
  }
  return out;
}

export function toOutgoing(h: HeaderMap): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of h) if (k.charCodeAt(0) !== 58 /* ":" */ && !FORBIDDEN.has(k)) append(out, k, v);
  return out;
}

function append(out: OutgoingHttpHeaders, k: string, v: string): void {
  const prev = out[k];
  if (prev === undefined) out[k] = v;
  else if (Array.isArray(prev)) prev.push(v);
  else out[k] = [String(prev), v];
}

/** Regular headers of a received header block (pseudo-headers left out), repeated names as separate pairs. */
export function fromIncoming(h: IncomingHttpHeaders): HeaderMap {
  const out: HeaderMap = [];
  for (const [k, v] of Object.entries(h)) {
    if (k.charCodeAt(0) === 58 /* ":" */ || v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) out.push([k, x]);
    else out.push([k, v]);
  }
  return out;
}
