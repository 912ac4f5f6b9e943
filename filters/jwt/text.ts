// Byte-level text helpers for token extraction: header values and query strings are handled as
// the UTF-8 bytes the host sent, so a token is never decoded to a string and re-encoded.

/** RFC 9110 token characters (header field names). */
function isTchar(c: i32): bool {
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return true;
  switch (c) {
    case 0x21: case 0x23: case 0x24: case 0x25: case 0x26: case 0x27: case 0x2a: case 0x2b:
    case 0x2d: case 0x2e: case 0x5e: case 0x5f: case 0x60: case 0x7c: case 0x7e:
      return true;
  }
  return false;
}

export function isHeaderName(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) if (!isTchar(s.charCodeAt(i))) return false;
  return true;
}

/** base64url alphabet or '.', the characters a compact JWS is made of. */
@inline export function isJwsChar(c: u32): bool {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x5f || c == 0x2e;
}

/** First position >= from where `needle` occurs in `hay`, or -1. */
export function indexOfBytes(hay: Uint8Array, needle: Uint8Array, from: i32 = 0): i32 {
  const n = hay.length, m = needle.length;
  if (m == 0) return from <= n ? from : -1;
  const first = unchecked(needle[0]);
  for (let i = from; i + m <= n; i++) {
    if (unchecked(hay[i]) != first) continue;
    if (memory.compare(hay.dataStart + <usize>(i + 1), needle.dataStart + 1, <usize>(m - 1)) == 0) return i;
  }
  return -1;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): bool {
  return a.length == b.length && memory.compare(a.dataStart, b.dataStart, <usize>a.length) == 0;
}

/** Whether bytes [start, end) of `src` equal `b`. */
export function rangeEquals(src: Uint8Array, start: i32, end: i32, b: Uint8Array): bool {
  return end - start == b.length && memory.compare(src.dataStart + <usize>start, b.dataStart, <usize>b.length) == 0;
}

function hexValue(c: u32): i32 {
  if (c >= 0x30 && c <= 0x39) return <i32>(c - 0x30);
  if (c >= 0x41 && c <= 0x46) return <i32>(c - 0x37);
  if (c >= 0x61 && c <= 0x66) return <i32>(c - 0x57);
  return -1;
}

/** Percent-decodes bytes [start, end) of `src` (malformed escapes are kept as they are, as Envoy does). */
export function percentDecode(src: Uint8Array, start: i32, end: i32): Uint8Array {
  const out = new Uint8Array(end - start);
  let o = 0;
  for (let i = start; i < end; i++) {
    const c = <u32>unchecked(src[i]);
    if (c == 0x25 && i + 2 < end) {
      const hi = hexValue(<u32>unchecked(src[i + 1])), lo = hexValue(<u32>unchecked(src[i + 2]));
      if (hi >= 0 && lo >= 0) {
        unchecked((out[o++] = <u8>((hi << 4) | lo)));
        i += 2;
        continue;
      }
    }
    unchecked((out[o++] = <u8>c));
  }
  return o == out.length ? out : out.slice(0, o);
}

/** A copy of bytes [start, end) of `src`. */
export function copyRange(src: Uint8Array, start: i32, end: i32): Uint8Array {
  const out = new Uint8Array(end - start);
  memory.copy(out.dataStart, src.dataStart + <usize>start, <usize>(end - start));
  return out;
}
