// The common shape of the SHA-2 hashers, so HMAC, MGF1 and signature code can take any of them.

export abstract class Hasher {
  constructor(public readonly digestLength: i32, public readonly blockLength: i32) {}

  abstract reset(): Hasher;

  /** Hashes `len` bytes starting at raw address `ptr` (slices are hashed without copying). */
  abstract updateRange(ptr: usize, len: i32): Hasher;

  /** Writes the digest into `out` at `outOffset`; call reset() before reusing the hasher. */
  abstract finishInto(out: Uint8Array, outOffset: i32): void;

  update(data: Uint8Array): Hasher {
    return this.updateRange(data.dataStart, data.length);
  }

  /** Hashes bytes [start, end) of `data`; out-of-range bounds are clamped. */
  updateSlice(data: Uint8Array, start: i32, end: i32): Hasher {
    if (start < 0) start = 0;
    if (end > data.length) end = data.length;
    if (end <= start) return this;
    return this.updateRange(data.dataStart + <usize>start, end - start);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.digestLength);
    this.finishInto(out, 0);
    return out;
  }
}
