// UTF-8 helpers tuned for short, mostly-ASCII strings (header names and values).
// ASCII takes a plain loop; anything else goes through TextEncoder.encodeInto / TextDecoder.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Strings longer than this go straight to TextEncoder.encodeInto (native); shorter ones are cheaper in JS. */
const NATIVE_FROM = 40;
let measureBuf = new Uint8Array(1024);

function measureNative(s: string): number {
  if (measureBuf.length < s.length * 3) measureBuf = new Uint8Array(s.length * 3);
  return encoder.encodeInto(s, measureBuf).written;
}

/** Number of bytes `s` takes in UTF-8 (lone surrogates count as U+FFFD, 3 bytes, like TextEncoder). */
export function utf8Length(s: string): number {
  if (s.length > NATIVE_FROM) return measureNative(s);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}


/** Writes `s` at dst[pos..]; dst must have room (utf8Length, or 3 bytes per UTF-16 unit). Returns the end. */
export function writeUtf8(s: string, dst: Uint8Array, pos: number): number {
  const len = s.length;
  if (len > NATIVE_FROM) return pos + encoder.encodeInto(s, dst.subarray(pos)).written;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return pos - i + encoder.encodeInto(s, dst.subarray(pos - i)).written;
    dst[pos++] = c;
  }
  return pos;
}

export function encodeUtf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Decodes src[start..end) as UTF-8 (invalid sequences become U+FFFD). */
export function readUtf8(src: Uint8Array, start: number, end: number): string {
  if (end - start <= 64) {
    let s = "";
    for (let i = start; i < end; i++) {
      const c = src[i];
      if (c >= 0x80) return decoder.decode(src.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return decoder.decode(src.subarray(start, end));
}
