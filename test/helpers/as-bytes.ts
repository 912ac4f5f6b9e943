// Byte-buffer plumbing for engine tests: pass Uint8Arrays into an AssemblyScript instance as
// pinned ArrayBuffers (so allocations inside a call cannot collect them) and read results back.
import type { ASInstance } from "./as.js";

export interface BytesIO {
  /** A pinned ArrayBuffer holding `bytes` (a string is UTF-8 encoded); freed by release(). */
  buf(bytes: Uint8Array | string): number;
  /** Copy of the ArrayBuffer at `ptr`, or null for a null pointer. */
  read(ptr: number): Uint8Array | null;
  readText(ptr: number): string | null;
  /** Unpin everything buf() pinned. */
  release(): void;
}

export function bytesIO(as: ASInstance): BytesIO {
  const pinned: number[] = [];
  const ex = as.exports;
  return {
    buf(bytes) {
      const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
      const ptr = ex.__pin(as.newArrayBuffer(data)) >>> 0;
      pinned.push(ptr);
      return ptr;
    },
    read(ptr) {
      return ptr ? as.getArrayBuffer(ptr >>> 0) : null;
    },
    readText(ptr) {
      const bytes = ptr ? as.getArrayBuffer(ptr >>> 0) : null;
      return bytes ? new TextDecoder().decode(bytes) : null;
    },
    release() {
      while (pinned.length) ex.__unpin(pinned.pop()!);
    },
  };
}

/** Runs the module's start function (asconfig exports it as _initialize instead of running it). */
export function initialize(as: ASInstance): ASInstance {
  as.exports._initialize?.();
  return as;
}
