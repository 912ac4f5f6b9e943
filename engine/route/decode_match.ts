// Decoding of `match` entries and Istio StringMatch objects.
import { JsonValue } from "../json/index";
import { HeaderMatcher, MatchEntry, QueryParamMatcher } from "./config";
import { Reader, joinPath } from "../json/reader";
import { compilePattern } from "./regex";
import { StringMatchKind, StringMatcher } from "./string_match";
import { asciiLower } from "./text";

const STRING_MATCH_FIELDS: string[] = ["exact", "prefix", "regex"];
const MATCH_FIELDS: string[] = [
  "name", "uri", "scheme", "method", "authority", "headers", "without_headers", "query_params",
  "ignore_uri_case", "port",
];

/** How an empty StringMatch (`{}`) is read where it appears. */
export enum EmptyMatch {
  /** Headers, query params, method, scheme, authority: "present" (Istio's present_match). */
  Present = 0,
  /** uri: no constraint at all (Envoy's default prefix "/"). */
  Absent = 1,
  /** allow_origins: not allowed. */
  Error = 2,
}

/** Decodes one StringMatch; null when absent, when `{}` means "no constraint", or on error.
 *  Regex "*" means "present" where `{}` does (Istio: `*` is not RE2, see istio/istio#20629). */
export function decodeStringMatch(d: Reader, v: JsonValue, path: string, empty: EmptyMatch): StringMatcher | null {
  if (!d.isObject(v, path) || !d.onlyKnown(v, path, STRING_MATCH_FIELDS)) return null;
  if (v.length == 0) {
    if (empty == EmptyMatch.Present) return new StringMatcher(StringMatchKind.Present, "");
    if (empty == EmptyMatch.Absent) return null;
    d.fail(path, "empty match: give one of exact, prefix, regex");
    return null;
  }
  if (v.length > 1) {
    d.fail(path, "give exactly one of exact, prefix, regex (got " + v.keyAt(0) + " and " + v.keyAt(1) + ")");
    return null;
  }
  const kind = v.keyAt(0);
  const value = d.string(v, kind, path);
  if (d.failed) return null;
  if (kind == "exact") return new StringMatcher(StringMatchKind.Exact, value);
  if (kind == "prefix") return new StringMatcher(StringMatchKind.Prefix, value);
  if (value == "*" && empty == EmptyMatch.Present) return new StringMatcher(StringMatchKind.Present, "");
  const compiled = compilePattern(value);
  if (!compiled.regex) {
    d.fail(joinPath(path, "regex"), compiled.error);
    return null;
  }
  return new StringMatcher(StringMatchKind.Regex, value, compiled.regex);
}

function decodeOptionalMatch(d: Reader, obj: JsonValue, key: string, path: string, empty: EmptyMatch): StringMatcher | null {
  const v = d.member(obj, key);
  return v ? decodeStringMatch(d, v, joinPath(path, key), empty) : null;
}

function decodeHeaderMatchers(d: Reader, obj: JsonValue, key: string, path: string, invert: bool, out: HeaderMatcher[]): void {
  const map = d.object(obj, key, path);
  if (!map) return;
  const mapPath = joinPath(path, key);
  for (let i = 0, n = map.length; i < n; i++) {
    const name = map.keyAt(i);
    const fieldPath = joinPath(mapPath, name);
    if (name.length == 0) {
      d.fail(fieldPath, "header name must not be empty");
      return;
    }
    const m = decodeStringMatch(d, map.at(i)!, fieldPath, EmptyMatch.Present);
    if (!m) return;
    out.push(new HeaderMatcher(asciiLower(name), m, invert));
  }
}

function decodeQueryParamMatchers(d: Reader, obj: JsonValue, path: string, out: QueryParamMatcher[]): void {
  const map = d.object(obj, "query_params", path);
  if (!map) return;
  const mapPath = joinPath(path, "query_params");
  for (let i = 0, n = map.length; i < n; i++) {
    const name = map.keyAt(i);
    const fieldPath = joinPath(mapPath, name);
    if (name.length == 0) {
      d.fail(fieldPath, "query parameter name must not be empty");
      return;
    }
    const m = decodeStringMatch(d, map.at(i)!, fieldPath, EmptyMatch.Present);
    if (!m) return;
    out.push(new QueryParamMatcher(name, m));
  }
}

/** Decodes one `match` entry; `routeName` is the enclosing route's name. */
export function decodeMatchEntry(d: Reader, v: JsonValue, path: string, routeName: string): MatchEntry | null {
  if (!d.isObject(v, path) || !d.onlyKnown(v, path, MATCH_FIELDS)) return null;
  const m = new MatchEntry();
  const name = d.string(v, "name", path);
  m.routeName = name.length ? routeName + "." + name : routeName;
  m.uri = decodeOptionalMatch(d, v, "uri", path, EmptyMatch.Absent);
  m.ignoreUriCase = d.bool(v, "ignore_uri_case", path);
  const uri = m.uri;
  if (uri && uri.kind != StringMatchKind.Regex) m.uriLower = m.ignoreUriCase ? asciiLower(uri.value) : uri.value;
  m.scheme = decodeOptionalMatch(d, v, "scheme", path, EmptyMatch.Present);
  m.method = decodeOptionalMatch(d, v, "method", path, EmptyMatch.Present);
  m.authority = decodeOptionalMatch(d, v, "authority", path, EmptyMatch.Present);
  decodeHeaderMatchers(d, v, "headers", path, false, m.headers);
  decodeHeaderMatchers(d, v, "without_headers", path, true, m.headers);
  decodeQueryParamMatchers(d, v, path, m.queryParams);
  m.port = <i32>d.integer(v, "port", path, 0, 1, 65535);
  return d.failed ? null : m;
}

/** Decodes a route's `match` list; an absent or empty list is one catch-all entry. */
export function decodeMatchList(d: Reader, route: JsonValue, path: string, routeName: string): MatchEntry[] {
  const out: MatchEntry[] = [];
  const items = d.array(route, "match", path);
  if (!items || items.length == 0) {
    if (!d.failed) {
      const all = new MatchEntry();
      all.routeName = routeName;
      out.push(all);
    }
    return out;
  }
  for (let i = 0; i < items.length; i++) {
    const m = decodeMatchEntry(d, unchecked(items[i]), joinPath(path, "match") + "[" + i.toString() + "]", routeName);
    if (!m) return out;
    out.push(m);
  }
  return out;
}
