// A sidecar's outbound traffic policy (ALLOW_ANY / REGISTRY_ONLY), chosen as Istio chooses the Sidecar resource
// that scopes a workload: a Sidecar of its namespace whose workloadSelector selects it, else its namespace's Sidecar
// without a selector, else the root namespace's Sidecar without a selector; the first loaded wins a tie (Istio: the
// oldest). That Sidecar's `outboundTrafficPolicy.mode`, when set, overrides the mesh default (MeshConfig
// outboundTrafficPolicy, `halyard serve --outbound-traffic-policy`, ALLOW_ANY unless told).
import type { ConfigSet } from "../config/config-set.js";
import type { Sidecar } from "../config/types.js";
import { selectorMatches } from "../registry/labels.js";

export type OutboundTrafficMode = "ALLOW_ANY" | "REGISTRY_ONLY";

export const OUTBOUND_TRAFFIC_MODES: readonly OutboundTrafficMode[] = ["ALLOW_ANY", "REGISTRY_ONLY"];

export const DEFAULT_OUTBOUND_TRAFFIC_MODE: OutboundTrafficMode = "ALLOW_ANY";

const ROOT_NAMESPACE = "istio-system";

export interface OutboundPolicyOptions {
  /** The mesh default. Default ALLOW_ANY (Istio's). */
  meshDefault?: OutboundTrafficMode;
  /** meshConfig rootNamespace. Default istio-system. */
  rootNamespace?: string;
}

const hasSelector = (s: Sidecar) => Object.keys(s.spec.workloadSelector?.labels ?? {}).length > 0;

/** The Sidecar resource scoping a workload of `namespace` with `labels`, if any. */
export function sidecarFor(config: ConfigSet, namespace: string, labels: Readonly<Record<string, string>>, rootNamespace = ROOT_NAMESPACE): Sidecar | undefined {
  const own = config.sidecars.filter((s) => s.metadata.namespace === namespace);
  return (
    own.find((s) => hasSelector(s) && selectorMatches(s.spec.workloadSelector!.labels, labels)) ??
    own.find((s) => !hasSelector(s)) ??
    config.sidecars.find((s) => s.metadata.namespace === rootNamespace && !hasSelector(s))
  );
}

/** The outbound traffic mode of a sidecar of `namespace` with `labels`. */
export function outboundTrafficMode(config: ConfigSet, namespace: string, labels: Readonly<Record<string, string>>, options: OutboundPolicyOptions = {}): OutboundTrafficMode {
  const mode = sidecarFor(config, namespace, labels, options.rootNamespace)?.spec.outboundTrafficPolicy?.mode;
  return mode === "REGISTRY_ONLY" || mode === "ALLOW_ANY" ? mode : (options.meshDefault ?? DEFAULT_OUTBOUND_TRAFFIC_MODE);
}

/** `--outbound-traffic-policy` and MeshConfig values: the mode, or a one-line error naming `what`. */
export function parseOutboundTrafficMode(value: string, what: string): OutboundTrafficMode {
  const v = value.trim().toUpperCase();
  if (v === "ALLOW_ANY" || v === "REGISTRY_ONLY") return v;
  throw new Error(`${what}: "${value}" is not an outbound traffic policy mode (ALLOW_ANY or REGISTRY_ONLY)`);
}
