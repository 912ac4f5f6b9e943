// UpstreamTransport over node:http / node:https: one keep-alive pool (an Agent) per endpoint and TLS context,
// capped at the cluster's max_connections, reporting each connection it opens and closes to the target (circuit
// breakers). HTTP/2 clusters go to upstream-h2.ts. HTTP/1.1 carries response trailers (chunked) but, as Envoy by
// default, no request trailers. A TLS connection counts as connected once its handshake is done, so a failed
// handshake (untrusted certificate, SAN mismatch) is a connect failure (UF), as in Envoy. When a context's
// certificates change (upstream-tls-node.ts), its pool is retired: idle connections close, busy ones close when
// their request ends, and new requests open connections with the new material. Node-only.
import { Agent, request, type ClientRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { lookup } from "node:dns/promises";
import type { Socket } from "node:net";
import type { HeaderMap } from "../wasm/host/index.js";
import { BodyStream, writeWithBackpressure } from "./body-stream.js";
import { EndpointRefs } from "./endpoint-refs.js";
import { Http2UpstreamPool } from "./upstream-h2.js";
import { tlsFailureReason, UpstreamTlsContexts, type UpstreamTlsConnection, type WatchableSecretSource } from "./upstream-tls-node.js";
import { UpstreamError, type UpstreamRequest, type UpstreamResponse, type UpstreamTarget, type UpstreamTransport } from "./upstream.js";
import { joinChunks } from "./chunks-node.js";

export interface NodeTransportOptions {
  /** Where SDS-named upstream certificates are re-read when they change (`watch`). */
  secrets?: WatchableSecretSource;
}

const BODYLESS_METHODS = new Set(["GET", "HEAD", "DELETE", "OPTIONS", "TRACE"]);

export class NodeUpstreamTransport implements UpstreamTransport {
  private readonly agents = new Map<string, Agent>();
  /** Agents retired while some of their connections were busy: close() still ends those. */
  private readonly retired = new Set<Agent>();
  /** endpoint + TLS context -> the pool key in use (the material version changes it). */
  private readonly currentPool = new Map<string, string>();
  private readonly counted = new WeakSet<Socket>();
  /** Sockets whose connection (and TLS handshake) is complete. */
  private readonly established = new WeakSet<Socket>();
  private readonly h2 = new Http2UpstreamPool();
  private readonly tls: UpstreamTlsContexts;
  /** Clusters report the endpoints their hosts hold; the pools of one no cluster holds are drained. */
  readonly endpoints = new EndpointRefs((key) => this.drainEndpoint(key));

  constructor(opts: NodeTransportOptions = {}) {
    this.tls = new UpstreamTlsContexts(opts.secrets);
  }

  private agent(target: UpstreamTarget, tls: UpstreamTlsConnection | undefined): Agent {
    const key = tls ? `${target.key}|${tls.key}` : target.key;
    let a = this.agents.get(key);
    if (!a) {
      const max = target.pool.maxConnections;
      const options = {
        keepAlive: true,
        maxSockets: max,
        maxFreeSockets: max,
        ...(target.pool.idleTimeoutMs !== undefined ? { timeout: target.pool.idleTimeoutMs } : {}),
      };
      a = tls ? new HttpsAgent({ ...options, ...tls.options }) : new Agent(options);
      this.agents.set(key, a);
      if (tls) {
        const base = `${target.key}|${tls.contextKey}`;
        const previous = this.currentPool.get(base);
        this.currentPool.set(base, key);
        if (previous !== undefined && previous !== key) this.retire(previous);
      }
    }
    return a;
  }

  private drainEndpoint(endpointKey: string): void {
    for (const key of [...this.agents.keys()]) if (key === endpointKey || key.startsWith(`${endpointKey}|`)) this.retire(key);
    for (const base of [...this.currentPool.keys()]) if (base.startsWith(`${endpointKey}|`)) this.currentPool.delete(base);
    this.h2.drainEndpoint(endpointKey);
  }

  // Node's agent destroys a socket freed while keepAlive is off, so busy connections end with their request.
  private retire(key: string): void {
    const a = this.agents.get(key);
    if (!a) return;
    this.agents.delete(key);
    (a as Agent & { keepAlive: boolean }).keepAlive = false;
    for (const list of Object.values(a.freeSockets)) for (const s of list ?? []) s.destroy();
    for (const r of this.retired) if (Object.keys(r.sockets).length === 0) this.retired.delete(r);
    if (Object.keys(a.sockets).length > 0) this.retired.add(a);
  }

  // A reset on a pooled connection is a reset, as in Envoy (no transparent retry that would hide it from the
  // router's retry policy and outlier detection): retry_on reset covers an upstream closing an idle connection.
  send(target: UpstreamTarget, connectTimeoutMs: number, req: UpstreamRequest, timeoutMs: number): Promise<UpstreamResponse> {
    let tls: UpstreamTlsConnection | undefined;
    try {
      tls = target.tls ? this.tls.connection(target.tls, target.http2 === true) : undefined;
    } catch (e) {
      return Promise.reject(e);
    }
    if (target.http2) return this.h2.send(target, connectTimeoutMs, req, timeoutMs, tls);
    return new Promise((resolve, reject) => {
      let settled = false;
      let connected = false;
      // Once a response streams (`more`), failures end that stream instead of the promise.
      let more: BodyStream | undefined;
      let routeTimer: ReturnType<typeof setTimeout> | undefined;
      let connectTimer: ReturnType<typeof setTimeout> | undefined;
      const finish = (err: Error | null, res?: UpstreamResponse) => {
        if (settled) return;
        settled = true;
        if (routeTimer !== undefined) clearTimeout(routeTimer);
        if (connectTimer !== undefined) clearTimeout(connectTimer);
        if (err) {
          cr.destroy();
          req.more?.abort("upstream attempt failed");
          reject(err);
        } else resolve(res!);
      };
      const flat: string[] = [];
      // A streamed body keeps the downstream's content-length (none: chunked).
      for (const [k, v] of req.headers) if (k !== "content-length" || req.more) flat.push(k, v);
      if (!req.more && (req.body.length > 0 || !BODYLESS_METHODS.has(req.method))) flat.push("content-length", String(req.body.length));
      const options = {
        host: target.address.address,
        port: target.address.port,
        method: req.method,
        path: req.path,
        agent: this.agent(target, tls),
        headers: flat,
        setHost: false,
      };
      const cr: ClientRequest = tls ? httpsRequest(options) : request(options);
      // The attempt's timeout covers the whole response (Envoy's route timeout): once it streams, it ends the stream.
      const onTimeout = () => {
        const err = new UpstreamError("timeout", "upstream request timeout");
        if (more) failStream(err);
        else finish(err);
      };
      if (timeoutMs > 0) routeTimer = setTimeout(onTimeout, timeoutMs);
      cr.on("socket", (socket: Socket) => {
        if (!this.counted.has(socket)) {
          this.counted.add(socket);
          socket.setNoDelay(true); // as Envoy: no Nagle wait on small (TLS) writes
          target.connectionOpened();
          socket.once("close", () => target.connectionClosed());
        }
        if (this.established.has(socket)) {
          connected = true;
          return;
        }
        if (connectTimeoutMs > 0) {
          connectTimer = setTimeout(() => finish(new UpstreamError("connect_failure", "connect timeout")), connectTimeoutMs);
        }
        const onEstablished = () => {
          this.established.add(socket);
          connected = true;
          if (connectTimer !== undefined) clearTimeout(connectTimer);
        };
        if (tls) socket.once("secureConnect", onEstablished);
        else if (socket.connecting) socket.once("connect", onEstablished);
        else onEstablished();
      });
      const failStream = (err: UpstreamError) => {
        if (routeTimer !== undefined) clearTimeout(routeTimer);
        cr.destroy();
        more!.fail(err);
      };
      cr.on("error", (e: NodeJS.ErrnoException) => {
        if (more) return failStream(new UpstreamError("reset", e.message));
        const handshake = tls !== undefined && !connected && e.code !== "ECONNREFUSED";
        finish(new UpstreamError(connected ? "reset" : "connect_failure", e.message, handshake ? tlsFailureReason(e) : undefined));
      });
      cr.on("response", (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        const fail = (err: UpstreamError) => (more ? failStream(err) : finish(err));
        res.on("data", (c: Buffer) => (more ? more.push(c) : chunks.push(c)));
        res.on("error", (e) => fail(new UpstreamError("reset", e.message)));
        res.on("aborted", () => fail(new UpstreamError("reset", "upstream response aborted")));
        res.on("end", () => {
          if (!res.complete) return fail(new UpstreamError("reset", "upstream response incomplete"));
          const trailers = res.rawTrailers.length > 0 ? rawHeaders(res.rawTrailers) : undefined;
          if (more) {
            if (routeTimer !== undefined) clearTimeout(routeTimer);
            return more.end(trailers);
          }
          const body = joinChunks(chunks);
          const out: UpstreamResponse = { status: res.statusCode ?? 502, headers: rawHeaders(res.rawHeaders), body };
          if (trailers) out.trailers = trailers;
          finish(null, out);
        });
        // A response that came in one read is complete once the parser is done with that read (the common small
        // answer: buffered, written with one end()); otherwise the rest streams.
        process.nextTick(() => {
          if (settled || res.complete) return;
          const body = joinChunks(chunks);
          more = new BodyStream({
            pause: () => res.pause(),
            resume: () => res.resume(),
            abort: () => {
              if (routeTimer !== undefined) clearTimeout(routeTimer);
              cr.destroy();
            },
          });
          settled = true;
          if (connectTimer !== undefined) clearTimeout(connectTimer);
          resolve({ status: res.statusCode ?? 502, headers: rawHeaders(res.rawHeaders), body, more });
        });
      });
      if (req.more) writeStreamed(cr, req.body, req.more);
      else cr.end(req.body.length > 0 ? req.body : undefined);
    });
  }

  /** ORIGINAL_DST destinations by name: getaddrinfo through node:dns, as the OS resolves them (IPv4 first). */
  async resolve(name: string): Promise<string[]> {
    const found = await lookup(name, { all: true, order: "ipv4first" });
    return found.map((a) => a.address);
  }

  close(): void {
    for (const a of [...this.agents.values(), ...this.retired]) a.destroy();
    this.agents.clear();
    this.retired.clear();
    this.currentPool.clear();
    this.h2.close();
    this.tls.close();
  }
}

/** The request body as it arrives: a full socket pauses the downstream until it drains. No trailers on HTTP/1. */
function writeStreamed(cr: ClientRequest, first: Uint8Array, more: BodyStream): void {
  if (first.length > 0) cr.write(first);
  else cr.flushHeaders();
  cr.once("close", () => more.abort("upstream request closed"));
  more.start({
    data: writeWithBackpressure(cr, more),
    end: () => cr.end(),
    error: () => cr.destroy(),
  });
}

function rawHeaders(raw: string[]): HeaderMap {
  const out: HeaderMap = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
  return out;
}
