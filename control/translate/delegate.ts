// VirtualService delegation (one level), merged as Istio merges it: each `http[]` entry of the delegate becomes
// a route whose match entries are the root's ANDed with the delegate's (a delegate entry must fall inside one of
// the root's, else it conflicts and is dropped), and which inherits the root's policies it does not set itself.
import type { FieldPath } from "../config/errors.js";
import type { Destination, HTTPMatchRequest, HTTPRoute, StringMatch, VirtualService } from "../config/types.js";
import { isVisibleFrom, resolveShortName } from "../registry/hosts.js";
import type { IssueCollector } from "../registry/issues.js";

/** One HTTP route with where it was written: its VirtualService (hosts resolve in its namespace) and field path. */
export interface SourcedRoute {
  http: HTTPRoute;
  vs: VirtualService;
  path: FieldPath;
}

/** The root's `http[]` with every `delegate` entry replaced by the delegate's merged routes. */
export function expandDelegates(root: VirtualService, all: readonly VirtualService[], domainSuffix: string, issues: IssueCollector): SourcedRoute[] {
  const out: SourcedRoute[] = [];
  (root.spec.http ?? []).forEach((http, i) => {
    const path: FieldPath = ["spec", "http", i];
    if (!http.delegate) {
      out.push({ http, vs: root, path });
      return;
    }
    const name = http.delegate.name ?? "";
    const namespace = http.delegate.namespace || root.metadata.namespace;
    const delegate = all.find((v) => v.metadata.name === name && v.metadata.namespace === namespace && (v.spec.hosts ?? []).length === 0);
    if (!delegate) {
      issues.add(root, [...path, "delegate"], `delegate VirtualService ${namespace}/${name} not found (or it has hosts): route skipped`);
      return;
    }
    if (!isVisibleFrom(delegate.spec.exportTo ?? [], delegate.metadata.namespace, root.metadata.namespace)) {
      issues.add(root, [...path, "delegate"], `delegate VirtualService ${namespace}/${name} is not exported to namespace ${root.metadata.namespace}: route skipped`);
      return;
    }
    const inherited = withResolvedMirrors(http, root.metadata.namespace, domainSuffix);
    (delegate.spec.http ?? []).forEach((sub, j) => {
      const subPath: FieldPath = ["spec", "http", j];
      if (sub.delegate) {
        issues.add(delegate, [...subPath, "delegate"], "delegation is one level deep: a delegate cannot delegate again; route skipped");
        return;
      }
      const merged = mergeRoute(inherited, sub);
      if (!merged) {
        issues.add(delegate, [...subPath, "match"], `match conflicts with every match of root route ${root.metadata.namespace}/${root.metadata.name} spec.http[${i}]: route skipped`);
        return;
      }
      out.push({ http: merged, vs: delegate, path: subPath });
    });
  });
  return out;
}

/** Mirrors inherited from the root resolve their short names in the root's namespace, not the delegate's. */
function withResolvedMirrors(http: HTTPRoute, namespace: string, domainSuffix: string): HTTPRoute {
  const resolve = (d: Destination): Destination => ({ ...d, host: resolveShortName(d.host, namespace, domainSuffix) });
  return {
    ...http,
    ...(http.mirror ? { mirror: resolve(http.mirror) } : {}),
    ...(http.mirrors ? { mirrors: http.mirrors.map((m) => ({ ...m, destination: resolve(m.destination) })) } : {}),
  };
}

const INHERITED = ["rewrite", "timeout", "retries", "fault", "mirror", "mirrorPercent", "mirrorPercentage", "mirrors", "corsPolicy", "headers"] as const;

function mergeRoute(root: HTTPRoute, delegate: HTTPRoute): HTTPRoute | undefined {
  const match = mergeMatches(root.match ?? [], delegate.match ?? []);
  if (!match) return undefined;
  const out: HTTPRoute = { ...delegate, match };
  if (match.length === 0) delete out.match;
  if (!delegate.name) {
    if (root.name) out.name = root.name;
  } else if (root.name) out.name = `${root.name}-${delegate.name}`;
  const target = out as Record<string, unknown>;
  for (const field of INHERITED) {
    if (target[field] === undefined && root[field] !== undefined) target[field] = root[field];
  }
  return out;
}

/** Every delegate entry ANDed with each root entry it does not conflict with; undefined on conflict. */
export function mergeMatches(root: readonly HTTPMatchRequest[], delegate: readonly HTTPMatchRequest[]): HTTPMatchRequest[] | undefined {
  if (root.length === 0) return [...delegate];
  if (delegate.length === 0) return [...root];
  const out: HTTPMatchRequest[] = [];
  for (const leaf of delegate) {
    const fitting = root.filter((r) => !matchesConflict(r, leaf));
    if (fitting.length === 0) return undefined;
    for (const r of fitting) out.push(mergeMatch(r, leaf));
  }
  return out;
}

function mergeMatch(root: HTTPMatchRequest, leaf: HTTPMatchRequest): HTTPMatchRequest {
  const out: HTTPMatchRequest = { ...leaf };
  if (!leaf.name) {
    if (root.name) out.name = root.name;
  } else if (root.name) out.name = `${root.name}-${leaf.name}`;
  for (const f of ["uri", "scheme", "method", "authority"] as const) {
    if (out[f] === undefined && root[f] !== undefined) out[f] = root[f];
  }
  for (const f of ["headers", "withoutHeaders", "queryParams"] as const) {
    if (root[f] || leaf[f]) out[f] = { ...root[f], ...leaf[f] };
  }
  if (!out.port && root.port) out.port = root.port;
  if (root.ignoreUriCase !== undefined && out.ignoreUriCase === undefined) out.ignoreUriCase = root.ignoreUriCase;
  // Which proxies the route reaches is decided by the root's selectors when the delegate states none.
  if (!(out.gateways ?? []).length && root.gateways) out.gateways = root.gateways;
  if (!Object.keys(out.sourceLabels ?? {}).length && root.sourceLabels) out.sourceLabels = root.sourceLabels;
  if (!out.sourceNamespace && root.sourceNamespace) out.sourceNamespace = root.sourceNamespace;
  return out;
}

function matchesConflict(root: HTTPMatchRequest, leaf: HTTPMatchRequest): boolean {
  for (const f of ["uri", "scheme", "method", "authority"] as const) {
    if (stringMatchConflict(root[f], leaf[f])) return true;
  }
  for (const f of ["headers", "withoutHeaders", "queryParams"] as const) {
    for (const [k, v] of Object.entries(leaf[f] ?? {})) if (stringMatchConflict(root[f]?.[k], v)) return true;
  }
  if ((root.ignoreUriCase ?? false) !== (leaf.ignoreUriCase ?? false)) return true;
  return !!root.port && !!leaf.port && root.port !== leaf.port;
}

/** Whether the delegate's condition can fail to lie inside the root's (regexes never compare). */
function stringMatchConflict(root: StringMatch | undefined, leaf: StringMatch | undefined): boolean {
  if (!root || !leaf) return false;
  if (root.regex || leaf.regex) return true;
  if (root.exact) return !!leaf.prefix || leaf.exact !== root.exact;
  if (root.prefix) {
    if (leaf.prefix) return !leaf.prefix.startsWith(root.prefix);
    if (leaf.exact) return !leaf.exact.startsWith(root.prefix);
  }
  return true;
}
