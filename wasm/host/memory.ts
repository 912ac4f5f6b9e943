// Bounds-checked access to a guest's linear memory.
//
// Hostcalls check every range against a cached byte view instead of reading `memory.buffer` (a
// native getter) each time. That cache can never be used stale: memory.grow detaches the old
// ArrayBuffer of a non-shared memory, so the cached view's length drops to 0 and the next check
// falls through to `recheck`, which takes the new buffer. (A shared memory's old buffer stays valid
// for its old length, so a range inside it is still right.) A range at or past the cached length
// always goes through `recheck` before it can fail.
import { GuestMemoryError } from "./errors.js";
import { FOLD_NUL_TO_DOT, type Fold, internUtf8 } from "./intern.js";
import { readUtf8 } from "./utf8.js";

export class GuestMemory {
  private u8 = new Uint8Array(0);
  private u32 = new Uint32Array(0);
  private dv: DataView | null = null;

  constructor(private readonly memory: WebAssembly.Memory) {}

  /** The current byte view of the whole memory (reads memory.buffer: not for hot paths). */
  bytes(): Uint8Array {
    if (this.memory.buffer !== this.u8.buffer) this.refresh();
    return this.u8;
  }

  /**
   * Throws GuestMemoryError unless [ptr, ptr+len) lies inside memory. Returns ptr as unsigned.
   * Afterwards offsets in that range of `view8` are valid until the next guest call.
   */
  check(ptr: number, len: number): number {
    const p = ptr >>> 0;
    if (p + (len >>> 0) >= this.u8.length) this.recheck(p, len >>> 0);
    return p;
  }

  /** The checked byte view; only offsets covered by a check() since the last guest call are valid. */
  get view8(): Uint8Array {
    return this.u8;
  }

  private recheck(p: number, n: number): void {
    if (this.memory.buffer !== this.u8.buffer) this.refresh();
    if (p + n > this.u8.length) throw new GuestMemoryError(p, n);
  }

  private refresh(): void {
    const buffer = this.memory.buffer;
    this.u8 = new Uint8Array(buffer);
    this.u32 = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
    this.dv = null;
  }

  /** A view (no copy) valid until the next guest call. */
  view(ptr: number, len: number): Uint8Array {
    const p = this.check(ptr, len);
    return this.u8.subarray(p, p + (len >>> 0));
  }

  /** A copy the host may keep. */
  copy(ptr: number, len: number): Uint8Array {
    const p = this.check(ptr, len);
    return this.u8.slice(p, p + (len >>> 0));
  }

  string(ptr: number, len: number): string {
    const p = this.check(ptr, len);
    return readUtf8(this.u8, p, p + (len >>> 0));
  }

  /** `string`, folded by `mode` and interned (intern.ts): for names and repeated values. */
  interned(ptr: number, len: number, mode: Fold): string {
    const p = this.check(ptr, len);
    return internUtf8(this.u8, this.u32, p, p + (len >>> 0), mode);
  }

  /**
   * A property path (segments joined by NUL, trailing NULs ignored) as the dotted key properties
   * are stored under: "request\0headers\0x-a" -> "request.headers.x-a". "" when there is no segment.
   */
  path(ptr: number, len: number): string {
    const p = this.check(ptr, len);
    let end = p + (len >>> 0);
    while (end > p && this.u8[end - 1] === 0) end--;
    return internUtf8(this.u8, this.u32, p, end, FOLD_NUL_TO_DOT);
  }

  write(ptr: number, bytes: Uint8Array): void {
    const p = this.check(ptr, bytes.length);
    this.u8.set(bytes, p);
  }

  getU32(ptr: number): number {
    const p = this.check(ptr, 4);
    const b = this.u8;
    return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
  }

  setU32(ptr: number, value: number): void {
    const p = this.check(ptr, 4);
    const b = this.u8;
    b[p] = value;
    b[p + 1] = value >>> 8;
    b[p + 2] = value >>> 16;
    b[p + 3] = value >>> 24;
  }

  setU64(ptr: number, value: bigint): void {
    const p = this.check(ptr, 8);
    if (this.dv === null) this.dv = new DataView(this.u8.buffer);
    this.dv.setBigUint64(p, BigInt.asUintN(64, value), true);
  }
}
