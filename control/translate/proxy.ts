// The proxy a translation is for: a sidecar (namespace + workload labels) or a gateway proxy serving one or more
// Gateway resources. Route selection (`gateways`, `sourceLabels`, `sourceNamespace`, `exportTo`) reads these.
import type { ConfigSet } from "../config/config-set.js";
import type { Gateway } from "../config/types.js";
import { selectorMatches } from "../registry/labels.js";
import type { ServiceRegistry } from "../registry/registry.js";

/** The name of the implicit gateway every sidecar belongs to. */
export const MESH_GATEWAY = "mesh";

export interface SidecarProxy {
  kind: "sidecar";
  namespace: string;
  labels: Record<string, string>;
}

export interface GatewayProxy {
  kind: "gateway";
  /** Namespace of the gateway workload (where its config namespace is). */
  namespace: string;
  labels: Record<string, string>;
  /** The Gateway resources this proxy serves. */
  gateways: Gateway[];
}

export type Proxy = SidecarProxy | GatewayProxy;

export class ProxyError extends Error {
  override name = "ProxyError";
}

export function sidecarProxy(namespace: string, labels: Record<string, string> = {}): SidecarProxy {
  return { kind: "sidecar", namespace, labels: { ...labels } };
}

/** `ns/name` of a Gateway. */
export function gatewayKey(gw: Gateway): string {
  return `${gw.metadata.namespace}/${gw.metadata.name}`;
}

/**
 * The proxy of the Gateway `ref` (`namespace/name`): it serves that Gateway, runs in its namespace and carries the
 * labels its selector asks for (plus `extraLabels`).
 */
export function gatewayProxy(config: ConfigSet, ref: string, extraLabels: Record<string, string> = {}): GatewayProxy {
  const slash = ref.indexOf("/");
  if (slash <= 0 || slash === ref.length - 1 || ref.indexOf("/", slash + 1) >= 0) {
    throw new ProxyError(`gateway ${JSON.stringify(ref)}: expected <namespace>/<name>`);
  }
  const namespace = ref.slice(0, slash);
  const name = ref.slice(slash + 1);
  const gw = config.gateways.find((g) => g.metadata.namespace === namespace && g.metadata.name === name);
  if (!gw) {
    const known = config.gateways.map(gatewayKey);
    throw new ProxyError(`gateway ${ref}: no such Gateway in the config${known.length ? ` (have ${known.join(", ")})` : ""}`);
  }
  return { kind: "gateway", namespace, labels: { ...(gw.spec.selector ?? {}), ...extraLabels }, gateways: [gw] };
}

/**
 * The proxy behind an xDS node id. A sidecar gets the namespace from the id and labels from its WorkloadEntry;
 * a router (gateway) gets every Gateway whose selector its labels satisfy, as Istio merges them.
 */
export function proxyFromNodeId(config: ConfigSet, registry: ServiceRegistry, nodeId: string): Proxy {
  const { node, workloadEntry } = registry.proxyFor(nodeId);
  const labels = { ...(workloadEntry?.spec.labels ?? {}) };
  if (node.type === "sidecar") return sidecarProxy(node.namespace, labels);
  const gateways = config.gateways.filter((g) => Object.keys(g.spec.selector ?? {}).length > 0 && selectorMatches(g.spec.selector, labels));
  return { kind: "gateway", namespace: node.namespace, labels, gateways };
}
