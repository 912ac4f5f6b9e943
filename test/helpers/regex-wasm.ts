// Drives the engine/regex test entry (test/fixtures/as/regex.ts) from JS with plain strings.
import { loadAS } from "./as.js";

export interface RegexHandle {
  pattern: string;
  groupCount: number;
  programSize: number;
  fullMatch(s: string): boolean;
  partialMatch(s: string): boolean;
  captures(s: string): number[] | null;
  replaceAll(s: string, substitution: string): string;
  checkSubstitution(substitution: string): string;
  groupIndex(name: string): number;
  /** The Pike VM's answers, bypassing the lazy DFA that fullMatch/partialMatch use. */
  fullMatchNFA(s: string): boolean;
  partialMatchNFA(s: string): boolean;
  /** DFA states built by [fullMatch, partialMatch]; -1 where the DFA hit its budget and gave up. */
  dfaStates(): [number, number];
  /** Runs fullMatch (or the Pike VM alone) n times inside wasm; returns the number of matches. */
  repeatFullMatch(s: string, n: number, nfaOnly: boolean): number;
  repeatCaptures(s: string, n: number): number;
}

export interface RegexEngine {
  compile(pattern: string, maxProgramSize?: number): RegexHandle | { error: string };
  /** Drops all compiled regexes (they live in a wasm-side array). */
  releaseAll(): void;
}

export async function loadRegexEngine(): Promise<RegexEngine> {
  const as = await loadAS("test/fixtures/as/regex.ts");
  const ex = as.exports;
  ex._initialize?.();
  // Strings can be long (linear-time tests), so read them in chunks rather than one spread call.
  const read = (ptr: number): string => {
    const len = new Uint32Array(as.memory.buffer, ptr - 4, 1)[0] >>> 1;
    const u16 = new Uint16Array(as.memory.buffer, ptr, len);
    let s = "";
    for (let i = 0; i < len; i += 8192) s += String.fromCharCode(...u16.subarray(i, i + 8192));
    return s;
  };
  // Strings handed to wasm are pinned for the duration of the call so a collection cannot free them.
  const call = <T>(strings: string[], f: (...ptrs: number[]) => T): T => {
    const ptrs = strings.map((s) => ex.__pin(as.newString(s)) as number);
    try {
      return f(...ptrs);
    } finally {
      ptrs.forEach((p) => ex.__unpin(p));
    }
  };
  return {
    compile(pattern, maxProgramSize = 1000) {
      const h: number = call([pattern], (p) => ex.compile(p, maxProgramSize));
      if (h < 0) return { error: read(ex.compileError()) };
      return {
        pattern,
        groupCount: ex.groupCount(h),
        programSize: ex.programSize(h),
        fullMatch: (s) => call([s], (p) => ex.fullMatch(h, p) !== 0),
        partialMatch: (s) => call([s], (p) => ex.partialMatch(h, p) !== 0),
        captures: (s) => {
          const r = read(call([s], (p) => ex.captures(h, p)));
          return r === "" ? null : r.split(",").map(Number);
        },
        replaceAll: (s, sub) => read(call([s, sub], (p, q) => ex.replaceAll(h, p, q))),
        checkSubstitution: (sub) => read(call([sub], (p) => ex.checkSubstitution(h, p))),
        groupIndex: (name) => call([name], (p) => ex.groupIndex(h, p)),
        fullMatchNFA: (s) => call([s], (p) => ex.fullMatchNFA(h, p) !== 0),
        partialMatchNFA: (s) => call([s], (p) => ex.partialMatchNFA(h, p) !== 0),
        repeatFullMatch: (s, n, nfaOnly) => call([s], (p) => ex.repeatFullMatch(h, p, n, nfaOnly ? 1 : 0)),
        repeatCaptures: (s, n) => call([s], (p) => ex.repeatCaptures(h, p, n)),
        dfaStates: () => read(ex.dfaStates(h)).split(",").map(Number) as [number, number],
      };
    },
    releaseAll() {
      ex.release();
    },
  };
}
