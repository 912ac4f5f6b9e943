// RE2-compatible regular expressions for AssemblyScript (which has no RegExp): RE2 syntax,
// leftmost-first semantics, linear-time matching (Pike VM), offsets in UTF-16 code units.
// Used for Istio uri/header `regex` matches (FullMatch) and Envoy-style regex rewrites.
import { compileProgram } from "./compiler";
import { DFA_GAVE_UP, LazyDFA } from "./dfa";
import { Program } from "./program";
import { parse } from "./parser";
import { PikeVM } from "./pikevm";
import { appendRewrite, checkRewrite, maxSubmatch } from "./rewrite";
import { Utf16Builder, codePointAt, unitAt, unitWidth } from "./utf16";

export const DEFAULT_MAX_PROGRAM_SIZE: i32 = 1000;

export class RegexCompileResult {
  regex: Regex | null = null;
  /** "" when ok; otherwise names the pattern and the reason. */
  error: string = "";
}

/** The pattern as it appears in error messages: one line, control characters escaped, long ones cut. */
function quotePattern(pattern: string): string {
  const limit = 120;
  let out = "";
  const n = pattern.length < limit ? pattern.length : limit;
  for (let i = 0; i < n; i++) {
    const u = unitAt(pattern, i);
    if (u < 0x20 || u == 0x7f) {
      if (u == 0x0a) out += "\\n";
      else if (u == 0x09) out += "\\t";
      else if (u == 0x0d) out += "\\r";
      else out += "\\x" + (u < 16 ? "0" : "") + u.toString(16);
    } else out += String.fromCharCode(u);
  }
  if (pattern.length > limit) out += "...";
  return "`" + out + "`";
}

function compileError(pattern: string, reason: string): RegexCompileResult {
  const r = new RegexCompileResult();
  r.error = "invalid regex " + quotePattern(pattern) + ": " + reason;
  return r;
}

/** Compiles an RE2 pattern. Never traps: bad patterns come back with `error` set. */
export function compileRegex(pattern: string, maxProgramSize: i32 = DEFAULT_MAX_PROGRAM_SIZE): RegexCompileResult {
  const parsed = parse(pattern);
  if (parsed.error.length > 0) return compileError(pattern, parsed.error);
  const compiled = compileProgram(parsed.node!, parsed.groupCount, maxProgramSize);
  if (compiled.error.length > 0) return compileError(pattern, compiled.error);
  const r = new RegexCompileResult();
  r.regex = new Regex(pattern, parsed.groupCount, parsed.names, compiled.program!);
  return r;
}

export class Regex {
  /** Instructions in the compiled program (what maxProgramSize limits). */
  readonly programSize: i32;
  private vm: PikeVM;
  // Boolean questions go to lazily built DFAs; a DFA that outgrows its state budget is dropped
  // for good and the Pike VM answers instead.
  private fullDFA: LazyDFA | null = null;
  private partialDFA: LazyDFA | null = null;
  private fullDFAOff: bool = false;
  private partialDFAOff: bool = false;

  constructor(
    readonly pattern: string,
    /** Number of capturing groups. */
    readonly groupCount: i32,
    /** groupNames[i] names group i ("" when unnamed; index 0 is the whole match). */
    readonly groupNames: Array<string>,
    private program: Program,
  ) {
    this.programSize = program.size;
    this.vm = new PikeVM(program);
  }

  /** RE2::FullMatch: the whole of s matches. */
  fullMatch(s: string): bool {
    if (!this.fullDFAOff) {
      if (this.fullDFA == null) this.fullDFA = new LazyDFA(this.program, false);
      const r = this.fullDFA!.run(s);
      if (r != DFA_GAVE_UP) return r == 1;
      this.fullDFAOff = true;
      this.fullDFA = null;
    }
    return this.vm.search(s, 0, true, true, 0);
  }

  /** RE2::PartialMatch: some substring of s matches. */
  partialMatch(s: string): bool {
    if (!this.partialDFAOff) {
      if (this.partialDFA == null) this.partialDFA = new LazyDFA(this.program, true);
      const r = this.partialDFA!.run(s);
      if (r != DFA_GAVE_UP) return r == 1;
      this.partialDFAOff = true;
      this.partialDFA = null;
    }
    return this.vm.search(s, 0, false, false, 0);
  }

  /** DFA states built so far by fullMatch and partialMatch, -1 where the DFA gave up (for tests). */
  dfaStateCounts(): StaticArray<i32> {
    const full = this.fullDFA;
    const partial = this.partialDFA;
    return [
      this.fullDFAOff ? -1 : full == null ? 0 : full.stateCount,
      this.partialDFAOff ? -1 : partial == null ? 0 : partial.stateCount,
    ];
  }

  /** Pike VM only (no DFA): for tests that cross-check the two matchers. */
  fullMatchNFA(s: string): bool {
    return this.vm.search(s, 0, true, true, 0);
  }

  /** Pike VM only (no DFA): for tests that cross-check the two matchers. */
  partialMatchNFA(s: string): bool {
    return this.vm.search(s, 0, false, false, 0);
  }

  /**
   * Full-match submatches: [start0, end0, start1, end1, ...] in UTF-16 code-unit offsets of s,
   * -1 for groups that did not participate; null when s does not match.
   */
  captures(s: string): Int32Array | null {
    const slots = 2 * (this.groupCount + 1);
    if (!this.vm.search(s, 0, true, true, slots)) return null;
    const out = new Int32Array(slots);
    const caps = this.vm.matchCaps;
    for (let i = 0; i < slots; i++) out[i] = caps[i];
    return out;
  }

  /** Index of the first group with this name, or -1. */
  groupIndex(name: string): i32 {
    for (let i = 1; i < this.groupNames.length; i++) if (this.groupNames[i] == name) return i;
    return -1;
  }

  /** "" if `substitution` is a valid rewrite for this regex, else the reason (see replaceAll). */
  checkSubstitution(substitution: string): string {
    return checkRewrite(substitution, this.groupCount);
  }

  /**
   * RE2::GlobalReplace as Envoy's regex_rewrite uses it: replaces every non-overlapping
   * leftmost-first match; \0..\9 insert groups, \\ a backslash. An empty match right after the
   * previous match is skipped. Like RE2, a substitution naming a group the regex lacks leaves s
   * unchanged, and an invalid escape truncates that match's replacement (use checkSubstitution
   * to reject such substitutions at configuration time).
   */
  replaceAll(s: string, substitution: string): string {
    const maxRef = maxSubmatch(substitution);
    if (maxRef > this.groupCount) return s;
    const groups = maxRef < 0 ? 0 : maxRef;
    const slots = 2 * (groups + 1);
    const end = s.length;
    const out = new Utf16Builder(end + 16);
    const caps = this.vm.matchCaps;
    let p = 0;
    let lastEnd = -1;
    let count = 0;
    while (p <= end) {
      if (!this.vm.search(s, p, false, false, slots)) break;
      const ms = caps[0];
      const me = caps[1];
      out.appendSlice(s, p, ms);
      if (ms == lastEnd && ms == me) {
        // Empty match abutting the previous one: copy one code point and move on.
        if (p < end) {
          const w = unitWidth(codePointAt(s, p, end));
          out.appendSlice(s, p, p + w);
          p += w;
        } else p++;
        continue;
      }
      appendRewrite(out, substitution, s, caps, groups);
      p = me;
      lastEnd = me;
      count++;
    }
    if (count == 0) return s;
    if (p < end) out.appendSlice(s, p, end);
    return out.toString();
  }
}
