// Upstream path rewriting, as Envoy does it for Istio's rewrite.uri (prefix_rewrite) and
// rewrite.uriRegexRewrite (regex_rewrite). The query string is always kept.
import { MatchEntry, RewriteAction } from "./config";
import { Request } from "./request";
import { StringMatchKind } from "./string_match";

/** The rewritten :path, or null when this rewrite leaves the path alone. */
export function rewritePath(rw: RewriteAction, entry: MatchEntry, req: Request): string | null {
  const regex = rw.uriRegex;
  if (regex) {
    const rest = req.pathEnd < req.path.length ? req.path.substring(req.pathEnd) : "";
    return regex.replaceAll(req.pathWithoutQuery(), rw.uriRegexSubstitution) + rest;
  }
  if (rw.uri.length == 0) return null;
  return rw.uri + req.path.substring(matchedLength(entry, req));
}

/** Length of the part of :path that prefix_rewrite replaces: the matched prefix for prefix
 *  matches, the whole path (without query) for exact and regex matches, and "/" (Envoy's
 *  implicit prefix) when the entry has no uri match. */
function matchedLength(entry: MatchEntry, req: Request): i32 {
  const uri = entry.uri;
  if (uri) {
    if (uri.kind == StringMatchKind.Prefix) return uri.value.length;
    if (uri.kind == StringMatchKind.Exact || uri.kind == StringMatchKind.Regex) return req.pathEnd;
  }
  return req.path.length > 0 && req.path.charCodeAt(0) == 0x2f ? 1 : 0;
}
