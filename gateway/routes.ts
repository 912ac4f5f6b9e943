// Route table: virtual host selection by :authority (Envoy's domain order) and first-match route by path. Portable.
import type { RouteConfig, RouteTableConfig, VirtualHostConfig } from "./bootstrap/types.js";

export interface RouteMatch {
  virtualHost: VirtualHostConfig;
  route: RouteConfig;
}

interface Wildcard {
  part: string;
  vhost: VirtualHostConfig;
}

export class RouteTable {
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

  match(authority: string, path: string): RouteMatch | undefined {
    const vh = this.virtualHost(authority);
    if (!vh) return undefined;
    const p = pathOnly(path);
    for (const route of vh.routes) if (pathMatches(route, p)) return { virtualHost: vh, route };
    return undefined;
  }
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
