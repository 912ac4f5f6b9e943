// The rest of a body that is still arriving: a transport (producer) pushes chunks and ends it with the trailers or
// fails it; one consumer (the HCM's encoder chain, a downstream writer) starts it and gets every chunk in order.
// Flow control goes back to the producer's source (pause/resume), and an abort (client gone, retry) resets it.
// Portable.
import type { HeaderMap } from "../wasm/host/index.js";

export interface BodySink {
  data(chunk: Uint8Array): void;
  /** The body ended; `trailers` when the sender had any (HTTP/2, gRPC). */
  end(trailers: HeaderMap | undefined): void;
  /** The body cannot end normally (upstream reset, timeout, aborted). */
  error(e: Error): void;
}

/** What the producer can be told. */
export interface BodySource {
  pause(): void;
  resume(): void;
  /** Reset what produces the body (an upstream stream or connection). */
  abort(): void;
}

type State = "open" | "ended" | "failed";

export class BodyStream {
  /** Bytes handed to the consumer so far. */
  bytes = 0;
  private sink: BodySink | null = null;
  private queue: Uint8Array[] | null = null;
  private state: State = "open";
  private trailers: HeaderMap | undefined;
  private failure: Error | undefined;
  private finishers: Array<(e: Error | undefined) => void> | null = null;

  /** The source stays paused until a consumer starts the stream. */
  constructor(private readonly source: BodySource) {
    source.pause();
  }

  get finished(): boolean {
    return this.state !== "open";
  }

  /** The failure, once the stream failed. */
  get error(): Error | undefined {
    return this.failure;
  }

  // ---- producer ----

  push(chunk: Uint8Array): void {
    if (this.state !== "open" || chunk.length === 0) return;
    if (this.sink === null) (this.queue ??= []).push(chunk);
    else {
      this.bytes += chunk.length;
      this.sink.data(chunk);
    }
  }

  end(trailers?: HeaderMap): void {
    if (this.state !== "open") return;
    this.state = "ended";
    this.trailers = trailers && trailers.length > 0 ? trailers : undefined;
    if (this.sink !== null) this.sink.end(this.trailers);
    this.settle();
  }

  fail(e: Error): void {
    if (this.state !== "open") return;
    this.state = "failed";
    this.failure = e;
    if (this.sink !== null) this.sink.error(e);
    this.settle();
  }

  // ---- consumer ----

  /** Delivers what is queued, then every later chunk, then the end or the failure. Once. */
  start(sink: BodySink): void {
    if (this.sink !== null) throw new Error("body stream already started");
    this.sink = sink;
    const queued = this.queue;
    this.queue = null;
    if (queued) for (const c of queued) {
      this.bytes += c.length;
      sink.data(c);
    }
    if (this.state === "ended") sink.end(this.trailers);
    else if (this.state === "failed") sink.error(this.failure!);
    else this.source.resume();
  }

  pause(): void {
    if (this.state === "open") this.source.pause();
  }

  resume(): void {
    if (this.state === "open") this.source.resume();
  }

  /** The consumer gives up (client gone, response replaced, retry): the producer is reset. */
  abort(reason = "body stream aborted"): void {
    if (this.state !== "open") return;
    this.state = "failed";
    this.failure = new Error(reason);
    this.queue = null;
    this.source.abort();
    this.settle();
  }

  /** Runs once the stream ended (undefined) or failed (the error); at once when it already has. */
  onFinish(cb: (e: Error | undefined) => void): void {
    if (this.state !== "open") cb(this.failure);
    else (this.finishers ??= []).push(cb);
  }

  private settle(): void {
    const f = this.finishers;
    this.finishers = null;
    if (f) for (const cb of f) cb(this.failure);
  }
}

/** A sink's `data` that writes each chunk to `w`, pausing `body` while `w` is full (until it drains). */
export function writeWithBackpressure(
  w: { write(chunk: Uint8Array): boolean; once(event: "drain", listener: () => void): unknown },
  body: BodyStream,
): (chunk: Uint8Array) => void {
  return (c) => {
    if (!w.write(c)) {
      body.pause();
      w.once("drain", () => body.resume());
    }
  };
}
