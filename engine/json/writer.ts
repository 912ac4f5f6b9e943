// Builds JSON text. Strings are escaped per RFC 8259; lone surrogates are written as \u escapes
// so the output is always valid UTF-8 once encoded.
import { JsonKind, JsonValue } from "./value";

const HEX = "0123456789abcdef";

function needsEscape(c: u32): bool {
  return c < 0x20 || c == 0x22 || c == 0x5c || (c & 0xf800) == 0xd800;
}

function escapeUnit(c: u32): string {
  switch (c) {
    case 0x22: return "\\\"";
    case 0x5c: return "\\\\";
    case 0x08: return "\\b";
    case 0x0c: return "\\f";
    case 0x0a: return "\\n";
    case 0x0d: return "\\r";
    case 0x09: return "\\t";
  }
  return "\\u" + HEX.charAt((c >> 12) & 15) + HEX.charAt((c >> 8) & 15) + HEX.charAt((c >> 4) & 15) + HEX.charAt(c & 15);
}

/** Appends the quoted, escaped form of `s` to `parts`. */
function pushQuoted(parts: string[], s: string): void {
  parts.push("\"");
  const n = s.length;
  let runStart = 0;
  for (let i = 0; i < n; i++) {
    const c = <u32>s.charCodeAt(i);
    if (!needsEscape(c)) continue;
    // A well-formed surrogate pair is ordinary text.
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < n && (<u32>s.charCodeAt(i + 1) & 0xfc00) == 0xdc00) {
      i++;
      continue;
    }
    if (i > runStart) parts.push(s.substring(runStart, i));
    parts.push(escapeUnit(c));
    runStart = i + 1;
  }
  if (runStart == 0) parts.push(s);
  else if (runStart < n) parts.push(s.substring(runStart));
  parts.push("\"");
}

/** The JSON string literal for `s`, quotes included. */
export function quoteJsonString(s: string): string {
  const parts: string[] = [];
  pushQuoted(parts, s);
  return parts.join("");
}

/** JSON text for a number: integers without a fraction, non-finite values as null. */
export function formatJsonNumber(n: f64): string {
  if (!isFinite(n)) return "null";
  if (n == Math.trunc(n) && Math.abs(n) < 9.2e18) return (<i64>n).toString();
  const s = n.toString();
  // The runtime prints large integral values as "123...0.0"; JSON (and JS) print them bare.
  return s.endsWith(".0") ? s.substring(0, s.length - 2) : s;
}

export class JsonWriter {
  private parts: string[] = [];
  // One flag per open container: has it got a member/element yet?
  private hasItem: bool[] = [false];
  private afterKey: bool = false;

  private separate(): void {
    if (this.afterKey) {
      this.afterKey = false;
      return;
    }
    const top = this.hasItem.length - 1;
    if (unchecked(this.hasItem[top])) this.parts.push(",");
    else unchecked((this.hasItem[top] = true));
  }

  beginObject(): JsonWriter {
    this.separate();
    this.parts.push("{");
    this.hasItem.push(false);
    return this;
  }

  endObject(): JsonWriter {
    this.hasItem.pop();
    this.parts.push("}");
    return this;
  }

  beginArray(): JsonWriter {
    this.separate();
    this.parts.push("[");
    this.hasItem.push(false);
    return this;
  }

  endArray(): JsonWriter {
    this.hasItem.pop();
    this.parts.push("]");
    return this;
  }

  /** Member name inside an object; the next value call writes its value. */
  key(k: string): JsonWriter {
    this.separate();
    pushQuoted(this.parts, k);
    this.parts.push(":");
    this.afterKey = true;
    return this;
  }

  string(s: string): JsonWriter {
    this.separate();
    pushQuoted(this.parts, s);
    return this;
  }

  number(n: f64): JsonWriter {
    this.separate();
    this.parts.push(formatJsonNumber(n));
    return this;
  }

  integer(n: i64): JsonWriter {
    this.separate();
    this.parts.push(n.toString());
    return this;
  }

  bool(b: bool): JsonWriter {
    this.separate();
    this.parts.push(b ? "true" : "false");
    return this;
  }

  nullValue(): JsonWriter {
    this.separate();
    this.parts.push("null");
    return this;
  }

  /** Writes already-serialized JSON text as one value (not validated). */
  raw(json: string): JsonWriter {
    this.separate();
    this.parts.push(json);
    return this;
  }

  value(v: JsonValue): JsonWriter {
    switch (v.kind) {
      case JsonKind.Null: return this.nullValue();
      case JsonKind.Bool: return this.bool(v.boolValue);
      case JsonKind.Number: return this.number(v.numberValue);
      case JsonKind.String: return this.string(v.stringValue);
      case JsonKind.Array: {
        this.beginArray();
        const items = v.items!;
        for (let i = 0, n = items.length; i < n; i++) this.value(unchecked(items[i]));
        return this.endArray();
      }
      default: {
        this.beginObject();
        const keys = v.keys!;
        const items = v.items!;
        for (let i = 0, n = keys.length; i < n; i++) {
          this.key(unchecked(keys[i]));
          this.value(unchecked(items[i]));
        }
        return this.endObject();
      }
    }
  }

  toString(): string {
    return this.parts.join("");
  }

  /** The text as UTF-8 bytes (what hostcalls and local responses want). */
  toUTF8(): ArrayBuffer {
    return String.UTF8.encode(this.toString());
  }
}

/** Compact JSON text for a tree (object members in their stored order). */
export function stringifyJson(v: JsonValue): string {
  return new JsonWriter().value(v).toString();
}
