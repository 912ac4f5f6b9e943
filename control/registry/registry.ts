// The service registry: Kubernetes Services and ServiceEntries merged into services by host, with lookups by
// host (exact, short name, or covered by a wildcard ServiceEntry), endpoints per port and subset, and the
// workload behind a proxy's node id.
import type { ConfigSet } from "../config/config-set.js";
import type { ConfigError } from "../config/errors.js";
import type { WorkloadEntry } from "../config/types.js";
import { DEFAULT_DOMAIN_SUFFIX, isVisibleFrom, resolveShortName, wildcardCovers } from "./hosts.js";
import { IssueCollector } from "./issues.js";
import { kubernetesServices } from "./kubernetes.js";
import { selectorMatches } from "./labels.js";
import { parseNodeId, type ProxyNode } from "./node.js";
import { serviceEntryServices } from "./service-entry.js";
import type { RegistryService, ServiceEndpoint } from "./types.js";

export interface RegistryOptions {
  /** Kubernetes cluster domain; short names resolve to `<name>.<namespace>.svc.<domainSuffix>`. */
  domainSuffix?: string;
}

export interface ProxyWorkload {
  node: ProxyNode;
  /** The WorkloadEntry of the proxy: by name and namespace, else by its IP in that namespace. */
  workloadEntry: WorkloadEntry | undefined;
  /** Every service endpoint at the proxy's IP: what the proxy serves inbound. */
  endpoints: { service: RegistryService; endpoint: ServiceEndpoint }[];
}

export class ServiceRegistry {
  /** Kubernetes Services first, then ServiceEntries, each in load order. A host may appear more than once. */
  readonly services: readonly RegistryService[];
  /** Config the registry could not turn into services or endpoints. */
  readonly issues: readonly ConfigError[];
  readonly domainSuffix: string;
  readonly #workloads: readonly WorkloadEntry[];
  /** Indexes for lookups made once per proxy and destination (thousands of services make scans quadratic). */
  readonly #byHostname = new Map<string, RegistryService[]>();
  #byAddress: Map<string, ProxyWorkload["endpoints"]> | undefined;
  #workloadsByNamespace: Map<string, WorkloadEntry[]> | undefined;

  constructor(config: ConfigSet, options: RegistryOptions = {}) {
    this.domainSuffix = options.domainSuffix ?? DEFAULT_DOMAIN_SUFFIX;
    const issues = new IssueCollector(config);
    this.services = [
      ...kubernetesServices(config.services, config.endpoints, config.workloadEntries, this.domainSuffix),
      ...serviceEntryServices(config.serviceEntries, config.workloadEntries, issues),
    ];
    this.issues = issues.list;
    this.#workloads = config.workloadEntries;
    for (const s of this.services) {
      const list = this.#byHostname.get(s.hostname);
      if (list) list.push(s);
      else this.#byHostname.set(s.hostname, [s]);
    }
  }

  /** Services registered under exactly this host name, in registry order. */
  withHostname(hostname: string): readonly RegistryService[] {
    return this.#byHostname.get(hostname) ?? [];
  }

  /** `reviews` seen from namespace `foo` -> `reviews.foo.svc.<domainSuffix>`; FQDNs and wildcards unchanged. */
  resolveHost(host: string, namespace: string): string {
    return resolveShortName(host, namespace, this.domainSuffix);
  }

  /**
   * The service for `host`: an exact host first, else the most specific wildcard ServiceEntry host covering it.
   * With `fromNamespace`, short names resolve against it and only services exported to it count.
   */
  byHost(host: string, fromNamespace?: string): RegistryService | undefined {
    const fqdn = fromNamespace === undefined ? host : this.resolveHost(host, fromNamespace);
    const visible = (s: RegistryService) => fromNamespace === undefined || isVisibleFrom(s.exportTo, s.namespace, fromNamespace);
    const exact = this.withHostname(fqdn).find(visible);
    if (exact) return exact;
    let best: RegistryService | undefined;
    for (const s of this.services) {
      if (s.hostname !== fqdn && wildcardCovers(s.hostname, fqdn) && visible(s) && (!best || s.hostname.length > best.hostname.length)) best = s;
    }
    return best;
  }

  /** Endpoints serving service port `port` of `host`, only those carrying every subset label when given. */
  endpointsFor(host: string, port: number, subsetLabels?: Readonly<Record<string, string>>, fromNamespace?: string): ServiceEndpoint[] {
    const service = this.byHost(host, fromNamespace);
    if (!service) return [];
    return service.endpoints.filter((e) => e.servicePort === port && selectorMatches(subsetLabels, e.labels));
  }

  /** The workload behind a proxy node id; throws NodeIdError (one line) for a malformed id. */
  proxyFor(nodeId: string): ProxyWorkload {
    const node = parseNodeId(nodeId);
    if (!this.#workloadsByNamespace) {
      this.#workloadsByNamespace = new Map();
      for (const we of this.#workloads) {
        const list = this.#workloadsByNamespace.get(we.metadata.namespace);
        if (list) list.push(we);
        else this.#workloadsByNamespace.set(we.metadata.namespace, [we]);
      }
    }
    if (!this.#byAddress) {
      this.#byAddress = new Map();
      for (const service of this.services) {
        for (const endpoint of service.endpoints) {
          const list = this.#byAddress.get(endpoint.address);
          if (list) list.push({ service, endpoint });
          else this.#byAddress.set(endpoint.address, [{ service, endpoint }]);
        }
      }
    }
    const inNamespace = this.#workloadsByNamespace.get(node.namespace) ?? [];
    const workloadEntry = inNamespace.find((we) => we.metadata.name === node.workloadName) ?? inNamespace.find((we) => we.spec.address === node.ip);
    const atAddress = this.#byAddress.get(node.ip) ?? [];
    // Several workloads on one address (a whole mesh on one machine, sidecars on loopback): the node's own name picks its endpoints.
    const own = atAddress.filter((e) => e.endpoint.workloadName === node.workloadName && e.service.namespace === node.namespace);
    return { node, workloadEntry, endpoints: own.length > 0 ? own : [...atAddress] };
  }
}

export function buildRegistry(config: ConfigSet, options?: RegistryOptions): ServiceRegistry {
  return new ServiceRegistry(config, options);
}
