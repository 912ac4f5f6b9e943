// Destinations as Envoy clusters: `outbound|<port>|<subset>|<fqdn>`, with the DestinationRule that defines the
// subset (missing subsets still name a cluster, as Istio does: Envoy then answers 503 NC; a warning says why).
import type { FieldPath } from "../config/errors.js";
import type { Destination, DestinationRule, VirtualService } from "../config/types.js";
import { isVisibleFrom, wildcardCovers } from "../registry/hosts.js";
import type { IssueCollector } from "../registry/issues.js";
import { selectorMatches } from "../registry/labels.js";
import type { ServiceRegistry } from "../registry/registry.js";
import type { RegistryService } from "../registry/types.js";
import type { Proxy } from "./proxy.js";

export const PASSTHROUGH_CLUSTER = "PassthroughCluster";

/** A cluster the routes reference, with what CDS needs to build it. */
export interface ClusterRef {
  name: string;
  /** Service FQDN ("" for PassthroughCluster). */
  host: string;
  port: number;
  subset: string;
  /** The subset's labels from its DestinationRule; {} without a subset; undefined when the subset is not defined. */
  subsetLabels: Record<string, string> | undefined;
  /** `ns/name` of the DestinationRule that applies to the host, if any. */
  destinationRule?: string;
  /** Whether the host is a service in the registry visible to the proxy. */
  serviceFound: boolean;
}

export function clusterName(port: number, subset: string, fqdn: string): string {
  return `outbound|${port}|${subset}|${fqdn}`;
}

/** The host part of an `outbound|port|subset|host` cluster name, or undefined for other clusters. */
export function clusterHost(cluster: string): string | undefined {
  const parts = cluster.split("|");
  return parts.length === 4 && parts[0] === "outbound" ? parts[3] : undefined;
}

/** Resolves destinations for one proxy and records the clusters they name. */
export class ClusterResolver {
  readonly #clusters = new Map<string, ClusterRef>();
  readonly #warned = new Set<string>();
  readonly #ruleFor = new Map<string, DestinationRule | undefined>();
  /** While `recording`: every host looked up and every cluster named, in order. */
  #recording: { hosts: Set<string>; refs: ClusterRef[] } | undefined;

  constructor(
    private readonly registry: ServiceRegistry,
    private readonly destinationRules: readonly DestinationRule[],
    private readonly proxy: Proxy,
    private readonly issues: IssueCollector,
  ) {}

  /** Clusters named so far, in the order first referenced. */
  get clusters(): ClusterRef[] {
    return [...this.#clusters.values()];
  }

  /**
   * Runs `fn`, returning with its value the host names it resolved and the clusters it named (in order): what a
   * memoised translation depends on, and what `replay` names again when it is reused.
   */
  recording<T>(fn: () => T): { value: T; hosts: Set<string>; refs: ClusterRef[] } {
    const outer = this.#recording;
    const rec = (this.#recording = { hosts: new Set<string>(), refs: [] as ClusterRef[] });
    try {
      const value = fn();
      return { value, ...rec };
    } finally {
      this.#recording = outer;
      if (outer) {
        for (const h of rec.hosts) outer.hosts.add(h);
        outer.refs.push(...rec.refs);
      }
    }
  }

  /** Names `refs` again, as the translation that recorded them did (keeps the first-reference order). */
  replay(refs: readonly ClusterRef[]): void {
    for (const ref of refs) if (!this.#clusters.has(ref.name)) this.#clusters.set(ref.name, ref);
  }

  #note(host: string, name: string): void {
    if (!this.#recording) return;
    this.#recording.hosts.add(host);
    this.#recording.refs.push(this.#clusters.get(name)!);
  }

  /** The visible service with exactly this host name (Istio looks destinations up by name, not by wildcard). */
  service(fqdn: string): RegistryService | undefined {
    return this.registry.withHostname(fqdn).find((s) => isVisibleFrom(s.exportTo, s.namespace, this.proxy.namespace));
  }

  /**
   * The cluster for `dest`, written in `vs` at `path`, for a listener on `listenerPort`: the port is the
   * destination's, else the service's only port, else the listener's.
   */
  resolve(dest: Destination, vs: VirtualService, path: FieldPath, listenerPort: number): string {
    const fqdn = this.registry.resolveHost(dest.host, vs.metadata.namespace);
    const service = this.service(fqdn);
    const port = dest.port?.number ?? (service && service.ports.length === 1 ? service.ports[0]!.number : listenerPort);
    const subset = dest.subset ?? "";
    const name = clusterName(port, subset, fqdn);
    if (!this.#clusters.has(name)) this.#clusters.set(name, this.#describe(name, fqdn, port, subset, !!service));
    const ref = this.#clusters.get(name)!;
    this.#note(fqdn, name);
    if (!service) this.#warnOnce(vs, [...path, "host"], `host ${fqdn} is not a service visible from namespace ${this.proxy.namespace}: cluster ${name} has no endpoints (Envoy answers 503)`);
    else if (subset && !ref.subsetLabels) {
      const why = ref.destinationRule ? `DestinationRule ${ref.destinationRule} has no subset "${subset}"` : `no DestinationRule for ${fqdn} defines subset "${subset}"`;
      this.#warnOnce(vs, [...path, "subset"], `${why}: cluster ${name} does not exist (Istio answers 503 NC)`);
    }
    return name;
  }

  /** The default route's cluster for a service port. */
  defaultCluster(service: RegistryService, port: number): string {
    const name = clusterName(port, "", service.hostname);
    if (!this.#clusters.has(name)) this.#clusters.set(name, this.#describe(name, service.hostname, port, "", true));
    this.#note(service.hostname, name);
    return name;
  }

  passthrough(): string {
    if (!this.#clusters.has(PASSTHROUGH_CLUSTER)) {
      this.#clusters.set(PASSTHROUGH_CLUSTER, { name: PASSTHROUGH_CLUSTER, host: "", port: 0, subset: "", subsetLabels: {}, serviceFound: false });
    }
    return PASSTHROUGH_CLUSTER;
  }

  #describe(name: string, host: string, port: number, subset: string, serviceFound: boolean): ClusterRef {
    const dr = this.destinationRuleFor(host);
    const defined = subset === "" ? undefined : dr?.spec.subsets?.find((s) => s.name === subset);
    return {
      name,
      host,
      port,
      subset,
      subsetLabels: subset === "" ? {} : defined ? { ...defined.labels } : undefined,
      ...(dr ? { destinationRule: `${dr.metadata.namespace}/${dr.metadata.name}` } : {}),
      serviceFound,
    };
  }

  #warnOnce(vs: VirtualService, path: FieldPath, message: string): void {
    const key = `${vs.metadata.namespace}/${vs.metadata.name}|${path.join(".")}|${message}`;
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.issues.add(vs, path, message);
  }

  /**
   * The DestinationRule for `host` as the proxy sees it: exported to the proxy's namespace (one with a
   * workloadSelector only for the workloads it selects in its own namespace); the proxy's namespace first, then
   * the service's, then any; an exact host before the most specific wildcard.
   */
  destinationRuleFor(host: string): DestinationRule | undefined {
    if (this.#ruleFor.has(host)) return this.#ruleFor.get(host);
    const service = this.service(host);
    let best: { dr: DestinationRule; score: number } | undefined;
    for (const { dr, host: drHost } of destinationRuleIndex(this.destinationRules, this.registry).candidates(host)) {
      const ns = dr.metadata.namespace;
      if (!isVisibleFrom(dr.spec.exportTo ?? [], ns, this.proxy.namespace)) continue;
      const selector = dr.spec.workloadSelector?.matchLabels;
      if (selector && (ns !== this.proxy.namespace || !selectorMatches(selector, this.proxy.labels))) continue;
      const specificity = drHost === host ? 10_000 : wildcardCovers(drHost, host) ? drHost.length : -1;
      if (specificity < 0) continue;
      const place = ns === this.proxy.namespace ? 3 : service && ns === service.namespace ? 2 : 1;
      const score = place * 100_000 + specificity;
      if (!best || score > best.score) best = { dr, score };
    }
    this.#ruleFor.set(host, best?.dr);
    return best?.dr;
  }
}

interface IndexedRule {
  dr: DestinationRule;
  /** spec.host resolved in the rule's namespace. */
  host: string;
  order: number;
}

/** DestinationRules by resolved host, plus the wildcard ones: the only rules that can apply to a host. */
class DestinationRuleIndex {
  readonly #exact = new Map<string, IndexedRule[]>();
  readonly #wildcards: IndexedRule[] = [];

  constructor(rules: readonly DestinationRule[], registry: ServiceRegistry) {
    rules.forEach((dr, order) => {
      const rule = { dr, host: registry.resolveHost(dr.spec.host, dr.metadata.namespace), order };
      if (rule.host.startsWith("*")) this.#wildcards.push(rule);
      const list = this.#exact.get(rule.host);
      if (list) list.push(rule);
      else this.#exact.set(rule.host, [rule]);
    });
  }

  /** Rules naming `host` exactly or by a wildcard, in config order (ties go to the first). */
  candidates(host: string): IndexedRule[] {
    const exact = this.#exact.get(host) ?? [];
    if (this.#wildcards.length === 0) return exact;
    return [...new Set([...exact, ...this.#wildcards])].sort((a, b) => a.order - b.order);
  }
}

const ruleIndexes = new WeakMap<readonly DestinationRule[], WeakMap<ServiceRegistry, DestinationRuleIndex>>();

function destinationRuleIndex(rules: readonly DestinationRule[], registry: ServiceRegistry): DestinationRuleIndex {
  let byRegistry = ruleIndexes.get(rules);
  if (!byRegistry) ruleIndexes.set(rules, (byRegistry = new WeakMap()));
  let index = byRegistry.get(registry);
  if (!index) byRegistry.set(registry, (index = new DestinationRuleIndex(rules, registry)));
  return index;
}
