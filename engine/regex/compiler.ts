// Thompson construction: Node tree -> Pike VM Program, expanding counted repetitions the way RE2
// simplifies them (x{2,4} = xx(x(x)?)?) and bounded by a maximum program size.
import { Node, Op } from "./ast";
import { MAX_RUNE } from "./charclass";
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

/** A partly built piece of program: entry pc, dangling exits (pc*2 + 0 for out, +1 for arg). */
class Frag {
  constructor(
    public start: i32,
    public exits: Array<i32>,
    public nullable: bool,
  ) {}
}

function exitsOf(pc: i32, field: i32): Array<i32> {
  const a = new Array<i32>();
  a.push(pc * 2 + field);
  return a;
}

export class CompileOutput {
  program: Program | null = null;
  error: string = "";
}

class Compiler {
  ops: Array<i32> = [];
  outs: Array<i32> = [];
  args: Array<i32> = [];
  classes: Array<Array<i32>> = [];
  error: string = "";

  constructor(public limit: i32) {}

  emit(op: Inst, arg: i32): i32 {
    const pc = this.ops.length;
    if (pc >= this.limit && this.error.length == 0) {
      this.error =
        "program size exceeds the limit of " + this.limit.toString() + " instructions (simplify the pattern or raise the limit)";
    }
    this.ops.push(op);
    this.outs.push(-1);
    this.args.push(op == Inst.Split ? -1 : arg);
    return pc;
  }

  patch(exits: Array<i32>, target: i32): void {
    for (let i = 0; i < exits.length; i++) {
      const e = unchecked(exits[i]);
      if ((e & 1) == 0) this.outs[e >> 1] = target;
      else this.args[e >> 1] = target;
    }
  }

  single(op: Inst, arg: i32): Frag {
    const pc = this.emit(op, arg);
    return new Frag(pc, exitsOf(pc, 0), false);
  }

  empty(flags: i32): Frag {
    const pc = this.emit(Inst.Empty, flags);
    return new Frag(pc, exitsOf(pc, 0), true);
  }

  cat(a: Frag, b: Frag): Frag {
    this.patch(a.exits, b.start);
    return new Frag(a.start, b.exits, a.nullable && b.nullable);
  }

  /** Split preferring `first`; exits of both continue. */
  alt(first: Frag, second: Frag): Frag {
    const pc = this.emit(Inst.Split, 0);
    this.outs[pc] = first.start;
    this.args[pc] = second.start;
    // Frags are consumed once, so their exit lists can be reused; append the shorter to the longer
    // to keep long alternations linear.
    const big = first.exits.length >= second.exits.length ? first.exits : second.exits;
    const small = first.exits.length >= second.exits.length ? second.exits : first.exits;
    for (let i = 0; i < small.length; i++) big.push(unchecked(small[i]));
    return new Frag(pc, big, first.nullable || second.nullable);
  }

  quest(f: Frag, greedy: bool): Frag {
    const pc = this.emit(Inst.Split, 0);
    let exits: Array<i32>;
    if (greedy) {
      this.outs[pc] = f.start;
      exits = f.exits;
      exits.push(pc * 2 + 1);
    } else {
      this.args[pc] = f.start;
      exits = f.exits;
      exits.push(pc * 2);
    }
    return new Frag(pc, exits, true);
  }

  /** f followed by a split back to f: the common tail of x* and x+. */
  loop(f: Frag, greedy: bool): Frag {
    const pc = this.emit(Inst.Split, 0);
    let exits: Array<i32>;
    if (greedy) {
      this.outs[pc] = f.start;
      exits = exitsOf(pc, 1);
    } else {
      this.args[pc] = f.start;
      exits = exitsOf(pc, 0);
    }
    this.patch(f.exits, pc);
    return new Frag(pc, exits, true);
  }

  plus(f: Frag, greedy: bool): Frag {
    const l = this.loop(f, greedy);
    return new Frag(f.start, l.exits, f.nullable);
  }

  star(f: Frag, greedy: bool): Frag {
    // A nullable body needs (x+)? so that priorities stay right when x matches empty (RE2, Go #46123).
    if (f.nullable) return this.quest(this.plus(f, greedy), greedy);
    return this.loop(f, greedy);
  }

  charClass(ranges: Array<i32>): Frag {
    if (ranges.length == 2 && ranges[0] == 0 && ranges[1] == MAX_RUNE) return this.single(Inst.Any, 0);
    if (ranges.length == 4 && ranges[0] == 0 && ranges[1] == 9 && ranges[2] == 11 && ranges[3] == MAX_RUNE) {
      return this.single(Inst.AnyNotNL, 0);
    }
    if (ranges.length == 2 && ranges[0] == ranges[1]) return this.single(Inst.Rune, ranges[0]);
    const id = this.classes.length;
    this.classes.push(ranges);
    return this.single(Inst.Class, id);
  }

  compile(n: Node): Frag {
    if (this.error.length > 0) return new Frag(0, [], false);
    switch (n.op) {
      case Op.NoMatch:
        return new Frag(this.emit(Inst.Fail, 0), [], false);
      case Op.Empty:
        return this.empty(0);
      case Op.Literal:
        return this.single(Inst.Rune, n.rune);
      case Op.CharClass:
        return this.charClass(n.ranges);
      case Op.AnyChar:
        return this.single(Inst.Any, 0);
      case Op.AnyCharNotNL:
        return this.single(Inst.AnyNotNL, 0);
      case Op.BeginLine:
        return this.empty(EMPTY_BEGIN_LINE);
      case Op.EndLine:
        return this.empty(EMPTY_END_LINE);
      case Op.BeginText:
        return this.empty(EMPTY_BEGIN_TEXT);
      case Op.EndText:
        return this.empty(EMPTY_END_TEXT);
      case Op.WordBoundary:
        return this.empty(EMPTY_WORD_BOUNDARY);
      case Op.NoWordBoundary:
        return this.empty(EMPTY_NO_WORD_BOUNDARY);
      case Op.Capture: {
        const open = this.single(Inst.Save, 2 * n.cap);
        const body = this.compile(n.subs[0]);
        const close = this.single(Inst.Save, 2 * n.cap + 1);
        const f = this.cat(this.cat(open, body), close);
        f.nullable = body.nullable;
        return f;
      }
      case Op.Concat: {
        let f = this.compile(n.subs[0]);
        for (let i = 1; i < n.subs.length; i++) f = this.cat(f, this.compile(n.subs[i]));
        return f;
      }
      case Op.Alternate: {
        const parts = new Array<Frag>();
        for (let i = 0; i < n.subs.length; i++) parts.push(this.compile(n.subs[i]));
        let f = parts[parts.length - 1];
        for (let i = parts.length - 2; i >= 0; i--) f = this.alt(parts[i], f);
        return f;
      }
      case Op.Star:
        return this.star(this.compile(n.subs[0]), n.greedy);
      case Op.Plus:
        return this.plus(this.compile(n.subs[0]), n.greedy);
      case Op.Quest:
        return this.quest(this.compile(n.subs[0]), n.greedy);
      case Op.Repeat:
        return this.repeat(n);
    }
    return new Frag(this.emit(Inst.Fail, 0), [], false);
  }

  repeat(n: Node): Frag {
    const sub = n.subs[0];
    const min = n.min;
    const max = n.max;
    if (max == 0) return this.empty(0);
    if (max < 0) {
      if (min == 0) return this.star(this.compile(sub), n.greedy);
      let f: Frag | null = null;
      for (let i = 0; i < min - 1 && this.error.length == 0; i++) {
        const c = this.compile(sub);
        f = f == null ? c : this.cat(f, c);
      }
      const tail = this.plus(this.compile(sub), n.greedy);
      return f == null ? tail : this.cat(f, tail);
    }
    let f: Frag | null = null;
    for (let i = 0; i < min && this.error.length == 0; i++) {
      const c = this.compile(sub);
      f = f == null ? c : this.cat(f, c);
    }
    if (max > min) {
      let suffix = this.quest(this.compile(sub), n.greedy);
      for (let i = min + 1; i < max && this.error.length == 0; i++) {
        suffix = this.quest(this.cat(this.compile(sub), suffix), n.greedy);
      }
      f = f == null ? suffix : this.cat(f, suffix);
    }
    return f == null ? this.empty(0) : f;
  }
}

function toStatic(a: Array<i32>): StaticArray<i32> {
  const s = new StaticArray<i32>(a.length);
  for (let i = 0; i < a.length; i++) unchecked((s[i] = a[i]));
  return s;
}

export function compileProgram(root: Node, groupCount: i32, limit: i32): CompileOutput {
  const out = new CompileOutput();
  const c = new Compiler(limit);
  const open = c.single(Inst.Save, 0);
  const body = c.compile(root);
  const close = c.single(Inst.Save, 1);
  const f = c.cat(c.cat(open, body), close);
  const match = c.emit(Inst.Match, 0);
  c.patch(f.exits, match);
  if (c.error.length > 0) {
    out.error = c.error;
    return out;
  }
  let total = 0;
  for (let k = 0; k < c.classes.length; k++) total += c.classes[k].length;
  const data = new StaticArray<i32>(total);
  const from = new StaticArray<i32>(c.classes.length);
  const count = new StaticArray<i32>(c.classes.length);
  const ascii = new StaticArray<u64>(2 * c.classes.length);
  let at = 0;
  for (let k = 0; k < c.classes.length; k++) {
    const r = c.classes[k];
    from[k] = at;
    count[k] = r.length >> 1;
    for (let i = 0; i < r.length; i += 2) {
      data[at++] = r[i];
      data[at++] = r[i + 1];
      for (let ch = r[i]; ch <= r[i + 1] && ch < 128; ch++) ascii[2 * k + (ch >> 6)] |= (<u64>1) << <u64>(ch & 63);
    }
  }
  out.program = new Program(
    toStatic(c.ops),
    toStatic(c.outs),
    toStatic(c.args),
    data,
    from,
    count,
    ascii,
    open.start,
    2 * (groupCount + 1),
  );
  return out;
}
