// Token extraction as Envoy's jwt_authn extractor does it: every configured header (every value of
// a repeated one; with a prefix, the token starts at the first JWS character after the prefix,
// which may appear anywhere in the value), the first value of each query parameter, and the first
// cookie of each name. Missing locations yield nothing; what is found is verified later.
import { JwtFilterConfig, LocationKind, TokenLocation } from "./config";
import { RawHeaders } from "./raw_headers";
import { copyRange, indexOfBytes, isJwsChar, percentDecode, rangeEquals } from "./text";

export class FoundToken {
  constructor(public location: TokenLocation, public token: Uint8Array) {}
}

const PATH = Uint8Array.wrap(String.UTF8.encode(":path"));
const COOKIE = Uint8Array.wrap(String.UTF8.encode("cookie"));

export function extractTokens(config: JwtFilterConfig, headers: RawHeaders): FoundToken[] {
  const found: FoundToken[] = [];
  const locations = config.locations;
  let path: Uint8Array | null = null;
  if (config.hasParamLocations) path = headers.value(PATH);
  for (let i = 0, n = locations.length; i < n; i++) {
    const l = unchecked(locations[i]);
    if (l.kind == LocationKind.Header) {
      fromHeader(l, headers, found);
    } else if (l.kind == LocationKind.Param) {
      if (path !== null) {
        const t = queryParam(path, l.nameBytes);
        if (t !== null) found.push(new FoundToken(l, t));
      }
    } else {
      const t = cookie(headers, l.nameBytes);
      if (t !== null) found.push(new FoundToken(l, t));
    }
  }
  return found;
}

function fromHeader(l: TokenLocation, headers: RawHeaders, found: FoundToken[]): void {
  const data = headers.data;
  for (let i = headers.find(l.nameBytes); i >= 0; i = headers.find(l.nameBytes, i + 1)) {
    const start = headers.valueStart(i), end = headers.valueEnd(i);
    if (l.prefixBytes.length == 0) {
      found.push(new FoundToken(l, copyRange(data, start, end)));
      continue;
    }
    const value = data.subarray(start, end);
    const at = indexOfBytes(value, l.prefixBytes);
    if (at < 0) continue; // this value is not for us (e.g. "Basic ...")
    let t = at + l.prefixBytes.length;
    while (t < value.length && !isJwsChar(<u32>unchecked(value[t]))) t++;
    // Like Envoy: nothing token-like after the prefix leaves the whole value as the "token".
    found.push(new FoundToken(l, t < value.length ? copyRange(data, start + t, end) : copyRange(data, start, end)));
  }
}

/** Position of '?' in a :path, or -1. */
function queryStart(path: Uint8Array): i32 {
  for (let i = 0; i < path.length; i++) if (unchecked(path[i]) == 0x3f) return i;
  return -1;
}

/** End of the query (a '#' fragment is not part of it). */
function queryEnd(path: Uint8Array): i32 {
  for (let i = 0; i < path.length; i++) if (unchecked(path[i]) == 0x23) return i;
  return path.length;
}

/** The percent-decoded value of the first `name` parameter, or null. */
export function queryParam(path: Uint8Array, name: Uint8Array): Uint8Array | null {
  const q = queryStart(path);
  if (q < 0) return null;
  const end = queryEnd(path);
  let seg = q + 1;
  while (seg < end) {
    let segEnd = seg;
    while (segEnd < end && unchecked(path[segEnd]) != 0x26) segEnd++;
    let eq = seg;
    while (eq < segEnd && unchecked(path[eq]) != 0x3d) eq++;
    if (eq > seg && keyMatches(path, seg, eq, name)) {
      return eq < segEnd ? percentDecode(path, eq + 1, segEnd) : new Uint8Array(0);
    }
    seg = segEnd + 1;
  }
  return null;
}

function keyMatches(path: Uint8Array, start: i32, end: i32, name: Uint8Array): bool {
  if (rangeEquals(path, start, end, name)) return true;
  // Only an escaped key can still match once decoded.
  for (let i = start; i < end; i++) {
    if (unchecked(path[i]) == 0x25) {
      const decoded = percentDecode(path, start, end);
      return decoded.length == name.length && memory.compare(decoded.dataStart, name.dataStart, <usize>name.length) == 0;
    }
  }
  return false;
}

/** :path with every `name` parameter removed (Envoy removes a forwarded query token the same way). */
export function pathWithoutParam(path: Uint8Array, name: Uint8Array): string {
  const q = queryStart(path);
  if (q < 0) return String.UTF8.decodeUnsafe(path.dataStart, <usize>path.length);
  const end = queryEnd(path);
  const kept: string[] = [];
  let seg = q + 1;
  while (seg < end) {
    let segEnd = seg;
    while (segEnd < end && unchecked(path[segEnd]) != 0x26) segEnd++;
    let eq = seg;
    while (eq < segEnd && unchecked(path[eq]) != 0x3d) eq++;
    if (segEnd > seg && !(eq > seg && keyMatches(path, seg, eq, name))) {
      kept.push(String.UTF8.decodeUnsafe(path.dataStart + <usize>seg, <usize>(segEnd - seg)));
    }
    seg = segEnd + 1;
  }
  let out = String.UTF8.decodeUnsafe(path.dataStart, <usize>q);
  if (kept.length > 0) out += "?" + kept.join("&");
  if (end < path.length) out += String.UTF8.decodeUnsafe(path.dataStart + <usize>end, <usize>(path.length - end));
  return out;
}

/** The first cookie called `name` across all cookie headers (quotes around the value removed), or null. */
function cookie(headers: RawHeaders, name: Uint8Array): Uint8Array | null {
  const data = headers.data;
  for (let i = headers.find(COOKIE); i >= 0; i = headers.find(COOKIE, i + 1)) {
    const end = headers.valueEnd(i);
    let part = headers.valueStart(i);
    while (part < end) {
      let partEnd = part;
      while (partEnd < end && unchecked(data[partEnd]) != 0x3b) partEnd++;
      let k = part;
      while (k < partEnd && unchecked(data[k]) == 0x20) k++;
      let eq = k;
      while (eq < partEnd && unchecked(data[eq]) != 0x3d) eq++;
      if (eq < partEnd && rangeEquals(data, k, eq, name)) {
        let vs = eq + 1, ve = partEnd;
        while (ve > vs && unchecked(data[ve - 1]) == 0x20) ve--;
        if (ve - vs >= 2 && unchecked(data[vs]) == 0x22 && unchecked(data[ve - 1]) == 0x22) {
          vs++;
          ve--;
        }
        return copyRange(data, vs, ve);
      }
      part = partEnd + 1;
    }
  }
  return null;
}
