// The URL parsing behind the Kubernetes CEL library's `url()`/`isURL()`: Go's url.ParseRequestURI, which accepts
// an absolute URI or an absolute path (no fragments, no relative references).

export interface ParsedURL {
  scheme: string;
  /** host[:port] as written (IPv6 literals keep their brackets). */
  host: string;
  /** host without port or brackets. */
  hostname: string;
  port: string;
  /** Path as written (still escaped). */
  escapedPath: string;
  rawQuery: string;
  opaque: string;
}

export class URLParseError extends Error {}

function fail(raw: string, why: string): never {
  throw new URLParseError(`parse ${JSON.stringify(raw)}: ${why}`);
}

export function parseRequestURI(raw: string): ParsedURL {
  if (/[\x00-\x1f\x7f]/.test(raw)) fail(raw, "net/url: invalid control character in URL");
  if (raw === "") fail(raw, "empty url");
  let rest = raw;
  let scheme = "";
  const s = splitScheme(raw);
  scheme = s.scheme.toLowerCase();
  rest = s.rest;
  let rawQuery = "";
  if (rest.endsWith("?") && rest.indexOf("?") === rest.length - 1) rest = rest.slice(0, -1);
  else {
    const q = rest.indexOf("?");
    if (q >= 0) {
      rawQuery = rest.slice(q + 1);
      rest = rest.slice(0, q);
    }
  }
  const empty = { host: "", hostname: "", port: "", escapedPath: "", rawQuery, opaque: "" };
  if (!rest.startsWith("/")) {
    if (scheme !== "") return { scheme, ...empty, opaque: rest };
    fail(raw, "invalid URI for request");
  }
  let host = "";
  let hostname = "";
  let port = "";
  if (scheme !== "" && rest.startsWith("//")) {
    const afterSlashes = rest.slice(2);
    const slash = afterSlashes.indexOf("/");
    const authority = slash < 0 ? afterSlashes : afterSlashes.slice(0, slash);
    rest = slash < 0 ? "" : afterSlashes.slice(slash);
    ({ host, hostname, port } = parseAuthority(raw, authority));
  } else if (scheme === "" && rest.startsWith("//")) {
    fail(raw, "invalid URI for request");
  }
  checkEscapes(raw, rest);
  return { scheme, host, hostname, port, escapedPath: rest, rawQuery, opaque: "" };
}

function splitScheme(raw: string): { scheme: string; rest: string } {
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (/[a-zA-Z]/.test(c)) continue;
    if (/[0-9+.-]/.test(c)) {
      if (i === 0) return { scheme: "", rest: raw };
      continue;
    }
    if (c === ":") {
      if (i === 0) fail(raw, "missing protocol scheme");
      return { scheme: raw.slice(0, i), rest: raw.slice(i + 1) };
    }
    return { scheme: "", rest: raw };
  }
  return { scheme: "", rest: raw };
}

// RFC 3986 userinfo: unreserved, sub-delims, ':' and percent-escapes.
const USERINFO = /^[A-Za-z0-9\-._~!$&'()*+,;=:%@]*$/;
// Characters Go accepts unescaped in a host (a reg-name plus the sub-delims it tolerates).
const HOST_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:[\]<>"%]*$/;

function parseAuthority(raw: string, authority: string): { host: string; hostname: string; port: string } {
  const at = authority.lastIndexOf("@");
  let host = authority;
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    if (!USERINFO.test(userinfo)) fail(raw, "net/url: invalid userinfo");
    host = authority.slice(at + 1);
  }
  let hostname = host;
  let port = "";
  if (host.startsWith("[")) {
    const close = host.indexOf("]");
    if (close < 0) fail(raw, `missing ']' in host`);
    const after = host.slice(close + 1);
    if (after !== "" && !/^:\d*$/.test(after)) fail(raw, `invalid port ${JSON.stringify(after)} after host`);
    hostname = host.slice(1, close);
    port = after.slice(1);
  } else {
    const colon = host.lastIndexOf(":");
    if (colon >= 0) {
      const p = host.slice(colon);
      if (!/^:\d*$/.test(p)) fail(raw, `invalid port ${JSON.stringify(p)} after host`);
      hostname = host.slice(0, colon);
      port = p.slice(1);
    }
    if (!HOST_CHARS.test(hostname)) fail(raw, `invalid character in host name`);
  }
  checkEscapes(raw, host);
  return { host, hostname, port };
}

function checkEscapes(raw: string, s: string): void {
  for (let i = s.indexOf("%"); i >= 0; i = s.indexOf("%", i + 1)) {
    if (!/^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) fail(raw, `invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`);
  }
}
