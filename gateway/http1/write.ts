// HTTP/1.1 message heads as latin1 text, framing headers set by the codec (Content-Length, Transfer-Encoding,
// Connection) rather than copied from the message. Header names and values are checked as they are written: a
// value with CR or LF would split the message. Portable.
import type { HeaderMap } from "../../wasm/host/index.js";
import { isFieldValue, isToken } from "./head.js";

export interface Framing {
  /** -1: none (a streamed body without a length, or no body at all). */
  contentLength: number;
  chunked?: boolean;
  /** A Connection header to send ("close", "keep-alive"); undefined: none. */
  connection?: string | undefined;
}

/** Headers the codec writes itself; the message's own are dropped. */
const FRAMING = new Set(["content-length", "transfer-encoding", "connection", "keep-alive"]);

const REASONS: Record<number, string> = {
  100: "Continue", 101: "Switching Protocols", 200: "OK", 201: "Created", 202: "Accepted", 203: "Non-Authoritative Information",
  204: "No Content", 205: "Reset Content", 206: "Partial Content", 300: "Multiple Choices", 301: "Moved Permanently", 302: "Found",
  303: "See Other", 304: "Not Modified", 307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request", 401: "Unauthorized",
  402: "Payment Required", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable", 407: "Proxy Authentication Required",
  408: "Request Timeout", 409: "Conflict", 410: "Gone", 411: "Length Required", 412: "Precondition Failed", 413: "Payload Too Large",
  414: "URI Too Long", 415: "Unsupported Media Type", 416: "Range Not Satisfiable", 417: "Expectation Failed", 421: "Misdirected Request",
  422: "Unprocessable Entity", 425: "Too Early", 426: "Upgrade Required", 428: "Precondition Required", 429: "Too Many Requests",
  431: "Request Header Fields Too Large", 500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
  504: "Gateway Timeout", 505: "HTTP Version Not Supported",
};

let dateSecond = -1;
let dateValue = "";

/** The current time as an HTTP-date, computed once per second. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateValue = new Date(second * 1000).toUTCString();
  }
  return dateValue;
}

/** A status line and headers, ending with the empty line; undefined when a header cannot be sent. A Date is added when there is none. */
export function responseHead(status: number, headers: HeaderMap, framing: Framing): string | undefined {
  let head = `HTTP/1.1 ${status} ${REASONS[status] ?? "Unknown"}\r\n`;
  let date = false;
  for (const [k, v] of headers) {
    if (k.charCodeAt(0) === 58 /* ":" */ || FRAMING.has(k)) continue;
    if (!isToken(k) || !isFieldValue(v)) return undefined;
    if (k === "date") date = true;
    head += `${k}: ${v}\r\n`;
  }
  if (!date) head += `date: ${httpDate()}\r\n`;
  return head + framingLines(framing) + "\r\n";
}

/** A request line and headers (Host among them, as given), ending with the empty line; undefined when a header cannot be sent. */
export function requestHead(method: string, path: string, headers: HeaderMap, framing: Framing): string | undefined {
  if (!isToken(method) || path === "" || /[\x00-\x20\x7f]/.test(path)) return undefined;
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (const [k, v] of headers) {
    if (k.charCodeAt(0) === 58 || FRAMING.has(k)) continue;
    if (!isToken(k) || !isFieldValue(v)) return undefined;
    head += `${k}: ${v}\r\n`;
  }
  return head + framingLines(framing) + "\r\n";
}

function framingLines({ contentLength, chunked, connection }: Framing): string {
  let s = "";
  if (contentLength >= 0) s += `content-length: ${contentLength}\r\n`;
  else if (chunked) s += "transfer-encoding: chunked\r\n";
  if (connection !== undefined) s += `connection: ${connection}\r\n`;
  return s;
}
