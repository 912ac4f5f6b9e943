// The upstream side of the HTTP/1.1 codec: keep-alive connections to one endpoint (a pool capped at the cluster's
// max_connections, requests queued beyond it), one request at a time per connection, each request written with one
// write when its body is whole, responses parsed with head.ts / chunked.ts. A response that arrives in one read is
// handed over whole; a longer one streams (BodyStream, with flow control back to the socket). Node-only.
import type { Duplex } from "node:stream";
import type { HeaderMap } from "../../wasm/host/index.js";
import { BodyStream } from "../body-stream.js";
import { joinChunks } from "../chunks-node.js";
import { UpstreamError } from "../upstream.js";
import { ChunkedDecoder } from "./chunked.js";
import { parseResponseHead, type ResponseHead } from "./head.js";
import { writeStreamed, writeWhole } from "./write-node.js";

export interface UpstreamReply {
  status: number;
  headers: HeaderMap;
  body: Uint8Array;
  trailers?: HeaderMap;
  more?: BodyStream;
}

/** One request on a connection: how its outcome is told. */
export interface ClientExchange {
  /** The request method (a HEAD response has no body). */
  method: string;
  response(reply: UpstreamReply): void;
  /** The connection failed before the response head, or the response was malformed. */
  failed(e: NodeJS.ErrnoException, connected: boolean): void;
}

export interface PoolOptions {
  maxConnections: number;
  /** Idle pooled connections close after this long (0 or absent: they stay). */
  idleTimeoutMs?: number;
}

/** Opens a connection; `ready` is "connect" for TCP, "secureConnect" for TLS. */
export type Opener = () => { socket: Duplex; ready: "connect" | "secureConnect" };

const CRLFCRLF = Buffer.from("\r\n\r\n");
const EMPTY = Buffer.alloc(0);
const MAX_HEAD_BYTES = 60 * 1024;

type Waiter = (e: Error | null, c?: ClientConnection) => void;
interface Queued {
  cb: Waiter;
  open: Opener;
}

export class Http1Pool {
  private readonly all = new Set<ClientConnection>();
  /** Most recently used last: reused first, so rarely used connections time out. */
  private readonly idle: ClientConnection[] = [];
  private readonly waiting: Queued[] = [];
  private retired = false;
  private destroyed = false;

  constructor(private readonly opts: PoolOptions) {}

  get connections(): number {
    return this.all.size;
  }

  /** No connection open or queued for. */
  get empty(): boolean {
    return this.all.size === 0 && this.waiting.length === 0;
  }

  /**
   * A connection for one request: an idle one, a new one (`open`: the request's own opener, so the connection counts
   * against its cluster), or the next one released. Returns a canceller for a queued request.
   */
  acquire(open: Opener, cb: Waiter): () => void {
    if (this.destroyed) {
      cb(new Error("upstream pool closed"));
      return () => {};
    }
    let c = this.idle.pop();
    // A connection destroyed in this tick is still listed until its close event.
    while (c && c.socket.destroyed) c = this.idle.pop();
    if (c) {
      c.takeFromIdle();
      cb(null, c);
      return () => {};
    }
    if (this.all.size < this.opts.maxConnections) {
      cb(null, this.open(open));
      return () => {};
    }
    const q: Queued = { cb, open };
    this.waiting.push(q);
    return () => {
      const i = this.waiting.indexOf(q);
      if (i >= 0) this.waiting.splice(i, 1);
    };
  }

  /** Idle connections close now, busy ones after their request (queued requests still get one). */
  retire(): void {
    this.retired = true;
    for (const c of this.idle.splice(0)) c.destroy();
  }

  destroy(): void {
    this.destroyed = true;
    this.retired = true;
    for (const c of [...this.all]) c.destroy();
    for (const w of this.waiting.splice(0)) w.cb(new Error("upstream pool closed"));
  }

  /** @internal The connection finished an exchange; reusable: its framing allows another request. */
  released(c: ClientConnection, reusable: boolean): void {
    if (!reusable) return c.destroy();
    const next = this.waiting.shift();
    if (next) return next.cb(null, c);
    if (this.retired) return c.destroy();
    c.toIdle(this.opts.idleTimeoutMs ?? 0);
    this.idle.push(c);
  }

  /** @internal */
  closed(c: ClientConnection): void {
    this.all.delete(c);
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    // A queued request takes the freed slot.
    if (!this.destroyed && this.waiting.length > 0 && this.all.size < this.opts.maxConnections) {
      const next = this.waiting.shift()!;
      next.cb(null, this.open(next.open));
    }
  }

  private open(opener: Opener): ClientConnection {
    const { socket, ready } = opener();
    const c = new ClientConnection(socket, ready, this);
    this.all.add(c);
    return c;
  }
}

export class ClientConnection {
  connected = false;
  private exchange: ClientExchange | undefined;
  private buffered: Buffer = EMPTY;
  private head: ResponseHead | undefined;
  private remaining = 0;
  /** Body delimited by the connection's end (no length, not chunked). */
  private untilClose = false;
  private decoder: ChunkedDecoder | undefined;
  private chunks: Buffer[] = [];
  private trailers: HeaderMap | undefined;
  private more: BodyStream | undefined;
  private complete = false;
  private requestWritten = false;
  private requestBody: BodyStream | undefined;
  private onConnected: (() => void) | undefined;
  private closed = false;
  private idleTimeout = false;

  constructor(readonly socket: Duplex, ready: "connect" | "secureConnect", private readonly pool: Http1Pool) {
    socket.once(ready, () => {
      this.connected = true;
      const cb = this.onConnected;
      this.onConnected = undefined;
      cb?.();
    });
    socket.on("data", (c: Buffer) => this.onData(c));
    socket.once("end", () => this.onEnd());
    socket.on("timeout", () => {
      if (this.idleTimeout) socket.destroy();
    });
    socket.on("error", (e: NodeJS.ErrnoException) => this.lost(e));
    socket.once("close", () => {
      this.closed = true;
      this.lost(Object.assign(new Error("upstream connection closed"), { code: "ECONNRESET" }));
      pool.closed(this);
    });
  }

  /** Runs once the connection (and its TLS handshake) is up; at once when it is. */
  whenConnected(cb: () => void): void {
    if (this.connected) cb();
    else this.onConnected = cb;
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** @internal */
  takeFromIdle(): void {
    if (this.idleTimeout) {
      this.idleTimeout = false;
      (this.socket as Duplex & { setTimeout(ms: number): void }).setTimeout(0);
    }
  }

  /** @internal */
  toIdle(idleTimeoutMs: number): void {
    if (idleTimeoutMs > 0 && "setTimeout" in this.socket) {
      this.idleTimeout = true;
      (this.socket as Duplex & { setTimeout(ms: number): void }).setTimeout(idleTimeoutMs);
    }
  }

  /**
   * Sends one request: `head` as written by write.ts, then `body` (whole), or `body` and then `streamed` (framed
   * chunked when `chunked`).
   */
  send(ex: ClientExchange, head: string, body: Uint8Array, streamed?: BodyStream, chunked = false): void {
    this.exchange = ex;
    this.head = undefined;
    this.complete = false;
    this.more = undefined;
    this.trailers = undefined;
    this.chunks = [];
    this.requestWritten = false;
    const socket = this.socket;
    if (!streamed) {
      writeWhole(socket, head, body);
      this.requestWritten = true;
      return;
    }
    // HTTP/1 carries no request trailers (Envoy's default).
    this.requestBody = streamed;
    writeStreamed(socket, head, body, streamed, chunked, () => {
      this.requestWritten = true;
      this.requestBody = undefined;
      if (this.complete) this.done();
    });
  }

  private onData(chunk: Buffer): void {
    const ex = this.exchange;
    if (!ex || this.complete) {
      // Bytes nobody asked for: the connection cannot be trusted with another request.
      this.socket.destroy();
      return;
    }
    if (this.head === undefined) {
      this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
      for (;;) {
        const end = this.buffered.indexOf(CRLFCRLF);
        if (end < 0) {
          if (this.buffered.length > MAX_HEAD_BYTES) this.protocolError("upstream response headers too large");
          return;
        }
        const head = parseResponseHead(this.buffered.toString("latin1", 0, end));
        const rest = this.buffered.subarray(end + 4);
        this.buffered = EMPTY;
        if ("error" in head) return this.protocolError(`malformed upstream response: ${head.error}`);
        if (head.status === 101) return this.protocolError("upstream switched protocols");
        if (head.status < 200) {
          // An interim response (100 Continue, 103 Early Hints): the final one follows.
          this.buffered = rest;
          continue;
        }
        this.begin(head, ex.method);
        chunk = rest;
        break;
      }
    }
    if (chunk.length > 0) {
      if (this.complete) this.head!.keepAlive = false; // bytes after a response without a body
      else if (!this.feed(chunk)) return;
    }
    if (!this.complete && this.more === undefined && this.head !== undefined) this.startStreaming();
    else if (this.complete) this.finishResponse();
  }

  private begin(head: ResponseHead, method: string): void {
    this.head = head;
    const noBody = method === "HEAD" || head.status === 204 || head.status === 304;
    this.decoder = undefined;
    this.untilClose = false;
    if (noBody) this.complete = true;
    else if (head.chunked) {
      this.decoder = new ChunkedDecoder({
        data: (c) => this.deliver(c as Buffer),
        end: (t) => {
          if (t.length > 0) this.trailers = t;
          this.complete = true;
        },
      });
    } else if (head.contentLength >= 0) {
      this.remaining = head.contentLength;
      if (this.remaining === 0) this.complete = true;
    } else this.untilClose = true;
  }

  /** Takes body bytes; false when the connection failed on them. */
  private feed(chunk: Buffer): boolean {
    if (this.decoder) {
      let at: number;
      try {
        at = this.decoder.write(chunk);
      } catch (e) {
        this.protocolError(`malformed upstream response body: ${e instanceof Error ? e.message : String(e)}`);
        return false;
      }
      if (at >= 0 && at < chunk.length) this.head!.keepAlive = false; // bytes after the response
      return true;
    }
    if (this.untilClose) {
      this.deliver(chunk);
      return true;
    }
    const take = Math.min(this.remaining, chunk.length);
    this.remaining -= take;
    this.deliver(take === chunk.length ? chunk : chunk.subarray(0, take));
    if (this.remaining === 0) {
      this.complete = true;
      if (take < chunk.length) this.head!.keepAlive = false;
    }
    return true;
  }

  private deliver(c: Buffer): void {
    if (c.length === 0) return;
    if (this.more) this.more.push(c);
    else this.chunks.push(c);
  }

  /** The head and what came with it go out now; the rest of the body follows as a stream. */
  private startStreaming(): void {
    const head = this.head!;
    const body = joinChunks(this.chunks);
    this.chunks = [];
    const socket = this.socket;
    this.more = new BodyStream({ pause: () => socket.pause(), resume: () => socket.resume(), abort: () => socket.destroy() });
    const ex = this.exchange!;
    ex.response({ status: head.status, headers: head.headers, body, more: this.more });
  }

  private finishResponse(): void {
    const head = this.head!;
    if (this.more) this.more.end(this.trailers);
    else {
      const reply: UpstreamReply = { status: head.status, headers: head.headers, body: joinChunks(this.chunks) };
      if (this.trailers) reply.trailers = this.trailers;
      this.chunks = [];
      this.exchange!.response(reply);
    }
    if (this.requestBody) {
      // The upstream answered before the request body ended: the rest is not sent, and the connection not reused.
      this.requestBody.abort("upstream responded before the request body ended");
      this.socket.destroy();
      return;
    }
    if (this.requestWritten) this.done();
  }

  private done(): void {
    const head = this.head!;
    this.exchange = undefined;
    this.more = undefined;
    this.pool.released(this, head.keepAlive && !this.untilClose && !this.closed);
  }

  private onEnd(): void {
    if (this.exchange && this.head && this.untilClose && !this.complete) {
      // The end of the connection is the end of this body.
      this.complete = true;
      this.finishResponse();
    }
    this.socket.destroy();
  }

  private protocolError(message: string): void {
    const e: NodeJS.ErrnoException = Object.assign(new Error(message), { code: "HPE_INVALID" });
    this.lost(e);
    this.socket.destroy();
  }

  /** The connection failed: the exchange in progress fails (its stream, once the response streams). */
  private lost(e: NodeJS.ErrnoException): void {
    const ex = this.exchange;
    if (!ex) return;
    this.exchange = undefined;
    this.requestBody?.abort("upstream request closed");
    this.requestBody = undefined;
    if (this.more) this.more.fail(new UpstreamError("reset", e.message));
    else if (!this.complete) ex.failed(e, this.connected);
  }
}
