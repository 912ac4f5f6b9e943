// Route table: virtual host selection by :authority (Envoy's domain order) and first-match route by path. Portable.
import type { HeaderMap } from "../wasm/host/index.js";
import type { RouteConfig, RouteTableConfig, VirtualHostConfig } from "./bootstrap/types.js";

export interface RouteMatch {
  virtualHost: VirtualHostConfig;
  route: RouteConfig;
}

/** What the router resolves routes with: one table (route_config / rds) or scoped routes (gateway/scoped-routes.ts). */
export interface RouteResolver {
  /** The route for the request headers as they are at this call. */
  matchHeaders(headers: HeaderMap): RouteMatch | undefined;
  /** Scoped routes: the scope key header, removed before the request goes upstream. */
  readonly scopeHeader?: string;
}

interface Wildcard {
  part: string;
  vhost: VirtualHostConfig;
}

export class RouteTable implements RouteResolver {
  private readonly exact = new Map<string, VirtualHostConfig>();
  private readonly suffixes: Wildcard[] = []; // "*.foo.com": the part after "*"
  private readonly prefixes: Wildcard[] = []; // "foo.*", "foo:*": the part before "*"
  private readonly any: VirtualHostConfig | undefined;

  constructor(readonly config: RouteTableConfig) {
    let any: VirtualHostConfig | undefined;
    for (const vh of config.virtualHosts) {
      for (const raw of vh.domains) {
        const d = raw.toLowerCase();
        if (d === "*") any = vh;
        else if (d.startsWith("*")) this.suffixes.push({ part: d.slice(1), vhost: vh });
        else if (d.endsWith("*")) this.prefixes.push({ part: d.slice(0, -1), vhost: vh });
        else this.exact.set(d, vh);
      }
    }
    this.any = any;
    // Longest wildcard wins.
    this.suffixes.sort((a, b) => b.part.length - a.part.length);
    this.prefixes.sort((a, b) => b.part.length - a.part.length);
  }

  virtualHost(authority: string): VirtualHostConfig | undefined {
    const host = authority.toLowerCase();
    const exact = this.exact.get(host);
    if (exact) return exact;
    // The wildcard never matches the empty string.
    for (const w of this.suffixes) if (host.length > w.part.length && host.endsWith(w.part)) return w.vhost;
    for (const w of this.prefixes) if (host.length > w.part.length && host.startsWith(w.part)) return w.vhost;
    return this.any;
  }

  matchHeaders(headers: HeaderMap): RouteMatch | undefined {
    let authority = "";
    let path = "/";
    for (const [k, v] of headers) {
      if (k === ":authority") authority = v;
      else if (k === ":path") path = v;
    }
    return this.match(authority, path, headers);
  }

  /** `headers`: for routes with header matchers (without them, such routes never match). */
  match(authority: string, path: string, headers?: HeaderMap): RouteMatch | undefined {
    const vh = this.virtualHost(authority);
    if (!vh) return undefined;
    const p = pathOnly(path);
    for (const route of vh.routes) if (pathMatches(route, p) && headersMatch(route, headers)) return { virtualHost: vh, route };
    return undefined;
  }
}

// Envoy's HeaderMatcher: a repeated header is matched as its values joined with ",".
function headersMatch(route: RouteConfig, headers: HeaderMap | undefined): boolean {
  const matchers = route.match.headers;
  if (!matchers) return true;
  if (!headers) return false;
  for (const m of matchers) {
    let value: string | undefined;
    for (const [k, v] of headers) if (k === m.name) value = value === undefined ? v : `${value},${v}`;
    const matched = value !== undefined && (m.exact === undefined || value === m.exact);
    if (matched === m.invert) return false;
  }
  return true;
}

// Envoy matches prefix/path against :path without the query string or fragment.
function pathOnly(path: string): string {
  const cut = path.search(/[?#]/);
  return cut < 0 ? path : path.slice(0, cut);
}

function pathMatches(route: RouteConfig, path: string): boolean {
  const { kind, value, caseSensitive } = route.match;
  const p = caseSensitive ? path : path.toLowerCase();
  const v = caseSensitive ? value : value.toLowerCase();
  return kind === "prefix" ? p.startsWith(v) : p === v;
}
