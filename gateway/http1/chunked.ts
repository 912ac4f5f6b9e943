// The chunked transfer coding (RFC 9112 section 7.1), decoded incrementally from whatever pieces the connection
// delivers: data comes out as views of the input (no copy), the trailer section as a header list. Strict as the
// head parser: CRLF only, hex sizes, extensions skipped, trailer fields checked like header fields. Portable.
import type { HeaderMap } from "../../wasm/host/index.js";
import { isFieldValue, isToken, trimOws } from "./head.js";

const enum State {
  Size,
  Extension,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  Trailer,
  Done,
}

/** Longest chunk-size line and trailer section accepted (bytes). */
const MAX_LINE = 4096;
const MAX_TRAILERS = 60 * 1024;

export interface ChunkedSink {
  data(chunk: Uint8Array): void;
  /** The last chunk and the trailer section arrived. */
  end(trailers: HeaderMap): void;
}

export class ChunkedDecoder {
  private state = State.Size;
  private size = 0;
  private digits = 0;
  private lineBytes = 0;
  private trailerText = "";

  constructor(private readonly sink: ChunkedSink) {}

  get done(): boolean {
    return this.state === State.Done;
  }

  /**
   * Decodes `buf[from..]`. Returns the index where this message's body ended (bytes after it belong to the next
   * message) or -1 when all of it was consumed and more is expected; throws a one-line Error on malformed input.
   */
  write(buf: Uint8Array, from = 0): number {
    let i = from;
    const n = buf.length;
    while (i < n) {
      switch (this.state) {
        case State.Size: {
          const c = buf[i]!;
          const v = hexValue(c);
          if (v >= 0) {
            if (++this.digits > 13) throw new Error("chunk size too large");
            this.size = this.size * 16 + v;
            i++;
          } else if (this.digits === 0) throw new Error("invalid chunk size");
          else if (c === 13) {
            this.state = State.SizeLf;
            i++;
          } else if (c === 59 /* ; */ || c === 32 || c === 9) {
            this.state = State.Extension;
            this.lineBytes = 0;
            i++;
          } else throw new Error("invalid chunk size");
          break;
        }
        case State.Extension: {
          const c = buf[i]!;
          if (c === 13) this.state = State.SizeLf;
          else if (c === 10 || (c < 32 && c !== 9) || c === 127) throw new Error("invalid chunk extension");
          else if (++this.lineBytes > MAX_LINE) throw new Error("chunk extension too long");
          i++;
          break;
        }
        case State.SizeLf:
          if (buf[i] !== 10) throw new Error("chunk size line not ended by CRLF");
          i++;
          this.digits = 0;
          if (this.size === 0) {
            this.state = State.Trailer;
            this.trailerText = "";
          } else this.state = State.Data;
          break;
        case State.Data: {
          const take = Math.min(this.size, n - i);
          this.sink.data(buf.subarray(i, i + take));
          this.size -= take;
          i += take;
          if (this.size === 0) this.state = State.DataCr;
          break;
        }
        case State.DataCr:
          if (buf[i] !== 13) throw new Error("chunk data not followed by CRLF");
          this.state = State.DataLf;
          i++;
          break;
        case State.DataLf:
          if (buf[i] !== 10) throw new Error("chunk data not followed by CRLF");
          this.state = State.Size;
          i++;
          break;
        case State.Trailer: {
          // Collected as latin1 text until the empty line that ends the section.
          const before = this.trailerText.length;
          let j = i;
          while (j < n) {
            const c = buf[j]!;
            j++;
            const t = (this.trailerText += String.fromCharCode(c));
            if (c === 10 && (t.length < 2 || t.charCodeAt(t.length - 2) !== 13)) throw new Error("trailer line not ended by CRLF");
            if (c === 10 && t.length >= 2 && t.charCodeAt(t.length - 2) === 13 && (t.length === 2 || t.endsWith("\r\n\r\n"))) {
              this.state = State.Done;
              this.sink.end(parseTrailers(t));
              return j;
            }
          }
          if (this.trailerText.length > MAX_TRAILERS) throw new Error("trailer section too large");
          i += this.trailerText.length - before;
          break;
        }
        case State.Done:
          return i;
      }
    }
    return this.state === State.Done ? i : -1;
  }
}

function parseTrailers(text: string): HeaderMap {
  const out: HeaderMap = [];
  for (const line of text.split("\r\n")) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon) : "";
    if (!isToken(name)) throw new Error("invalid trailer field");
    const value = trimOws(line, colon + 1, line.length);
    if (!isFieldValue(value)) throw new Error(`invalid value for trailer "${name}"`);
    out.push([name.toLowerCase(), value]);
  }
  return out;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}
