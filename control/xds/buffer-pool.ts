// Reused buffers for encoded responses. Every response is encoded into a buffer of ours, then copied by grpc-js
// into a framed one: at 2 000 proxies that is gigabytes of short-lived external memory, and V8 answers external
// memory growth with full garbage collections (most of the serve's CPU during a full sync). Our buffer is dead as
// soon as grpc-js has copied it — certainly by the write's callback — so it comes from here and goes back then.

/** Smaller responses are allocated normally (Node's slab serves the small ones; pooling them saves little). */
const MIN_POOLED = 64 * 1024;

export class BufferPool {
  readonly #free = new Map<number, ArrayBuffer[]>();
  readonly #ours = new WeakSet<ArrayBuffer>();
  #pooledBytes = 0;

  /** @param maxPooledBytes bytes of free buffers kept for reuse; more are left to the GC. */
  constructor(private readonly maxPooledBytes: number) {}

  /** A buffer of exactly `size` bytes (contents undefined). */
  alloc = (size: number): Buffer => {
    if (size < MIN_POOLED) return Buffer.allocUnsafe(size);
    const capacity = 2 ** Math.ceil(Math.log2(size));
    const free = this.#free.get(capacity);
    let backing = free?.pop();
    if (backing) this.#pooledBytes -= capacity;
    else {
      backing = new ArrayBuffer(capacity);
      this.#ours.add(backing);
    }
    return Buffer.from(backing, 0, size);
  };

  /** Gives back a buffer from alloc() once nothing reads it any more; anything else is ignored. */
  release(bytes: Uint8Array): void {
    const backing = bytes.buffer;
    if (!(backing instanceof ArrayBuffer) || !this.#ours.has(backing)) return;
    if (this.#pooledBytes + backing.byteLength > this.maxPooledBytes) return;
    let free = this.#free.get(backing.byteLength);
    if (!free) this.#free.set(backing.byteLength, (free = []));
    if (free.includes(backing)) return; // released twice
    free.push(backing);
    this.#pooledBytes += backing.byteLength;
  }

  /** Bytes held in free buffers. */
  get pooledBytes(): number {
    return this.#pooledBytes;
  }
}
