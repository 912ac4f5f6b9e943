// Does a request satisfy one `match` entry? Every field present must hold (AND).
import { HeaderMatcher, MatchEntry, QueryParamMatcher } from "./config";
import { Request } from "./request";
import { StringMatchKind, StringMatcher } from "./string_match";
import { regionEquals, regionEqualsIgnoreCase } from "./text";

export function matchesEntry(m: MatchEntry, req: Request): bool {
  if (m.port != 0 && m.port != req.port) return false;
  const uri = m.uri;
  if (uri && !matchesUri(m, uri, req)) return false;
  const method = m.method;
  if (method && !method.matches(req.method)) return false;
  const scheme = m.scheme;
  if (scheme && !scheme.matches(req.scheme)) return false;
  const authority = m.authority;
  if (authority && !authority.matches(req.authority)) return false;
  const headers = m.headers;
  for (let i = 0, n = headers.length; i < n; i++) {
    if (!matchesHeader(unchecked(headers[i]), req)) return false;
  }
  const params = m.queryParams;
  for (let i = 0, n = params.length; i < n; i++) {
    if (!matchesQueryParam(unchecked(params[i]), req)) return false;
  }
  return true;
}

/** exact: the path without query; prefix: the start of the full :path (as Envoy); regex: RE2 full
 *  match of the path without query, never case-folded. */
function matchesUri(m: MatchEntry, uri: StringMatcher, req: Request): bool {
  switch (uri.kind) {
    case StringMatchKind.Exact: {
      const p = m.uriLower;
      if (req.pathEnd != p.length) return false;
      return m.ignoreUriCase ? regionEqualsIgnoreCase(req.path, 0, p) : regionEquals(req.path, 0, p);
    }
    case StringMatchKind.Prefix: {
      const p = m.uriLower;
      return m.ignoreUriCase ? regionEqualsIgnoreCase(req.path, 0, p) : regionEquals(req.path, 0, p);
    }
    case StringMatchKind.Regex:
      return uri.regex!.fullMatch(req.pathWithoutQuery());
    default:
      return true;
  }
}

/** headers: a missing header never matches. without_headers (invert): the presence form is
 *  "header absent"; other forms treat a missing header as "" and invert the result (Envoy's
 *  invert_match + treat_missing_header_as_empty, as Istio configures it). */
function matchesHeader(h: HeaderMatcher, req: Request): bool {
  const value = req.header(h.name);
  let result: bool;
  if (h.matcher.isPresent) {
    result = value !== null;
  } else if (value === null) {
    result = h.invert ? h.matcher.matches("") : false;
  } else {
    result = h.matcher.matches(value);
  }
  return h.invert ? !result : result;
}

function matchesQueryParam(q: QueryParamMatcher, req: Request): bool {
  const value = req.queryParam(q.name);
  if (value === null) return false;
  return q.matcher.matches(value);
}
