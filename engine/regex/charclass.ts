// Character classes as sorted code-point range lists: [lo0, hi0, lo1, hi1, ...].
// "Normalized" means sorted by lo, non-overlapping and non-adjacent.

export const MAX_RUNE: i32 = 0x10ffff;

function packRange(lo: i32, hi: i32): i64 {
  return (<i64>lo << 32) | <i64>(<u32>hi);
}

/** Sort and merge an arbitrary list of ranges. */
export function normalizeRanges(r: Array<i32>): Array<i32> {
  const n = r.length >> 1;
  const packed = new Array<i64>(n);
  for (let i = 0; i < n; i++) unchecked((packed[i] = packRange(r[2 * i], r[2 * i + 1])));
  packed.sort((a: i64, b: i64): i32 => (a < b ? -1 : a > b ? 1 : 0));
  const out = new Array<i32>();
  for (let i = 0; i < n; i++) {
    const p = unchecked(packed[i]);
    const lo = <i32>(p >> 32);
    const hi = <i32>(p & 0xffffffff);
    const m = out.length;
    if (m > 0 && lo <= unchecked(out[m - 1]) + 1) {
      if (hi > unchecked(out[m - 1])) unchecked((out[m - 1] = hi));
    } else {
      out.push(lo);
      out.push(hi);
    }
  }
  return out;
}

/** Complement of a normalized range list within [0, MAX_RUNE]. */
export function negateRanges(r: Array<i32>): Array<i32> {
  const out = new Array<i32>();
  let next = 0;
  for (let i = 0; i < r.length; i += 2) {
    const lo = unchecked(r[i]);
    const hi = unchecked(r[i + 1]);
    if (lo > next) {
      out.push(next);
      out.push(lo - 1);
    }
    next = hi + 1;
  }
  if (next <= MAX_RUNE) {
    out.push(next);
    out.push(MAX_RUNE);
  }
  return out;
}

export function appendRanges(dst: Array<i32>, src: Array<i32>): void {
  for (let i = 0; i < src.length; i++) dst.push(unchecked(src[i]));
}

export function rangesEqual(a: Array<i32>, b: Array<i32>): bool {
  if (a.length != b.length) return false;
  for (let i = 0; i < a.length; i++) if (unchecked(a[i]) != unchecked(b[i])) return false;
  return true;
}

/** Membership test on a normalized range list stored flat at data[from, from + 2*count). */
@inline
export function rangesContain(data: StaticArray<i32>, from: i32, count: i32, c: i32): bool {
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const i = from + 2 * mid;
    if (c < unchecked(data[i])) hi = mid;
    else if (c > unchecked(data[i + 1])) lo = mid + 1;
    else return true;
  }
  return false;
}

function ranges2(a: i32, b: i32): Array<i32> {
  const r = new Array<i32>();
  r.push(a);
  r.push(b);
  return r;
}

function fromList(list: StaticArray<i32>): Array<i32> {
  const r = new Array<i32>(list.length);
  for (let i = 0; i < list.length; i++) unchecked((r[i] = list[i]));
  return r;
}

// Perl classes (ASCII, as in RE2): \d \s \w.
const DIGIT: StaticArray<i32> = [0x30, 0x39];
const SPACE: StaticArray<i32> = [0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20];
const WORD: StaticArray<i32> = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];

/** Ranges of the Perl class letter (d, s, w; case gives negation to the caller), or null. */
export function perlClass(letter: i32): Array<i32> | null {
  if (letter == 0x64 /* d */) return fromList(DIGIT);
  if (letter == 0x73 /* s */) return fromList(SPACE);
  if (letter == 0x77 /* w */) return fromList(WORD);
  return null;
}

/** Ranges of the POSIX class [:name:] (ASCII, as in RE2), or null if unknown. */
export function posixClass(name: string): Array<i32> | null {
  if (name == "alnum") return normalizeRanges([0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a]);
  if (name == "alpha") return normalizeRanges([0x41, 0x5a, 0x61, 0x7a]);
  if (name == "ascii") return ranges2(0x00, 0x7f);
  if (name == "blank") return normalizeRanges([0x09, 0x09, 0x20, 0x20]);
  if (name == "cntrl") return normalizeRanges([0x00, 0x1f, 0x7f, 0x7f]);
  if (name == "digit") return ranges2(0x30, 0x39);
  if (name == "graph") return ranges2(0x21, 0x7e);
  if (name == "lower") return ranges2(0x61, 0x7a);
  if (name == "print") return ranges2(0x20, 0x7e);
  if (name == "punct") return normalizeRanges([0x21, 0x2f, 0x3a, 0x40, 0x5b, 0x60, 0x7b, 0x7e]);
  if (name == "space") return normalizeRanges([0x09, 0x0d, 0x20, 0x20]);
  if (name == "upper") return ranges2(0x41, 0x5a);
  if (name == "word") return fromList(WORD);
  if (name == "xdigit") return normalizeRanges([0x30, 0x39, 0x41, 0x46, 0x61, 0x66]);
  return null;
}

@inline
export function isWordChar(c: i32): bool {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f;
}
