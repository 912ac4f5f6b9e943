// Scoped routes (HCM scoped_routes): the scope key is one request header's value, read each time the route is
// resolved — so a filter that writes the header and clears the route cache moves the request to that scope, as
// Envoy's refreshCachedRoute re-selects the scope. No scope for the key (or no header): no route (404 NR). Portable.
import type { HeaderMap } from "../wasm/host/index.js";
import type { HcmConfig, ScopedRoutesConfig } from "./bootstrap/types.js";
import { RouteTable, type RouteMatch, type RouteResolver } from "./routes.js";

export class ScopedRouteTable implements RouteResolver {
  readonly scopeHeader: string;
  private readonly byKey = new Map<string, RouteTable>();

  constructor(readonly config: ScopedRoutesConfig) {
    this.scopeHeader = config.keyHeader;
    for (const s of config.scopes) this.byKey.set(s.key, new RouteTable(s.routeConfig));
  }

  matchHeaders(headers: HeaderMap): RouteMatch | undefined {
    let key: string | undefined;
    let authority = "";
    let path = "/";
    for (const [k, v] of headers) {
      if (k === ":authority") authority = v;
      else if (k === ":path") path = v;
      else if (k === this.scopeHeader && key === undefined) key = v;
    }
    if (key === undefined) return undefined;
    return this.byKey.get(key)?.match(authority, path, headers);
  }
}

/** The route resolver an HCM's route specifier asks for. */
export function routeResolver(hcm: HcmConfig): RouteResolver {
  return hcm.scopedRoutes ? new ScopedRouteTable(hcm.scopedRoutes) : new RouteTable(hcm.routeConfig);
}
