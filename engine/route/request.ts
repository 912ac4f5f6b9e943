// The request as the route engine sees it. Derived views (path without query, query parameters,
// joined header values) are computed lazily, once per request, and only if a route needs them.
import { indexOrEnd } from "./text";

const QUESTION: i32 = 0x3f;
const HASH: i32 = 0x23;
const AMP: i32 = 0x26;
const EQUALS: i32 = 0x3d;

export class Request {
  /** Header names must be lower-case; values as received. Flattened: name0, value0, name1, ... */
  readonly headers: string[] = [];
  method: string = "GET";
  scheme: string = "http";
  /** Host with optional port, as in the :authority / Host header. */
  authority: string = "";
  /** :path including any query string. */
  path: string = "/";
  /** Destination (listener) port, 0 if unknown. */
  port: i32 = 0;
  /** End of the path portion of `path` (index of '?' or '#', else its length). */
  pathEnd: i32 = 1;
  private pathOnly: string | null = null;
  private query: string[] | null = null;

  constructor(method: string, scheme: string, authority: string, path: string, port: i32 = 0) {
    this.reset(method, scheme, authority, path, port);
  }

  /** Reuses this object for another request (headers cleared, capacity kept): a filter can keep
   *  one Request and avoid allocating per request. */
  reset(method: string, scheme: string, authority: string, path: string, port: i32 = 0): Request {
    this.method = method;
    this.scheme = scheme;
    this.authority = authority;
    this.path = path;
    this.port = port;
    this.headers.length = 0;
    this.pathOnly = null;
    this.query = null;
    let end = 0;
    const n = path.length;
    while (end < n) {
      const c = path.charCodeAt(end);
      if (c == QUESTION || c == HASH) break;
      end++;
    }
    this.pathEnd = end;
    return this;
  }

  addHeader(lowerName: string, value: string): Request {
    this.headers.push(lowerName);
    this.headers.push(value);
    return this;
  }

  /** Header value; repeated headers are joined with "," (as Envoy's header matching does);
   *  pseudo-headers :method, :scheme, :authority, :path come from the request line. */
  header(name: string): string | null {
    if (name.length > 0 && name.charCodeAt(0) == 0x3a) return this.pseudoHeader(name);
    const h = this.headers;
    let found: string | null = null;
    for (let i = 0, n = h.length; i + 1 < n; i += 2) {
      if (unchecked(h[i]) == name) {
        const v = unchecked(h[i + 1]);
        found = found === null ? v : found + "," + v;
      }
    }
    return found;
  }

  private pseudoHeader(name: string): string | null {
    if (name == ":method") return this.method;
    if (name == ":scheme") return this.scheme;
    if (name == ":authority") return this.authority;
    if (name == ":path") return this.path;
    return null;
  }

  /** The path without query string or fragment (what exact and regex uri matches see). */
  pathWithoutQuery(): string {
    const cached = this.pathOnly;
    if (cached !== null) return cached;
    const p = this.pathEnd == this.path.length ? this.path : this.path.substring(0, this.pathEnd);
    this.pathOnly = p;
    return p;
  }

  /** "?a=b..." (up to any fragment), or "" when the path has no query. */
  queryString(): string {
    const path = this.path;
    const q = indexOrEnd(path, QUESTION, 0);
    if (q == path.length) return "";
    return path.substring(q, indexOrEnd(path, HASH, q));
  }

  /** First value of query parameter `name` (not URL-decoded, like Envoy), or null when absent.
   *  A parameter without '=' is present with the empty value. */
  queryParam(name: string): string | null {
    let q: string[];
    const cached = this.query;
    if (cached !== null) q = cached;
    else {
      q = parseQuery(this.path);
      this.query = q;
    }
    for (let i = 0, n = q.length; i + 1 < n; i += 2) {
      if (unchecked(q[i]) == name) return unchecked(q[i + 1]);
    }
    return null;
  }
}

function parseQuery(path: string): string[] {
  const out: string[] = [];
  const n = path.length;
  const q = indexOrEnd(path, QUESTION, 0);
  if (q == n) return out;
  const end = indexOrEnd(path, HASH, q);
  let start = q + 1;
  while (start < end) {
    let amp = indexOrEnd(path, AMP, start);
    if (amp > end) amp = end;
    if (amp > start) {
      let eq = indexOrEnd(path, EQUALS, start);
      if (eq >= amp) {
        out.push(path.substring(start, amp));
        out.push("");
      } else {
        out.push(path.substring(start, eq));
        out.push(path.substring(eq + 1, amp));
      }
    }
    start = amp + 1;
  }
  return out;
}
