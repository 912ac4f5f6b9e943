// Deciding one request against a RouteTable: virtual host, first matching route, then that
// route's action with CORS, fault, destination choice, rewrites, retries and mirrors resolved.
import { ActionKind, Destination, MatchEntry, Route, RouteTable, VirtualHost } from "./config";
import { applyCors } from "./cors";
import { Decision, DecisionKind } from "./decision";
import { matchesEntry } from "./match";
import { RandomSource } from "./random";
import { buildLocation } from "./redirect";
import { Request } from "./request";
import { rewritePath } from "./rewrite";
import { selectVirtualHost } from "./vhost";

export function decide(table: RouteTable, req: Request, rng: RandomSource): Decision {
  return decideInto(table, req, rng, new Decision());
}

/** Same as decide, writing into (and returning) a reused Decision. */
export function decideInto(table: RouteTable, req: Request, rng: RandomSource, out: Decision): Decision {
  const vh = selectVirtualHost(table, req.authority);
  if (!vh) {
    out.reset();
    return out;
  }
  return decideInVirtualHost(vh, req, rng, out);
}

/** Decides within an already chosen virtual host (scoped configurations: the scope's decoded routes). */
export function decideInVirtualHost(vh: VirtualHost, req: Request, rng: RandomSource, out: Decision): Decision {
  out.reset();
  out.virtualHost = vh.name;
  // Only entries whose uri literal fits the path are tried, still in configuration order.
  const index = vh.index;
  const n = index.collect(req);
  for (let k = 0; k < n; k++) {
    const id = index.candidate(k);
    const entry = unchecked(index.entries[id]);
    if (matchesEntry(entry, req)) {
      applyRoute(unchecked(index.routes[id]), entry, req, rng, out);
      return out;
    }
  }
  return out;
}

function applyRoute(route: Route, entry: MatchEntry, req: Request, rng: RandomSource, out: Decision): void {
  out.routeName = entry.routeName;
  // Filter order in the chain: cors, then fault, then the router.
  const cors = route.cors;
  if (cors && applyCors(cors, req, out)) return;

  out.requestHeaders = route.requestHeaders;
  out.responseHeaders = route.responseHeaders;
  const fault = route.fault;
  if (fault) {
    if (fault.hasDelay && rng.chance(fault.delayPerMillion)) out.delayMs = fault.delayMs;
    if (fault.hasAbort && rng.chance(fault.abortPerMillion)) {
      out.abortHttpStatus = fault.abortHttpStatus;
      out.abortGrpcStatus = fault.abortGrpcStatus;
    }
  }

  if (route.action == ActionKind.Redirect) {
    const r = route.redirect!;
    out.kind = DecisionKind.Redirect;
    out.redirectStatus = r.code;
    out.location = buildLocation(r, req);
    return;
  }
  if (route.action == ActionKind.DirectResponse) {
    const r = route.directResponse!;
    out.kind = DecisionKind.DirectResponse;
    out.status = r.status;
    out.body = r.body;
    return;
  }

  out.kind = DecisionKind.Route;
  const dest = pickDestination(route, rng);
  out.cluster = dest.cluster;
  out.requestHeaders = dest.requestHeaders;
  out.responseHeaders = dest.responseHeaders;
  out.timeoutMs = route.timeoutMs;
  out.path = req.path;
  out.authority = req.authority;
  const rw = route.rewrite;
  if (rw) {
    const path = rewritePath(rw, entry, req);
    if (path !== null) {
      out.path = path;
      out.pathRewritten = true;
    }
  }
  const authority = rw && rw.authority.length ? rw.authority : dest.authority;
  if (authority.length) {
    out.authority = authority;
    out.authorityRewritten = true;
  }
  // An aborted request never goes upstream: nothing to retry, nothing to mirror.
  if (out.aborted) return;
  out.retries = route.retries;
  if (route.mirrors.length) out.mirrors = pickMirrors(route, rng);
}

/** Envoy's weighted_clusters: r = random % total; the first destination whose running total
 *  exceeds r. */
function pickDestination(route: Route, rng: RandomSource): Destination {
  const dests = route.destinations;
  const n = dests.length;
  if (n == 1) return unchecked(dests[0]);
  const r = rng.next() % route.totalWeight;
  for (let i = 0; i < n - 1; i++) {
    const d = unchecked(dests[i]);
    if (r < d.cumulative) return d;
  }
  return unchecked(dests[n - 1]);
}

function pickMirrors(route: Route, rng: RandomSource): string[] {
  if (route.mirrorsAllFull) return route.mirrorClusters;
  const out: string[] = [];
  const mirrors = route.mirrors;
  for (let i = 0, n = mirrors.length; i < n; i++) {
    const m = unchecked(mirrors[i]);
    if (rng.chance(m.perMillion)) out.push(m.cluster);
  }
  return out;
}
