// Pike VM: Thompson NFA simulation with one thread per program counter, kept in priority order,
// which yields RE2's leftmost-first (Perl) matches and submatches in O(len(input) * len(program)).
// No recursion and no backtracking: epsilon closures use an explicit stack.
import { isWordChar, rangesContain } from "./charclass";
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
import { END_OF_TEXT, codePointAt, codePointBefore, unitWidth } from "./utf16";

/** Sparse set of pcs in insertion (= priority) order, with a capture vector per entry. */
class ThreadQueue {
  sparse: StaticArray<i32>;
  dense: StaticArray<i32>;
  caps: StaticArray<i32>;
  size: i32 = 0;

  constructor(n: i32) {
    this.sparse = new StaticArray<i32>(n);
    this.dense = new StaticArray<i32>(n);
    this.caps = new StaticArray<i32>(0);
  }

  /** Capture storage is only allocated once a search actually asks for submatches. */
  ensureCaps(size: i32): void {
    if (this.caps.length < size) this.caps = new StaticArray<i32>(size);
  }

  @inline has(pc: i32): bool {
    const i = unchecked(this.sparse[pc]);
    return i < this.size && unchecked(this.dense[i]) == pc;
  }

  @inline insert(pc: i32): i32 {
    const i = this.size++;
    unchecked((this.sparse[pc] = i));
    unchecked((this.dense[i] = pc));
    return i;
  }
}

/** Whether class k of prog contains code point c (c >= 0). */
@inline
export function classMatches(prog: Program, k: i32, c: i32): bool {
  if (c < 128) return (unchecked(prog.classAscii[2 * k + (c >> 6)]) & ((<u64>1) << <u64>(c & 63))) != 0;
  return rangesContain(prog.classData, unchecked(prog.classFrom[k]), unchecked(prog.classCount[k]), c);
}

/** Empty-width conditions that hold between code points `before` and `after` (END_OF_TEXT at the ends). */
@inline
function emptyFlagsAt(before: i32, after: i32): i32 {
  let f = 0;
  if (before == END_OF_TEXT) f |= EMPTY_BEGIN_TEXT | EMPTY_BEGIN_LINE;
  else if (before == 0x0a) f |= EMPTY_BEGIN_LINE;
  if (after == END_OF_TEXT) f |= EMPTY_END_TEXT | EMPTY_END_LINE;
  else if (after == 0x0a) f |= EMPTY_END_LINE;
  const wb = before >= 0 && isWordChar(before);
  const wa = after >= 0 && isWordChar(after);
  f |= wb != wa ? EMPTY_WORD_BOUNDARY : EMPTY_NO_WORD_BOUNDARY;
  return f;
}

export class PikeVM {
  private prog: Program;
  private n: i32;
  private maxSlots: i32;
  private q0: ThreadQueue;
  private q1: ThreadQueue;
  // Closure stack: (pc, slot, value) triples; pc < 0 marks "restore caps[slot] = value".
  private stackPc: StaticArray<i32>;
  private stackSlot: StaticArray<i32>;
  private stackVal: StaticArray<i32>;
  private scratch: StaticArray<i32>;
  /** Capture slots of the last successful search (first `slots` entries are valid). */
  matchCaps: StaticArray<i32>;
  private matched: bool = false;

  constructor(prog: Program) {
    const n = prog.size;
    this.prog = prog;
    this.n = n;
    this.maxSlots = prog.slots;
    this.q0 = new ThreadQueue(n);
    this.q1 = new ThreadQueue(n);
    const depth = 2 * n + 2;
    this.stackPc = new StaticArray<i32>(depth);
    this.stackSlot = new StaticArray<i32>(depth);
    this.stackVal = new StaticArray<i32>(depth);
    this.scratch = new StaticArray<i32>(prog.slots);
    this.matchCaps = new StaticArray<i32>(prog.slots);
  }


  /** Follows empty transitions from pc at `pos`, queueing threads that consume input or match. */
  private addThread(q: ThreadQueue, pc0: i32, pos: i32, flags: i32, caps: StaticArray<i32>, slots: i32): void {
    const prog = this.prog;
    const stackPc = this.stackPc;
    let sp = 0;
    unchecked((stackPc[sp++] = pc0));
    while (sp > 0) {
      sp--;
      const pc = unchecked(stackPc[sp]);
      if (pc < 0) {
        unchecked((caps[unchecked(this.stackSlot[sp])] = unchecked(this.stackVal[sp])));
        continue;
      }
      if (q.has(pc)) continue;
      const j = q.insert(pc);
      const op = unchecked(prog.ops[pc]);
      if (op == Inst.Split) {
        unchecked((stackPc[sp++] = prog.args[pc]));
        unchecked((stackPc[sp++] = prog.outs[pc]));
      } else if (op == Inst.Empty) {
        const need = unchecked(prog.args[pc]);
        if ((need & ~flags) == 0) unchecked((stackPc[sp++] = prog.outs[pc]));
      } else if (op == Inst.Save) {
        const slot = unchecked(prog.args[pc]);
        if (slot < slots) {
          unchecked((stackPc[sp] = -1));
          unchecked((this.stackSlot[sp] = slot));
          unchecked((this.stackVal[sp] = caps[slot]));
          sp++;
          unchecked((caps[slot] = pos));
        }
        unchecked((stackPc[sp++] = prog.outs[pc]));
      } else if (op != Inst.Fail && slots > 0) {
        memory.copy(
          changetype<usize>(q.caps) + ((<usize>j * <usize>slots) << 2),
          changetype<usize>(caps),
          <usize>slots << 2,
        );
      }
    }
  }

  /**
   * Searches s from code-unit offset `from` (context before it still counts for ^, \b).
   * anchorStart: the match must begin at `from`; anchorEnd: it must end at s.length.
   * `slots` capture slots (0 = only whether it matches) are left in matchCaps.
   */
  search(s: string, from: i32, anchorStart: bool, anchorEnd: bool, slots: i32): bool {
    if (slots > this.maxSlots) slots = this.maxSlots;
    const prog = this.prog;
    const end = s.length;
    let clist = this.q0;
    let nlist = this.q1;
    if (slots > 0) {
      clist.ensureCaps(this.n * slots);
      nlist.ensureCaps(this.n * slots);
    }
    clist.size = 0;
    nlist.size = 0;
    this.matched = false;
    const scratch = this.scratch;
    const matchCaps = this.matchCaps;

    let pos = from;
    let prev = codePointBefore(s, pos);
    let c = pos < end ? codePointAt(s, pos, end) : END_OF_TEXT;
    let width = unitWidth(c);
    while (true) {
      if (clist.size == 0) {
        if (this.matched) break;
        if (anchorStart && pos != from) break;
      }
      if (!this.matched && (!anchorStart || pos == from)) {
        for (let k = 0; k < slots; k++) unchecked((scratch[k] = -1));
        this.addThread(clist, prog.start, pos, emptyFlagsAt(prev, c), scratch, slots);
      }
      const next = pos + width;
      const c1 = next < end ? codePointAt(s, next, end) : END_OF_TEXT;
      const nextFlags = emptyFlagsAt(c, c1);
      // Step every thread over c, in priority order.
      for (let i = 0; i < clist.size; i++) {
        const pc = unchecked(clist.dense[i]);
        const op = unchecked(prog.ops[pc]);
        let ok = false;
        if (op == Inst.Rune) ok = c == unchecked(prog.args[pc]);
        else if (op == Inst.Class) ok = c >= 0 && classMatches(prog, unchecked(prog.args[pc]), c);
        else if (op == Inst.AnyNotNL) ok = c >= 0 && c != 0x0a;
        else if (op == Inst.Any) ok = c >= 0;
        else if (op == Inst.Match) {
          if (anchorEnd && pos != end) continue;
          if (slots > 0) {
            memory.copy(
              changetype<usize>(matchCaps),
              changetype<usize>(clist.caps) + ((<usize>i * <usize>slots) << 2),
              <usize>slots << 2,
            );
          } else {
            this.matched = true;
            return true; // any match will do
          }
          this.matched = true;
          break; // leftmost-first: lower-priority threads are cut off
        }
        if (ok) {
          if (slots > 0) {
            memory.copy(
              changetype<usize>(scratch),
              changetype<usize>(clist.caps) + ((<usize>i * <usize>slots) << 2),
              <usize>slots << 2,
            );
          }
          this.addThread(nlist, unchecked(prog.outs[pc]), next, nextFlags, scratch, slots);
        }
      }
      if (width == 0) break;
      pos = next;
      prev = c;
      c = c1;
      width = unitWidth(c1);
      const t = clist;
      clist = nlist;
      nlist = t;
      nlist.size = 0;
    }
    return this.matched;
  }
}
