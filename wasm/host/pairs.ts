// The proxy-wasm map serialization (spec "Serialization"):
//   [u32 count] [u32 key_len, u32 value_len]*count [key \0 value \0]*count, little-endian.
import type { HeaderMap } from "./types.js";
import { FOLD_LOWER, FOLD_NONE, internUtf8 } from "./intern.js";
import { utf8Length, writeUtf8 } from "./utf8.js";

export function pairsSize(map: HeaderMap): number {
  let size = 4;
  for (let i = 0; i < map.length; i++) size += 10 + utf8Length(map[i][0]) + utf8Length(map[i][1]);
  return size;
}

/** Serializes `map` into dst at offset; dst must have pairsSize(map) bytes from offset. */
export function writePairs(map: HeaderMap, dst: Uint8Array, offset: number): void {
  const n = map.length;
  let sizePos = offset;
  putU32(dst, sizePos, n);
  sizePos += 4;
  let pos = offset + 4 + n * 8;
  for (let i = 0; i < n; i++) {
    const [k, v] = map[i];
    const keyEnd = writeUtf8(k, dst, pos);
    putU32(dst, sizePos, keyEnd - pos);
    dst[keyEnd] = 0;
    pos = keyEnd + 1;
    const valueEnd = writeUtf8(v, dst, pos);
    putU32(dst, sizePos + 4, valueEnd - pos);
    dst[valueEnd] = 0;
    pos = valueEnd + 1;
    sizePos += 8;
  }
}

let scratch = new Uint8Array(4096);

/**
 * Serializes `map` into a reused scratch buffer in one pass (TextEncoder.encodeInto for long strings) and
 * returns a view of it, valid until the next call: the hot path of get_header_map_pairs, which then copies it
 * into guest memory. Cheaper than pairsSize + writePairs, which walk every string twice.
 */
export function encodePairs(map: HeaderMap): Uint8Array {
  const n = map.length;
  let bound = 4 + n * 10;
  for (let i = 0; i < n; i++) {
    const pair = map[i];
    bound += 3 * (pair[0].length + pair[1].length);
  }
  if (scratch.length < bound) scratch = new Uint8Array(Math.max(bound, scratch.length * 2));
  const dst = scratch;
  putU32(dst, 0, n);
  let sizePos = 4;
  let pos = 4 + n * 8;
  for (let i = 0; i < n; i++) {
    const pair = map[i];
    const keyEnd = writeUtf8(pair[0], dst, pos);
    putU32(dst, sizePos, keyEnd - pos);
    dst[keyEnd] = 0;
    pos = keyEnd + 1;
    const valueEnd = writeUtf8(pair[1], dst, pos);
    putU32(dst, sizePos + 4, valueEnd - pos);
    dst[valueEnd] = 0;
    pos = valueEnd + 1;
    sizePos += 8;
  }
  return dst.subarray(0, pos);
}

export function serializePairs(map: HeaderMap): Uint8Array {
  const out = new Uint8Array(pairsSize(map));
  writePairs(map, out, 0);
  return out;
}

/**
 * Parses a serialized map; null when the bytes are malformed (truncated, missing NULs, trailing data).
 * `lowerKeys` lower-cases the keys (String#toLowerCase), as header maps the guest hands over need.
 */
export function parsePairs(bytes: Uint8Array, lowerKeys = false): HeaderMap | null {
  if (bytes.length === 0 || (bytes.length < 4 && bytes.every((b) => b === 0))) return [];
  if (bytes.length < 4) return null;
  const count = getU32(bytes, 0);
  if (count > (bytes.length - 4) / 8) return null;
  let sizePos = 4;
  let pos = 4 + count * 8;
  const out: HeaderMap = new Array(count);
  for (let i = 0; i < count; i++) {
    const klen = getU32(bytes, sizePos);
    const vlen = getU32(bytes, sizePos + 4);
    sizePos += 8;
    if (pos + klen + 1 > bytes.length || bytes[pos + klen] !== 0) return null;
    const key = internUtf8(bytes, null, pos, pos + klen, lowerKeys ? FOLD_LOWER : FOLD_NONE);
    pos += klen + 1;
    if (pos + vlen + 1 > bytes.length || bytes[pos + vlen] !== 0) return null;
    const value = internUtf8(bytes, null, pos, pos + vlen, FOLD_NONE);
    pos += vlen + 1;
    out[i] = [key, value];
  }
  return pos === bytes.length ? out : null;
}

function putU32(dst: Uint8Array, pos: number, v: number): void {
  dst[pos] = v & 0xff;
  dst[pos + 1] = (v >>> 8) & 0xff;
  dst[pos + 2] = (v >>> 16) & 0xff;
  dst[pos + 3] = (v >>> 24) & 0xff;
}

function getU32(src: Uint8Array, pos: number): number {
  return (src[pos] | (src[pos + 1] << 8) | (src[pos + 2] << 16) | (src[pos + 3] << 24)) >>> 0;
}
