// STATIC clusters with round-robin endpoint selection. Portable.
import type { ClusterConfig, SocketAddr } from "./bootstrap/types.js";

export class Cluster {
  private next = 0;
  constructor(readonly config: ClusterConfig) {}

  get name(): string {
    return this.config.name;
  }

  /** The next endpoint in round-robin order, or undefined when the cluster has none ("no healthy upstream"). */
  pick(): SocketAddr | undefined {
    const eps = this.config.endpoints;
    if (eps.length === 0) return undefined;
    const ep = eps[this.next % eps.length]!;
    this.next = (this.next + 1) % eps.length;
    return ep;
  }
}

export class ClusterManager {
  private readonly clusters = new Map<string, Cluster>();
  constructor(configs: ClusterConfig[]) {
    for (const c of configs) this.clusters.set(c.name, new Cluster(c));
  }

  get(name: string): Cluster | undefined {
    return this.clusters.get(name);
  }
}
