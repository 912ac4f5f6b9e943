// The request header map as the bytes the host serialized (one proxy_get_header_map_pairs call),
// indexed but not decoded: the filter looks at a handful of headers and must see every value of a
// repeated one (Envoy's extractor checks them all), which proxy_get_header_map_value cannot do.
// The typed wrapper in filters/abi decodes every pair to strings, which this hot path avoids.
import { proxy_get_header_map_pairs } from "../abi/imports";
import { MapType, WasmResult } from "../abi/index";
import { bytesEqual, copyRange, rangeEquals } from "./text";

const RET_PTR: usize = memory.data(8);
const RET_SIZE: usize = memory.data(8);

export class RawHeaders {
  data: Uint8Array = new Uint8Array(0);
  count: i32 = 0;
  /** Per pair: key start, key end, value start, value end (offsets into data). */
  spans: StaticArray<i32> = new StaticArray<i32>(0);

  /** Index of the next pair at or after `from` whose key is `name` (lower-case bytes), or -1. */
  find(name: Uint8Array, from: i32 = 0): i32 {
    const spans = this.spans;
    for (let i = from; i < this.count; i++) {
      if (rangeEquals(this.data, unchecked(spans[i << 2]), unchecked(spans[(i << 2) + 1]), name)) return i;
    }
    return -1;
  }

  valueStart(i: i32): i32 { return unchecked(this.spans[(i << 2) + 2]); }
  valueEnd(i: i32): i32 { return unchecked(this.spans[(i << 2) + 3]); }

  /** The first value of `name`, or null. */
  value(name: Uint8Array): Uint8Array | null {
    const i = this.find(name);
    return i < 0 ? null : copyRange(this.data, this.valueStart(i), this.valueEnd(i));
  }

  has(name: Uint8Array): bool {
    return this.find(name) >= 0;
  }

  valueString(name: Uint8Array): string | null {
    const i = this.find(name);
    if (i < 0) return null;
    const s = this.valueStart(i);
    return String.UTF8.decodeUnsafe(this.data.dataStart + <usize>s, <usize>(this.valueEnd(i) - s));
  }

  /** Whether the first value of `name` equals `value`. */
  valueIs(name: Uint8Array, value: Uint8Array): bool {
    const v = this.value(name);
    return v !== null && bytesEqual(v, value);
  }
}

/** Reads the request headers; a map the host cannot give (or garbles) reads as empty. */
export function fetchRequestHeaders(): RawHeaders {
  store<usize>(RET_PTR, 0);
  store<usize>(RET_SIZE, 0);
  const headers = new RawHeaders();
  if (proxy_get_header_map_pairs(MapType.HttpRequestHeaders, RET_PTR, RET_SIZE) != WasmResult.Ok) return headers;
  const ptr = load<usize>(RET_PTR);
  const size = load<usize>(RET_SIZE);
  if (!ptr) return headers;
  const data = new Uint8Array(<i32>size);
  memory.copy(data.dataStart, ptr, size);
  heap.free(ptr);
  index(headers, data);
  return headers;
}

/** Lays out spans for `u32 count | (u32 keyLen, u32 valueLen)* | key 0 value 0 ...`. */
function index(headers: RawHeaders, data: Uint8Array): void {
  const size = data.length;
  if (size < 4) return;
  const base = data.dataStart;
  const n = <i32>load<u32>(base);
  if (n < 0 || n > (size - 4) / 8) return;
  const spans = new StaticArray<i32>(n << 2);
  let sizes = 4;
  let at = 4 + n * 8;
  for (let i = 0; i < n; i++) {
    const kl = load<u32>(base + <usize>sizes);
    const vl = load<u32>(base + <usize>sizes + 4);
    sizes += 8;
    if (<u64>at + <u64>kl + <u64>vl + 2 > <u64>size) return;
    unchecked((spans[i << 2] = at));
    unchecked((spans[(i << 2) + 1] = at + <i32>kl));
    at += <i32>kl + 1;
    unchecked((spans[(i << 2) + 2] = at));
    unchecked((spans[(i << 2) + 3] = at + <i32>vl));
    at += <i32>vl + 1;
  }
  headers.data = data;
  headers.spans = spans;
  headers.count = n;
}
