// A small gRPC server on node:http2: how to speak gRPC, not what to serve. Calls are routed by path to handlers
// that deal in message bytes; (de)serialization is the handler's business.
//
// Why not @grpc/grpc-js: it copies every outgoing message into a new framed buffer. With thousands of streams
// receiving megabytes each, those copies are most of the control plane's memory during a full sync. Here a response
// is written as the caller's bytes: either a buffer that already holds the 5-byte prefix (`framedBuffer`, encoders
// write straight into it), or prefix and payload as two writes under one cork.
import * as http2 from "node:http2";
import type { Socket } from "node:net";

export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** The gRPC message prefix: a compressed flag byte, then the length (uint32, big-endian). */
const PREFIX = 5;
const {
  HTTP2_HEADER_STATUS,
  HTTP2_HEADER_METHOD,
  HTTP2_HEADER_PATH,
  HTTP2_HEADER_CONTENT_TYPE,
} = http2.constants;

export interface H2GrpcServerOptions {
  /** Largest request message accepted; bigger ones end the call with RESOURCE_EXHAUSTED. Default 16 MiB. */
  maxReceiveMessageBytes?: number;
  /** HTTP/2 receive window per stream and per connection. Default 1 MiB (a SotW ACK can name thousands of resources). */
  receiveWindowBytes?: number;
  /** nghttp2 memory per session, MB (Node's default, 10, refuses streams on a session with much data queued). */
  maxSessionMemoryMb?: number;
}

export interface BoundAddress {
  host: string;
  port: number;
}

/** Called for each call on a registered path; set the call's callbacks synchronously. */
export type CallHandler = (call: ServerCall) => void;

/**
 * A buffer for a message of `size` bytes with room for the gRPC prefix before it: returns the payload view, which an
 * encoder fills; `framedView(payload)` is then the whole frame, written without a copy.
 */
export function framedBuffer(size: number): Buffer {
  const frame = Buffer.allocUnsafe(PREFIX + size);
  writePrefix(frame, size);
  return frame.subarray(PREFIX);
}

/** Writes an uncompressed message's prefix for a payload of `size` bytes at the start of `frame`. */
export function writePrefix(frame: Buffer, size: number): void {
  frame[0] = 0;
  frame.writeUInt32BE(size, 1);
}

/** The frame around a payload from `framedBuffer` (checks the prefix is still there). */
export function framedView(payload: Uint8Array): Buffer | undefined {
  if (payload.byteOffset < PREFIX) return undefined;
  const frame = Buffer.from(payload.buffer, payload.byteOffset - PREFIX, payload.byteLength + PREFIX);
  return frame[0] === 0 && frame.readUInt32BE(1) === payload.byteLength ? frame : undefined;
}

/** grpc-message is percent-encoded: printable ASCII except '%' goes as is. */
function percentEncode(message: string): string {
  let out = "";
  for (const byte of Buffer.from(message, "utf8")) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** One gRPC call on one HTTP/2 stream. */
export class ServerCall {
  /** A complete request message (the bytes after the prefix). */
  onMessage: (bytes: Buffer) => void = () => {};
  /** The client half-closed (no more messages). */
  onHalfClose: () => void = () => {};
  /** The call is over: finished, cancelled, reset or its connection gone. Called once. */
  onClose: () => void = () => {};

  #responded = false;
  #finished = false;
  #closed = false;
  // Request parsing: a prefix being collected, then a payload being filled.
  readonly #head = Buffer.alloc(PREFIX);
  #headFill = 0;
  #payload: Buffer | undefined;
  #payloadFill = 0;

  constructor(
    readonly path: string,
    readonly headers: http2.IncomingHttpHeaders,
    private readonly stream: http2.ServerHttp2Stream,
    private readonly maxReceive: number,
    private readonly gone: (call: ServerCall) => void,
  ) {
    stream.on("data", (chunk: Buffer) => this.#read(chunk));
    stream.on("end", () => {
      if (!this.#finished) this.onHalfClose();
    });
    stream.on("error", () => {}); // the 'close' that follows cleans up
    stream.on("close", () => this.#close());
  }

  /** Whether the call can still send (not finished, stream open). */
  get open(): boolean {
    return !this.#finished && !this.#closed && !this.stream.destroyed;
  }

  /**
   * Sends one message; `done(true)` once the socket write that carried it has finished (the peer's flow-control
   * window let it go), `done(false)` if the call went away first. A payload from `framedBuffer` goes as one write;
   * any other (or a list of parts making up one message) as prefix + parts under cork.
   */
  send(payload: Uint8Array | readonly Uint8Array[], done: (written: boolean) => void = () => {}): void {
    if (!this.open) return done(false);
    this.#respond();
    // An error means the stream went away first; part of the bytes may still be in a socket write then.
    const cb = (error?: Error | null) => done(!error);
    if (payload instanceof Uint8Array) {
      const frame = framedView(payload);
      if (frame) {
        this.stream.write(frame, cb);
        return;
      }
      payload = [payload];
    }
    // Parts (e.g. shared resource bytes) go as they are: one writev under cork, nothing copied.
    let size = 0;
    for (const p of payload) size += p.byteLength;
    const head = Buffer.allocUnsafe(PREFIX);
    writePrefix(head, size);
    this.stream.cork();
    this.stream.write(head);
    const last = payload.length - 1;
    payload.forEach((p, i) => {
      if (i < last) this.stream.write(p);
    });
    this.stream.write(payload[last] ?? Buffer.alloc(0), cb);
    this.stream.uncork();
  }

  /** Ends the call with a status (trailers; trailers-only if nothing was sent). */
  finish(code: number, message = ""): void {
    if (this.#finished || this.#closed || this.stream.destroyed) return;
    this.#finished = true;
    const status: http2.OutgoingHttpHeaders = { "grpc-status": String(code) };
    if (message) status["grpc-message"] = percentEncode(message);
    if (!this.#responded) {
      this.#responded = true;
      this.stream.respond({ [HTTP2_HEADER_STATUS]: 200, [HTTP2_HEADER_CONTENT_TYPE]: "application/grpc", ...status }, { endStream: true });
      return;
    }
    this.stream.once("wantTrailers", () => {
      if (!this.stream.destroyed) this.stream.sendTrailers(status);
    });
    this.stream.end();
  }

  #respond(): void {
    if (this.#responded) return;
    this.#responded = true;
    this.stream.respond({ [HTTP2_HEADER_STATUS]: 200, [HTTP2_HEADER_CONTENT_TYPE]: "application/grpc" }, { waitForTrailers: true });
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#payload = undefined;
    this.gone(this);
    this.onClose();
  }

  #read(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.#finished) {
      if (!this.#payload) {
        const n = Math.min(PREFIX - this.#headFill, chunk.length - at);
        // A whole message inside this chunk is handed on as a view of it, without a copy.
        if (this.#headFill === 0 && n === PREFIX) {
          const length = chunk.readUInt32BE(at + 1);
          if (!this.#checkHead(chunk[at]!, length)) return;
          if (chunk.length - at - PREFIX >= length) {
            this.onMessage(chunk.subarray(at + PREFIX, at + PREFIX + length));
            at += PREFIX + length;
            continue;
          }
        }
        chunk.copy(this.#head, this.#headFill, at, at + n);
        this.#headFill += n;
        at += n;
        if (this.#headFill < PREFIX) return;
        this.#headFill = 0;
        const length = this.#head.readUInt32BE(1);
        if (!this.#checkHead(this.#head[0]!, length)) return;
        this.#payload = Buffer.allocUnsafe(length);
        this.#payloadFill = 0;
      }
      const n = Math.min(this.#payload.length - this.#payloadFill, chunk.length - at);
      chunk.copy(this.#payload, this.#payloadFill, at, at + n);
      this.#payloadFill += n;
      at += n;
      if (this.#payloadFill === this.#payload.length) {
        const message = this.#payload;
        this.#payload = undefined;
        this.onMessage(message);
      }
    }
  }

  #checkHead(flag: number, length: number): boolean {
    if (flag === 1) {
      this.finish(GrpcStatus.UNIMPLEMENTED, "compressed messages are not supported (send grpc-encoding identity)");
      return false;
    }
    if (flag !== 0) {
      this.finish(GrpcStatus.INTERNAL, `bad message flag ${flag}`);
      return false;
    }
    if (length > this.maxReceive) {
      this.finish(GrpcStatus.RESOURCE_EXHAUSTED, `request message of ${length} bytes exceeds the limit of ${this.maxReceive}`);
      return false;
    }
    return true;
  }
}

export class H2GrpcServer {
  readonly #server: http2.Http2Server;
  readonly #handlers = new Map<string, CallHandler>();
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  /** The connections under the sessions: a session that does not end on destroy() still has its socket. */
  readonly #sockets = new Set<Socket>();
  readonly #calls = new Set<ServerCall>();
  readonly #maxReceive: number;
  readonly #window: number;
  #closing = false;

  constructor(options: H2GrpcServerOptions = {}) {
    this.#maxReceive = options.maxReceiveMessageBytes ?? 16 * 2 ** 20;
    this.#window = options.receiveWindowBytes ?? 2 ** 20;
    this.#server = http2.createServer({
      maxSessionMemory: options.maxSessionMemoryMb ?? 64,
      settings: { initialWindowSize: this.#window, maxConcurrentStreams: 1000, enablePush: false },
    });
    this.#server.on("session", (session) => this.#session(session));
    this.#server.on("connection", (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once("close", () => this.#sockets.delete(socket));
    });
    this.#server.on("stream", (stream, headers) => this.#stream(stream, headers));
  }

  /** Routes calls on `path` ("/package.Service/Method") to `handler`. */
  handle(path: string, handler: CallHandler): void {
    this.#handlers.set(path, handler);
  }

  /** Open calls. */
  get callCount(): number {
    return this.#calls.size;
  }

  /** Binds host:port (0 for an ephemeral port); rejects with a one-line reason. */
  listen(host: string, port: number): Promise<BoundAddress> {
    const target = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(new Error(`${target}: ${e.message.split("\n")[0]}`));
      this.#server.once("error", onError);
      this.#server.listen(port, host, () => {
        this.#server.off("error", onError);
        const address = this.#server.address();
        resolve({ host, port: typeof address === "object" && address ? address.port : port });
      });
    });
  }

  /**
   * Stops accepting, ends open calls with OK, sends GOAWAY on every connection and waits for their streams;
   * connections still open after `graceMs` are destroyed.
   */
  close(graceMs = 1000): Promise<void> {
    this.#closing = true;
    for (const call of [...this.#calls]) call.finish(GrpcStatus.OK);
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        for (const session of this.#sessions) session.destroy();
        for (const socket of this.#sockets) socket.destroy();
      }, graceMs);
      this.#server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      for (const session of this.#sessions) session.close();
    });
  }

  #session(session: http2.ServerHttp2Session): void {
    if (this.#closing) {
      session.destroy();
      return;
    }
    this.#sessions.add(session);
    session.on("error", () => {}); // its streams see 'close'
    session.on("close", () => this.#sessions.delete(session));
    session.on("connect", () => session.setLocalWindowSize(this.#window * 4));
    if (!session.connecting) session.setLocalWindowSize(this.#window * 4);
  }

  #stream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    stream.on("error", () => {});
    const reject = (httpStatus: number, grpcStatus: number, message: string) => {
      stream.respond(
        { [HTTP2_HEADER_STATUS]: httpStatus, [HTTP2_HEADER_CONTENT_TYPE]: "application/grpc", "grpc-status": String(grpcStatus), "grpc-message": percentEncode(message) },
        { endStream: true },
      );
      stream.resume();
    };
    const method = headers[HTTP2_HEADER_METHOD];
    const path = String(headers[HTTP2_HEADER_PATH] ?? "");
    const contentType = String(headers[HTTP2_HEADER_CONTENT_TYPE] ?? "");
    if (method !== "POST") return reject(405, GrpcStatus.UNIMPLEMENTED, `gRPC needs POST, got ${method}`);
    if (!/^application\/grpc($|[+;])/.test(contentType)) return reject(415, GrpcStatus.UNKNOWN, `content-type "${contentType}" is not application/grpc`);
    if (this.#closing) return reject(200, GrpcStatus.UNAVAILABLE, "server is shutting down");
    const encoding = headers["grpc-encoding"];
    if (encoding !== undefined && encoding !== "identity") {
      stream.respond(
        { [HTTP2_HEADER_STATUS]: 200, [HTTP2_HEADER_CONTENT_TYPE]: "application/grpc", "grpc-status": String(GrpcStatus.UNIMPLEMENTED), "grpc-message": percentEncode(`grpc-encoding "${String(encoding)}" is not supported`), "grpc-accept-encoding": "identity" },
        { endStream: true },
      );
      stream.resume();
      return;
    }
    const handler = this.#handlers.get(path);
    if (!handler) return reject(200, GrpcStatus.UNIMPLEMENTED, `unknown method ${path}`);
    const call = new ServerCall(path, headers, stream, this.#maxReceive, (c) => this.#calls.delete(c));
    this.#calls.add(call);
    handler(call);
  }
}
