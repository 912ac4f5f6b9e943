// The ABI's map serialization ("Serialization" in the spec), little-endian:
//   u32 count | count x (u32 keyLen, u32 valueLen) | key 0x00 value 0x00 ...
// Keys and values are UTF-8; conversion goes through String.UTF8 (no per-character loops here).

export class HeaderPair {
  constructor(public key: string, public value: string) {}
}

/** Serializes pairs for proxy_set_header_map_pairs / local responses / http calls. */
export function serializePairs(pairs: HeaderPair[]): ArrayBuffer {
  const n = pairs.length;
  if (n == 0) return new ArrayBuffer(0);
  // Encode once, then lay out; header + per-pair sizes + bytes + NUL terminators.
  const encoded = new Array<ArrayBuffer>(n << 1);
  let size = 4 + n * 8;
  for (let i = 0; i < n; i++) {
    const p = unchecked(pairs[i]);
    const k = String.UTF8.encode(p.key);
    const v = String.UTF8.encode(p.value);
    unchecked((encoded[i << 1] = k));
    unchecked((encoded[(i << 1) + 1] = v));
    size += k.byteLength + v.byteLength + 2;
  }
  const out = new ArrayBuffer(size);
  const base = changetype<usize>(out);
  store<u32>(base, n);
  let sizes = base + 4;
  let data = base + 4 + <usize>n * 8;
  for (let i = 0; i < n; i++) {
    const k = unchecked(encoded[i << 1]);
    const v = unchecked(encoded[(i << 1) + 1]);
    const kl = <usize>k.byteLength;
    const vl = <usize>v.byteLength;
    store<u32>(sizes, <u32>kl);
    store<u32>(sizes, <u32>vl, 4);
    sizes += 8;
    memory.copy(data, changetype<usize>(k), kl);
    data += kl;
    store<u8>(data, 0);
    data++;
    memory.copy(data, changetype<usize>(v), vl);
    data += vl;
    store<u8>(data, 0);
    data++;
  }
  return out;
}

/**
 * Parses a serialized map at [ptr, ptr+size). Returns null when the layout is inconsistent
 * (counts or lengths running past the end) so callers can report it instead of trapping.
 */
export function deserializePairs(ptr: usize, size: usize): HeaderPair[] | null {
  const pairs = new Array<HeaderPair>();
  if (size <= 1) return pairs; // empty map: size 0, or a single 0x00 byte
  if (size < 4) return null;
  const n = <usize>load<u32>(ptr);
  if (n > (size - 4) / 8) return null;
  let sizes = ptr + 4;
  let data = ptr + 4 + n * 8;
  const end = ptr + size;
  for (let i: usize = 0; i < n; i++) {
    const kl = <usize>load<u32>(sizes);
    const vl = <usize>load<u32>(sizes, 4);
    sizes += 8;
    if (kl > end - data || vl > end - data - kl || data + kl + vl + 2 > end) return null;
    const key = String.UTF8.decodeUnsafe(data, kl);
    data += kl + 1;
    const value = String.UTF8.decodeUnsafe(data, vl);
    data += vl + 1;
    pairs.push(new HeaderPair(key, value));
  }
  return pairs;
}
