// Byte helpers shared by the crypto modules.

/** Compares two byte arrays in time that depends only on their lengths. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): bool {
  if (a.length != b.length) return false;
  let diff: u32 = 0;
  const pa = a.dataStart, pb = b.dataStart;
  for (let i = 0, n = a.length; i < n; i++) {
    diff |= <u32>(load<u8>(pa + <usize>i) ^ load<u8>(pb + <usize>i));
  }
  return diff == 0;
}

/** Copy of bytes [start, end) of `src`; bounds must already be valid. */
export function sliceBytes(src: Uint8Array, start: i32, end: i32): Uint8Array {
  const out = new Uint8Array(end - start);
  memory.copy(out.dataStart, src.dataStart + <usize>start, <usize>(end - start));
  return out;
}

export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  memory.copy(out.dataStart, a.dataStart, <usize>a.length);
  memory.copy(out.dataStart + <usize>a.length, b.dataStart, <usize>b.length);
  return out;
}
