// Which VirtualServices, and which of their match entries, apply to a proxy: top-level `gateways` (default
// `mesh`, i.e. sidecars), `exportTo`, and the match-level `gateways`, `sourceLabels`, `sourceNamespace`.
import type { HTTPMatchRequest, VirtualService } from "../config/types.js";
import { isVisibleFrom } from "../registry/hosts.js";
import { selectorMatches } from "../registry/labels.js";
import { gatewayKey, MESH_GATEWAY, type Proxy } from "./proxy.js";

/**
 * A gateway reference as Istio resolves it: `mesh`; `ns/name` (`./name` = the VirtualService's namespace); a short
 * `name` in the VirtualService's namespace; or the legacy `name.ns.svc.<domain>` form.
 */
export function resolveGatewayName(ref: string, vsNamespace: string): string {
  if (ref === MESH_GATEWAY) return ref;
  const slash = ref.indexOf("/");
  if (slash >= 0) {
    const ns = ref.slice(0, slash);
    return `${ns === "." ? vsNamespace : ns}/${ref.slice(slash + 1)}`;
  }
  const dot = ref.indexOf(".");
  if (dot < 0) return `${vsNamespace}/${ref}`;
  const rest = ref.slice(dot + 1);
  const nsEnd = rest.indexOf(".");
  return `${nsEnd < 0 ? rest : rest.slice(0, nsEnd)}/${ref.slice(0, dot)}`;
}

/** The gateways a VirtualService binds to, resolved; `mesh` when it names none. */
export function virtualServiceGateways(vs: VirtualService): string[] {
  const refs = vs.spec.gateways ?? [];
  return refs.length === 0 ? [MESH_GATEWAY] : refs.map((g) => resolveGatewayName(g, vs.metadata.namespace));
}

/** The gateway names a proxy answers to: `mesh` for a sidecar, `ns/name` of each Gateway it serves. */
export function proxyGatewayNames(proxy: Proxy): Set<string> {
  return proxy.kind === "sidecar" ? new Set([MESH_GATEWAY]) : new Set(proxy.gateways.map(gatewayKey));
}

/** A delegate VirtualService (no hosts) is only ever reached through a root's `delegate`. */
export function isDelegate(vs: VirtualService): boolean {
  return (vs.spec.hosts ?? []).length === 0;
}

/** Root and plain VirtualServices bound to one of `gatewayNames` and exported to the proxy's namespace, in load order. */
export function virtualServicesFor(all: readonly VirtualService[], proxy: Proxy, gatewayNames: ReadonlySet<string>): VirtualService[] {
  return all.filter(
    (vs) =>
      !isDelegate(vs) &&
      isVisibleFrom(vs.spec.exportTo ?? [], vs.metadata.namespace, proxy.namespace) &&
      virtualServiceGateways(vs).some((g) => gatewayNames.has(g)),
  );
}

/**
 * Istio's sourceMatchHTTP: a match entry naming gateways applies to proxies of those gateways (its sourceLabels
 * are then not consulted); otherwise its sourceLabels must be a subset of the proxy's labels and its
 * sourceNamespace, if any, the proxy's namespace.
 */
export function matchAppliesTo(match: HTTPMatchRequest, proxy: Proxy, gatewayNames: ReadonlySet<string>, vsNamespace: string): boolean {
  const gateways = match.gateways ?? [];
  if (gateways.length > 0) return gateways.some((g) => gatewayNames.has(resolveGatewayName(g, vsNamespace)));
  if (!selectorMatches(match.sourceLabels, proxy.labels)) return false;
  return !match.sourceNamespace || match.sourceNamespace === proxy.namespace;
}
