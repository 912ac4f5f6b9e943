// HTTP/1.1 message heads (RFC 9112) parsed from their latin1 text, strictly, as Envoy's codec does by default: no
// obs-fold, CRLF line ends only, tokens for methods and field names, no control characters in values, one
// unambiguous message length (Content-Length and Transfer-Encoding together, differing Content-Lengths and codings
// other than chunked are refused: the request-smuggling cases). Portable.
import type { HeaderMap } from "../../wasm/host/index.js";

export interface MessageLength {
  /** Content-Length, or -1 when there is none. */
  contentLength: number;
  /** Transfer-Encoding: chunked (the last and only coding). */
  chunked: boolean;
}

export interface RequestHead extends MessageLength {
  method: string;
  /** The request target as sent (origin-form, absolute-form, authority-form or "*"). */
  target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: 0 | 1;
  /** Lower-case names, values with surrounding whitespace removed, in order; Host included. */
  headers: HeaderMap;
  /** The connection may carry another request after this one (HTTP/1.1 without close, HTTP/1.0 with keep-alive). */
  keepAlive: boolean;
  /** Expect: 100-continue. */
  expectContinue: boolean;
}

export interface ResponseHead extends MessageLength {
  status: number;
  minor: 0 | 1;
  headers: HeaderMap;
  keepAlive: boolean;
}

/** Why a head was refused, and the status a server answers with. */
export interface HeadError {
  error: string;
  status: 400 | 431 | 501 | 505;
}

export interface HeadLimits {
  /** At most this many header fields (Envoy's max_headers_count default: 100). */
  maxHeaders: number;
}

export const DEFAULT_HEAD_LIMITS: HeadLimits = { maxHeaders: 100 };

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A field value: visible characters, obs-text, spaces and tabs; nothing else (no CR, LF, NUL, other CTLs). */
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
/** A request target: no whitespace or control characters. */
const BAD_TARGET = /[\x00-\x20\x7f]/;
const DIGITS = /^\d{1,15}$/;

export function isToken(s: string): boolean {
  return TOKEN.test(s);
}

export function isFieldValue(s: string): boolean {
  return !BAD_VALUE.test(s);
}

/** `text`: the head without its final empty line (everything before CRLF CRLF). */
export function parseRequestHead(text: string, limits: HeadLimits = DEFAULT_HEAD_LIMITS): RequestHead | HeadError {
  const eol = text.indexOf("\r\n");
  const line = eol < 0 ? text : text.slice(0, eol);
  const sp1 = line.indexOf(" ");
  const sp2 = line.lastIndexOf(" ");
  if (sp1 <= 0 || sp2 === sp1) return bad(`malformed request line`);
  const method = line.slice(0, sp1);
  const target = line.slice(sp1 + 1, sp2);
  const version = line.slice(sp2 + 1);
  if (!TOKEN.test(method)) return bad("invalid method");
  if (target === "" || BAD_TARGET.test(target)) return bad("invalid request target");
  const minor = httpMinor(version);
  if (minor === undefined) return bad("malformed request line");
  if (minor < 0) return { error: `unsupported version ${version}`, status: 505 };
  const m = minor as 0 | 1;
  const fields = parseFields(text, eol, limits);
  if ("error" in fields) return fields;
  const { headers, length, connection } = fields;
  if (length.chunked && m === 0) return bad("transfer-encoding in an HTTP/1.0 request");
  let hosts = 0;
  let expectContinue = false;
  for (const [k, v] of headers) {
    if (k === "host") hosts++;
    else if (k === "expect" && v.toLowerCase() === "100-continue") expectContinue = true;
  }
  if (hosts > 1 || (hosts === 0 && m === 1)) return bad(hosts > 1 ? "more than one host header" : "missing host header");
  return { method, target, minor: m, headers, ...length, keepAlive: keepAlive(m, connection), expectContinue };
}

export function parseResponseHead(text: string, limits: HeadLimits = DEFAULT_HEAD_LIMITS): ResponseHead | HeadError {
  const eol = text.indexOf("\r\n");
  const line = eol < 0 ? text : text.slice(0, eol);
  // HTTP-version SP 3DIGIT SP [reason]; a missing reason's space is tolerated (common, harmless).
  const minor = httpMinor(line.slice(0, 8));
  if (minor === undefined || minor === -1 || line.charCodeAt(8) !== 32) return bad("malformed status line");
  const code = line.slice(9, 12);
  if (!/^[1-9]\d\d$/.test(code) || (line.length > 12 && line.charCodeAt(12) !== 32)) return bad("malformed status line");
  if (BAD_VALUE.test(line)) return bad("malformed status line");
  const fields = parseFields(text, eol, limits);
  if ("error" in fields) return fields;
  return { status: Number(code), minor, headers: fields.headers, ...fields.length, keepAlive: keepAlive(minor, fields.connection) };
}

/** 1 for HTTP/1.1, 0 for HTTP/1.0, -1 for another well-formed version, undefined for garbage. */
function httpMinor(v: string): 0 | 1 | -1 | undefined {
  if (v === "HTTP/1.1") return 1;
  if (v === "HTTP/1.0") return 0;
  return /^HTTP\/\d\.\d$/.test(v) ? -1 : undefined;
}

interface Fields {
  headers: HeaderMap;
  length: MessageLength;
  /** The Connection header's tokens, lower case. */
  connection: string;
}

function parseFields(text: string, eol: number, limits: HeadLimits): Fields | HeadError {
  const headers: HeaderMap = [];
  let contentLength = -1;
  let transferEncoding: string | undefined;
  let connection = "";
  let at = eol < 0 ? text.length : eol + 2;
  while (at < text.length) {
    let end = text.indexOf("\r\n", at);
    if (end < 0) end = text.length;
    const colon = text.indexOf(":", at);
    if (colon < 0 || colon > end) return bad(text.charCodeAt(at) === 32 || text.charCodeAt(at) === 9 ? "obsolete line folding" : "header line without a colon");
    const name = text.slice(at, colon);
    if (!TOKEN.test(name)) return bad(`invalid header name "${printable(name)}"`);
    const value = trimOws(text, colon + 1, end);
    if (BAD_VALUE.test(value)) return bad(`invalid value for header "${name}"`);
    if (headers.length === limits.maxHeaders) return { error: "too many headers", status: 431 };
    const k = lower(name);
    headers.push([k, value]);
    if (k === "content-length") {
      if (!DIGITS.test(value)) return bad("invalid content-length");
      const n = Number(value);
      if (contentLength >= 0 && contentLength !== n) return bad("conflicting content-length headers");
      contentLength = n;
    } else if (k === "transfer-encoding") transferEncoding = transferEncoding === undefined ? value : `${transferEncoding}, ${value}`;
    else if (k === "connection") connection = connection === "" ? value.toLowerCase() : `${connection}, ${value.toLowerCase()}`;
    at = end + 2;
  }
  let chunked = false;
  if (transferEncoding !== undefined) {
    const codings = tokenList(transferEncoding.toLowerCase());
    if (codings.length !== 1 || codings[0] !== "chunked") {
      return codings.length > 0 && codings[codings.length - 1] === "chunked"
        ? { error: `unsupported transfer-encoding "${transferEncoding}"`, status: 501 }
        : bad(`invalid transfer-encoding "${transferEncoding}"`);
    }
    if (contentLength >= 0) return bad("both content-length and transfer-encoding");
    chunked = true;
  }
  return { headers, length: { contentLength, chunked }, connection };
}

/** A comma-separated list's elements, without empty ones (RFC 9110 section 5.6.1). */
function tokenList(s: string): string[] {
  return s.split(",").map((t) => trimOws(t, 0, t.length)).filter((t) => t !== "");
}

/** text[from..to] without the optional whitespace around a field value: spaces and tabs only (not String.trim's set). */
export function trimOws(text: string, from: number, to: number): string {
  while (from < to && (text.charCodeAt(from) === 32 || text.charCodeAt(from) === 9)) from++;
  while (to > from && (text.charCodeAt(to - 1) === 32 || text.charCodeAt(to - 1) === 9)) to--;
  return text.slice(from, to);
}

function keepAlive(minor: 0 | 1, connection: string): boolean {
  if (connection === "") return minor === 1;
  if (connection === "keep-alive") return true;
  if (connection === "close") return false;
  const tokens = tokenList(connection);
  if (tokens.includes("close")) return false;
  return minor === 1 || tokens.includes("keep-alive");
}

// Header names are usually lower case already; toLowerCase on those returns the same string, but the test is cheaper.
function lower(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) return s.toLowerCase();
  }
  return s;
}

function printable(s: string): string {
  const cut = s.length > 40 ? `${s.slice(0, 40)}...` : s;
  return cut.replace(/[^\x20-\x7e]/g, "?");
}

function bad(error: string): HeadError {
  return { error, status: 400 };
}
