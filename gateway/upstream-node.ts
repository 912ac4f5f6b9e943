// UpstreamTransport over node:http: one keep-alive pool (an http.Agent) per endpoint, capped at the cluster's
// max_connections, reporting each connection it opens and closes to the target (circuit breakers). HTTP/2 clusters
// go to upstream-h2.ts. HTTP/1.1 carries response trailers (chunked) but, as Envoy by default, no request
// trailers. Node-only.
import { Agent, request, type IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { HeaderMap } from "../wasm/host/index.js";
import { Http2UpstreamPool } from "./upstream-h2.js";
import { UpstreamError, type UpstreamRequest, type UpstreamResponse, type UpstreamTarget, type UpstreamTransport } from "./upstream.js";

const BODYLESS_METHODS = new Set(["GET", "HEAD", "DELETE", "OPTIONS", "TRACE"]);
const EMPTY = new Uint8Array(0);

export class NodeUpstreamTransport implements UpstreamTransport {
  private readonly agents = new Map<string, Agent>();
  private readonly counted = new WeakSet<Socket>();
  private readonly h2 = new Http2UpstreamPool();

  private agent(target: UpstreamTarget): Agent {
    let a = this.agents.get(target.key);
    if (!a) {
      const max = target.pool.maxConnections;
      a = new Agent({
        keepAlive: true,
        maxSockets: max,
        maxFreeSockets: max,
        ...(target.pool.idleTimeoutMs !== undefined ? { timeout: target.pool.idleTimeoutMs } : {}),
      });
      this.agents.set(target.key, a);
    }
    return a;
  }

  // A reset on a pooled connection is a reset, as in Envoy (no transparent retry that would hide it from the
  // router's retry policy and outlier detection): retry_on reset covers an upstream closing an idle connection.
  send(target: UpstreamTarget, connectTimeoutMs: number, req: UpstreamRequest, timeoutMs: number): Promise<UpstreamResponse> {
    if (target.http2) return this.h2.send(target, connectTimeoutMs, req, timeoutMs);
    return new Promise((resolve, reject) => {
      let settled = false;
      let connected = false;
      let routeTimer: ReturnType<typeof setTimeout> | undefined;
      let connectTimer: ReturnType<typeof setTimeout> | undefined;
      const finish = (err: Error | null, res?: UpstreamResponse) => {
        if (settled) return;
        settled = true;
        if (routeTimer !== undefined) clearTimeout(routeTimer);
        if (connectTimer !== undefined) clearTimeout(connectTimer);
        if (err) {
          cr.destroy();
          reject(err);
        } else resolve(res!);
      };
      const flat: string[] = [];
      for (const [k, v] of req.headers) if (k !== "content-length") flat.push(k, v);
      if (req.body.length > 0 || !BODYLESS_METHODS.has(req.method)) flat.push("content-length", String(req.body.length));
      const cr = request({
        host: target.address.address,
        port: target.address.port,
        method: req.method,
        path: req.path,
        agent: this.agent(target),
        headers: flat,
        setHost: false,
      });
      if (timeoutMs > 0) routeTimer = setTimeout(() => finish(new UpstreamError("timeout", "upstream request timeout")), timeoutMs);
      cr.on("socket", (socket: Socket) => {
        if (!this.counted.has(socket)) {
          this.counted.add(socket);
          target.connectionOpened();
          socket.once("close", () => target.connectionClosed());
        }
        if (!socket.connecting) {
          connected = true;
          return;
        }
        if (connectTimeoutMs > 0) {
          connectTimer = setTimeout(() => finish(new UpstreamError("connect_failure", "connect timeout")), connectTimeoutMs);
        }
        socket.once("connect", () => {
          connected = true;
          if (connectTimer !== undefined) clearTimeout(connectTimer);
        });
      });
      cr.on("error", (e: NodeJS.ErrnoException) => {
        finish(new UpstreamError(connected ? "reset" : "connect_failure", e.message));
      });
      cr.on("response", (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", (e) => finish(new UpstreamError("reset", e.message)));
        res.on("aborted", () => finish(new UpstreamError("reset", "upstream response aborted")));
        res.on("end", () => {
          if (!res.complete) return finish(new UpstreamError("reset", "upstream response incomplete"));
          const body = chunks.length === 0 ? EMPTY : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          const out: UpstreamResponse = { status: res.statusCode ?? 502, headers: rawHeaders(res.rawHeaders), body };
          if (res.rawTrailers.length > 0) out.trailers = rawHeaders(res.rawTrailers);
          finish(null, out);
        });
      });
      cr.end(req.body.length > 0 ? req.body : undefined);
    });
  }

  close(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
    this.h2.close();
  }
}

function rawHeaders(raw: string[]): HeaderMap {
  const out: HeaderMap = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
  return out;
}
