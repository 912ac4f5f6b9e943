// Bounds-checked access to a guest's linear memory. Views are re-created whenever the memory's
// ArrayBuffer changes (memory.grow, e.g. inside the guest's malloc, detaches the old one), so a
// hostcall can never touch a stale or out-of-range view.
import { GuestMemoryError } from "./errors.js";
import { readUtf8 } from "./utf8.js";

export class GuestMemory {
  private buffer: ArrayBuffer | SharedArrayBuffer | null = null;
  private u8 = new Uint8Array(0);
  private dv = new DataView(new ArrayBuffer(0));

  constructor(private readonly memory: WebAssembly.Memory) {}

  /** Current byte view of the whole memory. */
  bytes(): Uint8Array {
    if (this.memory.buffer !== this.buffer) this.refresh();
    return this.u8;
  }

  private data(): DataView {
    if (this.memory.buffer !== this.buffer) this.refresh();
    return this.dv;
  }

  private refresh(): void {
    this.buffer = this.memory.buffer;
    this.u8 = new Uint8Array(this.buffer);
    this.dv = new DataView(this.buffer);
  }

  /** Throws GuestMemoryError unless [ptr, ptr+len) lies inside memory. Returns ptr as unsigned. */
  check(ptr: number, len: number): number {
    const p = ptr >>> 0;
    const n = len >>> 0;
    if (p + n > this.bytes().length) throw new GuestMemoryError(p, n);
    return p;
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

  write(ptr: number, bytes: Uint8Array): void {
    const p = this.check(ptr, bytes.length);
    this.u8.set(bytes, p);
  }

  getU32(ptr: number): number {
    const p = this.check(ptr, 4);
    return this.data().getUint32(p, true);
  }

  setU32(ptr: number, value: number): void {
    const p = this.check(ptr, 4);
    this.data().setUint32(p, value >>> 0, true);
  }

  setU64(ptr: number, value: bigint): void {
    const p = this.check(ptr, 8);
    this.data().setBigUint64(p, BigInt.asUintN(64, value), true);
  }
}
