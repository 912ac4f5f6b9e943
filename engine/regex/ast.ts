// Parsed form of an RE2 pattern. Repetitions keep their written shape; the compiler expands them.

export const enum Op {
  NoMatch,
  Empty,
  Literal, // rune
  CharClass, // ranges (normalized)
  AnyChar,
  AnyCharNotNL,
  BeginLine,
  EndLine,
  BeginText,
  EndText,
  WordBoundary,
  NoWordBoundary,
  Capture, // cap (1-based group index), subs[0]
  Concat, // subs
  Alternate, // subs
  Star, // greedy, subs[0]
  Plus,
  Quest,
  Repeat, // min, max (-1 = unbounded), greedy, subs[0]
}

export class Node {
  subs: Array<Node> = [];
  ranges: Array<i32> = [];
  rune: i32 = 0;
  min: i32 = 0;
  max: i32 = 0;
  cap: i32 = 0;
  greedy: bool = true;
  /** Depth of the tree rooted here; bounded so every recursive walk stays shallow. */
  height: i32 = 1;

  constructor(public op: Op) {}

  static leaf(op: Op): Node {
    return new Node(op);
  }

  static literal(c: i32): Node {
    const n = new Node(Op.Literal);
    n.rune = c;
    return n;
  }

  static charClass(ranges: Array<i32>): Node {
    const n = new Node(ranges.length == 0 ? Op.NoMatch : Op.CharClass);
    n.ranges = ranges;
    return n;
  }

  static withSubs(op: Op, subs: Array<Node>): Node {
    const n = new Node(op);
    n.subs = subs;
    let h = 0;
    for (let i = 0; i < subs.length; i++) if (subs[i].height > h) h = subs[i].height;
    n.height = h + 1;
    return n;
  }

  static wrap(op: Op, sub: Node): Node {
    const subs = new Array<Node>();
    subs.push(sub);
    return Node.withSubs(op, subs);
  }
}
