// RE2-syntax parser (Perl flavour, as RE2::Options defaults and Envoy use it): pattern -> Node tree.
// Errors are reasons (no pattern); index.ts adds the pattern. The parser never recurses deeper
// than MAX_NESTING group levels and keeps every tree below MAX_NESTING height.
import { Node, Op } from "./ast";
import { foldRanges, hasFoldOrbit } from "./casefold";
import { MAX_RUNE, appendRanges, negateRanges, normalizeRanges, perlClass, posixClass } from "./charclass";
import { unitAt } from "./utf16";

export const FLAG_FOLD: i32 = 1; // (?i)
export const FLAG_DOT_NL: i32 = 2; // (?s)
export const FLAG_MULTI_LINE: i32 = 4; // (?m)
export const FLAG_NON_GREEDY: i32 = 8; // (?U)

export const MAX_REPEAT: i32 = 1000;
// Every recursive walk is bounded by this; it keeps worst-case use of AssemblyScript's 32 KiB shadow
// stack near a quarter (measured: ~90 bytes per level), leaving room for the callers' frames.
export const MAX_NESTING: i32 = 100;

export class ParseResult {
  node: Node | null = null;
  error: string = "";
  groupCount: i32 = 0;
  /** names[i] is the name of group i (index 0 unused), "" when unnamed. */
  names: Array<string> = [""];
}

const BACKSLASH: i32 = 0x5c;

function isDigit(c: i32): bool {
  return c >= 0x30 && c <= 0x39;
}
function isAlnum(c: i32): bool {
  return isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}
function hexValue(c: i32): i32 {
  if (isDigit(c)) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** Offset of the first unpaired surrogate, or -1. */
function findUnpairedSurrogate(s: string): i32 {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const u = unitAt(s, i);
    if ((u & 0xfc00) == 0xd800) {
      if (i + 1 < n && (unitAt(s, i + 1) & 0xfc00) == 0xdc00) i++;
      else return i;
    } else if ((u & 0xfc00) == 0xdc00) return i;
  }
  return -1;
}

class Parser {
  src: string;
  len: i32;
  pos: i32 = 0;
  flags: i32 = 0;
  error: string = "";
  groupCount: i32 = 0;
  names: Array<string> = [""];
  nesting: i32 = 0;

  constructor(src: string) {
    this.src = src;
    this.len = src.length;
  }

  fail(reason: string): void {
    if (this.error.length == 0) this.error = reason;
  }
  get failed(): bool {
    return this.error.length > 0;
  }
  unit(i: i32): i32 {
    return i < this.len ? unitAt(this.src, i) : -1;
  }
  /** Code point at i (input has no unpaired surrogates, checked up front). */
  codePoint(i: i32): i32 {
    const hi = unitAt(this.src, i);
    if ((hi & 0xfc00) == 0xd800) return 0x10000 + ((hi - 0xd800) << 10) + (unitAt(this.src, i + 1) - 0xdc00);
    return hi;
  }
  text(from: i32, to: i32): string {
    return this.src.substring(from, to);
  }

  checkHeight(n: Node): void {
    if (n.height > MAX_NESTING) this.fail("expression nests too deeply (limit " + MAX_NESTING.toString() + ")");
  }

  literalNode(c: i32): Node {
    if ((this.flags & FLAG_FOLD) != 0 && hasFoldOrbit(c)) {
      const r = new Array<i32>();
      r.push(c);
      r.push(c);
      return Node.charClass(foldRanges(r));
    }
    return Node.literal(c);
  }

  /** A Perl or POSIX group, folded under (?i) before any negation (as RE2 does). */
  groupRanges(ranges: Array<i32>, negated: bool): Array<i32> {
    let r = ranges;
    if ((this.flags & FLAG_FOLD) != 0) r = foldRanges(r);
    return negated ? negateRanges(r) : r;
  }

  parseAlternation(): Node | null {
    const alts = new Array<Node>();
    const first = this.parseConcat();
    if (first == null) return null;
    alts.push(first);
    while (this.pos < this.len && this.unit(this.pos) == 0x7c /* | */) {
      this.pos++;
      const next = this.parseConcat();
      if (next == null) return null;
      alts.push(next);
    }
    if (alts.length == 1) return alts[0];
    const n = Node.withSubs(Op.Alternate, alts);
    this.checkHeight(n);
    return this.failed ? null : n;
  }

  parseConcat(): Node | null {
    const items = new Array<Node>();
    let lastRepeat = -1; // offset of the previous token when it was a repetition operator
    while (this.pos < this.len) {
      const c = this.unit(this.pos);
      if (c == 0x7c /* | */ || c == 0x29 /* ) */) break;
      const tokenStart = this.pos;
      let isRepeat = false;
      if (c == 0x28 /* ( */) {
        const g = this.unit(this.pos + 1) == 0x3f /* ? */ ? this.parsePerlGroup() : this.parseCaptureGroup("");
        if (this.failed) return null;
        if (g != null) items.push(g);
      } else if (c == 0x2a /* * */ || c == 0x2b /* + */ || c == 0x3f /* ? */) {
        this.pos++;
        const op = c == 0x2a ? Op.Star : c == 0x2b ? Op.Plus : Op.Quest;
        if (!this.applyRepeat(items, op, 0, 0, tokenStart, lastRepeat)) return null;
        isRepeat = true;
      } else if (c == 0x7b /* { */) {
        const spec = this.parseRepeatSpec(this.pos);
        if (spec == null) {
          items.push(this.literalNode(c));
          this.pos++;
        } else {
          const min = spec[0];
          const max = spec[1];
          this.pos = spec[2];
          if (min < 0 || min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && min > max)) {
            this.fail("invalid repeat count: " + this.text(tokenStart, this.pos) + " (counts must be 0..1000 and min <= max)");
            return null;
          }
          if (!this.applyRepeat(items, Op.Repeat, min, max, tokenStart, lastRepeat)) return null;
          isRepeat = true;
        }
      } else if (c == 0x5b /* [ */) {
        const cls = this.parseClass();
        if (cls == null) return null;
        items.push(cls);
      } else if (c == 0x2e /* . */) {
        this.pos++;
        items.push(Node.leaf((this.flags & FLAG_DOT_NL) != 0 ? Op.AnyChar : Op.AnyCharNotNL));
      } else if (c == 0x5e /* ^ */) {
        this.pos++;
        items.push(Node.leaf((this.flags & FLAG_MULTI_LINE) != 0 ? Op.BeginLine : Op.BeginText));
      } else if (c == 0x24 /* $ */) {
        this.pos++;
        items.push(Node.leaf((this.flags & FLAG_MULTI_LINE) != 0 ? Op.EndLine : Op.EndText));
      } else if (c == BACKSLASH) {
        if (!this.parseBackslash(items)) return null;
      } else {
        const cp = this.codePoint(this.pos);
        this.pos += cp > 0xffff ? 2 : 1;
        items.push(this.literalNode(cp));
      }
      lastRepeat = isRepeat ? tokenStart : -1;
    }
    if (items.length == 0) return Node.leaf(Op.Empty);
    if (items.length == 1) return items[0];
    const n = Node.withSubs(Op.Concat, items);
    this.checkHeight(n);
    return this.failed ? null : n;
  }

  /** Applies a repetition operator (already consumed, plus an optional lazy '?') to the last item. */
  applyRepeat(items: Array<Node>, op: Op, min: i32, max: i32, tokenStart: i32, lastRepeat: i32): bool {
    let greedy = (this.flags & FLAG_NON_GREEDY) == 0;
    if (this.unit(this.pos) == 0x3f /* ? */) {
      this.pos++;
      greedy = !greedy;
    }
    if (lastRepeat >= 0) {
      const c = this.unit(tokenStart);
      const both = this.text(lastRepeat, this.pos);
      if (c == 0x2b /* + */ && tokenStart == this.pos - 1) {
        this.fail("possessive quantifiers are not supported: " + both);
      } else {
        this.fail("invalid nested repetition operator: " + both);
      }
      return false;
    }
    if (items.length == 0) {
      this.fail("missing argument to repetition operator: " + this.text(tokenStart, this.pos));
      return false;
    }
    const sub = items[items.length - 1];
    const n = Node.wrap(op, sub);
    n.greedy = greedy;
    n.min = min;
    n.max = max;
    if (op == Op.Repeat && (min >= 2 || max >= 2) && !repeatWithinLimit(n, MAX_REPEAT)) {
      this.fail("invalid repeat count: " + this.text(tokenStart, this.pos) + " (nested repetition exceeds 1000)");
      return false;
    }
    this.checkHeight(n);
    if (this.failed) return false;
    items[items.length - 1] = n;
    return true;
  }

  /** {n}, {n,}, {n,m} at i: [min, max (-1 = open), end offset], or null when it is a literal '{'. */
  parseRepeatSpec(i: i32): StaticArray<i32> | null {
    let p = i + 1;
    const min = this.parseDecimal(p);
    if (min == null) return null;
    p = min[1];
    let max = min[0];
    let tooBig = false; // a huge max makes the whole repeat invalid (min = -1), as in RE2
    if (this.unit(p) == 0x2c /* , */) {
      p++;
      if (this.unit(p) == 0x7d /* } */) max = -1;
      else {
        const m = this.parseDecimal(p);
        if (m == null) return null;
        max = m[0];
        p = m[1];
        if (max < 0) tooBig = true;
      }
    }
    if (this.unit(p) != 0x7d /* } */) return null;
    return [tooBig ? -1 : min[0], max, p + 1];
  }

  /** Digits at i without a leading zero (RE2 rule): [value or -1 when huge, end], or null. */
  parseDecimal(i: i32): StaticArray<i32> | null {
    if (!isDigit(this.unit(i))) return null;
    if (this.unit(i) == 0x30 && isDigit(this.unit(i + 1))) return null;
    let v = 0;
    let p = i;
    while (isDigit(this.unit(p))) {
      if (v >= 100000000) v = -1;
      else if (v >= 0) v = v * 10 + this.unit(p) - 0x30;
      p++;
    }
    return [v, p];
  }

  enterGroup(): bool {
    this.nesting++;
    if (this.nesting > MAX_NESTING) {
      this.fail("expression nests too deeply (limit " + MAX_NESTING.toString() + ")");
      return false;
    }
    return true;
  }

  /** Parses the body of a group up to and including ')', restoring the outer flags afterwards. */
  parseGroupBody(outerFlags: i32): Node | null {
    const sub = this.parseAlternation();
    if (sub == null) return null;
    if (this.unit(this.pos) != 0x29 /* ) */) {
      this.fail("missing closing )");
      return null;
    }
    this.pos++;
    this.flags = outerFlags;
    this.nesting--;
    return sub;
  }

  /** '(' already at pos; the caller knows it is a plain or named capture (name given). */
  parseCaptureGroup(name: string): Node | null {
    if (name.length == 0) this.pos++; // plain '(' ; named groups have consumed their prefix
    if (!this.enterGroup()) return null;
    const index = ++this.groupCount;
    this.names.push(name);
    const sub = this.parseGroupBody(this.flags);
    if (sub == null) return null;
    const n = Node.wrap(Op.Capture, sub);
    n.cap = index;
    this.checkHeight(n);
    return this.failed ? null : n;
  }

  /** "(?" at pos: named capture, non-capturing group, or flag change; unsupported forms fail. */
  parsePerlGroup(): Node | null {
    const start = this.pos;
    const c2 = this.unit(start + 2);
    const c3 = this.unit(start + 3);
    if (c2 == 0x3d /* = */ || c2 == 0x21 /* ! */) {
      this.fail("lookahead assertions are not supported: " + this.text(start, start + 3));
      return null;
    }
    if (c2 == 0x3c /* < */ && (c3 == 0x3d || c3 == 0x21)) {
      this.fail("lookbehind assertions are not supported: " + this.text(start, start + 4));
      return null;
    }
    if (c2 == 0x50 /* P */ && (c3 == 0x3d /* = */ || c3 == 0x3e /* > */)) {
      this.fail("named backreferences are not supported: " + this.text(start, start + 4));
      return null;
    }
    if ((c2 == 0x50 && c3 == 0x3c) || c2 == 0x3c) {
      const nameStart = c2 == 0x3c ? start + 3 : start + 4;
      const close = this.src.indexOf(">", nameStart);
      if (close < 0) {
        this.fail("invalid named capture: " + this.text(start, this.len) + " (missing >)");
        return null;
      }
      const name = this.text(nameStart, close);
      if (!isValidGroupName(name)) {
        this.fail("invalid named capture: " + this.text(start, close + 1) + " (names are [A-Za-z0-9_]+)");
        return null;
      }
      if (this.names.includes(name)) {
        this.fail("duplicate capture group name: " + name);
        return null;
      }
      this.pos = close + 1;
      return this.parseCaptureGroup(name);
    }
    // Flags: (?flags) or (?flags:re), flags from [imsU] with an optional '-' negation.
    let flags = this.flags;
    let negated = false;
    let sawFlag = false;
    let i = start + 2;
    while (i < this.len) {
      const c = this.unit(i++);
      let bit = 0;
      if (c == 0x69 /* i */) bit = FLAG_FOLD;
      else if (c == 0x6d /* m */) bit = FLAG_MULTI_LINE;
      else if (c == 0x73 /* s */) bit = FLAG_DOT_NL;
      else if (c == 0x55 /* U */) bit = FLAG_NON_GREEDY;
      if (bit != 0) {
        flags = negated ? flags & ~bit : flags | bit;
        sawFlag = true;
        continue;
      }
      if (c == 0x2d /* - */ && !negated) {
        negated = true;
        sawFlag = false;
        continue;
      }
      if ((c == 0x3a /* : */ || c == 0x29) /* ) */ && !(negated && !sawFlag)) {
        this.pos = i;
        if (c == 0x29) {
          this.flags = flags; // flag-only group: no node, flags last until the enclosing group ends
          return null;
        }
        if (!this.enterGroup()) return null;
        const outer = this.flags;
        this.flags = flags;
        return this.parseGroupBody(outer);
      }
      break;
    }
    this.fail("invalid or unsupported Perl syntax: " + this.text(start, i));
    return null;
  }

  /** '\' at pos outside a class; pushes zero or more nodes. */
  parseBackslash(items: Array<Node>): bool {
    const start = this.pos;
    const c = this.unit(start + 1);
    if (c == 0x41 /* A */ || c == 0x7a /* z */ || c == 0x62 /* b */ || c == 0x42 /* B */) {
      this.pos += 2;
      items.push(
        Node.leaf(c == 0x41 ? Op.BeginText : c == 0x7a ? Op.EndText : c == 0x62 ? Op.WordBoundary : Op.NoWordBoundary),
      );
      return true;
    }
    if (c == 0x43 /* C */) {
      this.fail("\\C (any byte) is not supported");
      return false;
    }
    if (c == 0x51 /* Q */) {
      // \Q...\E: everything up to \E (or the end) is literal.
      let end = this.src.indexOf("\\E", start + 2);
      const stop = end < 0 ? this.len : end;
      let i = start + 2;
      while (i < stop) {
        const cp = this.codePoint(i);
        i += cp > 0xffff ? 2 : 1;
        items.push(this.literalNode(cp));
      }
      this.pos = end < 0 ? this.len : end + 2;
      return true;
    }
    const cls = this.parseClassEscape(start);
    if (this.failed) return false;
    if (cls != null) {
      items.push(Node.charClass(cls));
      return true;
    }
    const r = this.parseEscape(start);
    if (r < 0) return false;
    items.push(this.literalNode(r));
    return true;
  }

  /** \d \D \s \S \w \W at i (consumed, folded and negated as needed), \p/\P fail, else null. */
  parseClassEscape(i: i32): Array<i32> | null {
    const c = this.unit(i + 1);
    if (c == 0x70 /* p */ || c == 0x50 /* P */) {
      this.fail("Unicode character classes are not supported: " + this.text(i, i + 2 < this.len ? i + 3 : i + 2));
      return null;
    }
    const lower = c | 0x20;
    const base = c >= 0 ? perlClass(lower) : null;
    if (base == null) return null;
    this.pos = i + 2;
    return this.groupRanges(base, c != lower);
  }

  /** A single-character escape at i (consumed); returns the code point or -1 after fail(). */
  parseEscape(i: i32): i32 {
    if (i + 1 >= this.len) {
      this.fail("trailing backslash at end of expression");
      return -1;
    }
    const c = this.codePoint(i + 1);
    let p = i + 1 + (c > 0xffff ? 2 : 1);
    if (c >= 0x31 && c <= 0x37 && !(this.unit(p) >= 0x30 && this.unit(p) <= 0x37)) {
      this.fail("backreferences are not supported: " + this.text(i, p));
      return -1;
    }
    if (c >= 0x30 && c <= 0x37) {
      // Octal: the first digit plus up to two more.
      let r = c - 0x30;
      for (let k = 0; k < 2 && this.unit(p) >= 0x30 && this.unit(p) <= 0x37; k++) r = r * 8 + this.unit(p++) - 0x30;
      this.pos = p;
      return r;
    }
    if (c == 0x38 || c == 0x39) {
      this.fail("backreferences are not supported: " + this.text(i, p));
      return -1;
    }
    if (c == 0x78 /* x */) {
      if (this.unit(p) == 0x7b /* { */) {
        let r = 0;
        let digits = 0;
        p++;
        while (p < this.len && this.unit(p) != 0x7d /* } */) {
          const v = hexValue(this.unit(p));
          if (v < 0 || r > MAX_RUNE) break;
          r = r * 16 + v;
          digits++;
          p++;
        }
        if (this.unit(p) != 0x7d || digits == 0 || r > MAX_RUNE) {
          this.fail("invalid escape sequence: " + this.text(i, p < this.len ? p + 1 : p) + " (expected \\x{1..10FFFF})");
          return -1;
        }
        this.pos = p + 1;
        return r;
      }
      const x = hexValue(this.unit(p));
      const y = hexValue(this.unit(p + 1));
      if (x < 0 || y < 0) {
        this.fail("invalid escape sequence: " + this.text(i, p + 2 < this.len ? p + 2 : this.len) + " (expected \\xHH)");
        return -1;
      }
      this.pos = p + 2;
      return x * 16 + y;
    }
    this.pos = p;
    if (c == 0x61 /* a */) return 7;
    if (c == 0x66 /* f */) return 12;
    if (c == 0x6e /* n */) return 10;
    if (c == 0x72 /* r */) return 13;
    if (c == 0x74 /* t */) return 9;
    if (c == 0x76 /* v */) return 11;
    if (c < 0x80 && !isAlnum(c)) return c;
    this.fail("invalid escape sequence: " + this.text(i, p));
    return -1;
  }

  /** '[' at pos: a bracket class. */
  parseClass(): Node | null {
    const start = this.pos;
    let i = start + 1;
    let negated = false;
    if (this.unit(i) == 0x5e /* ^ */) {
      negated = true;
      i++;
    }
    const plain = new Array<i32>(); // single characters and ranges, folded together at the end
    const groups = new Array<i32>(); // Perl/POSIX groups, already folded/negated
    let first = true;
    while (i >= this.len || this.unit(i) != 0x5d /* ] */ || first) {
      if (i >= this.len) {
        this.fail("missing closing ]: " + this.text(start, this.len));
        return null;
      }
      first = false;
      // POSIX [:name:] / [:^name:]
      if (this.unit(i) == 0x5b && this.unit(i + 1) == 0x3a) {
        const close = this.src.indexOf(":]", i + 2);
        if (close >= 0) {
          let name = this.text(i + 2, close);
          let neg = false;
          if (name.startsWith("^")) {
            neg = true;
            name = name.substring(1);
          }
          const r = posixClass(name);
          if (r == null) {
            this.fail("invalid character class range: " + this.text(i, close + 2));
            return null;
          }
          appendRanges(groups, this.groupRanges(r, neg));
          i = close + 2;
          continue;
        }
      }
      if (this.unit(i) == BACKSLASH) {
        const g = this.parseClassEscape(i);
        if (this.failed) return null;
        if (g != null) {
          appendRanges(groups, g);
          i = this.pos;
          continue;
        }
      }
      const rangeStart = i;
      const lo = this.parseClassChar(i, start);
      if (lo < 0) return null;
      i = this.pos;
      let hi = lo;
      if (this.unit(i) == 0x2d /* - */ && i + 1 < this.len && this.unit(i + 1) != 0x5d) {
        hi = this.parseClassChar(i + 1, start);
        if (hi < 0) return null;
        i = this.pos;
        if (hi < lo) {
          this.fail("invalid character class range: " + this.text(rangeStart, i));
          return null;
        }
      }
      plain.push(lo);
      plain.push(hi);
    }
    this.pos = i + 1;
    let ranges = normalizeRanges(plain);
    if ((this.flags & FLAG_FOLD) != 0) ranges = foldRanges(ranges);
    appendRanges(ranges, groups);
    ranges = normalizeRanges(ranges);
    if (negated) ranges = negateRanges(ranges);
    return Node.charClass(ranges);
  }

  /** One class member character at i (escape or literal); sets pos after it; -1 after fail(). */
  parseClassChar(i: i32, classStart: i32): i32 {
    if (i >= this.len) {
      this.fail("missing closing ]: " + this.text(classStart, this.len));
      return -1;
    }
    if (this.unit(i) == BACKSLASH) {
      const c = this.unit(i + 1);
      if (c == 0x62 /* b */) {
        this.fail("invalid escape sequence: \\b (use \\x08 for backspace)");
        return -1;
      }
      return this.parseEscape(i);
    }
    const cp = this.codePoint(i);
    this.pos = i + (cp > 0xffff ? 2 : 1);
    return cp;
  }
}

function isValidGroupName(name: string): bool {
  if (name.length == 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (!isAlnum(c) && c != 0x5f) return false;
  }
  return true;
}

/** RE2's rule: nested counted repetitions may not multiply beyond `budget` copies. */
function repeatWithinLimit(n: Node, budget: i32): bool {
  let b = budget;
  if (n.op == Op.Repeat) {
    let m = n.max;
    if (m == 0) return true;
    if (m < 0) m = n.min;
    if (m > b) return false;
    if (m > 0) b /= m;
  }
  for (let i = 0; i < n.subs.length; i++) if (!repeatWithinLimit(n.subs[i], b)) return false;
  return true;
}

export function parse(pattern: string): ParseResult {
  const result = new ParseResult();
  const bad = findUnpairedSurrogate(pattern);
  if (bad >= 0) {
    result.error = "invalid UTF-16: unpaired surrogate at offset " + bad.toString();
    return result;
  }
  const p = new Parser(pattern);
  const node = p.parseAlternation();
  if (!p.failed && p.pos < p.len) p.fail("unexpected ): no group to close at offset " + p.pos.toString());
  if (p.failed) {
    result.error = p.error;
    return result;
  }
  result.node = node;
  result.groupCount = p.groupCount;
  result.names = p.names;
  return result;
}
