// UpstreamTransport over our HTTP/1.1 codec (http1/client-node.ts) on net / tls sockets: one keep-alive pool per
// endpoint and TLS context, capped at the cluster's max_connections (requests queue beyond it), reporting each connection it opens and closes to the target (circuit
// breakers). HTTP/2 clusters go to upstream-h2.ts. HTTP/1.1 carries response trailers (chunked) but, as Envoy by
// default, no request trailers. A TLS connection counts as connected once its handshake is done, so a failed
// handshake (untrusted certificate, SAN mismatch) is a connect failure (UF), as in Envoy. When a context's
// certificates change (upstream-tls-node.ts), its pool is retired: idle connections close, busy ones close when
// their request ends, and new requests open connections with the new material. Node-only.
import { lookup } from "node:dns/promises";
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { BodyStream } from "./body-stream.js";
import { EndpointRefs } from "./endpoint-refs.js";
import { Http2UpstreamPool } from "./upstream-h2.js";
import { tlsFailureReason, UpstreamTlsContexts, type UpstreamTlsConnection, type WatchableSecretSource } from "./upstream-tls-node.js";
import { UpstreamError, type UpstreamRequest, type UpstreamResponse, type UpstreamTarget, type UpstreamTransport } from "./upstream.js";
import { Http1Pool, type ClientConnection, type ClientExchange, type Opener } from "./http1/client-node.js";
import { requestHead } from "./http1/write.js";

export interface NodeTransportOptions {
  /** Where SDS-named upstream certificates are re-read when they change (`watch`). */
  secrets?: WatchableSecretSource;
}

const BODYLESS_METHODS = new Set(["GET", "HEAD", "DELETE", "OPTIONS", "TRACE"]);

export class NodeUpstreamTransport implements UpstreamTransport {
  private readonly pools = new Map<string, Http1Pool>();
  /** Pools retired while some of their connections were busy: close() still ends those. */
  private readonly retired = new Set<Http1Pool>();
  /** endpoint + TLS context, or a LOGICAL_DNS host -> the pool key in use (new material or a new address changes it). */
  private readonly currentPool = new Map<string, string>();
  private readonly openers = new WeakMap<UpstreamTarget, { tls: UpstreamTlsConnection | undefined; open: Opener }>();
  private readonly h2 = new Http2UpstreamPool();
  private readonly tls: UpstreamTlsContexts;
  /** Clusters report the endpoints their hosts hold; the pools of one no cluster holds are drained. */
  readonly endpoints = new EndpointRefs((key) => this.drainEndpoint(key));

  constructor(opts: NodeTransportOptions = {}) {
    this.tls = new UpstreamTlsContexts(opts.secrets);
  }

  private pool(target: UpstreamTarget, tls: UpstreamTlsConnection | undefined): Http1Pool {
    const base = tls ? `${target.key}|${tls.key}` : target.key;
    const { address, port } = target.address;
    // A host whose key is not its address (LOGICAL_DNS: the name) has a pool per address it had: new connections go
    // to the latest one, the previous address's pool drains.
    const logical = target.key !== `${address}:${port}`;
    const key = logical ? `${base}>${address}` : base;
    let p = this.pools.get(key);
    if (!p) {
      if (logical) this.supersede(base, key);
      p = new Http1Pool({
        maxConnections: target.pool.maxConnections,
        ...(target.pool.idleTimeoutMs !== undefined ? { idleTimeoutMs: target.pool.idleTimeoutMs } : {}),
      });
      this.pools.set(key, p);
      if (tls) this.supersede(`${target.key}|${tls.contextKey}`, key);
    }
    return p;
  }

  /** `key` is now the pool for `base` (an endpoint's address, or its TLS context): the pool it replaces drains. */
  private supersede(base: string, key: string): void {
    const previous = this.currentPool.get(base);
    this.currentPool.set(base, key);
    if (previous !== undefined && previous !== key) this.retire(previous);
  }

  /** Opens a new connection for `target`, counted against its cluster (circuit breakers); one per target and TLS material. */
  private opener(target: UpstreamTarget, tls: UpstreamTlsConnection | undefined): Opener {
    const known = this.openers.get(target);
    if (known && known.tls === tls) return known.open;
    const open: Opener = () => {
      const { address, port } = target.address;
      let socket: Socket;
      if (tls) {
        // A full handshake per connection: resumed sessions failed (alert internal_error) against our mTLS
        // listeners across certificate rotations (test/e2e-mesh.test.ts, rotation under load).
        socket = tlsConnect({ host: address, port, ...tls.options });
      } else socket = netConnect({ host: address, port });
      socket.setNoDelay(true); // as Envoy: no Nagle wait on small (TLS) writes
      target.connectionOpened();
      socket.once("close", () => target.connectionClosed());
      return { socket, ready: tls ? "secureConnect" : "connect" };
    };
    this.openers.set(target, { tls, open });
    return open;
  }

  private drainEndpoint(endpointKey: string): void {
    const ofEndpoint = (key: string) => key === endpointKey || key.startsWith(`${endpointKey}|`) || key.startsWith(`${endpointKey}>`);
    for (const key of [...this.pools.keys()]) if (ofEndpoint(key)) this.retire(key);
    for (const base of [...this.currentPool.keys()]) if (ofEndpoint(base)) this.currentPool.delete(base);
    this.h2.drainEndpoint(endpointKey);
  }

  // Idle connections close now, busy ones when their request ends (as Envoy drains a connection pool).
  private retire(key: string): void {
    const p = this.pools.get(key);
    if (!p) return;
    this.pools.delete(key);
    p.retire();
    for (const r of this.retired) if (r.empty) this.retired.delete(r);
    if (!p.empty) this.retired.add(p);
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
    // A streamed body keeps the downstream's content-length (none: chunked).
    let length = -1;
    if (req.more) {
      for (const [k, v] of req.headers) if (k === "content-length") length = Number(v);
    } else if (req.body.length > 0 || !BODYLESS_METHODS.has(req.method)) length = req.body.length;
    const chunked = req.more !== undefined && length < 0;
    const head = requestHead(req.method, req.path, req.headers, { contentLength: length, chunked });
    if (head === undefined) {
      req.more?.abort("upstream attempt failed");
      return Promise.reject(new UpstreamError("reset", `request ${req.method} ${req.path} has a header that cannot be sent (invalid name or value)`));
    }
    const pool = this.pool(target, tls);
    return new Promise((resolve, reject) => {
      let settled = false;
      let conn: ClientConnection | undefined;
      // Once a response streams (`more`), failures end that stream instead of the promise.
      let more: BodyStream | undefined;
      let routeTimer: ReturnType<typeof setTimeout> | undefined;
      let connectTimer: ReturnType<typeof setTimeout> | undefined;
      let cancel = () => {};
      const finish = (err: Error | null, res?: UpstreamResponse) => {
        if (settled) return;
        settled = true;
        if (routeTimer !== undefined) clearTimeout(routeTimer);
        if (connectTimer !== undefined) clearTimeout(connectTimer);
        if (err) {
          cancel();
          conn?.destroy();
          req.more?.abort("upstream attempt failed");
          reject(err);
        } else resolve(res!);
      };
      // The attempt's timeout covers the whole response (Envoy's route timeout): once it streams, it ends the stream.
      if (timeoutMs > 0) {
        routeTimer = setTimeout(() => {
          const err = new UpstreamError("timeout", "upstream request timeout");
          if (!more) return finish(err);
          more.fail(err);
          conn?.destroy();
        }, timeoutMs);
      }
      const exchange: ClientExchange = {
        method: req.method,
        response: (r) => {
          if (!r.more) return finish(null, r);
          more = r.more;
          settled = true;
          if (connectTimer !== undefined) clearTimeout(connectTimer);
          more.onFinish(() => {
            if (routeTimer !== undefined) clearTimeout(routeTimer);
          });
          resolve(r);
        },
        failed: (e, connected) => {
          const handshake = tls !== undefined && !connected && e.code !== "ECONNREFUSED";
          finish(new UpstreamError(connected ? "reset" : "connect_failure", e.message, handshake ? tlsFailureReason(e) : undefined));
        },
      };
      cancel = pool.acquire(this.opener(target, tls), (e, c) => {
        if (e) return finish(new UpstreamError("connect_failure", e.message));
        conn = c!;
        if (!conn.connected && connectTimeoutMs > 0) {
          connectTimer = setTimeout(() => finish(new UpstreamError("connect_failure", "connect timeout")), connectTimeoutMs);
          conn.whenConnected(() => clearTimeout(connectTimer));
        }
        conn.send(exchange, head, req.body, req.more, chunked);
      });
    });
  }

  /** ORIGINAL_DST destinations by name: getaddrinfo through node:dns, as the OS resolves them (IPv4 first). */
  async resolve(name: string): Promise<string[]> {
    const found = await lookup(name, { all: true, order: "ipv4first" });
    return found.map((a) => a.address);
  }

  close(): void {
    for (const p of [...this.pools.values(), ...this.retired]) p.destroy();
    this.pools.clear();
    this.retired.clear();
    this.currentPool.clear();
    this.h2.close();
    this.tls.close();
  }
}
