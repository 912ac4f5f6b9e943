// Case-insensitive matching, RE2 style: a character matches every member of its Unicode
// simple-case-folding orbit (k, K and KELVIN SIGN; s, S and LONG S; ...).
import { FOLD_TABLE, FOLD_EVEN_ODD, FOLD_ODD_EVEN } from "./casefold_table";
import { normalizeRanges, rangesEqual } from "./charclass";

const ENTRIES: i32 = FOLD_TABLE.length / 3;
// Orbits have at most 4 members, so 4 rounds reach a fixed point; the bound is only a safety net.
const MAX_ROUNDS: i32 = 8;

/** Index of the first table entry whose hi >= c (ENTRIES if none). */
function firstEntryFrom(c: i32): i32 {
  let lo = 0;
  let hi = ENTRIES;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (unchecked(FOLD_TABLE[3 * mid + 1]) < c) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Adds to `out` the images of [a, b] (inside one table entry) under the orbit step. */
function addStepImage(out: Array<i32>, a: i32, b: i32, delta: i32): void {
  if (delta == FOLD_EVEN_ODD) {
    out.push(a & ~1);
    out.push(b | 1);
  } else if (delta == FOLD_ODD_EVEN) {
    out.push((a & 1) == 1 ? a : a - 1);
    out.push((b & 1) == 1 ? b + 1 : b);
  } else {
    out.push(a + delta);
    out.push(b + delta);
  }
}

/** Closure of a normalized range list under case folding (result normalized). */
export function foldRanges(ranges: Array<i32>): Array<i32> {
  let cur = ranges;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const next = cur.slice(0);
    for (let i = 0; i < cur.length; i += 2) {
      const lo = unchecked(cur[i]);
      const hi = unchecked(cur[i + 1]);
      for (let e = firstEntryFrom(lo); e < ENTRIES; e++) {
        const elo = unchecked(FOLD_TABLE[3 * e]);
        if (elo > hi) break;
        const ehi = unchecked(FOLD_TABLE[3 * e + 1]);
        addStepImage(next, lo > elo ? lo : elo, hi < ehi ? hi : ehi, unchecked(FOLD_TABLE[3 * e + 2]));
      }
    }
    const merged = normalizeRanges(next);
    if (rangesEqual(merged, cur)) return merged;
    cur = merged;
  }
  return cur;
}

/** True if c has other case-fold orbit members. */
export function hasFoldOrbit(c: i32): bool {
  const e = firstEntryFrom(c);
  return e < ENTRIES && unchecked(FOLD_TABLE[3 * e]) <= c;
}
