// Path normalization as Istio configures Envoy's HTTP connection manager (meshConfig
// pathNormalization), applied before paths/notPaths are compared:
//   NONE                      nothing (query and fragment are still cut off for matching)
//   BASE                      normalize_path: decode %XX of unreserved characters (A-Z a-z 0-9 - . _ ~),
//                             '\' -> '/', RFC 3986 dot-segment removal; other escapes kept verbatim
//   MERGE_SLASHES             BASE, then runs of '/' merged
//   DECODE_AND_MERGE_SLASHES  %2F/%5C decoded first (UNESCAPE_AND_FORWARD), then MERGE_SLASHES
// Decoding is a single pass (no double decoding: "%252e" stays). "%00" fails the request (Envoy
// answers 400) in every mode but NONE. Expected outputs come from Istio's normalization
// integration test table.

export enum PathNormalization {
  None = 0,
  Base = 1,
  MergeSlashes = 2,
  DecodeAndMergeSlashes = 3,
}

export function pathNormalizationName(m: PathNormalization): string {
  switch (m) {
    case PathNormalization.None: return "NONE";
    case PathNormalization.Base: return "BASE";
    case PathNormalization.MergeSlashes: return "MERGE_SLASHES";
    default: return "DECODE_AND_MERGE_SLASHES";
  }
}

/** -1 when the name is not one of the four options. */
export function parsePathNormalization(name: string): i32 {
  if (name == "NONE") return PathNormalization.None;
  if (name == "BASE") return PathNormalization.Base;
  if (name == "MERGE_SLASHES") return PathNormalization.MergeSlashes;
  if (name == "DECODE_AND_MERGE_SLASHES") return PathNormalization.DecodeAndMergeSlashes;
  return -1;
}

const SLASH: u16 = 0x2f;
const BACKSLASH: u16 = 0x5c;
const DOT: u16 = 0x2e;
const PERCENT: u16 = 0x25;
const QUESTION: u16 = 0x3f;
const HASH: u16 = 0x23;

/** Result of normalizing a :path. */
export class NormalizedPath {
  /** False when the path must be rejected (contains %00). */
  ok: bool = true;
  /** Normalized path without query or fragment: what paths/notPaths match against. */
  path: string = "";
  /** "?query" as received ("" when none); the fragment is dropped. */
  query: string = "";
  /** True when path + query differs from the raw :path, i.e. the filter should rewrite :path. */
  changed: bool = false;
}

function hexValue(c: u16): i32 {
  if (c >= 0x30 && c <= 0x39) return <i32>c - 0x30;
  if (c >= 0x61 && c <= 0x66) return <i32>c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return <i32>c - 0x41 + 10;
  return -1;
}

function isUnreserved(b: i32): bool {
  return (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) ||
    b == 0x2d || b == 0x2e || b == 0x5f || b == 0x7e;
}

@inline function at(base: usize, i: i32): u16 {
  return load<u16>(base + (<usize>i << 1));
}

@inline function put(base: usize, i: i32, c: u16): void {
  store<u16>(base + (<usize>i << 1), c);
}

/** Whether path[0, end) has anything normalization could change: an escape, a backslash, a dot
 *  segment, or (when merging) "//". Most paths have none, and then nothing is allocated. */
function needsWork(src: usize, end: i32, mergeSlashes: bool): bool {
  for (let i = 0; i < end; i++) {
    const c = at(src, i);
    if (c == PERCENT || c == BACKSLASH) return true;
    if (c != SLASH || i + 1 >= end) continue;
    const next = at(src, i + 1);
    if (next == SLASH && mergeSlashes) return true;
    if (next != DOT) continue;
    if (i + 2 >= end) return true; // "/."
    const after = at(src, i + 2);
    if (after == SLASH) return true; // "/./"
    if (after == DOT && (i + 3 >= end || at(src, i + 3) == SLASH)) return true; // "/.." or "/../"
  }
  return false;
}

/** Normalizes `raw` (:path with optional query) into `out`; returns out.ok. */
export function normalizePath(raw: string, mode: PathNormalization, out: NormalizedPath): bool {
  const n = raw.length;
  const src = changetype<usize>(raw);
  let end = 0;
  while (end < n) {
    const c = at(src, end);
    if (c == QUESTION || c == HASH) break;
    end++;
  }
  let query = "";
  if (end < n && at(src, end) == QUESTION) {
    const hash = raw.indexOf("#", end);
    query = raw.substring(end, hash < 0 ? n : hash);
  }
  out.ok = true;
  out.query = query;
  if (mode == PathNormalization.None || end == 0 || at(src, 0) != SLASH) {
    out.path = end == n ? raw : raw.substring(0, end);
    out.changed = false;
    return true;
  }
  if (!needsWork(src, end, mode != PathNormalization.Base)) {
    out.path = end == n ? raw : raw.substring(0, end);
    out.changed = end + query.length != n;
    return true;
  }
  const decodeSlashes = mode == PathNormalization.DecodeAndMergeSlashes;
  // Pass 1: percent-decoding and backslashes into a scratch buffer (output never grows).
  const buf = new StaticArray<u16>(end);
  const b = changetype<usize>(buf);
  let len = 0;
  for (let i = 0; i < end; i++) {
    let c = at(src, i);
    if (c == PERCENT && i + 2 < end) {
      const h1 = hexValue(at(src, i + 1));
      const h2 = hexValue(at(src, i + 2));
      if (h1 >= 0 && h2 >= 0) {
        const byte = (h1 << 4) | h2;
        if (byte == 0) {
          out.ok = false;
          out.path = raw.substring(0, end);
          out.changed = false;
          return false;
        }
        if (isUnreserved(byte) || (decodeSlashes && (byte == 0x2f || byte == 0x5c))) {
          c = <u16>byte;
          i += 2;
        }
      }
    }
    if (c == BACKSLASH) c = SLASH;
    put(b, len++, c);
  }
  // Pass 2: dot segments, in place (the write index never passes the read index).
  let w = 0;
  let i = 0;
  while (i < len) {
    // buf[i] is '/'; the segment runs to the next '/' or the end.
    let j = i + 1;
    while (j < len && at(b, j) != SLASH) j++;
    const segLen = j - i - 1;
    const single = segLen == 1 && at(b, i + 1) == DOT;
    const double = segLen == 2 && at(b, i + 1) == DOT && at(b, i + 2) == DOT;
    if (single || double) {
      if (double) {
        while (w > 0 && at(b, w - 1) != SLASH) w--;
        if (w > 0) w--; // drop the '/' that introduced the removed segment
      }
      if (j == len) put(b, w++, SLASH);
    } else {
      for (let k = i; k < j; k++) put(b, w++, at(b, k));
    }
    i = j;
  }
  if (w == 0) put(b, w++, SLASH);
  len = w;
  // Pass 3: merge slashes.
  if (mode != PathNormalization.Base) {
    w = 0;
    for (let k = 0; k < len; k++) {
      const c = at(b, k);
      if (c == SLASH && w > 0 && at(b, w - 1) == SLASH) continue;
      put(b, w++, c);
    }
    len = w;
  }
  let same = len == end;
  for (let k = 0; same && k < len; k++) same = at(b, k) == at(src, k);
  out.path = same ? (end == n ? raw : raw.substring(0, end)) : String.UTF16.decodeUnsafe(b, <usize>len << 1);
  // A dropped fragment also counts as a change.
  out.changed = !same || end + query.length != n;
  return true;
}
