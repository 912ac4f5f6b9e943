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

/** An encoded response: one buffer, or byte ranges to be written one after the other (shared, not copied). */
export type EncodedPayload = Uint8Array | readonly Uint8Array[];

/** Bytes in an encoded response. */
export function payloadLength(payload: EncodedPayload): number {
  if (payload instanceof Uint8Array) return payload.length;
  let n = 0;
  for (const p of payload) n += p.length;
  return n;
}

/** Writes an encoded response to the transport; `done` once it has been handed over (or failed). */
export type Writer = (encoded: EncodedPayload, done: () => void) => void;

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
  channel(encode: (message: object) => EncodedPayload, write: Writer): SendChannel {
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
    this.#writing.delete(channel);
  }

  // One timer for every write in progress instead of one per write: a push to 2 000 streams would otherwise
  // create and clear 2 000 timers. A write counts as stalled between stallMs and 1.25 stallMs after it started.
  readonly #writing = new Set<Channel>();
  #sweep: ReturnType<typeof setInterval> | undefined;

  /** @internal A channel started a write. */
  writing(channel: Channel): void {
    this.#writing.add(channel);
    if (this.#sweep) return;
    this.#sweep = setInterval(() => this.#checkStalls(), Math.max(1, this.#stallMs / 4));
    this.#sweep.unref?.();
  }

  /** @internal A channel's write finished (or it closed). */
  written(channel: Channel): void {
    this.#writing.delete(channel);
    if (this.#writing.size === 0 && this.#sweep) {
      clearInterval(this.#sweep);
      this.#sweep = undefined;
    }
  }

  #checkStalls(): void {
    const now = performance.now();
    for (const channel of this.#writing) if (now - channel.writeStartedAt >= this.#stallMs) channel.stallCheck(now);
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
    private readonly encode: (message: object) => EncodedPayload,
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
    this.#held = payloadLength(bytes);
    this.#stalled = 0;
    this.budget.take(this.#held);
    this.#writing = true;
    this.writeStartedAt = performance.now();
    this.budget.writing(this);
    const write = ++this.#writes;
    this.write(bytes, () => {
      if (write !== this.#writes || !this.#writing) return;
      this.#writing = false;
      this.budget.written(this);
      this.#release();
      this.pump();
    });
  }

  /** Budget bytes held by the write in progress, and bytes of it counted as stalled instead. */
  #held = 0;
  #stalled = 0;
  #writes = 0;
  /** When the write in progress started (performance.now()). */
  writeStartedAt = 0;

  /** @internal The write in progress is older than the stall time: stop holding budget if the stalled bound allows. */
  stallCheck(now: number): void {
    if (this.#held === 0) return;
    if (this.budget.stall(this.#held)) {
      this.#stalled = this.#held;
      this.#held = 0;
      this.budget.written(this);
    } else this.writeStartedAt = now; // try again a stall time later
  }

  #release(): void {
    if (this.#stalled > 0) this.budget.unstall(this.#stalled);
    this.#stalled = 0;
    if (this.#held === 0) return;
    const n = this.#held;
    this.#held = 0;
    this.budget.give(n);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.budget.forget(this);
    this.budget.written(this);
    this.#release();
  }
}
