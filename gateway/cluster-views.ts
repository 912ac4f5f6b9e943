// Read-only views of clusters for gateways whose config changes at run time (xDS on Node, polling on Workers).
// The clusters themselves belong to a pool shared across config generations; views never close them. Portable.
import { Cluster, ClusterManager } from "./clusters.js";

/** A map of clusters fixed for one generation: what its routers and in-flight requests see. */
export class ClusterView extends ClusterManager {
  constructor(private readonly byName: ReadonlyMap<string, Cluster>) {
    super([]);
  }
  override get(name: string): Cluster | undefined {
    return this.byName.get(name);
  }
  override close(): void {
    // The clusters belong to the pool, not to one view.
  }
}

/** The current generation's clusters, for proxy_http_call from plugins that outlive generations. */
export class CurrentClusters extends ClusterManager {
  constructor(private readonly current: () => ClusterManager | undefined) {
    super([]);
  }
  override get(name: string): Cluster | undefined {
    return this.current()?.get(name);
  }
  override close(): void {}
}
