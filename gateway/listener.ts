// One listener: a TCP server whose connections are told apart as Envoy's listener does — TLS or plain text by the
// first byte (tls_inspector; only when the listener has both kinds of filter chain), then the codec (AUTO): for TLS
// by ALPN, for plain text by the HTTP/2 connection preface (h2c with prior knowledge) — and handed to our HTTP/1
// codec (http1/server-node.ts) or a node:http2 server (downstream-node.ts), both feeding the HCM. Draining
// stops accepting, sends Connection: close on HTTP/1 responses and GOAWAY on HTTP/2 sessions, and lets requests in
// flight finish. A verified client certificate becomes the connection's peer identity (peer-identity.ts). Node-only.
import { serve, type HttpBindings } from "@hono/node-server";
import type { Server } from "node:http";
import { createServer as createHttp2Server, type Http2Session, type ServerHttp2Stream, type IncomingHttpHeaders } from "node:http2";
import { createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import type { ListenerConfig, SocketAddr } from "./bootstrap/types.js";
import { fromHttp2Stream, writeHttp2 } from "./downstream-node.js";
import { Http1Connection } from "./http1/server-node.js";
import type { DownstreamInfo, HttpConnectionManager } from "./hcm.js";
import { peerCertificate } from "./peer-certificate-node.js";
import { clientCertificateVerified, TlsTerminator } from "./tls-node.js";

type FetchCallback = Parameters<typeof serve>[0]["fetch"];

export interface RunningListener {
  name: string;
  /** The bound address (the real port when port_value was 0). */
  address: SocketAddr;
  /** "https" when every filter chain is TLS. */
  scheme?: "http" | "https";
  close(): Promise<void>;
  /** Stops accepting, lets requests in flight finish (up to graceMs), then closes what is left. */
  drain(graceMs: number): Promise<void>;
}

interface Connection {
  down: DownstreamInfo;
  scheme: "http" | "https";
}

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const TLS_HANDSHAKE = 0x16;
/** A client that sends nothing for this long after connecting is dropped (Envoy's listener_filters_timeout). */
const FIRST_BYTES_TIMEOUT_MS = 15_000;
let nextConnectionId = 1;

export function startListener(cfg: ListenerConfig, hcm: Pick<HttpConnectionManager, "serve" | "logProtocolError">): Promise<RunningListener> {
  const http1Only = cfg.hcm.http1Only === true;
  let tls: TlsTerminator | undefined;
  try {
    tls = cfg.tls ? new TlsTerminator(cfg.tls, cfg.name) : undefined;
  } catch (e) {
    return Promise.reject(e);
  }
  tls?.follow();
  const plaintext = !cfg.tls || cfg.tls.plaintext;
  const sockets = new Set<Socket>();
  const sessions = new Set<Http2Session>();
  const h2Connections = new WeakMap<Http2Session, Connection>();
  let draining = false;
  let handingOver: Connection | undefined;

  const fail = (e: unknown) => console.error(`halyard gateway: listener "${cfg.name}": ${e instanceof Error ? e.message : String(e)}`);
  const h1 = new Set<Http1Connection>();
  const h2 = createHttp2Server();
  h2.on("session", (session: Http2Session) => {
    h2Connections.set(session, handingOver!);
    sessions.add(session);
    session.on("error", () => {});
    session.once("close", () => sessions.delete(session));
    if (draining) session.close();
  });
  h2.on("stream", (stream: ServerHttp2Stream, _headers: IncomingHttpHeaders, _flags: number, raw: string[]) => {
    stream.on("error", () => {});
    const conn = h2Connections.get(stream.session!)!;
    hcm.serve(fromHttp2Stream(stream, raw, conn.scheme), conn.down).then(
      (out) => writeHttp2(stream, out),
      (e) => {
        fail(e);
        if (!stream.destroyed) stream.close();
      },
    );
  });

  const toHttp1 = (s: Socket | TLSSocket | Duplex, conn: Connection, head?: Buffer) => {
    const c = new Http1Connection(s, (req) => hcm.serve(req, conn.down), {
      scheme: conn.scheme,
      draining: () => draining,
      onError: fail,
      onRefused: (r) => hcm.logProtocolError(r),
    });
    h1.add(c);
    s.once("close", () => h1.delete(c));
    if (draining) c.closeWhenIdle();
    c.start(head);
  };
  const toHttp2 = (s: Socket | TLSSocket | Duplex, conn: Connection) => {
    handingOver = conn;
    h2.emit("connection", s);
    handingOver = undefined;
  };
  const terminate = (s: Socket | Duplex, conn: Connection) =>
    tls!.accept(s, http1Only, (t, serverName, localUriSan) => {
      // The peer identity (mTLS): only a certificate that verified against the chain's CA. tls-node.ts already
      // closed connections without one where the chain requires it; elsewhere an unverified one is ignored.
      const peer = clientCertificateVerified(t) ? peerCertificate(t) : undefined;
      const down = {
        ...conn.down,
        tls: { ...(serverName ? { serverName } : {}), version: t.getProtocol() ?? "", ...(peer ? { peer } : {}), ...(localUriSan ? { localUriSan } : {}) },
      };
      const secured: Connection = { scheme: "https", down };
      if (t.alpnProtocol === "h2") toHttp2(t, secured);
      else toHttp1(t, secured);
    });

  const server = createNetServer((socket) => {
    socket.setNoDelay(true); // as Envoy on every connection: no Nagle wait on small (TLS) writes
    sockets.add(socket);
    socket.on("error", () => socket.destroy());
    socket.once("close", () => sockets.delete(socket));
    const conn: Connection = {
      scheme: "http",
      down: {
        remote: { address: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 },
        local: { address: socket.localAddress ?? cfg.address.address, port: socket.localPort ?? cfg.address.port },
        connectionId: nextConnectionId++,
      },
    };
    if (tls && !plaintext) return terminate(socket, conn);
    if (!tls && http1Only) return toHttp1(socket, conn);
    readHead(socket, tls !== undefined, http1Only, (kind, head) => {
      // Bytes already read are handed on: to our HTTP/1 codec directly; HTTP/2 and TLS on a socket need a stream
      // that replays them.
      if (kind === "http1") toHttp1(socket, conn, head);
      else if (kind === "h2c") toHttp2(replaying(socket, head), conn);
      else terminate(replaying(socket, head), conn);
    });
  });
  const scheme = tls && !plaintext ? "https" : "http";
  return bind(cfg.name, cfg.address, server, scheme, {
    close() {
      tls?.close();
      for (const s of sockets) s.destroy();
      for (const s of sessions) s.destroy();
    },
    drain() {
      draining = true;
      tls?.close();
      for (const c of h1) c.closeWhenIdle();
      for (const s of sessions) s.close();
    },
  });
}

type Kind = "http1" | "h2c" | "tls";

// Reads until the first bytes tell TLS (a handshake record), HTTP/2 (the whole connection preface) or HTTP/1.
function readHead(socket: Socket, tls: boolean, http1Only: boolean, then: (kind: Kind, head: Buffer) => void): void {
  let head: Buffer = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), FIRST_BYTES_TIMEOUT_MS);
  const onData = (chunk: Buffer) => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    let kind: Kind;
    if (tls && head[0] === TLS_HANDSHAKE) kind = "tls";
    else if (!http1Only && PREFACE.subarray(0, Math.min(head.length, PREFACE.length)).equals(head.subarray(0, PREFACE.length))) {
      if (head.length < PREFACE.length) return;
      kind = "h2c";
    } else kind = "http1";
    clearTimeout(timer);
    socket.removeListener("data", onData);
    socket.pause();
    then(kind, head);
  };
  socket.once("close", () => clearTimeout(timer));
  socket.on("data", onData);
}

/** A stream that yields `head`, then the socket's data; writes go to the socket. */
function replaying(socket: Socket, head: Buffer): Duplex {
  const d = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      socket.write(chunk, cb);
    },
    final(cb) {
      socket.end();
      cb();
    },
    destroy(err, cb) {
      socket.destroy();
      cb(err);
    },
  });
  d.push(head);
  socket.on("data", (c: Buffer) => {
    if (!d.push(c)) socket.pause();
  });
  socket.once("end", () => d.push(null));
  socket.once("close", () => d.destroy());
  return d;
}

/** Starts a Hono app on @hono/node-server (the admin listener) and resolves once it is bound. */
export function listen(name: string, addr: SocketAddr, fetch: (req: Request, env: HttpBindings) => Response | Promise<Response>): Promise<RunningListener> {
  // An HTTP/1 server (no createServer override), so env is always HttpBindings.
  const server = serve({ fetch: fetch as FetchCallback, port: addr.port, hostname: addr.address }) as Server;
  return bind(name, addr, server, "http", {
    close: () => server.closeAllConnections(),
    drain: () => server.closeIdleConnections(),
  }, true);
}

interface Connections {
  /** Drops every connection now. */
  close(): void;
  /** Asks connections to finish: idle ones close, busy ones close after their requests. */
  drain(): void;
}

// Resolves once the server is bound (rejects with a one-line reason).
function bind(
  name: string,
  addr: SocketAddr,
  server: import("node:net").Server,
  scheme: "http" | "https",
  connections: Connections,
  listening = false,
): Promise<RunningListener> {
  return new Promise((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) => {
      const why = e.code === "EADDRINUSE" ? "address already in use" : e.code === "EADDRNOTAVAIL" ? "address not available" : e.message;
      reject(new Error(`listener "${name}" on ${addr.address}:${addr.port}: ${why}`));
    });
    server.once("listening", () => {
      const a = server.address() as AddressInfo;
      let closed: Promise<void> | undefined;
      const stop = () => (closed ??= new Promise<void>((done) => server.close(() => done())));
      resolve({
        name,
        address: { address: a.address, port: a.port },
        scheme,
        close: () => {
          const done = stop();
          connections.close();
          return done;
        },
        drain: (graceMs) => {
          const done = stop();
          connections.drain();
          const force = setTimeout(() => connections.close(), graceMs);
          return done.finally(() => clearTimeout(force));
        },
      });
    });
    if (!listening) server.listen(addr.port, addr.address);
  });
}
