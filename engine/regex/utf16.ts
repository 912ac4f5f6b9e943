// Code-point access to AssemblyScript (UTF-16) strings. Unpaired surrogates decode as themselves,
// so every position a matcher stops at is a code-unit offset on a code-point boundary.

export const END_OF_TEXT: i32 = -1;

@inline
export function unitAt(s: string, i: i32): i32 {
  return <i32>load<u16>(changetype<usize>(s) + (<usize>i << 1));
}

/** Code point starting at code-unit offset i (requires 0 <= i < len). */
@inline
export function codePointAt(s: string, i: i32, len: i32): i32 {
  const hi = unitAt(s, i);
  if ((hi & 0xfc00) == 0xd800 && i + 1 < len) {
    const lo = unitAt(s, i + 1);
    if ((lo & 0xfc00) == 0xdc00) return 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
  }
  return hi;
}

/** Code point ending just before code-unit offset i, or END_OF_TEXT at the start. */
export function codePointBefore(s: string, i: i32): i32 {
  if (i <= 0) return END_OF_TEXT;
  const lo = unitAt(s, i - 1);
  if ((lo & 0xfc00) == 0xdc00 && i >= 2) {
    const hi = unitAt(s, i - 2);
    if ((hi & 0xfc00) == 0xd800) return 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
  }
  return lo;
}

/** Number of UTF-16 code units that encode code point c (0 for END_OF_TEXT). */
@inline
export function unitWidth(c: i32): i32 {
  return c < 0 ? 0 : c > 0xffff ? 2 : 1;
}

/** Growable UTF-16 buffer for building result strings without intermediate substrings. */
export class Utf16Builder {
  private buf: StaticArray<u16>;
  private len: i32 = 0;

  constructor(capacity: i32) {
    this.buf = new StaticArray<u16>(capacity < 16 ? 16 : capacity);
  }

  private reserve(extra: i32): void {
    const need = this.len + extra;
    if (need <= this.buf.length) return;
    let cap = this.buf.length << 1;
    if (cap < need) cap = need;
    const next = new StaticArray<u16>(cap);
    memory.copy(changetype<usize>(next), changetype<usize>(this.buf), <usize>this.len << 1);
    this.buf = next;
  }

  /** Append s[from, to) (code-unit offsets). */
  appendSlice(s: string, from: i32, to: i32): void {
    if (to <= from) return;
    this.reserve(to - from);
    memory.copy(
      changetype<usize>(this.buf) + (<usize>this.len << 1),
      changetype<usize>(s) + (<usize>from << 1),
      <usize>(to - from) << 1,
    );
    this.len += to - from;
  }

  appendUnit(u: i32): void {
    this.reserve(1);
    unchecked((this.buf[this.len++] = <u16>u));
  }

  toString(): string {
    return String.UTF16.decodeUnsafe(changetype<usize>(this.buf), <usize>this.len << 1);
  }
}
