// UTF-8 of a string for the length of one hostcall, in a buffer reused across calls. The host reads a hostcall's
// arguments before it returns, so a per-call ArrayBuffer (String.UTF8.encode) is garbage the moment the call ends;
// at several hostcalls per request those buffers were a good part of the incremental GC's work (allocation, marking,
// sweeping) and of the guest memory a request touches. The region comes from heap.alloc: not GC-managed.

const INITIAL_CAPACITY: usize = 256;

export class Utf8Scratch {
  private ptr: usize = heap.alloc(INITIAL_CAPACITY);
  private capacity: usize = INITIAL_CAPACITY;
  /** Bytes written by the last encode. */
  length: usize = 0;

  /** Encodes `s` (WTF-8, as String.UTF8.encode) and returns where; valid until the next encode on this scratch. */
  encode(s: string): usize {
    const max = <usize>s.length * 3; // a UTF-16 unit takes at most 3 bytes (a surrogate pair, 4 for 2 units)
    if (max > this.capacity) {
      this.ptr = heap.realloc(this.ptr, max);
      this.capacity = max;
    }
    this.length = String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, this.ptr);
    return this.ptr;
  }

  /** Writes `n` in decimal (as n.toString() would) without a string; valid until the next encode. */
  encodeI64(n: i64): usize {
    let p = this.ptr; // at most 20 bytes ("-9223372036854775808"); the capacity never drops below 256
    let u = n < 0 ? <u64>(0 - n) : <u64>n;
    if (n < 0) store<u8>(p++, 0x2d);
    let digits: usize = 1;
    for (let t = u; t >= 10; t /= 10) digits++;
    const end = p + digits;
    let q = end;
    do {
      store<u8>(--q, <u8>(0x30 + u % 10));
      u /= 10;
    } while (u != 0);
    this.length = end - this.ptr;
    return this.ptr;
  }
}

/** For a hostcall's name (header name, property key). */
export const NAME_SCRATCH = new Utf8Scratch();
/** For a hostcall's value. */
export const VALUE_SCRATCH = new Utf8Scratch();
