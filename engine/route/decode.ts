// Decodes the route engine's JSON configuration (CONFIG.md) into a RouteTable.
import { JsonKind, JsonValue, parseJson, parseJsonString } from "../json/index";
import { ActionKind, MirrorPolicy, Route, RouteTable, VirtualHost, WildcardDomain } from "./config";
import {
  HeaderOpsPair, decodeCors, decodeDestinations, decodeDirectResponse, decodeFault, decodeHeaderOps,
  decodeMirrors, decodeRedirect, decodeRetries, decodeRewrite,
} from "./decode_actions";
import { decodeMatchList } from "./decode_match";
import { Reader, indexPath, joinPath } from "../json/reader";
import { DEFAULT_RETRY_POLICY } from "./retry";
import { RouteIndex } from "./route_index";
import { asciiLower } from "./text";

const TOP_FIELDS: string[] = ["virtual_hosts", "ignore_port_in_host_matching", "scoped"];
const VHOST_FIELDS: string[] = ["name", "domains", "routes", "scope"];
const ROUTE_FIELDS: string[] = [
  "name", "match", "route", "redirect", "direct_response", "rewrite", "timeout_ms", "retries",
  "fault", "mirrors", "cors", "headers",
];
const MAX_DURATION_MS: i64 = 315576000000000;

export class RouteConfigResult {
  constructor(public table: RouteTable | null, public error: string) {}
  get ok(): bool {
    return this.table !== null;
  }
}

/** Decodes UTF-8 JSON bytes. Errors read "route config: <field path>: <reason>". */
export function decodeRouteConfig(json: ArrayBuffer): RouteConfigResult {
  const parsed = parseJson(json);
  if (!parsed.ok) return new RouteConfigResult(null, "route config: invalid JSON: " + parsed.describe());
  return decodeRouteConfigValue(parsed.value!);
}

export function decodeRouteConfigString(json: string): RouteConfigResult {
  const parsed = parseJsonString(json);
  if (!parsed.ok) return new RouteConfigResult(null, "route config: invalid JSON: " + parsed.describe());
  return decodeRouteConfigValue(parsed.value!);
}

/** Decodes an already-parsed tree (e.g. one member of a larger filter configuration). */
export function decodeRouteConfigValue(root: JsonValue): RouteConfigResult {
  const d = new Reader(40, true); // route quotes at most 40 chars and always writes "path: "
  const table = decodeTable(d, root);
  if (d.failed || !table) return new RouteConfigResult(null, "route config: " + d.error);
  return new RouteConfigResult(table, "");
}

function decodeTable(d: Reader, root: JsonValue): RouteTable | null {
  if (!d.isObject(root, "(top level)") || !d.onlyKnown(root, "", TOP_FIELDS)) return null;
  const table = new RouteTable();
  table.ignorePortInHostMatching = d.bool(root, "ignore_port_in_host_matching", "");
  table.scoped = d.bool(root, "scoped", "");
  if (d.failed) return null;
  const scopes = new Set<string>();
  const hosts = d.array(root, "virtual_hosts", "");
  if (!hosts) {
    if (!d.failed) d.fail("virtual_hosts", "required field is missing");
    return null;
  }
  for (let i = 0; i < hosts.length; i++) {
    const vh = decodeVirtualHost(d, unchecked(hosts[i]), indexPath("virtual_hosts", i), table.scoped);
    if (!vh) return null;
    if (table.scoped) {
      if (scopes.has(vh.scope)) return failed(d, joinPath(indexPath("virtual_hosts", i), "scope"), "duplicate scope \"" + vh.scope + "\"");
      scopes.add(vh.scope);
    }
    table.virtualHosts.push(vh);
    if (!indexDomains(d, table, vh, indexPath("virtual_hosts", i))) return null;
  }
  // Longest affix first: the most specific wildcard wins.
  table.suffixDomains.sort((a: WildcardDomain, b: WildcardDomain): i32 => b.affix.length - a.affix.length);
  table.prefixDomains.sort((a: WildcardDomain, b: WildcardDomain): i32 => b.affix.length - a.affix.length);
  return table;
}

function failed(d: Reader, path: string, message: string): RouteTable | null {
  d.fail(path, message);
  return null;
}

function decodeVirtualHost(d: Reader, v: JsonValue, path: string, scoped: bool): VirtualHost | null {
  if (!d.isObject(v, path) || !d.onlyKnown(v, path, VHOST_FIELDS)) return null;
  const vh = new VirtualHost();
  vh.name = d.string(v, "name", path);
  vh.domains = d.stringArray(v, "domains", path);
  if (d.failed) return null;
  if (vh.domains.length == 0) {
    d.fail(joinPath(path, "domains"), "needs at least one domain");
    return null;
  }
  if (scoped) {
    if (d.member(v, "routes")) {
      d.fail(joinPath(path, "routes"), "not allowed with \"scoped\": true (the routes come from the scope's route metadata)");
      return null;
    }
    vh.scope = d.string(v, "scope", path);
    if (!d.failed && vh.scope.length == 0) d.fail(joinPath(path, "scope"), "required (non-empty) with \"scoped\": true");
    return d.failed ? null : vh;
  }
  if (d.member(v, "scope")) {
    d.fail(joinPath(path, "scope"), "only allowed with \"scoped\": true");
    return null;
  }
  const routes = d.array(v, "routes", path);
  if (routes && !decodeRoutesInto(d, routes, joinPath(path, "routes"), vh)) return null;
  vh.index = new RouteIndex(vh.routes);
  return d.failed ? null : vh;
}

function decodeRoutesInto(d: Reader, routes: JsonValue[], path: string, vh: VirtualHost): bool {
  for (let i = 0; i < routes.length; i++) {
    const r = decodeRoute(d, unchecked(routes[i]), indexPath(path, i));
    if (!r) return false;
    vh.routes.push(r);
  }
  return true;
}

export class ScopeRoutesResult {
  constructor(public host: VirtualHost | null, public error: string) {}
  get ok(): bool {
    return this.host !== null;
  }
}

/**
 * Decodes one scope's routes (the JSON array of a virtual host's `routes`, as CONFIG.md defines them, carried in
 * the scope's route metadata) into a VirtualHost named `name` with scope `scope`. Same validation and error texts
 * as an unscoped configuration, with the path naming the scope:
 * `route config: scope(8080/reviews:9080).routes[2](v2).route[1].weight: ...`.
 */
export function decodeScopeRoutes(json: ArrayBuffer, name: string, scope: string): ScopeRoutesResult {
  const parsed = parseJson(json);
  if (!parsed.ok) return new ScopeRoutesResult(null, "route config: scope(" + scope + ").routes: invalid JSON: " + parsed.describe());
  return decodeScopeRoutesValue(parsed.value!, name, scope);
}

export function decodeScopeRoutesString(json: string, name: string, scope: string): ScopeRoutesResult {
  return decodeScopeRoutes(String.UTF8.encode(json), name, scope);
}

export function decodeScopeRoutesValue(v: JsonValue, name: string, scope: string): ScopeRoutesResult {
  const d = new Reader(40, true);
  const path = "scope(" + scope + ").routes";
  const vh = new VirtualHost();
  vh.name = name;
  vh.scope = scope;
  if (v.kind != JsonKind.Array) {
    d.fail(path, "expected an array, got " + d.describe(v));
  } else {
    decodeRoutesInto(d, v.items!, path, vh);
  }
  if (d.failed) return new ScopeRoutesResult(null, "route config: " + d.error);
  vh.index = new RouteIndex(vh.routes);
  return new ScopeRoutesResult(vh, "");
}

function indexDomains(d: Reader, table: RouteTable, vh: VirtualHost, path: string): bool {
  for (let i = 0; i < vh.domains.length; i++) {
    const dp = indexPath(joinPath(path, "domains"), i);
    const domain = asciiLower(unchecked(vh.domains[i]));
    unchecked((vh.domains[i] = domain));
    const star = domain.indexOf("*");
    if (domain.length == 0) return d.fail(dp, "domain must not be empty");
    if (star >= 0 && domain.lastIndexOf("*") != star) return d.fail(dp, "at most one '*' is allowed in \"" + domain + "\"");
    if (domain == "*") {
      if (table.catchAll) return d.fail(dp, "duplicate domain \"*\"");
      table.catchAll = vh;
    } else if (star == 0) {
      const suffix = domain.substring(1);
      if (hasAffix(table.suffixDomains, suffix)) return d.fail(dp, "duplicate domain \"" + domain + "\"");
      table.suffixDomains.push(new WildcardDomain(suffix, vh));
    } else if (star == domain.length - 1) {
      const prefix = domain.substring(0, star);
      if (hasAffix(table.prefixDomains, prefix)) return d.fail(dp, "duplicate domain \"" + domain + "\"");
      table.prefixDomains.push(new WildcardDomain(prefix, vh));
    } else if (star > 0) {
      return d.fail(dp, "'*' must be the first or last character of \"" + domain + "\"");
    } else {
      if (table.exactDomains.has(domain)) return d.fail(dp, "duplicate domain \"" + domain + "\"");
      table.exactDomains.set(domain, vh);
    }
  }
  return true;
}

function hasAffix(list: WildcardDomain[], affix: string): bool {
  for (let i = 0; i < list.length; i++) if (unchecked(list[i]).affix == affix) return true;
  return false;
}

function decodeRoute(d: Reader, v: JsonValue, itemPath: string): Route | null {
  if (!d.isObject(v, itemPath)) return null;
  const r = new Route();
  r.name = d.string(v, "name", itemPath);
  const path = r.name.length ? itemPath + "(" + r.name + ")" : itemPath;
  if (!d.onlyKnown(v, path, ROUTE_FIELDS)) return null;
  r.matches = decodeMatchList(d, v, path, r.name);
  if (d.failed) return null;

  const hasRoute = d.member(v, "route") !== null;
  const hasRedirect = d.member(v, "redirect") !== null;
  const hasDirect = d.member(v, "direct_response") !== null;
  const actions = (hasRoute ? 1 : 0) + (hasRedirect ? 1 : 0) + (hasDirect ? 1 : 0);
  if (actions != 1) {
    d.fail(path, "give exactly one of route, redirect, direct_response");
    return null;
  }
  const ops: HeaderOpsPair = decodeHeaderOps(d, v, path);
  r.requestHeaders = ops.request;
  r.responseHeaders = ops.response;
  const faultValue = d.member(v, "fault");
  if (faultValue) r.fault = decodeFault(d, faultValue, joinPath(path, "fault"));
  if (d.failed) return null;

  if (hasRedirect) {
    r.action = ActionKind.Redirect;
    r.redirect = decodeRedirect(d, d.member(v, "redirect")!, joinPath(path, "redirect"));
    return rejectRouteOnly(d, v, path, "redirect") ? r : null;
  }
  if (hasDirect) {
    r.action = ActionKind.DirectResponse;
    r.directResponse = decodeDirectResponse(d, d.member(v, "direct_response")!, joinPath(path, "direct_response"));
    return rejectRouteOnly(d, v, path, "direct_response") ? r : null;
  }

  r.action = ActionKind.Route;
  const dests = d.array(v, "route", path);
  if (!dests) return null;
  r.destinations = decodeDestinations(d, dests, joinPath(path, "route"), ops);
  if (d.failed) return null;
  r.totalWeight = r.destinations[r.destinations.length - 1].cumulative;

  const rewrite = d.member(v, "rewrite");
  if (rewrite) r.rewrite = decodeRewrite(d, rewrite, joinPath(path, "rewrite"));
  r.timeoutMs = d.integer(v, "timeout_ms", path, 0, 0, MAX_DURATION_MS);
  const retries = d.member(v, "retries");
  r.retries = retries ? decodeRetries(d, retries, joinPath(path, "retries")) : DEFAULT_RETRY_POLICY;
  const mirrors = d.array(v, "mirrors", path);
  if (mirrors) decodeMirrors(d, mirrors, joinPath(path, "mirrors"), r.mirrors);
  for (let i = 0; i < r.mirrors.length; i++) {
    const m: MirrorPolicy = unchecked(r.mirrors[i]);
    r.mirrorClusters.push(m.cluster);
    if (m.perMillion < 1000000) r.mirrorsAllFull = false;
  }
  const cors = d.member(v, "cors");
  if (cors) r.cors = decodeCors(d, cors, joinPath(path, "cors"));
  return d.failed ? null : r;
}

/** Fields that only make sense when the request goes upstream. */
function rejectRouteOnly(d: Reader, v: JsonValue, path: string, action: string): bool {
  if (d.failed) return false;
  const only = ["rewrite", "timeout_ms", "retries", "mirrors", "cors"];
  for (let i = 0; i < only.length; i++) {
    if (d.member(v, only[i])) return d.fail(joinPath(path, only[i]), "not allowed together with " + action);
  }
  return true;
}
