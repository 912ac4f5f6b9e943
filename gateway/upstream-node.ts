// UpstreamTransport over node:http with one keep-alive agent per endpoint. Node-only.
import { Agent, request, type IncomingMessage } from "node:http";
import type { HeaderMap } from "../wasm/host/index.js";
import type { SocketAddr } from "./bootstrap/types.js";
import { UpstreamError, type UpstreamRequest, type UpstreamResponse, type UpstreamTransport } from "./upstream.js";

export class NodeUpstreamTransport implements UpstreamTransport {
  private readonly agents = new Map<string, Agent>();

  private agent(ep: SocketAddr): Agent {
    const key = `${ep.address}:${ep.port}`;
    let a = this.agents.get(key);
    if (!a) {
      a = new Agent({ keepAlive: true, maxSockets: 256 });
      this.agents.set(key, a);
    }
    return a;
  }

  async send(ep: SocketAddr, connectTimeoutMs: number, req: UpstreamRequest, timeoutMs: number): Promise<UpstreamResponse> {
    try {
      return await this.once(ep, connectTimeoutMs, req, timeoutMs);
    } catch (e) {
      // A pooled connection the upstream closed while idle: the request never reached it, so try a fresh one.
      if (e instanceof StaleSocketError) return this.once(ep, connectTimeoutMs, req, timeoutMs);
      throw e;
    }
  }

  private once(ep: SocketAddr, connectTimeoutMs: number, req: UpstreamRequest, timeoutMs: number): Promise<UpstreamResponse> {
    return new Promise((resolve, reject) => {
      let settled = false;
      let connected = false;
      const finish = (err: Error | null, res?: UpstreamResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(routeTimer);
        clearTimeout(connectTimer);
        if (err) {
          cr.destroy();
          reject(err);
        } else resolve(res!);
      };
      const headers: Array<[string, string]> = req.headers.filter(([k]) => k !== "content-length");
      if (req.body.length > 0 || !["GET", "HEAD", "DELETE", "OPTIONS", "TRACE"].includes(req.method)) {
        headers.push(["content-length", String(req.body.length)]);
      }
      const cr = request({
        host: ep.address,
        port: ep.port,
        method: req.method,
        path: req.path,
        agent: this.agent(ep),
        headers: headers.flat(),
        setHost: false,
      });
      const routeTimer = timeoutMs > 0 ? setTimeout(() => finish(new UpstreamError("timeout", "upstream request timeout")), timeoutMs) : undefined;
      let connectTimer: ReturnType<typeof setTimeout> | undefined;
      cr.on("socket", (socket) => {
        if (!socket.connecting) {
          connected = true;
          return;
        }
        if (connectTimeoutMs > 0) {
          connectTimer = setTimeout(() => finish(new UpstreamError("connect_failure", "connect timeout")), connectTimeoutMs);
        }
        socket.once("connect", () => {
          connected = true;
          clearTimeout(connectTimer);
        });
      });
      cr.on("error", (e: NodeJS.ErrnoException) => {
        if (!connected) finish(new UpstreamError("connect_failure", e.message));
        else if (cr.reusedSocket && e.code === "ECONNRESET" && !gotResponse) finish(new StaleSocketError(e.message));
        else finish(new UpstreamError("reset", e.message));
      });
      let gotResponse = false;
      cr.on("response", (res: IncomingMessage) => {
        gotResponse = true;
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", (e) => finish(new UpstreamError("reset", e.message)));
        res.on("aborted", () => finish(new UpstreamError("reset", "upstream response aborted")));
        res.on("end", () => {
          if (!res.complete) return finish(new UpstreamError("reset", "upstream response incomplete"));
          finish(null, { status: res.statusCode ?? 502, headers: rawHeaders(res.rawHeaders), body: new Uint8Array(Buffer.concat(chunks)) });
        });
      });
      cr.end(req.body.length > 0 ? req.body : undefined);
    });
  }

  close(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}

class StaleSocketError extends Error {}

function rawHeaders(raw: string[]): HeaderMap {
  const out: HeaderMap = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
  return out;
}
