// Backpressure for pushes. A config change can make thousands of streams due a multi-megabyte response at once;
// written straight away, all of it would sit in memory until slow proxies read it. Here each stream has a queue
// of responses not yet encoded, at most one response per stream is being written, and the bytes being written
// across all streams stay under a budget: a response is encoded only when it can go out.
//
// A response the transport has not finished within `stallMs` stops counting against the budget (one stuck proxy
// must not hold up the others); its stream still sends nothing more until that write completes. Stalled writes are
// bounded too (`maxStalledBytes`): when every receiver is slow (a loaded machine), releasing each stalled write
// would let the bytes being written grow without limit; past that bound a stalled write keeps its budget.

export interface SendBudgetOptions {
  /**
   * Bytes of encoded responses being written at once, over all streams. Default 16 MiB: on loopback that is a
   * good part of a second of what 2 000 proxies read; the transport writes these buffers without copying them.
   */
  maxBytesInFlight?: number;
  /** After this long a write no longer holds budget. Default 5 s. */
  stallMs?: number;
  /** Bytes of stalled writes that may stop holding budget, over all streams. Default: maxBytesInFlight. */
  maxStalledBytes?: number;
}

/** Writes an encoded response to the transport; `done` once it has been handed over (or failed). */
export type Writer = (encoded: Uint8Array, done: () => void) => void;

export interface SendChannel {
  /**
   * Queues a response. With `replaces`, a queued (not yet encoded) response with the same key is replaced in
   * place: a newer state-of-the-world response makes an older unsent one of its type pointless.
   */
  send(message: object, replaces?: string): void;
  /** Drops what is queued and gives back any budget held. */
  close(): void;
  /** Responses queued and not yet being written. */
  readonly queued: number;
}

export class SendBudget {
  readonly #max: number;
  readonly #stallMs: number;
  readonly #maxStalled: number;
  #inFlight = 0;
  #stalled = 0;
  readonly #waiting = new Set<Channel>();

  constructor(options: SendBudgetOptions = {}) {
    this.#max = options.maxBytesInFlight ?? 16 * 2 ** 20;
    this.#stallMs = options.stallMs ?? 5000;
    this.#maxStalled = options.maxStalledBytes ?? this.#max;
  }

  /** The budget: bytes of encoded responses that may be being written at once. */
  get maxBytesInFlight(): number {
    return this.#max;
  }

  /** Bytes of stalled writes that no longer hold budget. */
  get bytesStalled(): number {
    return this.#stalled;
  }

  /** @internal A write of `bytes` stalled: stop counting it against the budget, if the stalled bound allows. */
  stall(bytes: number): boolean {
    if (this.#stalled + bytes > this.#maxStalled) return false;
    this.#stalled += bytes;
    this.give(bytes);
    return true;
  }

  /** @internal A stalled write finished (or its stream closed). */
  unstall(bytes: number): void {
    this.#stalled -= bytes;
  }

  /** Bytes currently being written. */
  get bytesInFlight(): number {
    return this.#inFlight;
  }

  /** A stream's queue: `encode` turns a queued response into bytes, `write` hands them to the transport. */
  channel(encode: (message: object) => Uint8Array, write: Writer): SendChannel {
    return new Channel(this, encode, write);
  }

  /** @internal */
  tryStart(channel: Channel): boolean {
    if (this.#inFlight < this.#max) return true;
    this.#waiting.add(channel);
    return false;
  }

  /** @internal */
  take(bytes: number): void {
    this.#inFlight += bytes;
  }

  /** @internal */
  give(bytes: number): void {
    this.#inFlight -= bytes;
    for (const channel of this.#waiting) {
      if (this.#inFlight >= this.#max) return;
      this.#waiting.delete(channel);
      channel.pump();
    }
  }

  /** @internal */
  forget(channel: Channel): void {
    this.#waiting.delete(channel);
  }

  get stallMs(): number {
    return this.#stallMs;
  }
}

class Channel implements SendChannel {
  #queue: { message: object; key: string | undefined }[] = [];
  #writing = false;
  #closed = false;

  constructor(
    private readonly budget: SendBudget,
    private readonly encode: (message: object) => Uint8Array,
    private readonly write: Writer,
  ) {}

  get queued(): number {
    return this.#queue.length;
  }

  send(message: object, replaces?: string): void {
    if (this.#closed) return;
    const earlier = replaces === undefined ? -1 : this.#queue.findIndex((q) => q.key === replaces);
    if (earlier >= 0) this.#queue[earlier] = { message, key: replaces };
    else this.#queue.push({ message, key: replaces });
    this.pump();
  }

  pump(): void {
    if (this.#closed || this.#writing || this.#queue.length === 0) return;
    if (!this.budget.tryStart(this)) return;
    const { message } = this.#queue.shift()!;
    const bytes = this.encode(message);
    let held = bytes.length;
    let stalled = 0;
    this.budget.take(held);
    this.#writing = true;
    const release = () => {
      if (stalled > 0) this.budget.unstall(stalled);
      stalled = 0;
      if (held === 0) return;
      const n = held;
      held = 0;
      this.budget.give(n);
    };
    let stall: ReturnType<typeof setTimeout>;
    const onStall = () => {
      if (held === 0) return;
      if (this.budget.stall(held)) {
        stalled = held;
        held = 0;
      } else {
        stall = setTimeout(onStall, this.budget.stallMs);
        stall.unref?.();
      }
    };
    stall = setTimeout(onStall, this.budget.stallMs);
    stall.unref?.();
    this.#release = () => {
      clearTimeout(stall);
      release();
    };
    let finished = false;
    this.write(bytes, () => {
      if (finished) return;
      finished = true;
      clearTimeout(stall);
      this.#writing = false;
      release();
      this.pump();
    });
  }

  #release: () => void = () => {};

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.budget.forget(this);
    this.#release();
  }
}
