// Path templates in paths/notPaths (Istio 1.22+), evaluated as Envoy's uri_template matcher does:
//   {*}   one whole segment: one or more pchar ([A-Za-z0-9-._~%!$&'()+,;:@=]+), never '/'
//   {**}  the rest: zero or more pchar or '/'; no {*}/{**} may follow it (literals may)
// Validation follows Istio's CheckValidPathTemplate: the value starts with '/', every segment is
// exactly {*}, {**} or a non-empty pchar literal, and braces appear nowhere else.

import { arrayAt, arrayLength, ptrField, rawLength } from "./layout";
import { sameChars } from "./string_match";

export const MATCH_ONE = "{*}";
export const MATCH_ANY = "{**}";

export enum TokenKind {
  Literal = 0,
  One = 1,
  Any = 2,
}

export class Token {
  constructor(public kind: TokenKind, public text: string) {}
}

@inline export function isPchar(c: i32): bool {
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39)) return true;
  switch (c) {
    case 0x2d: case 0x2e: case 0x5f: case 0x7e: // - . _ ~
    case 0x25: // %
    case 0x21: case 0x24: case 0x26: case 0x27: case 0x28: case 0x29: case 0x2b: case 0x2c: case 0x3b: // ! $ & ' ( ) + , ;
    case 0x3a: case 0x40: case 0x3d: // : @ =
      return true;
  }
  return false;
}

export function containsPathTemplate(v: string): bool {
  return v.includes(MATCH_ONE) || v.includes(MATCH_ANY);
}

export class PathTemplate {
  /** Tokens before {**} (or all of them when there is none). */
  head: Token[] = [];
  hasAny: bool = false;
  /** Literal text after {**}. */
  tail: string = "";

  matches(path: string): bool {
    return templateMatchRaw(changetype<usize>(this), changetype<usize>(path), path.length);
  }

  static compile(value: string): PathTemplateResult {
    if (!value.startsWith("/")) return PathTemplateResult.fail("a path template must start with '/'");
    const t = new PathTemplate();
    let literal = "/";
    const n = value.length;
    let i = 1;
    let seenAny = false;
    while (i <= n) {
      let j = value.indexOf("/", i);
      if (j < 0) j = n;
      const seg = value.substring(i, j);
      const last = j == n;
      if (seg == MATCH_ONE || seg == MATCH_ANY) {
        if (seenAny) return PathTemplateResult.fail("{**} must be the last operator");
        if (literal.length) t.head.push(new Token(TokenKind.Literal, literal));
        literal = "";
        if (seg == MATCH_ONE) {
          t.head.push(new Token(TokenKind.One, ""));
        } else {
          seenAny = true;
          t.hasAny = true;
        }
      } else {
        if (seg.includes("{") || seg.includes("}")) {
          return PathTemplateResult.fail("'{' or '}' outside a {*} or {**} segment");
        }
        // A trailing "/" leaves an empty last segment, as in "/foo/{*}/"; other empty segments are "//".
        if (seg.length == 0 && !last) return PathTemplateResult.fail("empty segment (\"//\")");
        for (let k = 0; k < seg.length; k++) {
          if (!isPchar(seg.charCodeAt(k))) {
            return PathTemplateResult.fail("segment \"" + seg + "\" has a character outside RFC 3986 pchar");
          }
        }
        literal += seg;
      }
      if (!last) literal += "/";
      i = j + 1;
    }
    if (seenAny) t.tail = literal;
    else if (literal.length) t.head.push(new Token(TokenKind.Literal, literal));
    return new PathTemplateResult(t, "");
  }
}

export class PathTemplateResult {
  constructor(public template: PathTemplate | null, public error: string) {}
  static fail(msg: string): PathTemplateResult {
    return new PathTemplateResult(null, msg);
  }
}

/** PathTemplate `t` against the raw UTF-16 path p[0, n) (no managed locals). */
export function templateMatchRaw(t: usize, p: usize, n: i32): bool {
  const head = ptrField(t, offsetof<PathTemplate>("head"));
  let pos = 0;
  for (let k = 0, m = arrayLength(head); k < m; k++) {
    const tok = arrayAt(head, k);
    if (load<i32>(tok + offsetof<Token>("kind")) == TokenKind.Literal) {
      const lit = ptrField(tok, offsetof<Token>("text"));
      const ln = rawLength(lit);
      if (pos + ln > n || !sameChars(p + (<usize>pos << 1), lit, ln)) return false;
      pos += ln;
    } else {
      const start = pos;
      while (pos < n && isPchar(<i32>load<u16>(p + (<usize>pos << 1)))) pos++;
      if (pos == start) return false;
    }
  }
  if (!load<bool>(t + offsetof<PathTemplate>("hasAny"))) return pos == n;
  const tail = ptrField(t, offsetof<PathTemplate>("tail"));
  const tn = rawLength(tail);
  const restEnd = n - tn;
  if (restEnd < pos || !sameChars(p + (<usize>restEnd << 1), tail, tn)) return false;
  for (let i = pos; i < restEnd; i++) {
    const c = <i32>load<u16>(p + (<usize>i << 1));
    if (c != 0x2f && !isPchar(c)) return false;
  }
  return true;
}
