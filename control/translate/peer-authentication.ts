// PeerAuthentication → the mTLS mode a workload accepts on each inbound port, with Istio's precedence:
// - candidates are the policies in the workload's namespace and in the root namespace (istio-system); a
//   root-namespace policy with a selector is ignored (Istio only takes mesh-wide policies from there);
// - levels: workload (selector matching the workload's labels) > namespace (no selector, workload's namespace)
//   > mesh (no selector, root namespace); within a level the oldest policy (metadata.creationTimestamp, then
//   name) wins, the others are ignored;
// - a level whose mode is UNSET (or absent) inherits from the level above it; with no decision the mode is
//   PERMISSIVE (Istio's default);
// - `portLevelMtls` (keyed by the workload's target port) counts only on the winning workload-level policy; an
//   UNSET port mode inherits the workload's mode. On a namespace or mesh policy it is ignored with a warning.
import type { ConfigSet } from "../config/config-set.js";
import type { MutualTLSMode, PeerAuthentication } from "../config/types.js";
import { selectorMatches } from "../registry/labels.js";

export const DEFAULT_ROOT_NAMESPACE = "istio-system";

/** A resolved mode: UNSET never survives resolution. */
export type PeerMode = Exclude<MutualTLSMode, "UNSET">;
export type PolicyLevel = "workload" | "namespace" | "mesh";

export interface PolicyRef {
  namespace: string;
  name: string;
  level: PolicyLevel;
  /** metadata.creationTimestamp as written, when the policy has one. */
  creationTimestamp?: string;
}

export interface ModeDecision {
  mode: PeerMode;
  /** The policy whose mode is in force; undefined when nothing decided (the PERMISSIVE default). */
  policy?: PolicyRef;
  /** One line saying why: which level, which policy, what it overrode or inherited. */
  reason: string;
}

export interface WorkloadRef {
  namespace: string;
  labels: Readonly<Record<string, string>>;
}

export interface PeerAuthenticationResult {
  /** The mode for ports without a port-level setting. */
  workload: ModeDecision;
  /** Port-level decisions of the winning workload policy, by target port. */
  ports: Map<number, ModeDecision>;
  /** The winning policy per level (what decided, or was inherited through). */
  levels: Partial<Record<PolicyLevel, PolicyRef>>;
  /** Policies that applied but lost to an older one of the same level, and ignored fields. */
  warnings: string[];
}

export interface PeerAuthenticationOptions {
  rootNamespace?: string;
}

function levelOf(pa: PeerAuthentication, rootNamespace: string): PolicyLevel {
  if (Object.keys(pa.spec.selector?.matchLabels ?? {}).length > 0) return "workload";
  return pa.metadata.namespace === rootNamespace ? "mesh" : "namespace";
}

function created(pa: PeerAuthentication): string | undefined {
  const t = pa.metadata.creationTimestamp;
  return typeof t === "string" && t !== "" ? t : undefined;
}

/** Milliseconds since the epoch; a policy without a timestamp counts as newest (sorted last, then by name). */
function createdMs(pa: PeerAuthentication): number {
  const t = created(pa);
  if (t === undefined) return Number.POSITIVE_INFINITY;
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) throw new Error(`PeerAuthentication ${pa.metadata.namespace}/${pa.metadata.name}: metadata.creationTimestamp: "${t}" is not an RFC 3339 time`);
  return ms;
}

/** Istio's ordering: older first, then by name. */
export function comparePolicyAge(a: PeerAuthentication, b: PeerAuthentication): number {
  const d = createdMs(a) - createdMs(b);
  if (d !== 0 && !Number.isNaN(d)) return d < 0 ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

function ref(pa: PeerAuthentication, level: PolicyLevel): PolicyRef {
  const t = created(pa);
  return { namespace: pa.metadata.namespace, name: pa.metadata.name, level, ...(t ? { creationTimestamp: t } : {}) };
}

const describeRef = (r: PolicyRef) => `${r.level}-level PeerAuthentication ${r.namespace}/${r.name}${r.creationTimestamp ? ` (created ${r.creationTimestamp})` : ""}`;

const MODES: ReadonlySet<string> = new Set(["UNSET", "DISABLE", "PERMISSIVE", "STRICT"]);

function modeField(pa: PeerAuthentication, mode: string | undefined, field: string): MutualTLSMode {
  if (mode === undefined) return "UNSET";
  if (!MODES.has(mode)) throw new Error(`PeerAuthentication ${pa.metadata.namespace}/${pa.metadata.name}: ${field}: "${mode}" is not one of UNSET, DISABLE, PERMISSIVE, STRICT`);
  return mode as MutualTLSMode;
}

/** The policies that apply to the workload, by level, oldest first within each. */
export function applicablePeerAuthentications(
  config: Pick<ConfigSet, "peerAuthentications">,
  workload: WorkloadRef,
  options: PeerAuthenticationOptions = {},
): Record<PolicyLevel, PeerAuthentication[]> {
  const root = options.rootNamespace ?? DEFAULT_ROOT_NAMESPACE;
  const out: Record<PolicyLevel, PeerAuthentication[]> = { workload: [], namespace: [], mesh: [] };
  for (const pa of config.peerAuthentications) {
    const ns = pa.metadata.namespace;
    if (ns !== workload.namespace && ns !== root) continue;
    const level = levelOf(pa, root);
    if (level === "workload") {
      // Selectors only count in the workload's own namespace (a root-namespace selector policy is ignored).
      if (ns !== workload.namespace) continue;
      if (!selectorMatches(pa.spec.selector?.matchLabels, workload.labels)) continue;
    } else if (level === "namespace" && ns !== workload.namespace) continue;
    out[level].push(pa);
  }
  for (const list of Object.values(out)) list.sort(comparePolicyAge);
  return out;
}

/** The workload's mTLS modes: Istio's ComposePeerAuthentication. */
export function resolvePeerAuthentication(
  config: Pick<ConfigSet, "peerAuthentications">,
  workload: WorkloadRef,
  options: PeerAuthenticationOptions = {},
): PeerAuthenticationResult {
  const byLevel = applicablePeerAuthentications(config, workload, options);
  const warnings: string[] = [];
  const levels: Partial<Record<PolicyLevel, PolicyRef>> = {};
  let decision: ModeDecision = { mode: "PERMISSIVE", reason: "no PeerAuthentication sets a mode: mesh default PERMISSIVE" };
  const ports = new Map<number, ModeDecision>();

  for (const level of ["mesh", "namespace", "workload"] as const) {
    const [winner, ...losers] = byLevel[level];
    if (!winner) continue;
    const winnerRef = ref(winner, level);
    levels[level] = winnerRef;
    for (const l of losers) warnings.push(`PeerAuthentication ${l.metadata.namespace}/${l.metadata.name}: ignored, ${winner.metadata.namespace}/${winner.metadata.name} is older at the ${level} level`);
    const mode = modeField(winner, winner.spec.mtls?.mode, "spec.mtls.mode");
    if (mode === "UNSET") {
      decision = { ...decision, reason: `${decision.reason}; ${describeRef(winnerRef)} leaves the mode UNSET (inherits)` };
    } else {
      const over = decision.policy ? `, overriding ${describeRef(decision.policy)}` : "";
      decision = { mode, policy: winnerRef, reason: `${describeRef(winnerRef)} sets ${mode}${over}` };
    }
    const portLevel = winner.spec.portLevelMtls ?? {};
    if (Object.keys(portLevel).length > 0 && level !== "workload") {
      warnings.push(`PeerAuthentication ${winner.metadata.namespace}/${winner.metadata.name}: spec.portLevelMtls ignored: port-level settings need a workload selector`);
    }
  }

  const workloadPolicy = byLevel.workload[0];
  if (workloadPolicy) {
    const wref = levels.workload!;
    for (const [key, setting] of Object.entries(workloadPolicy.spec.portLevelMtls ?? {})) {
      const port = Number(key);
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new Error(`PeerAuthentication ${workloadPolicy.metadata.namespace}/${workloadPolicy.metadata.name}: spec.portLevelMtls: "${key}" is not a port number`);
      }
      const mode = modeField(workloadPolicy, setting?.mode, `spec.portLevelMtls.${key}.mode`);
      ports.set(
        port,
        mode === "UNSET"
          ? { ...decision, reason: `port ${port} of ${describeRef(wref)} is UNSET: inherits ${decision.mode} (${decision.reason})` }
          : { mode, policy: wref, reason: `portLevelMtls ${port} of ${describeRef(wref)} sets ${mode}` },
      );
    }
  }
  return { workload: decision, ports, levels, warnings };
}

/** The decision for one inbound (target) port. */
export function modeForPort(result: PeerAuthenticationResult, port: number): ModeDecision {
  return result.ports.get(port) ?? result.workload;
}
