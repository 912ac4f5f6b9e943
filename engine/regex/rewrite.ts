// RE2 rewrite strings (Envoy regex_rewrite substitution): \0..\9 insert a group, \\ a backslash.
import { Utf16Builder, unitAt } from "./utf16";

/** Highest group referenced by \N in the rewrite, or -1 when there is none (RE2::MaxSubmatch). */
export function maxSubmatch(rewrite: string): i32 {
  let max = -1;
  const n = rewrite.length;
  for (let i = 0; i < n; i++) {
    if (unitAt(rewrite, i) != 0x5c) continue;
    i++;
    if (i < n) {
      const c = unitAt(rewrite, i);
      if (c >= 0x30 && c <= 0x39 && c - 0x30 > max) max = c - 0x30;
    }
  }
  return max;
}

/** "" if the rewrite is valid for a pattern with groupCount groups, else the reason (RE2::CheckRewriteString). */
export function checkRewrite(rewrite: string, groupCount: i32): string {
  const n = rewrite.length;
  let max = -1;
  for (let i = 0; i < n; i++) {
    if (unitAt(rewrite, i) != 0x5c) continue;
    i++;
    if (i >= n) return "substitution ends with a lone backslash";
    const c = unitAt(rewrite, i);
    if (c == 0x5c) continue;
    if (c < 0x30 || c > 0x39) return "backslash in substitution must be followed by a digit or a backslash";
    if (c - 0x30 > max) max = c - 0x30;
  }
  if (max > groupCount) {
    return (
      "substitution references group \\" + max.toString() + " but the regex has only " + groupCount.toString() + " groups"
    );
  }
  return "";
}

/**
 * Appends the rewrite for one match (caps holds group offsets into s). Like RE2::Rewrite it stops
 * at the first invalid escape, keeping what was written so far.
 */
export function appendRewrite(out: Utf16Builder, rewrite: string, s: string, caps: StaticArray<i32>, groups: i32): void {
  const n = rewrite.length;
  for (let i = 0; i < n; i++) {
    const u = unitAt(rewrite, i);
    if (u != 0x5c) {
      out.appendUnit(u);
      continue;
    }
    i++;
    const c = i < n ? unitAt(rewrite, i) : -1;
    if (c >= 0x30 && c <= 0x39) {
      const g = c - 0x30;
      if (g > groups) return;
      const a = unchecked(caps[2 * g]);
      const b = unchecked(caps[2 * g + 1]);
      if (a >= 0 && b >= a) out.appendSlice(s, a, b);
    } else if (c == 0x5c) {
      out.appendUnit(0x5c);
    } else {
      return;
    }
  }
}
