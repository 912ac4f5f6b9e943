// Strict RFC 8259 parser over UTF-8 bytes. No exceptions, no traps: every failure becomes a
// JsonResult carrying a message and the byte offset where parsing stopped.
import { decimalToDouble } from "./decimal";
import { JsonKind, JsonValue } from "./value";

/** Nesting deeper than this is rejected (keeps the wasm and shadow stacks bounded). */
export const JSON_MAX_DEPTH: i32 = 256;

export class JsonResult {
  constructor(
    public value: JsonValue | null,
    public error: string,
    /** Byte offset of the error in the UTF-8 input (0 on success). */
    public offset: i32,
  ) {}

  get ok(): bool {
    return this.value !== null;
  }

  /** "message at byte N" (or "" on success), ready for a log line. */
  describe(): string {
    return this.value ? "" : this.error + " at byte " + this.offset.toString();
  }
}

const C_TAB: u32 = 0x09;
const C_LF: u32 = 0x0a;
const C_CR: u32 = 0x0d;
const C_SPACE: u32 = 0x20;
const C_QUOTE: u32 = 0x22;
const C_PLUS: u32 = 0x2b;
const C_COMMA: u32 = 0x2c;
const C_MINUS: u32 = 0x2d;
const C_DOT: u32 = 0x2e;
const C_0: u32 = 0x30;
const C_9: u32 = 0x39;
const C_COLON: u32 = 0x3a;
const C_LBRACKET: u32 = 0x5b;
const C_BACKSLASH: u32 = 0x5c;
const C_RBRACKET: u32 = 0x5d;
const C_LBRACE: u32 = 0x7b;
const C_RBRACE: u32 = 0x7d;

// Scratch UTF-16 buffer for decoding strings; grows to the longest string seen.
let scratch: usize = 0;
let scratchUnits: i32 = 0;

function ensureScratch(units: i32): void {
  if (units <= scratchUnits) return;
  let n = scratchUnits < 64 ? 64 : scratchUnits;
  while (n < units) n <<= 1;
  if (scratch) heap.free(scratch);
  scratch = heap.alloc(<usize>n << 1);
  scratchUnits = n;
}

const POW10: StaticArray<f64> = [
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

@inline function isDigit(c: u32): bool {
  return c - C_0 <= 9;
}

function hexValue(c: u32): i32 {
  if (c - C_0 <= 9) return <i32>(c - C_0);
  const l = c | 0x20;
  if (l - 0x61 <= 5) return <i32>(l - 0x61 + 10);
  return -1;
}

class Parser {
  pos: i32 = 0;
  error: string = "";
  errorAt: i32 = 0;
  failed: bool = false;

  // `owner` keeps the object holding the bytes reachable: once only the raw pointer is in use,
  // the shadow stack no longer roots it and a collection mid-parse would free it.
  constructor(public base: usize, public len: i32, public owner: Object | null) {}

  @inline peek(): u32 {
    return <u32>load<u8>(this.base + <usize>this.pos);
  }

  fail(msg: string, at: i32): JsonValue | null {
    if (!this.failed) {
      this.failed = true;
      this.error = msg;
      this.errorAt = at;
    }
    return null;
  }

  skipWhitespace(): void {
    let p = this.pos;
    const n = this.len;
    const b = this.base;
    while (p < n) {
      const c = <u32>load<u8>(b + <usize>p);
      if (c != C_SPACE && c != C_LF && c != C_CR && c != C_TAB) break;
      p++;
    }
    this.pos = p;
  }

  parseDocument(): JsonValue | null {
    this.skipWhitespace();
    if (this.pos >= this.len) return this.fail("empty JSON document", this.pos);
    const v = this.parseValue(0);
    if (!v) return null;
    this.skipWhitespace();
    if (this.pos < this.len) return this.fail("unexpected data after the JSON value", this.pos);
    return v;
  }

  parseValue(depth: i32): JsonValue | null {
    if (this.pos >= this.len) return this.fail("unexpected end of input, expected a value", this.pos);
    const c = this.peek();
    if (c == C_QUOTE) {
      const s = this.parseString();
      return s === null ? null : JsonValue.newString(s);
    }
    if (c == C_LBRACE) return this.parseObject(depth + 1);
    if (c == C_LBRACKET) return this.parseArray(depth + 1);
    if (c == C_MINUS || isDigit(c)) return this.parseNumber();
    if (c == 0x74) return this.parseLiteral("true", JsonValue.newBool(true));
    if (c == 0x66) return this.parseLiteral("false", JsonValue.newBool(false));
    if (c == 0x6e) return this.parseLiteral("null", JsonValue.newNull());
    return this.fail("unexpected character, expected a value", this.pos);
  }

  parseLiteral(word: string, v: JsonValue): JsonValue | null {
    const n = word.length;
    if (this.pos + n > this.len) return this.fail("invalid literal, expected '" + word + "'", this.pos);
    for (let i = 0; i < n; i++) {
      if (<u32>load<u8>(this.base + <usize>(this.pos + i)) != <u32>word.charCodeAt(i)) {
        return this.fail("invalid literal, expected '" + word + "'", this.pos);
      }
    }
    this.pos += n;
    return v;
  }

  parseNumber(): JsonValue | null {
    const start = this.pos;
    const b = this.base;
    const n = this.len;
    let p = start;
    let negative = false;
    if (<u32>load<u8>(b + <usize>p) == C_MINUS) {
      negative = true;
      p++;
    }
    if (p >= n || !isDigit(<u32>load<u8>(b + <usize>p))) return this.fail("invalid number: expected a digit", p);
    // Accumulate up to 19 significant digits exactly; the decimal exponent absorbs the rest.
    let mantissa: u64 = 0;
    let significant = 0;
    let dropped = false;
    let exp10: i32 = 0;
    if (<u32>load<u8>(b + <usize>p) == C_0) {
      p++;
      if (p < n && isDigit(<u32>load<u8>(b + <usize>p))) return this.fail("invalid number: leading zero", p);
    } else {
      while (p < n) {
        const c = <u32>load<u8>(b + <usize>p);
        if (!isDigit(c)) break;
        if (significant < 19) {
          mantissa = mantissa * 10 + <u64>(c - C_0);
          significant++;
        } else {
          exp10++;
          if (c != C_0) dropped = true;
        }
        p++;
      }
    }
    if (p < n && <u32>load<u8>(b + <usize>p) == C_DOT) {
      p++;
      if (p >= n || !isDigit(<u32>load<u8>(b + <usize>p))) return this.fail("invalid number: expected a digit after '.'", p);
      while (p < n) {
        const c = <u32>load<u8>(b + <usize>p);
        if (!isDigit(c)) break;
        if (significant < 19) {
          if (significant > 0 || c != C_0) {
            mantissa = mantissa * 10 + <u64>(c - C_0);
            significant++;
          }
          exp10--;
        } else if (c != C_0) {
          dropped = true;
        }
        p++;
      }
    }
    if (p < n && (<u32>load<u8>(b + <usize>p) | 0x20) == 0x65) {
      p++;
      let expNegative = false;
      if (p < n) {
        const s = <u32>load<u8>(b + <usize>p);
        if (s == C_PLUS || s == C_MINUS) {
          expNegative = s == C_MINUS;
          p++;
        }
      }
      if (p >= n || !isDigit(<u32>load<u8>(b + <usize>p))) return this.fail("invalid number: expected a digit in the exponent", p);
      let e: i32 = 0;
      while (p < n) {
        const c = <u32>load<u8>(b + <usize>p);
        if (!isDigit(c)) break;
        if (e < 100000) e = e * 10 + <i32>(c - C_0);
        p++;
      }
      exp10 += expNegative ? -e : e;
    }
    this.pos = p;
    let value: f64;
    if (!dropped && mantissa <= 9007199254740992 && exp10 >= -22 && exp10 <= 22) {
      // Clinger's fast path: both operands are exact doubles, so one IEEE operation rounds correctly.
      value = <f64>mantissa;
      if (exp10 > 0) value *= unchecked(POW10[exp10]);
      else if (exp10 < 0) value /= unchecked(POW10[-exp10]);
      if (negative) value = -value;
    } else {
      value = decimalToDouble(b, start, p);
    }
    return JsonValue.newNumber(value);
  }

  /** Parses a string token starting at the opening quote; returns null on error. */
  parseString(): string | null {
    const b = this.base;
    const n = this.len;
    let p = this.pos + 1;
    // Fast path: a run of plain ASCII up to the closing quote needs no decoding step.
    let q = p;
    while (q < n) {
      const c = <u32>load<u8>(b + <usize>q);
      if (c == C_QUOTE || c == C_BACKSLASH || c < 0x20 || c >= 0x80) break;
      q++;
    }
    if (q < n && <u32>load<u8>(b + <usize>q) == C_QUOTE) {
      this.pos = q + 1;
      if (q == p) return "";
      // Widen ASCII bytes to UTF-16 units.
      const s = changetype<string>(__new(<usize>(q - p) << 1, idof<string>()));
      const sp = changetype<usize>(s);
      for (let i = 0, m = q - p; i < m; i++) store<u16>(sp + (<usize>i << 1), load<u8>(b + <usize>(p + i)));
      return s;
    }
    // General path: decode UTF-8 (validating it) and escapes into the scratch buffer.
    // Each input byte yields at most one UTF-16 unit (4-byte sequences yield 2 units).
    ensureScratch(n - p);
    const out = scratch;
    let u: i32 = 0;
    while (true) {
      if (p >= n) {
        this.failStr("unterminated string", this.pos);
        return null;
      }
      const c = <u32>load<u8>(b + <usize>p);
      if (c == C_QUOTE) {
        p++;
        break;
      }
      if (c < 0x20) {
        this.failStr("control character in string must be escaped", p);
        return null;
      }
      if (c == C_BACKSLASH) {
        if (p + 1 >= n) {
          this.failStr("unterminated string", this.pos);
          return null;
        }
        const e = <u32>load<u8>(b + <usize>(p + 1));
        let ch: u32 = 0;
        if (e == C_QUOTE) ch = C_QUOTE;
        else if (e == C_BACKSLASH) ch = C_BACKSLASH;
        else if (e == 0x2f) ch = 0x2f;
        else if (e == 0x62) ch = 0x08;
        else if (e == 0x66) ch = 0x0c;
        else if (e == 0x6e) ch = C_LF;
        else if (e == 0x72) ch = C_CR;
        else if (e == 0x74) ch = C_TAB;
        else if (e == 0x75) {
          if (p + 6 > n) {
            this.failStr("invalid \\u escape: expected 4 hex digits", p);
            return null;
          }
          let code: i32 = 0;
          for (let i = 2; i < 6; i++) {
            const h = hexValue(<u32>load<u8>(b + <usize>(p + i)));
            if (h < 0) {
              this.failStr("invalid \\u escape: expected 4 hex digits", p);
              return null;
            }
            code = (code << 4) | h;
          }
          // Lone surrogates are allowed by the grammar and kept as-is (like JSON.parse).
          store<u16>(out + (<usize>u << 1), <u16>code);
          u++;
          p += 6;
          continue;
        } else {
          this.failStr("invalid escape character in string", p);
          return null;
        }
        store<u16>(out + (<usize>u << 1), <u16>ch);
        u++;
        p += 2;
        continue;
      }
      if (c < 0x80) {
        store<u16>(out + (<usize>u << 1), <u16>c);
        u++;
        p++;
        continue;
      }
      // Multi-byte UTF-8: validate strictly (no overlongs, no surrogates, <= U+10FFFF).
      let cp: u32;
      let need: i32;
      let min: u32;
      if ((c & 0xe0) == 0xc0) { cp = c & 0x1f; need = 1; min = 0x80; }
      else if ((c & 0xf0) == 0xe0) { cp = c & 0x0f; need = 2; min = 0x800; }
      else if ((c & 0xf8) == 0xf0) { cp = c & 0x07; need = 3; min = 0x10000; }
      else {
        this.failStr("invalid UTF-8 in string", p);
        return null;
      }
      if (p + need >= n) {
        this.failStr("invalid UTF-8 in string", p);
        return null;
      }
      for (let i = 1; i <= need; i++) {
        const cc = <u32>load<u8>(b + <usize>(p + i));
        if ((cc & 0xc0) != 0x80) {
          this.failStr("invalid UTF-8 in string", p);
          return null;
        }
        cp = (cp << 6) | (cc & 0x3f);
      }
      if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        this.failStr("invalid UTF-8 in string", p);
        return null;
      }
      if (cp >= 0x10000) {
        const v = cp - 0x10000;
        store<u16>(out + (<usize>u << 1), <u16>(0xd800 | (v >> 10)));
        store<u16>(out + (<usize>(u + 1) << 1), <u16>(0xdc00 | (v & 0x3ff)));
        u += 2;
      } else {
        store<u16>(out + (<usize>u << 1), <u16>cp);
        u++;
      }
      p += need + 1;
    }
    this.pos = p;
    return String.UTF16.decodeUnsafe(out, <usize>u << 1);
  }

  failStr(msg: string, at: i32): void {
    this.fail(msg, at);
  }

  parseArray(depth: i32): JsonValue | null {
    if (depth > JSON_MAX_DEPTH) return this.fail("nesting deeper than " + JSON_MAX_DEPTH.toString() + " levels", this.pos);
    this.pos++; // '['
    const arr = JsonValue.newArray();
    const items = arr.items!;
    this.skipWhitespace();
    if (this.pos < this.len && this.peek() == C_RBRACKET) {
      this.pos++;
      return arr;
    }
    while (true) {
      this.skipWhitespace();
      const v = this.parseValue(depth);
      if (!v) return null;
      items.push(v);
      this.skipWhitespace();
      if (this.pos >= this.len) return this.fail("unterminated array, expected ',' or ']'", this.pos);
      const c = this.peek();
      this.pos++;
      if (c == C_RBRACKET) return arr;
      if (c != C_COMMA) return this.fail("expected ',' or ']' in array", this.pos - 1);
    }
  }

  parseObject(depth: i32): JsonValue | null {
    if (depth > JSON_MAX_DEPTH) return this.fail("nesting deeper than " + JSON_MAX_DEPTH.toString() + " levels", this.pos);
    this.pos++; // '{'
    const obj = JsonValue.newObject();
    this.skipWhitespace();
    if (this.pos < this.len && this.peek() == C_RBRACE) {
      this.pos++;
      return obj;
    }
    while (true) {
      this.skipWhitespace();
      if (this.pos >= this.len) return this.fail("unterminated object, expected a member name", this.pos);
      if (this.peek() != C_QUOTE) return this.fail("expected a string member name in object", this.pos);
      const keyAt = this.pos;
      const key = this.parseString();
      if (key === null) return null;
      if (obj.has(key)) return this.fail("duplicate member name \"" + key + "\" in object", keyAt);
      this.skipWhitespace();
      if (this.pos >= this.len || this.peek() != C_COLON) return this.fail("expected ':' after member name", this.pos);
      this.pos++;
      this.skipWhitespace();
      const v = this.parseValue(depth);
      if (!v) return null;
      obj.appendMember(key, v);
      this.skipWhitespace();
      if (this.pos >= this.len) return this.fail("unterminated object, expected ',' or '}'", this.pos);
      const c = this.peek();
      this.pos++;
      if (c == C_RBRACE) return obj;
      if (c != C_COMMA) return this.fail("expected ',' or '}' in object", this.pos - 1);
    }
  }
}

/**
 * Parses `len` UTF-8 bytes at `ptr` (raw linear memory, e.g. a hostcall result). The caller must
 * keep the memory alive: unmanaged memory, or a managed object it still references afterwards.
 */
export function parseJsonBytes(ptr: usize, len: i32): JsonResult {
  return parseOwned(ptr, len, null);
}

function parseOwned(ptr: usize, len: i32, owner: Object | null): JsonResult {
  const parser = new Parser(ptr, len, owner);
  const v = parser.parseDocument();
  if (v) return new JsonResult(v, "", 0);
  return new JsonResult(null, parser.error, parser.errorAt);
}

/** Parses a UTF-8 ArrayBuffer. */
export function parseJson(buf: ArrayBuffer): JsonResult {
  return parseOwned(changetype<usize>(buf), buf.byteLength, buf);
}

/** Parses the UTF-8 bytes viewed by a Uint8Array. */
export function parseJsonView(view: Uint8Array): JsonResult {
  return parseOwned(view.dataStart, view.byteLength, view);
}

/** Convenience: parses a string (offsets in errors are UTF-8 byte offsets). */
export function parseJsonString(s: string): JsonResult {
  return parseJson(String.UTF8.encode(s));
}
