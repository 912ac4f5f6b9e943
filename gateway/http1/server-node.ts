// The downstream side of the HTTP/1.1 codec: one connection (a TCP socket, a TLS socket or any Duplex), its requests
// parsed with head.ts / chunked.ts and handed to the HCM one at a time (pipelined requests wait their turn, as in
// Envoy), each response written with one write when it is whole and with chunked framing when it streams without a
// length. No IncomingMessage/ServerResponse and their streams per request: this is the gateway's hot path.
// Node-only.
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import type { HeaderMap } from "../../wasm/host/index.js";
import { splitAbsoluteForm } from "../absolute-form.js";
import { BodyStream } from "../body-stream.js";
import { EMPTY_BODY, joinChunks } from "../chunks-node.js";
import { responseHasNoBody, type DownstreamRequest, type HcmResponse, type ProtocolError, type StreamedBody } from "../hcm.js";
import { WHOLE_REQUEST_BODY_LIMIT } from "../request-body.js";
import { ChunkedDecoder } from "./chunked.js";
import { parseRequestHead, type RequestHead } from "./head.js";
import { responseHead } from "./write.js";
import { writeStreamed, writeWhole } from "./write-node.js";

export interface Http1ConnectionOptions {
  scheme: string;
  /** While true, responses carry Connection: close and end their connection (the listener drains). */
  draining(): boolean;
  /** A bug guard's message (serve() failing instead of answering). */
  onError(message: string): void;
  /** A request refused by the codec before it reached the handler (for the access log: Envoy's DPE). */
  onRefused?(refused: ProtocolError): void;
}

export type Http1Handler = (req: DownstreamRequest) => Promise<HcmResponse>;

/** Envoy's max_request_headers_kb default. */
const MAX_HEAD_BYTES = 60 * 1024;
/** No bytes for this long while no request is in progress: the connection closes (Envoy's stream idle timeout). */
const IDLE_TIMEOUT_MS = 5 * 60_000;
/** Pipelined bytes buffered behind the request in progress before reading pauses. */
const BACKLOG_LIMIT = 64 * 1024;
const CRLFCRLF = Buffer.from("\r\n\r\n");
const CONTINUE = Buffer.from("HTTP/1.1 100 Continue\r\n\r\n");
const EMPTY = Buffer.alloc(0);

export class Http1Connection {
  private buffered: Buffer = EMPTY;
  private searchFrom = 0;
  private current: Exchange | undefined;
  private closeAfterResponse = false;
  private closed = false;
  private backlogPaused = false;
  private bodyPaused = false;

  constructor(
    private readonly socket: Duplex,
    private readonly handler: Http1Handler,
    private readonly opts: Http1ConnectionOptions,
  ) {
    socket.on("data", (c: Buffer) => this.onData(c));
    socket.once("close", () => this.onClose());
    socket.on("error", () => socket.destroy());
    socket.once("end", () => {
      // The client half-closed: a response in progress is still written, then the connection ends.
      this.closeAfterResponse = true;
      if (!this.current) socket.end();
    });
    if ("setTimeout" in socket && typeof socket.setTimeout === "function") {
      (socket as Duplex & { setTimeout(ms: number): void }).setTimeout(IDLE_TIMEOUT_MS);
      socket.on("timeout", () => {
        if (!this.current) socket.destroy();
      });
    }
  }

  /** Bytes already read from the connection (the listener's protocol sniffing), handled before the socket's. */
  start(head: Buffer | undefined): void {
    if (head && head.length > 0) this.onData(head);
    this.socket.resume();
  }

  /** No request in progress and none started. */
  get idle(): boolean {
    return this.current === undefined && this.buffered.length === 0;
  }

  /** Draining: an idle connection closes now, a busy one after its response. */
  closeWhenIdle(): void {
    this.closeAfterResponse = true;
    if (this.idle) this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    const cur = this.current;
    if (cur && !cur.body.ended) {
      const rest = cur.body.feed(chunk);
      if (rest === undefined || rest.length === 0) return;
      chunk = rest;
    }
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    if (!this.current) this.parse();
    else if (this.buffered.length > BACKLOG_LIMIT) {
      this.backlogPaused = true;
      this.socket.pause();
    }
  }

  private parse(): void {
    // After a response that ends the connection, nothing more is read from it.
    while (!this.current && this.buffered.length > 0 && !this.closed && !this.closeAfterResponse) {
      let buf = this.buffered;
      // A server ignores empty lines before a request line (RFC 9112 section 2.2).
      let skip = 0;
      while (skip + 1 < buf.length && buf[skip] === 13 && buf[skip + 1] === 10) skip += 2;
      if (skip > 0) {
        buf = this.buffered = buf.subarray(skip);
        this.searchFrom = 0;
      }
      const end = buf.indexOf(CRLFCRLF, this.searchFrom);
      if (end < 0) {
        if (buf.length > MAX_HEAD_BYTES) this.refuse(431);
        else this.searchFrom = Math.max(0, buf.length - 3);
        return;
      }
      if (end > MAX_HEAD_BYTES) return this.refuse(431);
      const head = parseRequestHead(buf.toString("latin1", 0, end));
      const rest = buf.subarray(end + 4);
      this.buffered = EMPTY;
      this.searchFrom = 0;
      if ("error" in head) return this.refuse(head.status);
      this.begin(head, rest);
    }
  }

  private begin(head: RequestHead, rest: Buffer): void {
    const body = new RequestBody(head, {
      pause: () => {
        this.bodyPaused = true;
        this.socket.pause();
      },
      resume: () => {
        this.bodyPaused = false;
        if (!this.backlogPaused) this.socket.resume();
      },
      abort: () => this.socket.destroy(),
      malformed: () => {
        // The body cannot be framed: nothing after it on this connection can be either.
        this.closeAfterResponse = true;
        this.socket.pause();
      },
    });
    if (head.expectContinue && !body.ended) {
      // Envoy answers 100-continue itself and does not pass the expectation on.
      this.socket.write(CONTINUE);
      head.headers = head.headers.filter(([k]) => k !== "expect");
    }
    const ex = new Exchange(head, body);
    body.onEnd = () => this.next(ex);
    this.current = ex;
    if (rest.length > 0) {
      const after = body.ended ? rest : body.feed(rest);
      if (after !== undefined && after.length > 0) this.buffered = after;
    }
    this.handler(downstreamRequest(head, body, this.opts.scheme)).then(
      (out) => this.respond(ex, out),
      (e) => {
        // serve() answers its own failures; this is a bug guard, never a hang.
        this.opts.onError(e instanceof Error ? e.message : String(e));
        this.answerAndClose(500);
        this.responded(ex);
      },
    );
  }

  private respond(ex: Exchange, { response: out, method }: HcmResponse): void {
    if (this.closed) {
      out.more?.abort("downstream closed");
      return;
    }
    const noBody = responseHasNoBody(out.status, method);
    const more = out.more;
    if (more && noBody) more.abort("no body for this response");
    const streaming = more !== undefined && !noBody;
    let length = -1;
    if (!noBody && !streaming) length = out.body.length;
    else if (streaming || method === "HEAD" || out.status === 304) {
      // A streamed body keeps the upstream's length; so do HEAD and 304 responses, which describe a body not sent.
      for (const [k, v] of out.headers) if (k === "content-length" && /^\d{1,15}$/.test(v)) length = Number(v);
    }
    // Without a length, a streamed body is chunked for HTTP/1.1 and ends with the connection for HTTP/1.0.
    const chunked = streaming && length < 0 && ex.head.minor === 1;
    const close = this.closeAfterResponse || this.opts.draining() || !ex.head.keepAlive || (streaming && length < 0 && !chunked);
    if (close) this.closeAfterResponse = true;
    const head = responseHead(out.status, out.headers, {
      contentLength: length,
      chunked,
      connection: close ? "close" : ex.head.minor === 0 ? "keep-alive" : undefined,
    });
    if (head === undefined) {
      this.opts.onError(`response ${out.status} has a header that cannot be sent (invalid name or value): answered 502`);
      more?.abort("invalid response header");
      this.answerAndClose(502);
      return this.responded(ex);
    }
    if (!streaming) {
      writeWhole(this.socket, head, noBody ? EMPTY_BODY : out.body);
      return this.responded(ex);
    }
    this.writeStreaming(ex, head, out.body, more!, chunked);
  }

  private writeStreaming(ex: Exchange, head: string, first: Uint8Array, more: BodyStream, chunked: boolean): void {
    const onClose = () => more.abort("downstream closed");
    this.socket.once("close", onClose);
    more.onFinish(() => this.socket.removeListener("close", onClose));
    writeStreamed(this.socket, head, first, more, chunked, () => this.responded(ex));
  }

  private responded(ex: Exchange): void {
    ex.responded = true;
    if (!ex.body.ended) ex.body.discardRest();
    this.next(ex);
  }

  /** The exchange is over once its response is written and its request body read: then the next request. */
  private next(ex: Exchange): void {
    if (this.current !== ex || !ex.responded || !ex.body.ended) return;
    this.current = undefined;
    if (this.closeAfterResponse) {
      this.socket.end();
      return;
    }
    if (this.backlogPaused) {
      this.backlogPaused = false;
      if (!this.bodyPaused) this.socket.resume();
    }
    this.parse();
  }

  /** A request that cannot be read: answered with its status (the reason phrase as body), then the connection ends. */
  private refuse(status: number): void {
    const startMs = Date.now();
    this.buffered = EMPTY;
    const text = STATUS_CODES[status] ?? "Bad Request";
    this.answerAndClose(status, text);
    this.socket.end();
    this.opts.onRefused?.({ status, startMs, bytesSent: text.length });
  }

  /** A local answer after which the connection ends (written only while the connection is open). */
  private answerAndClose(status: number, text = ""): void {
    this.closeAfterResponse = true;
    if (this.closed) return;
    const head = responseHead(status, text ? [["content-type", "text/plain"]] : [], { contentLength: text.length, connection: "close" })!;
    this.socket.write(head + text, "latin1");
  }

  private onClose(): void {
    this.closed = true;
    const ex = this.current;
    this.current = undefined;
    this.buffered = EMPTY;
    if (ex && !ex.body.ended) ex.body.fail(new Error("downstream closed the request before its body ended"));
  }
}

class Exchange {
  responded = false;
  constructor(readonly head: RequestHead, readonly body: RequestBody) {}
}

interface BodyControl {
  pause(): void;
  resume(): void;
  abort(): void;
  /** The body is malformed (chunked framing): the connection ends after the response. */
  malformed(): void;
}

/**
 * One request's body as it arrives, framed by its content-length or the chunked coding. The HCM takes it whole
 * (body()), as a stream (streamBody()) or not at all (then it is read and dropped, so the connection stays usable).
 */
class RequestBody {
  ended: boolean;
  trailers: HeaderMap = [];
  private chunks: Buffer[] = [];
  private remaining: number;
  private decoder: ChunkedDecoder | undefined;
  private failure: Error | undefined;
  private stream: BodyStream | undefined;
  private discarding = false;
  private waiters: Array<{ resolve(b: Uint8Array): void; reject(e: Error): void }> | undefined;
  onEnd: (() => void) | undefined;

  constructor(head: RequestHead, private readonly control: BodyControl) {
    this.remaining = head.chunked ? -1 : Math.max(0, head.contentLength);
    this.ended = !head.chunked && this.remaining === 0;
    if (head.chunked) {
      this.decoder = new ChunkedDecoder({
        data: (c) => this.deliver(c as Buffer),
        end: (t) => {
          this.trailers = t;
          this.finish();
        },
      });
    }
  }

  /** Takes what belongs to this body from `chunk`; returns the bytes after its end (undefined: all taken). */
  feed(chunk: Buffer): Buffer | undefined {
    if (this.ended) return chunk;
    if (this.decoder) {
      let at: number;
      try {
        at = this.decoder.write(chunk);
      } catch (e) {
        this.fail(new Error(`malformed request body: ${e instanceof Error ? e.message : String(e)}`));
        this.control.malformed();
        return undefined;
      }
      return at < 0 ? undefined : chunk.subarray(at);
    }
    const take = Math.min(this.remaining, chunk.length);
    this.remaining -= take;
    this.deliver(take === chunk.length ? chunk : chunk.subarray(0, take));
    if (this.remaining === 0) this.finish();
    return take === chunk.length ? undefined : chunk.subarray(take);
  }

  whole(): Promise<Uint8Array> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve(this.take());
    return new Promise((resolve, reject) => (this.waiters ??= []).push({ resolve, reject }));
  }

  streamed(): Promise<StreamedBody> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve({ body: this.take() });
    return new Promise((resolve, reject) => {
      // What has arrived once the current read is handled; the rest follows as a stream with flow control.
      setImmediate(() => {
        if (this.failure) return reject(this.failure);
        if (this.ended) return resolve({ body: this.take() });
        const first = this.take();
        this.stream = new BodyStream({ pause: this.control.pause, resume: this.control.resume, abort: this.control.abort });
        resolve({ body: first, more: this.stream });
      });
    });
  }

  /** The response went out before the body was read: the rest is read and dropped. */
  discardRest(): void {
    this.discarding = true;
    this.chunks = [];
    if (!this.stream?.finished) this.stream?.abort("response sent before the request body ended");
  }

  fail(e: Error): void {
    if (this.ended || this.failure) return;
    this.failure = e;
    this.stream?.fail(e);
    const w = this.waiters;
    this.waiters = undefined;
    if (w) for (const x of w) x.reject(e);
  }

  private deliver(c: Buffer): void {
    if (c.length === 0 || this.discarding) return;
    if (this.stream) this.stream.push(c);
    else this.chunks.push(c);
  }

  private finish(): void {
    this.ended = true;
    this.stream?.end(this.trailers);
    const w = this.waiters;
    this.waiters = undefined;
    if (w) {
      const body = this.take();
      for (const x of w) x.resolve(body);
    }
    this.onEnd?.();
  }

  private take(): Uint8Array {
    const b = joinChunks(this.chunks);
    this.chunks = [];
    return b;
  }
}

const NO_BODY = () => Promise.resolve(EMPTY_BODY);
const NO_TRAILERS = (): HeaderMap => [];

function downstreamRequest(head: RequestHead, body: RequestBody, scheme: string): DownstreamRequest {
  const headers: HeaderMap = [];
  let authority = "";
  for (const h of head.headers) {
    if (h[0] === "host") authority ||= h[1];
    else headers.push(h);
  }
  const target = head.target;
  const absolute = target.charCodeAt(0) === 47 /* "/" */ ? undefined : splitAbsoluteForm(target);
  const hasBody = head.chunked || head.contentLength > 0;
  return {
    method: head.method,
    path: absolute?.path ?? target,
    authority: absolute?.authority ?? authority,
    scheme,
    headers,
    protocol: head.minor === 0 ? "HTTP/1.0" : "HTTP/1.1",
    body: hasBody ? () => body.whole() : NO_BODY,
    trailers: hasBody ? () => body.trailers : NO_TRAILERS,
    ...(head.chunked || head.contentLength > WHOLE_REQUEST_BODY_LIMIT ? { streamBody: () => body.streamed() } : {}),
  };
}
