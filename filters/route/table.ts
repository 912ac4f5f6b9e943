// Loading the route engine's configuration (engine/route/CONFIG.md) for the halyard.route and
// halyard.fault filters, plus facts about the table the filters use to skip work per request.
import { DerivePort, Route, RouteTable, VirtualHost } from "../../engine/route/config";
import { decodeRouteConfig, RandomSource } from "../../engine/route/index";

/** A decoded table, or the engine's one-line error. */
export class LoadedTable {
  constructor(public table: RouteTable | null, public error: string) {}
}

export function loadTable(config: ArrayBuffer): LoadedTable {
  if (config.byteLength == 0) {
    return new LoadedTable(null, "route config: the plugin configuration is empty (expected the route engine's JSON, engine/route/CONFIG.md)");
  }
  const r = decodeRouteConfig(config);
  return new LoadedTable(r.table, r.error);
}

/** Drops every route's fault policy: halyard.fault owns faults, halyard.route only routes. */
export function withoutFaults(table: RouteTable): RouteTable {
  const hosts = table.virtualHosts;
  for (let i = 0; i < hosts.length; i++) hostWithoutFaults(unchecked(hosts[i]));
  return table;
}

export function hostWithoutFaults(vh: VirtualHost): VirtualHost {
  const routes = vh.routes;
  for (let j = 0; j < routes.length; j++) unchecked(routes[j]).fault = null;
  return vh;
}

/** Whether any route injects a delay or an abort with a non-zero percentage. */
export function hasFaults(table: RouteTable): bool {
  const hosts = table.virtualHosts;
  for (let i = 0; i < hosts.length; i++) if (hostHasFaults(unchecked(hosts[i]))) return true;
  return false;
}

export function hostHasFaults(vh: VirtualHost): bool {
  const routes = vh.routes;
  for (let j = 0; j < routes.length; j++) {
    const f = unchecked(routes[j]).fault;
    if (f && ((f.hasDelay && f.delayPerMillion > 0 && f.delayMs > 0) || (f.hasAbort && f.abortPerMillion > 0))) return true;
  }
  return false;
}

/** Whether deciding needs the destination port (a `port` match or a FROM_REQUEST_PORT redirect):
 *  otherwise the per-request property read is skipped. */
export function needsDestinationPort(table: RouteTable): bool {
  const hosts = table.virtualHosts;
  for (let i = 0; i < hosts.length; i++) if (hostNeedsDestinationPort(unchecked(hosts[i]))) return true;
  return false;
}

export function hostNeedsDestinationPort(vh: VirtualHost): bool {
  const routes = vh.routes;
  for (let j = 0; j < routes.length; j++) if (routeNeedsPort(unchecked(routes[j]))) return true;
  return false;
}

function routeNeedsPort(r: Route): bool {
  const redirect = r.redirect;
  if (redirect && redirect.derivePort == DerivePort.FromRequestPort) return true;
  for (let k = 0; k < r.matches.length; k++) if (unchecked(r.matches[k]).port != 0) return true;
  return false;
}

/** A SplitMix64 source seeded from the host's randomness (Math.random is seeded via WASI random_get). */
export function seededRandom(): RandomSource {
  const hi = <u64>(Math.random() * 4294967296.0);
  const lo = <u64>(Math.random() * 4294967296.0);
  return new RandomSource((hi << 32) | lo);
}
