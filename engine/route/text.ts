// ASCII helpers for matching without allocating. Envoy's case-insensitive path and host
// comparisons are ASCII-only, so these fold A-Z and nothing else.

@inline export function asciiLowerUnit(c: i32): i32 {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/** `s` with A-Z folded to a-z; returns `s` itself when it has no upper-case letter. */
export function asciiLower(s: string): string {
  const n = s.length;
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) break;
    i++;
  }
  if (i == n) return s;
  const out = changetype<string>(__new(<usize>n << 1, idof<string>()));
  const src = changetype<usize>(s);
  const dst = changetype<usize>(out);
  for (let j = 0; j < n; j++) {
    store<u16>(dst + (<usize>j << 1), <u16>asciiLowerUnit(<i32>load<u16>(src + (<usize>j << 1))));
  }
  return out;
}

/** Does s[at, at + p.length) equal `p`? False when that range falls outside `s`. */
export function regionEquals(s: string, at: i32, p: string): bool {
  const n = p.length;
  if (at < 0 || at + n > s.length) return false;
  return memory.compare(changetype<usize>(s) + (<usize>at << 1), changetype<usize>(p), <usize>n << 1) == 0;
}

/** Case-insensitive region compare; `lowerP` must already be lower-case. */
export function regionEqualsIgnoreCase(s: string, at: i32, lowerP: string): bool {
  const n = lowerP.length;
  if (at < 0 || at + n > s.length) return false;
  const sp = changetype<usize>(s) + (<usize>at << 1);
  const pp = changetype<usize>(lowerP);
  for (let i = 0; i < n; i++) {
    const off = <usize>i << 1;
    if (asciiLowerUnit(<i32>load<u16>(sp + off)) != <i32>load<u16>(pp + off)) return false;
  }
  return true;
}

/** Index of the first `c` in s at or after `from`, else `s.length`. */
export function indexOrEnd(s: string, c: i32, from: i32): i32 {
  const n = s.length;
  for (let i = from; i < n; i++) if (s.charCodeAt(i) == c) return i;
  return n;
}

/** Decimal digits only (at least one)? */
export function isDigits(s: string): bool {
  const n = s.length;
  if (n == 0) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}
