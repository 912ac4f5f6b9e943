// HTTP/1.1 absolute-form request targets (`GET http://host:port/path HTTP/1.1`, what clients send to an HTTP proxy):
// as Envoy's HTTP/1 codec does (allow_absolute_url), the target's authority becomes :authority — over any Host
// header — and its path and query become :path. Portable.

/** The authority and path of an absolute-form target; undefined for origin-form ("/path") and anything else. */
export function splitAbsoluteForm(target: string): { authority: string; path: string } | undefined {
  const m = /^[hH][tT][tT][pP][sS]?:\/\/([^/?#]*)([^#]*)/.exec(target);
  if (!m) return undefined;
  const authority = m[1]!.slice(m[1]!.lastIndexOf("@") + 1);
  if (authority === "") return undefined;
  const rest = m[2]!;
  return { authority, path: rest === "" ? "/" : rest.startsWith("/") ? rest : `/${rest}` };
}
