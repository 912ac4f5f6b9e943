// Configuration generations of a gateway whose config changes while it serves (xDS, REST polling). Each applied
// GatewayConfig becomes a generation: cluster objects, wasm plugins and one HCM per listener. New requests go to the
// current generation; a request in flight keeps the one it started on, which is released (its plugins and clusters
// closed, unless a newer generation still uses them) once its last request ends. Clusters and plugins are shared
// between generations while their config is unchanged, so a route change re-creates no wasm VM and resets no circuit
// breaker. The runtime parts (how a cluster, a plugin and an access log are made) come from the embedder. Portable.
import type { HostOptions, WasmPlugin } from "../wasm/host/index.js";
import type { AccessLogSink } from "./access-log.js";
import type { ClusterConfig, GatewayConfig, ListenerConfig, WasmFilterConfig } from "./bootstrap/types.js";
import { Cluster } from "./clusters.js";
import { ClusterView, CurrentClusters } from "./cluster-views.js";
import { HttpConnectionManager } from "./hcm.js";
import { clusterHttpCall } from "./http-call.js";
import { Router } from "./router.js";
import { routeResolver } from "./scoped-routes.js";
import type { UpstreamTransport } from "./upstream.js";
import { RefPool } from "./xds/ref-pool.js";
import { configKey } from "./xds/state.js";

export interface Generation {
  readonly clusters: ClusterView;
  readonly listeners: readonly ListenerConfig[];
  readonly hcms: ReadonlyMap<string, HttpConnectionManager>;
}

interface LiveGeneration extends Generation {
  readonly hcms: Map<string, HttpConnectionManager>;
  inflight: number;
  retired: boolean;
  released: boolean;
  releases: Array<() => void>;
}

/** How the embedder's runtime makes what a generation holds. */
export interface GenerationParts {
  cluster(config: ClusterConfig): Cluster;
  /** Loads a wasm filter; `where` names it for errors (`listener "x": http_filters[0] (name)`). */
  plugin(filter: WasmFilterConfig, where: string, host: HostOptions): Promise<WasmPlugin>;
  /** Plugins with the same key are one plugin (default: the filter's whole config). */
  pluginKey?(filter: WasmFilterConfig): string;
  /** A listener's access log sinks; `share` pools an object between generations by key, as clusters are. */
  accessLogs?(listener: ListenerConfig, share: <T extends { close(): void | Promise<void> }>(key: string, create: () => T) => Promise<T>): Promise<AccessLogSink[]>;
}

export class Generations {
  /** The host options every plugin is loaded with: wasm http_calls go to the current generation's clusters. */
  readonly host: HostOptions;
  private readonly clusterPool = new RefPool<Cluster>((c) => c.close());
  private readonly pluginPool = new RefPool<WasmPlugin>((p) => p.close());
  private readonly sharedPool = new RefPool<{ close(): void | Promise<void> }>((x) => x.close());
  private live: LiveGeneration | undefined;
  private liveCount = 0;
  private loads = 0;

  constructor(private readonly parts: GenerationParts, private readonly transport: UpstreamTransport, host: Omit<HostOptions, "httpCall">) {
    this.host = { ...host, httpCall: clusterHttpCall(new CurrentClusters(() => this.live?.clusters), transport) };
  }

  /** The generation new requests go to, if one is in service. */
  get current(): Generation | undefined {
    return this.live;
  }

  stats(): { generations: number; clusters: number; plugins: number; pluginLoads: number } {
    return { generations: this.liveCount, clusters: this.clusterPool.size, plugins: this.pluginPool.size, pluginLoads: this.loads };
  }

  /** Builds `config`'s generation, sharing what is unchanged; on failure nothing is held and it rejects with one line. */
  async build(config: GatewayConfig): Promise<Generation> {
    const byName = new Map<string, Cluster>();
    const gen: LiveGeneration = { clusters: new ClusterView(byName), listeners: config.listeners, hcms: new Map(), inflight: 0, retired: false, released: false, releases: [] };
    this.liveCount++;
    try {
      for (const c of config.clusters) byName.set(c.name, await this.acquire(gen, this.clusterPool, configKey(c), async () => this.parts.cluster(c)));
      for (const l of config.listeners) gen.hcms.set(l.name, await this.buildHcm(gen, l));
    } catch (e) {
      this.release(gen);
      throw e;
    }
    return gen;
  }

  /** Puts a built generation into service; the previous one is released once its requests in flight end. */
  install(gen: Generation): void {
    const previous = this.live;
    this.live = gen as LiveGeneration;
    if (previous) this.retire(previous);
  }

  /** Releases a built generation that will not be installed. */
  discard(gen: Generation): void {
    this.release(gen as LiveGeneration);
  }

  /** A request starts on `gen`: it stays alive until the matching `leave`. */
  enter(gen: Generation): void {
    (gen as LiveGeneration).inflight++;
  }

  leave(gen: Generation): void {
    const g = gen as LiveGeneration;
    if (--g.inflight === 0 && g.retired) this.release(g);
  }

  /** Releases the current generation and disposes everything shared (shutdown). */
  async close(): Promise<void> {
    if (this.live) this.release(this.live);
    this.live = undefined;
    await Promise.all([this.clusterPool.drain(), this.pluginPool.drain(), this.sharedPool.drain()]);
  }

  private async buildHcm(gen: LiveGeneration, l: ListenerConfig): Promise<HttpConnectionManager> {
    const chain: WasmPlugin[] = [];
    for (const [j, f] of l.hcm.httpFilters.entries()) {
      const where = `listener "${l.name}": http_filters[${j}] (${f.name || f.filterName})`;
      const key = this.parts.pluginKey?.(f) ?? configKey(f);
      chain.push(
        await this.acquire(gen, this.pluginPool, key, () => {
          this.loads++;
          return this.parts.plugin(f, where, this.host);
        }),
      );
    }
    const share = <T extends { close(): void | Promise<void> }>(key: string, create: () => T) => this.acquire(gen, this.sharedPool, key, async () => create()) as Promise<T>;
    const sinks = (await this.parts.accessLogs?.(l, share)) ?? [];
    return new HttpConnectionManager(l.hcm, chain, new Router(routeResolver(l.hcm), gen.clusters, this.transport), undefined, sinks);
  }

  private async acquire<T>(gen: LiveGeneration, pool: RefPool<T>, key: string, create: () => Promise<T>): Promise<T> {
    const value = await pool.acquire(key, create);
    gen.releases.push(() => pool.release(key));
    return value;
  }

  private retire(gen: LiveGeneration): void {
    gen.retired = true;
    if (gen.inflight === 0) this.release(gen);
  }

  private release(gen: LiveGeneration): void {
    if (gen.released) return;
    gen.released = true;
    this.liveCount--;
    for (const r of gen.releases.splice(0)) r();
  }
}
