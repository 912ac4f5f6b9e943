// Istio's value forms compiled to the Envoy matcher Istio generates for them:
//   "abc"  exact      "abc*" prefix      "*abc" suffix
//   "*"    NonEmpty (StringMatcher ".+") or Present (HeaderMatcher present_match), per field.
// Hosts compare ASCII case-insensitively; the pattern is lower-cased once here and the request
// side once per request.

import { ptrField, rawLength } from "./layout";

export enum MatchKind {
  Exact = 0,
  Prefix = 1,
  Suffix = 2,
  /** Present and non-empty (Envoy safe_regex ".+"). */
  NonEmpty = 3,
  /** Present, possibly empty (Envoy present_match). */
  Present = 4,
  /** Full match of a pattern where '*' is any run of characters (namespaces: ".*\/ns/<v>/.*"). */
  Glob = 5,
  /** "spiffe://" + anything + suffix (Istio's principal suffix form "spiffe://.*<suffix>"). */
  PrefixAndSuffix = 6,
}

export class StringMatcher {
  constructor(
    public kind: MatchKind,
    public value: string,
    public ignoreCase: bool = false,
    /** Second literal for PrefixAndSuffix. */
    public suffix: string = "",
  ) {}

  /** `s` null means the attribute is absent. */
  matches(s: string | null): bool {
    return s !== null && stringMatchRaw(changetype<usize>(this), changetype<usize>(s), s.length);
  }
}

/** StringMatcher `m` against raw UTF-16 (s = 0: attribute absent); no calls, no managed locals. */
export function stringMatchRaw(m: usize, s: usize, sn: i32): bool {
  if (!s) return false;
  const v = ptrField(m, offsetof<StringMatcher>("value"));
  const vn = rawLength(v);
  switch (load<i32>(m + offsetof<StringMatcher>("kind"))) {
    case MatchKind.Exact:
      return sn == vn && sameChars(s, v, vn);
    case MatchKind.Prefix:
      return sn >= vn && sameChars(s, v, vn);
    case MatchKind.Suffix:
      return sn >= vn && sameChars(s + (<usize>(sn - vn) << 1), v, vn);
    case MatchKind.NonEmpty:
      return sn > 0;
    case MatchKind.Present:
      return true;
    case MatchKind.Glob:
      return globMatchRaw(v, vn, s, sn);
    default: {
      const x = ptrField(m, offsetof<StringMatcher>("suffix"));
      const xn = rawLength(x);
      return sn >= vn + xn && sameChars(s, v, vn) && sameChars(s + (<usize>(sn - xn) << 1), x, xn);
    }
  }
}

/** n UTF-16 code units at a and b are equal. */
@inline export function sameChars(a: usize, b: usize, n: i32): bool {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    if (load<u64>(a + (<usize>i << 1)) != load<u64>(b + (<usize>i << 1))) return false;
  }
  for (; i < n; i++) {
    if (load<u16>(a + (<usize>i << 1)) != load<u16>(b + (<usize>i << 1))) return false;
  }
  return true;
}

/**
 * Istio's StringMatcher for v: "*" -> NonEmpty, "*x" -> suffix, "x*" -> prefix, else exact.
 * `presentForStar` gives the HeaderMatcher flavour where "*" only requires presence.
 */
export function compileValue(v: string, presentForStar: bool = false, ignoreCase: bool = false): StringMatcher {
  const value = ignoreCase ? asciiLower(v) : v;
  if (value == "*") return new StringMatcher(presentForStar ? MatchKind.Present : MatchKind.NonEmpty, "", ignoreCase);
  if (value.startsWith("*")) return new StringMatcher(MatchKind.Suffix, value.substring(1), ignoreCase);
  if (value.endsWith("*")) return new StringMatcher(MatchKind.Prefix, value.substring(0, value.length - 1), ignoreCase);
  return new StringMatcher(MatchKind.Exact, value, ignoreCase);
}

/** Full-string glob: '*' matches any run (including '/'); everything else is literal. */
export function globMatch(pattern: string, s: string): bool {
  return globMatchRaw(changetype<usize>(pattern), pattern.length, changetype<usize>(s), s.length);
}

/** globMatch over raw UTF-16 buffers (no managed arguments, so no shadow-stack frame). */
export function globMatchRaw(pb: usize, pn: i32, sb: usize, sn: i32): bool {
  let p = 0;
  let i = 0;
  let starP = -1;
  let starI = 0;
  while (i < sn) {
    if (p < pn) {
      const pc = load<u16>(pb + (<usize>p << 1));
      if (pc == 0x2a) {
        starP = p++;
        starI = i;
        continue;
      }
      if (pc == load<u16>(sb + (<usize>i << 1))) {
        p++;
        i++;
        continue;
      }
    }
    if (starP < 0) return false;
    p = starP + 1;
    i = ++starI;
  }
  while (p < pn && load<u16>(pb + (<usize>p << 1)) == 0x2a) p++;
  return p == pn;
}

/** ASCII-only lower-casing (Envoy's ignore_case); returns `s` itself when nothing changes. */
export function asciiLower(s: string): string {
  const n = s.length;
  let i = 0;
  const src = changetype<usize>(s);
  while (i < n) {
    const c = load<u16>(src + (<usize>i << 1));
    if (c >= 0x41 && c <= 0x5a) break;
    i++;
  }
  if (i == n) return s;
  const out = changetype<string>(__new(<usize>n << 1, idof<string>()));
  const dst = changetype<usize>(out);
  memory.copy(dst, src, <usize>i << 1);
  for (; i < n; i++) {
    const c = load<u16>(src + (<usize>i << 1));
    store<u16>(dst + (<usize>i << 1), c >= 0x41 && c <= 0x5a ? c + 32 : c);
  }
  return out;
}
