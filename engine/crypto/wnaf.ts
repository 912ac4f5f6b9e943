// Width-w non-adjacent form of a scalar: signed odd digits |d| < 2^(w-1), at least w-1 zeros
// between non-zero digits, so a scalar multiplication needs about bits/(w+1) additions of
// precomputed odd multiples 1P, 3P, ..., (2^(w-1)-1)P.
import { Limbs } from "./bigint";

/** Bits [pos, pos+count) of k (count <= 24), reading bits at or above `limit` as zero. */
@inline function bitsAt(k: Limbs, pos: i32, count: i32, limit: i32): u32 {
  if (pos >= limit) return 0;
  if (pos + count > limit) count = limit - pos;
  const limb = pos >> 5, shift = <u32>pos & 31, n = k.length;
  let v: u64 = limb < n ? <u64>unchecked(k[limb]) : 0;
  if (limb + 1 < n) v |= <u64>unchecked(k[limb + 1]) << 32;
  return <u32>(v >> shift) & ((<u32>1 << <u32>count) - 1);
}

/**
 * Writes the width-`w` NAF digits of bits [start, start + width) of k into out[offset ..
 * offset + width] (index = bit position within the slice, zeros elsewhere; the last entry takes a
 * final carry) and returns one past the highest non-zero digit (0 for a zero slice).
 */
export function recodeWnaf(out: StaticArray<i8>, offset: i32, k: Limbs, start: i32, width: i32, w: i32): i32 {
  const total = width + 1, limit = start + width;
  memory.fill(changetype<usize>(out) + <usize>offset, 0, <usize>total);
  let carry: u32 = 0, bit = 0, top = 0;
  while (bit < total) {
    if (bitsAt(k, start + bit, 1, limit) == carry) { bit++; continue; }
    const word = bitsAt(k, start + bit, w, limit) + carry; // odd, below 2^w
    carry = (word >> <u32>(w - 1)) & 1;
    const digit = <i32>word - <i32>(carry << <u32>w);
    unchecked(out[offset + bit] = <i8>digit);
    top = bit + 1;
    bit += w;
  }
  return top;
}
