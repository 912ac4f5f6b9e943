// Lazily built DFA for the boolean questions (fullMatch / partialMatch), where no submatch
// positions are needed. A state is the set of program entry points reached so far plus what the
// previous character says about empty-width assertions; assertions are resolved when the next
// character is known, so ^ $ \A \z \b \B all work. States are built on demand and cached with
// ASCII transitions; past a state budget the caller falls back to the Pike VM, so memory stays
// bounded and matching stays linear either way.
import { isWordChar } from "./charclass";
import {
  EMPTY_BEGIN_LINE,
  EMPTY_BEGIN_TEXT,
  EMPTY_END_LINE,
  EMPTY_END_TEXT,
  EMPTY_NO_WORD_BOUNDARY,
  EMPTY_WORD_BOUNDARY,
  Inst,
  Program,
} from "./program";
import { END_OF_TEXT, codePointAt } from "./utf16";
import { classMatches } from "./pikevm";

const MAX_STATES: i32 = 256;
const ROW: i32 = 129; // 128 ASCII transitions + end of text
const UNKNOWN: i32 = -1;
/** Result of run() when the state budget ran out: use the Pike VM instead. */
export const DFA_GAVE_UP: i32 = -1;

// Context left by the previous character.
const CTX_BEGIN_TEXT: i32 = 1;
const CTX_AFTER_NEWLINE: i32 = 2;
const CTX_AFTER_WORD: i32 = 4;

export class LazyDFA {
  private prog: Program;
  private unanchored: bool;
  private entries: Array<StaticArray<i32>> = [];
  private contexts: Array<i32> = [];
  private ids: Map<string, i32> = new Map<string, i32>();
  /** Cached transitions, ROW per state: (next state << 1) | (matched before the character), or UNKNOWN. */
  private table: StaticArray<i32> = new StaticArray<i32>(0);
  /** The state with no threads left (anchored searches only), or -1. */
  private dead: i32 = -1;
  // Scratch for closures and steps.
  private seen: StaticArray<i32>;
  private seenMark: i32 = 0;
  private stack: StaticArray<i32>;
  private nextPcs: Array<i32> = [];
  private consuming: Array<i32> = [];
  private startState: i32;

  constructor(prog: Program, unanchored: bool) {
    this.prog = prog;
    this.unanchored = unanchored;
    this.seen = new StaticArray<i32>(prog.size);
    this.stack = new StaticArray<i32>(2 * prog.size + 2);
    const first = new Array<i32>();
    first.push(prog.start);
    this.startState = this.stateFor(first, CTX_BEGIN_TEXT | CTX_AFTER_NEWLINE);
  }

  /** States built so far. */
  get stateCount(): i32 {
    return this.entries.length;
  }

  /** 1 if s matches, 0 if not, DFA_GAVE_UP if the state budget ran out. */
  run(s: string): i32 {
    let state = this.startState;
    if (state < 0) return DFA_GAVE_UP;
    const end = s.length;
    const base = changetype<usize>(s);
    let table = this.table;
    let pos = 0;
    while (true) {
      let c: i32 = END_OF_TEXT;
      if (pos < end) {
        c = <i32>load<u16>(base + (<usize>pos << 1));
        if ((c & 0xfc00) == 0xd800) c = codePointAt(s, pos, end);
      }
      let v: i32;
      if (c < 128) {
        const slot = state * ROW + (c < 0 ? 128 : c);
        v = unchecked(table[slot]);
        if (v == UNKNOWN) {
          v = this.transition(state, c);
          if (v < 0) return DFA_GAVE_UP;
          table = this.table; // may have grown
          unchecked((table[slot] = v));
        }
      } else {
        v = this.transition(state, c);
        if (v < 0) return DFA_GAVE_UP;
        table = this.table;
      }
      if ((v & 1) != 0 && (this.unanchored || c < 0)) return 1;
      if (c < 0) return 0;
      state = v >> 1;
      if (state == this.dead) return 0;
      pos += c > 0xffff ? 2 : 1;
    }
  }

  private stateFor(pcs: Array<i32>, ctx: i32): i32 {
    // Canonical key: sorted pcs (each as two UTF-16 units) plus the context.
    sortSmall(pcs);
    const n = pcs.length;
    const units = new StaticArray<u16>(2 * n + 1);
    for (let i = 0; i < n; i++) {
      units[2 * i] = <u16>(pcs[i] & 0xffff);
      units[2 * i + 1] = <u16>(pcs[i] >>> 16);
    }
    units[2 * n] = <u16>ctx;
    const key = String.UTF16.decodeUnsafe(changetype<usize>(units), <usize>(2 * n + 1) << 1);
    if (this.ids.has(key)) return this.ids.get(key);
    const id = this.entries.length;
    if (id >= MAX_STATES) return -1;
    const entry = new StaticArray<i32>(n);
    for (let i = 0; i < n; i++) entry[i] = pcs[i];
    this.entries.push(entry);
    this.contexts.push(ctx);
    this.ids.set(key, id);
    if (n == 0 && !this.unanchored) this.dead = id;
    this.growTable((id + 1) * ROW);
    return id;
  }

  private growTable(size: i32): void {
    const old = this.table;
    if (size <= old.length) return;
    let cap = old.length * 2;
    if (cap < size) cap = size;
    const next = new StaticArray<i32>(cap);
    memory.copy(changetype<usize>(next), changetype<usize>(old), <usize>old.length << 2);
    for (let i = old.length; i < cap; i++) unchecked((next[i] = UNKNOWN));
    this.table = next;
  }

  /** Follows empty transitions from the state's entries given the next character c. */
  private transition(state: i32, c: i32): i32 {
    const prog = this.prog;
    const ctx = unchecked(this.contexts[state]);
    let flags = 0;
    if ((ctx & CTX_BEGIN_TEXT) != 0) flags |= EMPTY_BEGIN_TEXT;
    if ((ctx & CTX_AFTER_NEWLINE) != 0) flags |= EMPTY_BEGIN_LINE;
    if (c < 0) flags |= EMPTY_END_TEXT | EMPTY_END_LINE;
    else if (c == 0x0a) flags |= EMPTY_END_LINE;
    const wordBefore = (ctx & CTX_AFTER_WORD) != 0;
    const wordAfter = c >= 0 && isWordChar(c);
    flags |= wordBefore != wordAfter ? EMPTY_WORD_BOUNDARY : EMPTY_NO_WORD_BOUNDARY;

    // New visit mark instead of clearing `seen`.
    this.seenMark++;
    const mark = this.seenMark;
    const seen = this.seen;
    const stack = this.stack;
    let sp = 0;
    const entry = this.entries[state];
    for (let i = entry.length - 1; i >= 0; i--) unchecked((stack[sp++] = entry[i]));
    if (this.unanchored) unchecked((stack[sp++] = prog.start));
    let matched = false;
    const consuming = this.consuming;
    consuming.length = 0;
    while (sp > 0) {
      const pc = unchecked(stack[--sp]);
      if (unchecked(seen[pc]) == mark) continue;
      unchecked((seen[pc] = mark));
      const op = unchecked(prog.ops[pc]);
      if (op == Inst.Split) {
        unchecked((stack[sp++] = prog.args[pc]));
        unchecked((stack[sp++] = prog.outs[pc]));
      } else if (op == Inst.Save) {
        unchecked((stack[sp++] = prog.outs[pc]));
      } else if (op == Inst.Empty) {
        if ((unchecked(prog.args[pc]) & ~flags) == 0) unchecked((stack[sp++] = prog.outs[pc]));
      } else if (op == Inst.Match) {
        matched = true;
      } else if (op != Inst.Fail) {
        consuming.push(pc);
      }
    }
    if (c < 0) return (this.startState << 1) | (matched ? 1 : 0); // no successor at the end

    const next = this.nextPcs;
    next.length = 0;
    this.seenMark++;
    const mark2 = this.seenMark;
    for (let i = 0; i < consuming.length; i++) {
      const pc = unchecked(consuming[i]);
      const op = unchecked(prog.ops[pc]);
      let ok = false;
      if (op == Inst.Rune) ok = c == unchecked(prog.args[pc]);
      else if (op == Inst.Class) ok = classMatches(prog, unchecked(prog.args[pc]), c);
      else if (op == Inst.AnyNotNL) ok = c != 0x0a;
      else if (op == Inst.Any) ok = true;
      if (ok) {
        const out = unchecked(prog.outs[pc]);
        if (unchecked(seen[out]) != mark2) {
          unchecked((seen[out] = mark2));
          next.push(out);
        }
      }
    }
    const nctx = (c == 0x0a ? CTX_AFTER_NEWLINE : 0) | (wordAfter ? CTX_AFTER_WORD : 0);
    const id = this.stateFor(next, nctx);
    if (id < 0) return -1;
    return (id << 1) | (matched ? 1 : 0);
  }
}

function sortSmall(a: Array<i32>): void {
  for (let i = 1; i < a.length; i++) {
    const v = unchecked(a[i]);
    let j = i - 1;
    while (j >= 0 && unchecked(a[j]) > v) {
      unchecked((a[j + 1] = a[j]));
      j--;
    }
    unchecked((a[j + 1] = v));
  }
}
