// base64url (RFC 4648 section 5). Decoding is strict: only the URL-safe alphabet, no whitespace,
// padding optional but exact when present, no impossible lengths, and unused trailing bits zero
// (so every byte string has exactly one accepted encoding).

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const INVALID: u8 = 0xff;

function sextet(c: u32): u32 {
  if (c >= 65 && c <= 90) return c - 65; // A-Z
  if (c >= 97 && c <= 122) return c - 71; // a-z
  if (c >= 48 && c <= 57) return c + 4; // 0-9
  if (c == 45) return 62; // -
  if (c == 95) return 63; // _
  return INVALID;
}

/** Decodes `len` base64url characters (one byte each) at raw address `ptr`; null if invalid. */
function decodeRange(ptr: usize, len: i32): Uint8Array | null {
  // Optional padding: strip it only if it makes the length a multiple of 4.
  if (len > 0 && load<u8>(ptr + <usize>(len - 1)) == 61) {
    if ((len & 3) != 0) return null;
    len--;
    if (len > 0 && load<u8>(ptr + <usize>(len - 1)) == 61) len--;
  }
  const rem = len & 3;
  if (rem == 1) return null;
  const full = len - rem;
  const out = new Uint8Array((full >> 2) * 3 + (rem == 0 ? 0 : rem - 1));
  const op = out.dataStart;
  let o: usize = 0;
  for (let i = 0; i < full; i += 4) {
    const a = sextet(load<u8>(ptr + <usize>i)), b = sextet(load<u8>(ptr + <usize>i + 1));
    const c = sextet(load<u8>(ptr + <usize>i + 2)), d = sextet(load<u8>(ptr + <usize>i + 3));
    if (((a | b | c | d) & 0xc0) != 0) return null; // INVALID has these bits set
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    store<u8>(op + o, <u8>(v >> 16));
    store<u8>(op + o + 1, <u8>(v >> 8));
    store<u8>(op + o + 2, <u8>v);
    o += 3;
  }
  if (rem == 2) {
    const a = sextet(load<u8>(ptr + <usize>full)), b = sextet(load<u8>(ptr + <usize>full + 1));
    if (((a | b) & 0xc0) != 0 || (b & 0x0f) != 0) return null;
    store<u8>(op + o, <u8>((a << 2) | (b >> 4)));
  } else if (rem == 3) {
    const a = sextet(load<u8>(ptr + <usize>full)), b = sextet(load<u8>(ptr + <usize>full + 1));
    const c = sextet(load<u8>(ptr + <usize>full + 2));
    if (((a | b | c) & 0xc0) != 0 || (c & 0x03) != 0) return null;
    const v = (a << 12) | (b << 6) | c;
    store<u8>(op + o, <u8>(v >> 10));
    store<u8>(op + o + 1, <u8>(v >> 2));
  }
  return out;
}

/** Decodes bytes [start, end) of `src` (e.g. one segment of a compact JWS); null if invalid. */
export function base64urlDecodeSlice(src: Uint8Array, start: i32, end: i32): Uint8Array | null {
  if (start < 0 || end > src.length || end < start) return null;
  return decodeRange(src.dataStart + <usize>start, end - start);
}

export function base64urlDecodeBytes(src: Uint8Array): Uint8Array | null {
  return decodeRange(src.dataStart, src.length);
}

/** Decodes a base64url string (e.g. a JWK member); null if invalid or not ASCII. */
export function base64urlDecode(s: string): Uint8Array | null {
  const n = s.length;
  const ascii = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return null;
    unchecked(ascii[i] = <u8>c);
  }
  return decodeRange(ascii.dataStart, n);
}

/** Encodes without padding, as JOSE uses it. */
export function base64urlEncode(data: Uint8Array): string {
  const n = data.length;
  let i = 0;
  const parts = new Uint8Array(((n + 2) / 3) * 4);
  let o = 0;
  for (; i + 3 <= n; i += 3) {
    const v = (<u32>unchecked(data[i]) << 16) | (<u32>unchecked(data[i + 1]) << 8) | <u32>unchecked(data[i + 2]);
    unchecked(parts[o++] = <u8>ALPHABET.charCodeAt((v >> 18) & 63));
    unchecked(parts[o++] = <u8>ALPHABET.charCodeAt((v >> 12) & 63));
    unchecked(parts[o++] = <u8>ALPHABET.charCodeAt((v >> 6) & 63));
    unchecked(parts[o++] = <u8>ALPHABET.charCodeAt(v & 63));
  }
  const rem = n - i;
  if (rem == 1) {
    const v = <u32>unchecked(data[i]) << 16;
    unchecked(parts[o++] = <u8>ALPHABET.charCodeAt((v >> 18) & 63));
    unchecked(parts[o++] = <u8>ALPHABET.charCodeAt((v >> 12) & 63));
  } else if (rem == 2) {
    const v = (<u32>unchecked(data[i]) << 16) | (<u32>unchecked(data[i + 1]) << 8);
    unchecked(parts[o++] = <u8>ALPHABET.charCodeAt((v >> 18) & 63));
    unchecked(parts[o++] = <u8>ALPHABET.charCodeAt((v >> 12) & 63));
    unchecked(parts[o++] = <u8>ALPHABET.charCodeAt((v >> 6) & 63));
  }
  return String.UTF8.decodeUnsafe(parts.dataStart, <usize>o);
}
