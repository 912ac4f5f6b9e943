// Interned decoding of the short strings hostcalls read on every request (header names, property
// paths, most header values a filter writes, foreign function names).
//
// A direct-mapped table remembers recent decodes by their raw bytes: a hit costs a hash of a few
// sampled bytes plus one compare of the bytes (word by word when the guest pointer is 4-byte
// aligned, as allocations are) and allocates nothing, where decoding allocates per call (and a
// string built char by char with += is a rope from 13 characters on). Only ASCII is interned (a hit therefore proves the bytes
// are ASCII); anything else, or anything longer than a slot, is decoded as usual. The table is a
// bounded memo of a pure function, so VMs can share it.
import { readUtf8 } from "./utf8.js";

/** How the bytes map to the string: as they are, lower-cased (String#toLowerCase), or NUL turned into ".". */
export type Fold = typeof FOLD_NONE | typeof FOLD_LOWER | typeof FOLD_NUL_TO_DOT;
export const FOLD_NONE = 0;
export const FOLD_LOWER = 1;
export const FOLD_NUL_TO_DOT = 2;

const SLOTS = 1024; // power of two
const SLOT_BYTES = 128; // multiple of 4
const strings: string[] = new Array<string>(SLOTS).fill("");
const lengths = new Int32Array(SLOTS).fill(-1);
const modes = new Uint8Array(SLOTS);
const arena32 = new Uint32Array((SLOTS * SLOT_BYTES) / 4);
const arena8 = new Uint8Array(arena32.buffer);
const decoder = new TextDecoder();

/**
 * src[start..end) decoded as UTF-8 and folded by `mode`. `words`, when given, is a Uint32Array over
 * the same buffer as `src`, and src must start at byte 0 of that buffer.
 */
export function internUtf8(src: Uint8Array, words: Uint32Array | null, start: number, end: number, mode: Fold): string {
  const n = end - start;
  // Module-level constants are copied into locals: in a bundle they are mutable `var`s, and
  // re-reading those in a loop costs as much as the loop.
  const slotBytes = SLOT_BYTES;
  if (n > slotBytes || n < 0) return decodeFolded(src, start, end, mode);
  // The slot comes from the length, the mode and at most 9 bytes (8 spread from the first one, and
  // the last); a collision only costs a miss, since the compare below checks every byte.
  let h = Math.imul(0x811c9dc5 ^ (n << 2) ^ mode, 0x01000193);
  if (n > 0) {
    const last = n - 1;
    for (let k = 0; k < 8; k++) h = Math.imul(h ^ src[start + ((k * last) >>> 3)], 0x01000193);
    h = Math.imul(h ^ src[end - 1], 0x01000193);
  }
  const slot = (h ^ (h >>> 15)) & (strings.length - 1);
  if (lengths[slot] === n && modes[slot] === mode) {
    const base = slot * slotBytes;
    let i = 0;
    if (words !== null && (start & 3) === 0) {
      const w0 = start >>> 2;
      const b0 = base >>> 2;
      const nw = n >>> 2;
      while (i < nw && words[w0 + i] === arena32[b0 + i]) i++;
      i = i === nw ? nw << 2 : n + 1; // all words equal: go on with the tail bytes
    }
    while (i < n && src[start + i] === arena8[base + i]) i++;
    if (i === n) return strings[slot];
  }
  for (let i = start; i < end; i++) if (src[i] >= 0x80) return decodeFolded(src, start, end, mode);
  // Decoded natively: the cached string is then flat, which keeps later uses of it fast.
  const s = fold(decoder.decode(src.subarray(start, end)), mode);
  strings[slot] = s;
  lengths[slot] = n;
  modes[slot] = mode;
  arena8.set(src.subarray(start, end), slot * slotBytes);
  return s;
}

function decodeFolded(src: Uint8Array, start: number, end: number, mode: Fold): string {
  return fold(readUtf8(src, start, end), mode);
}

function fold(s: string, mode: Fold): string {
  if (mode === FOLD_LOWER) return s.toLowerCase();
  if (mode === FOLD_NUL_TO_DOT) return s.replaceAll("\0", ".");
  return s;
}
