// The hosts of a STRICT_DNS or LOGICAL_DNS cluster, kept up to date from DNS (Envoy's service discovery types):
// - STRICT_DNS: every endpoint's name is resolved on its own, and each address it returns is a host (with the
//   endpoint's port and socket match). After a refresh, hosts whose address is gone are removed, new ones added,
//   and the others are the same Host objects (outlier state, connection counts, pools). A failed resolution
//   keeps the endpoint's previous hosts.
// - LOGICAL_DNS: one endpoint, one logical host whose address is the first of the latest answer: new connections
//   go there, while connections already open stay open (the host's pool key is the name, so the transport does not
//   close them; in-flight requests finish on them). An empty answer keeps the previous address.
// Until the first answer the cluster has no hosts (503 UH, as Envoy). Portable.
import type { DnsClusterConfig, EndpointConfig } from "./bootstrap/types.js";
import { DnsRefresher, type DnsResolver } from "./dns.js";

/** What DnsClusterHosts needs of its cluster. */
export interface DnsHostSink<H> {
  /** Makes a host for an address; `key` overrides the pool key (LOGICAL_DNS: the name). */
  makeHost(address: EndpointConfig, key?: string): H;
  /** The cluster's hosts changed: these are now all of them, in endpoint order. */
  setHosts(hosts: H[]): void;
  /** A resolution failed (the hosts stay). */
  log(message: string): void;
}

export class DnsClusterHosts<H> {
  private readonly refreshers: DnsRefresher[] = [];
  /** STRICT_DNS: per endpoint, address -> host. */
  private readonly byEndpoint: Array<Map<string, H>>;

  constructor(
    private readonly clusterName: string,
    private readonly config: DnsClusterConfig,
    private readonly endpoints: readonly EndpointConfig[],
    private readonly resolver: DnsResolver,
    private readonly sink: DnsHostSink<H>,
  ) {
    this.byEndpoint = endpoints.map(() => new Map());
  }

  start(): void {
    if (this.config.kind === "LOGICAL_DNS") this.startLogical(this.endpoints[0]!);
    else this.endpoints.forEach((e, i) => this.watch(e.address, (addresses) => this.strictAnswer(i, addresses)));
  }

  close(): void {
    for (const r of this.refreshers) r.close();
    this.resolver.close();
  }

  private watch(name: string, onAnswer: (addresses: string[]) => void): void {
    const r = new DnsRefresher(name, this.config, this.resolver, onAnswer, (m) => this.sink.log(`cluster "${this.clusterName}": DNS resolution failed, keeping its hosts: ${m}`));
    this.refreshers.push(r);
    r.start();
  }

  private strictAnswer(index: number, addresses: string[]): void {
    const endpoint = this.endpoints[index]!;
    const before = this.byEndpoint[index]!;
    const after = new Map<string, H>();
    for (const a of addresses) after.set(a, before.get(a) ?? this.sink.makeHost({ ...endpoint, address: a }));
    const same = after.size === before.size && [...after.keys()].every((a, i) => [...before.keys()][i] === a);
    this.byEndpoint[index] = after;
    if (!same) this.sink.setHosts(this.byEndpoint.flatMap((m) => [...m.values()]));
  }

  private startLogical(endpoint: EndpointConfig): void {
    // The host's address object is ours: each answer points it at the new first address.
    const address: EndpointConfig = { ...endpoint };
    const host = this.sink.makeHost(address, `${endpoint.address}:${endpoint.port}`);
    let resolved = false;
    this.watch(endpoint.address, (addresses) => {
      const first = addresses[0];
      if (first === undefined) return;
      address.address = first;
      if (!resolved) {
        resolved = true;
        this.sink.setHosts([host]);
      }
    });
  }
}
