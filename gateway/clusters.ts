// The cluster manager: STATIC clusters from the bootstrap (the xDS-fed version later reuses Cluster), each with its
// hosts, a load balancer over the healthy (or, in panic, all) hosts, circuit breakers and outlier detection.
// Portable: the transport reports connection opens/closes back through Host.
import type { CircuitBreakerConfig, ClusterConfig, SocketAddr, UpstreamTlsConfig } from "./bootstrap/types.js";
import { createLoadBalancer, type LbContext, type LoadBalancer, type Random } from "./lb/index.js";
import { OriginalDstHosts } from "./original-dst.js";
import type { DnsResolverFactory } from "./dns.js";
import { DnsClusterHosts } from "./dns-hosts.js";
import type { EndpointPools } from "./endpoint-refs.js";
import { OutlierDetector, type OutlierHost } from "./outlier.js";
import type { PoolLimits, UpstreamTarget } from "./upstream.js";
import { endpointTls } from "./upstream-tls.js";

/** Envoy's default thresholds (priority DEFAULT). */
export const DEFAULT_CIRCUIT_BREAKERS: CircuitBreakerConfig = { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 };
export const DEFAULT_PANIC_THRESHOLD = 50;

export class Host implements UpstreamTarget, OutlierHost {
  readonly key: string;
  /** Requests holding a connection of this host (HTTP/1: one each). */
  activeRequests = 0;
  openConnections = 0;
  ejected = false;
  ejectedUntilMs = 0;
  timesEjected = 0;
  consecutive5xx = 0;
  consecutiveGatewayFailure = 0;
  /** Requests waiting for a connection of this host (Envoy's pending requests). */
  readonly waiting: Array<(admitted: boolean) => void> = [];

  /** The endpoint's TLS (transport_socket_matches, else the cluster's transport_socket); undefined: plain text. */
  readonly tls: UpstreamTlsConfig | undefined;

  /** `key`: the pool key when it is not the address (a LOGICAL_DNS host keeps its name's pool across answers). */
  constructor(readonly address: SocketAddr, readonly cluster: Cluster, key?: string) {
    this.key = key ?? `${address.address}:${address.port}`;
    this.tls = endpointTls(cluster.config, address);
  }

  get pool(): PoolLimits {
    return this.cluster.poolLimits;
  }

  get http2(): boolean {
    return this.cluster.config.http2 === true;
  }

  connectionOpened(): void {
    this.openConnections++;
    this.cluster.connections++;
  }

  connectionClosed(): void {
    this.openConnections--;
    this.cluster.connections--;
    this.cluster.dispatchWaiting();
  }
}

/** Result of asking for a connection slot: now, overflow (503 UO), or later (false when the wait timed out). */
export type Admission = "ready" | "overflow" | Promise<boolean>;

export class Cluster {
  readonly hosts: Host[];
  readonly limits: CircuitBreakerConfig;
  readonly poolLimits: PoolLimits;
  readonly panicThreshold: number;
  connections = 0;
  activeRequests = 0;
  pendingRequests = 0;
  activeRetries = 0;
  private healthy: Host[];
  private lbHealthy: LoadBalancer<Host>;
  private lbAll: LoadBalancer<Host>;
  private readonly outlier: OutlierDetector<Host> | undefined;
  /** type ORIGINAL_DST: hosts made per request from its destination instead of `hosts`. */
  readonly originalDst: OriginalDstHosts | undefined;
  /** type STRICT_DNS / LOGICAL_DNS with a resolver: `hosts` follow DNS (dns-hosts.ts). */
  private readonly dnsHosts: DnsClusterHosts<Host> | undefined;
  private closed = false;

  /**
   * `dns`: how STRICT_DNS / LOGICAL_DNS clusters resolve their names (Node: dns-node.ts). Without it (Workers) their
   * endpoints are hosts as named, and the transport connects by name. `pools`: told which endpoints this cluster's
   * hosts hold, so the transport can drain the pools of endpoints no cluster holds any more.
   */
  constructor(readonly config: ClusterConfig, private readonly random?: Random, dns?: DnsResolverFactory, private readonly pools?: EndpointPools) {
    const resolving = config.dns !== undefined && dns !== undefined;
    this.hosts = resolving ? [] : config.endpoints.map((a) => new Host(a, this));
    for (const h of this.hosts) pools?.retain(h.key);
    this.limits = config.circuitBreakers ?? DEFAULT_CIRCUIT_BREAKERS;
    this.panicThreshold = config.healthyPanicThreshold ?? DEFAULT_PANIC_THRESHOLD;
    this.poolLimits = {
      maxConnections: this.limits.maxConnections,
      ...(config.idleTimeoutMs !== undefined ? { idleTimeoutMs: config.idleTimeoutMs } : {}),
    };
    this.lbAll = createLoadBalancer(config, this.hosts, random);
    this.healthy = this.hosts;
    this.lbHealthy = this.lbAll;
    this.outlier = config.outlierDetection ? new OutlierDetector(config.outlierDetection, this.hosts, () => this.healthChanged()) : undefined;
    this.originalDst = config.originalDst ? new OriginalDstHosts(config.originalDst, (address) => new Host(address, this)) : undefined;
    if (resolving) {
      this.dnsHosts = new DnsClusterHosts(config.name, config.dns!, config.endpoints, dns!(config.dns!.resolvers), {
        makeHost: (address, key) => new Host(address, this, key),
        setHosts: (hosts) => this.setHosts(hosts),
        log: (message) => console.error(message),
      });
      this.dnsHosts.start();
    }
  }

  /** Replaces the hosts (DNS answers): the same array, so outlier detection follows; the balancers are rebuilt. */
  private setHosts(hosts: Host[]): void {
    if (this.closed) return;
    for (const h of hosts) this.pools?.retain(h.key);
    for (const h of this.hosts) this.pools?.release(h.key);
    this.hosts.splice(0, this.hosts.length, ...hosts);
    this.lbAll = createLoadBalancer(this.config, this.hosts.slice(), this.random);
    this.healthChanged();
  }

  get name(): string {
    return this.config.name;
  }

  /**
   * A host for one attempt: from the healthy hosts, or from all hosts when the healthy share is below the panic
   * threshold (Envoy's panic routing). undefined: no host to use ("no healthy upstream").
   */
  chooseHost(ctx: LbContext): Host | undefined {
    const total = this.hosts.length;
    if (total === 0) return undefined;
    const panic = (100 * this.healthy.length) / total < this.panicThreshold;
    return (panic ? this.lbAll : this.lbHealthy).choose(ctx);
  }

  /** Circuit breakers for one request on `host`; a "ready" or resolved-true admission must be paired with release. */
  admit(host: Host, maxWaitMs: number): Admission {
    if (this.activeRequests >= this.limits.maxRequests) return "overflow";
    if (this.hasConnectionFor(host)) {
      this.start(host);
      return "ready";
    }
    if (this.pendingRequests >= this.limits.maxPendingRequests) return "overflow";
    this.pendingRequests++;
    return new Promise<boolean>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waiter = (admitted: boolean) => {
        clearTimeout(timer);
        this.pendingRequests--;
        if (admitted) this.start(host);
        resolve(admitted);
      };
      if (maxWaitMs > 0) {
        timer = setTimeout(() => {
          const i = host.waiting.indexOf(waiter);
          if (i >= 0) host.waiting.splice(i, 1);
          waiter(false);
        }, maxWaitMs);
      }
      host.waiting.push(waiter);
    });
  }

  release(host: Host): void {
    host.activeRequests--;
    this.activeRequests--;
    this.dispatchHost(host);
  }

  /** max_retries: may one more retry start now? Paired with endRetry. */
  tryStartRetry(): boolean {
    if (this.activeRetries >= this.limits.maxRetries) return false;
    this.activeRetries++;
    return true;
  }

  endRetry(): void {
    this.activeRetries--;
  }

  /** The HTTP status one attempt ended with (local-origin failures as 503/504), for outlier detection. */
  reportOutcome(host: Host, status: number): void {
    this.outlier?.report(host, status);
  }

  /** Runs outlier detection's interval work now (tests). */
  outlierTick(): void {
    this.outlier?.tick();
  }

  dispatchWaiting(): void {
    for (const h of this.hosts) if (h.waiting.length > 0) this.dispatchHost(h);
  }

  close(): void {
    this.dnsHosts?.close();
    this.outlier?.close();
    this.originalDst?.close();
    for (const h of this.hosts) for (const w of h.waiting.splice(0)) w(false);
    if (!this.closed) for (const h of this.hosts) this.pools?.release(h.key);
    this.closed = true;
  }

  // HTTP/1: a request needs a connection of its own: an idle one of this host, a new one within max_connections,
  // or (as Envoy allows) a host's very first connection even when the cluster is at its limit.
  // HTTP/2: requests share the host's connection, so an open one always has room (max_requests bounds them).
  private hasConnectionFor(host: Host): boolean {
    if (this.config.http2 === true && host.openConnections > 0) return true;
    return host.openConnections > host.activeRequests || this.connections < this.limits.maxConnections || host.openConnections === 0;
  }

  private start(host: Host): void {
    host.activeRequests++;
    this.activeRequests++;
  }

  private dispatchHost(host: Host): void {
    while (host.waiting.length > 0 && this.activeRequests < this.limits.maxRequests && this.hasConnectionFor(host)) host.waiting.shift()!(true);
  }

  private healthChanged(): void {
    this.healthy = this.hosts.filter((h) => !h.ejected);
    this.lbHealthy = createLoadBalancer(this.config, this.healthy, this.random);
  }
}

export class ClusterManager {
  private readonly clusters = new Map<string, Cluster>();
  constructor(configs: ClusterConfig[], random?: Random, dns?: DnsResolverFactory, pools?: EndpointPools) {
    for (const c of configs) this.clusters.set(c.name, new Cluster(c, random, dns, pools));
  }

  get(name: string): Cluster | undefined {
    return this.clusters.get(name);
  }

  close(): void {
    for (const c of this.clusters.values()) c.close();
  }
}
