// Runs a gateway whose configuration changes while it serves (xDS). Each applied GatewayConfig becomes a
// generation: cluster objects, wasm plugins and HCMs for its listeners. A listener's server dispatches each new
// request to the current generation; a request in flight keeps the generation it started on, which is released
// (its plugins and clusters closed, unless the new generation still uses them) once its last request ends.
// Clusters, plugins and access logs are shared between generations while their config is unchanged, so a route
// change re-creates no wasm VM and resets no circuit breaker. Listeners are bound as they appear and drained as
// they go. Node-only.
import { readFile } from "node:fs/promises";
import { WasmPlugin, type HostOptions, type LogLevel } from "../../wasm/host/index.js";
import { openAccessLog, type NodeAccessLog } from "../access-log-node.js";
import type { AccessLogSink } from "../access-log.js";
import { startAdmin } from "../admin.js";
import type { AccessLogConfig, ClusterConfig, GatewayConfig, ListenerConfig, SocketAddr, WasmFilterConfig } from "../bootstrap/types.js";
import { Cluster } from "../clusters.js";
import { ClusterView, CurrentClusters } from "../cluster-views.js";
import { nodeDnsResolvers } from "../dns-node.js";
import { nodeProperties } from "../gateway.js";
import { HttpConnectionManager, type DownstreamInfo, type DownstreamRequest, type HcmResponse } from "../hcm.js";
import { clusterHttpCall } from "../http-call.js";
import { startListener, type RunningListener } from "../listener.js";
import { Router } from "../router.js";
import { routeResolver } from "../scoped-routes.js";
import { NodeUpstreamTransport } from "../upstream-node.js";
import type { WatchableSecretSource } from "../upstream-tls-node.js";
import { bindAddress, type PortMapping } from "./ports.js";
import { RefPool } from "./ref-pool.js";
import type { RemoteCodeCache } from "./remote-code.js";
import { configKey } from "./state.js";

export type ListenerEvent =
  | { kind: "added"; name: string; address: SocketAddr; mapping?: PortMapping; scheme?: "http" | "https" }
  | { kind: "removed"; name: string; address: SocketAddr; scheme?: "http" | "https" };

export interface DynamicGatewayOptions {
  logLevel?: LogLevel;
  /** Where remote (sha256:) wasm code is kept. */
  remoteCode?: RemoteCodeCache;
  /** How long a removed listener lets its requests in flight finish. Default 5 s. */
  drainMs?: number;
  /** The access log of HCMs whose config has none (`--access-log`). */
  defaultAccessLog?: AccessLogConfig;
  /** May ports below 1024 be bound (else they are bound at port + 8000)? Default: asked of the OS. */
  mayBindPrivileged?: (port: number) => boolean;
  onListener?(event: ListenerEvent): void;
  /** Where clusters' SDS-named upstream certificates are re-read when they change (its `watch`). */
  upstreamSecrets?: WatchableSecretSource;
  /** Listeners that are not bound: they only serve requests `dispatch` hands them (sidecar mode: sidecar.ts). */
  unbound?(listener: string): boolean;
  /**
   * Per request: another listener's HCM to serve it (if that listener exists), the request as it goes on, and the
   * destination port the filters see (what original_dst would have restored).
   */
  dispatch?(listener: string, req: DownstreamRequest, exists: (listener: string) => boolean): { listener: string; req: DownstreamRequest; localPort?: number } | undefined;
}

interface Generation {
  clusters: ClusterView;
  hcms: Map<string, HttpConnectionManager>;
  inflight: number;
  retired: boolean;
  released: boolean;
  releases: Array<() => void>;
}

/** One bound listener: the generation and HCM new requests go to. */
interface Slot {
  name: string;
  /** The address as configured (before any port mapping), to tell a moved listener from an updated one. */
  configured: SocketAddr;
  /** The listener's transport part (TLS chains, plain text or not) as bound: a change re-binds it. */
  transport: string;
  running?: RunningListener;
  gen: Generation;
  hcm: HttpConnectionManager;
}

export class DynamicGateway {
  private readonly transport: NodeUpstreamTransport;
  private readonly host: HostOptions;
  private readonly modules = new Map<string, Promise<WebAssembly.Module>>();
  private readonly clusterPool = new RefPool<Cluster>((c) => c.close());
  private readonly pluginPool = new RefPool<WasmPlugin>((p) => p.close());
  private readonly logPool = new RefPool<NodeAccessLog>((l) => l.close());
  private readonly slots = new Map<string, Slot>();
  private current: Generation | undefined;
  private admin: RunningListener | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private draining = false;
  private liveGenerations = 0;
  private pluginLoads = 0;

  constructor(private readonly identity: Pick<GatewayConfig, "node" | "admin">, private readonly opts: DynamicGatewayOptions = {}) {
    this.transport = new NodeUpstreamTransport(opts.upstreamSecrets ? { secrets: opts.upstreamSecrets } : {});
    this.host = {
      properties: nodeProperties(identity.node),
      httpCall: clusterHttpCall(new CurrentClusters(() => this.current?.clusters), this.transport),
      ...(opts.logLevel ? { logLevel: opts.logLevel } : {}),
    };
  }

  /** For tests and debugging: generations not yet released, pooled objects, wasm plugins created so far. */
  stats(): { generations: number; clusters: number; plugins: number; pluginLoads: number } {
    return { generations: this.liveGenerations, clusters: this.clusterPool.size, plugins: this.pluginPool.size, pluginLoads: this.pluginLoads };
  }

  /** The bound listeners by name. */
  listeners(): Map<string, SocketAddr> {
    return new Map([...this.slots].flatMap(([name, s]) => (s.running ? [[name, s.running.address] as const] : [])));
  }

  get adminAddress(): SocketAddr | undefined {
    return this.admin?.address;
  }

  /** Starts the admin listener of the bootstrap, if any. */
  async startAdmin(): Promise<void> {
    if (this.identity.admin && !this.admin) {
      this.admin = await startAdmin(this.identity.admin, { ready: () => this.current !== undefined && !this.draining, draining: () => this.draining });
    }
  }

  /** Puts `config` into service; on failure (bad wasm, a port in use) nothing changes and it rejects with one line. */
  apply(config: GatewayConfig): Promise<void> {
    const run = this.queue.then(() => this.applyNow(config));
    this.queue = run.catch(() => {});
    return run;
  }

  private async applyNow(config: GatewayConfig): Promise<void> {
    if (this.closed) throw new Error("the gateway is shutting down");
    const gen = await this.buildGeneration(config);
    const bound: Slot[] = [];
    try {
      for (const l of config.listeners) {
        const existing = this.slots.get(l.name);
        const transport = transportKey(l);
        const rebind = existing !== undefined && sameAddress(existing.configured, l.address);
        if (rebind && existing.transport === transport) continue;
        const slot: Slot = { name: l.name, configured: l.address, transport, gen, hcm: gen.hcms.get(l.name)! };
        bound.push(slot);
        if (this.opts.unbound?.(l.name)) continue;
        const { address, mapping } = bindAddress(l.address, this.opts.mayBindPrivileged);
        // Same address, other TLS (a PeerAuthentication mode change): the old socket stops accepting first; its
        // connections finish on the old terms.
        if (rebind) void existing.running?.drain(this.opts.drainMs ?? 5000);
        slot.running = await bindRetrying(() => startListener({ ...l, address }, { serve: (req, down) => this.serve(slot, req, down) }), rebind);
        this.opts.onListener?.({ kind: "added", name: l.name, address: slot.running.address, scheme: slot.running.scheme ?? "http", ...(mapping ? { mapping } : {}) });
      }
    } catch (e) {
      await Promise.all(bound.map((s) => s.running?.close()));
      this.release(gen);
      throw e;
    }
    // Commit: nothing below fails.
    const leaving: Slot[] = [];
    const names = new Set(config.listeners.map((l) => l.name));
    for (const slot of bound) {
      const old = this.slots.get(slot.name);
      if (old) leaving.push(old);
      this.slots.set(slot.name, slot);
    }
    for (const [name, slot] of this.slots) {
      if (!names.has(name)) {
        leaving.push(slot);
        this.slots.delete(name);
      } else if (slot.gen !== gen) {
        slot.gen = gen;
        slot.hcm = gen.hcms.get(name)!;
      }
    }
    const previous = this.current;
    this.current = gen;
    if (previous) this.retire(previous);
    // Removed, or moved to another address: no new connections; requests in flight finish on their generation.
    for (const s of leaving) {
      if (!s.running) continue;
      if (!names.has(s.name)) this.opts.onListener?.({ kind: "removed", name: s.name, address: s.running.address, scheme: s.running.scheme ?? "http" });
      void s.running.drain(this.opts.drainMs ?? 5000);
    }
  }

  private async serve(bound: Slot, received: DownstreamRequest, down: DownstreamInfo): Promise<HcmResponse> {
    const routed = this.opts.dispatch?.(bound.name, received, (name) => this.slots.has(name));
    const slot = (routed && this.slots.get(routed.listener)) || bound;
    const req = routed?.req ?? received;
    if (routed?.localPort !== undefined) down = { ...down, local: { ...down.local, port: routed.localPort } };
    const gen = slot.gen;
    const hcm = slot.hcm;
    gen.inflight++;
    try {
      return await hcm.serve(req, down);
    } finally {
      gen.inflight--;
      if (gen.retired && gen.inflight === 0) this.release(gen);
    }
  }

  private retire(gen: Generation): void {
    gen.retired = true;
    if (gen.inflight === 0) this.release(gen);
  }

  private release(gen: Generation): void {
    if (gen.released) return;
    gen.released = true;
    this.liveGenerations--;
    for (const r of gen.releases.splice(0)) r();
  }

  private async buildGeneration(config: GatewayConfig): Promise<Generation> {
    const byName = new Map<string, Cluster>();
    const gen: Generation = { clusters: new ClusterView(byName), hcms: new Map(), inflight: 0, retired: false, released: false, releases: [] };
    this.liveGenerations++;
    try {
      for (const c of config.clusters) byName.set(c.name, await this.acquire(gen, this.clusterPool, clusterKey(c), async () => new Cluster(c, undefined, nodeDnsResolvers)));
      for (const l of config.listeners) gen.hcms.set(l.name, await this.buildHcm(gen, l));
    } catch (e) {
      this.release(gen);
      throw e;
    }
    return gen;
  }

  private async buildHcm(gen: Generation, l: ListenerConfig): Promise<HttpConnectionManager> {
    const chain: WasmPlugin[] = [];
    for (const [j, f] of l.hcm.httpFilters.entries()) {
      const where = `listener "${l.name}": http_filters[${j}] (${f.name || f.filterName})`;
      chain.push(await this.acquire(gen, this.pluginPool, configKey(f), () => this.loadPlugin(f, where)));
    }
    const sinks: AccessLogSink[] = [];
    for (const [j, cfg] of (l.hcm.accessLogs ?? (this.opts.defaultAccessLog ? [this.opts.defaultAccessLog] : [])).entries()) {
      const log = await this.acquire(gen, this.logPool, configKey(cfg), async () => {
        try {
          return openAccessLog(cfg);
        } catch (e) {
          throw new Error(`listener "${l.name}": access_log[${j}]: ${e instanceof Error ? e.message : String(e)}`);
        }
      });
      sinks.push(log.sink);
    }
    const router = new Router(routeResolver(l.hcm), gen.clusters, this.transport);
    return new HttpConnectionManager(l.hcm, chain, router, undefined, sinks);
  }

  private async acquire<T>(gen: Generation, pool: RefPool<T>, key: string, create: () => Promise<T>): Promise<T> {
    const value = await pool.acquire(key, create);
    gen.releases.push(() => pool.release(key));
    return value;
  }

  private async loadPlugin(f: WasmFilterConfig, where: string): Promise<WasmPlugin> {
    this.pluginLoads++;
    let mod = this.modules.get(f.codePath);
    if (!mod) {
      const remote = this.opts.remoteCode?.get(f.codePath);
      mod = (remote ? Promise.resolve(remote) : readFile(f.codePath).then((b) => new Uint8Array(b))).then((bytes) => WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>));
      this.modules.set(f.codePath, mod);
      mod.catch(() => this.modules.delete(f.codePath));
    }
    let module: WebAssembly.Module;
    try {
      module = await mod;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === "ENOENT" ? "wasm file not found" : code ? `cannot read wasm file (${code})` : `not a valid wasm module (${e instanceof Error ? e.message : String(e)})`;
      throw new Error(`${where}: ${f.codePath}: ${why}`);
    }
    try {
      return await WasmPlugin.load(
        module,
        { name: f.name, rootId: f.rootId, vmId: f.vmId, configuration: f.configuration, vmConfiguration: f.vmConfiguration, failOpen: f.failOpen },
        this.host,
      );
    } catch (e) {
      throw new Error(`${where}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /**
   * Graceful shutdown: readiness turns 503, every listener stops accepting and lets its requests in flight finish
   * (up to graceMs), then everything is closed.
   */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    await this.queue;
    await Promise.all([...this.slots.values()].map((s) => s.running?.drain(graceMs)));
    await this.close();
  }

  async close(): Promise<void> {
    await this.queue;
    this.closed = true;
    await Promise.all([...this.slots.values()].map((s) => s.running?.close()));
    this.slots.clear();
    if (this.current) this.release(this.current);
    this.current = undefined;
    await this.admin?.close();
    await Promise.all([this.clusterPool.drain(), this.pluginPool.drain(), this.logPool.drain()]);
    this.transport.close();
  }
}

function transportKey(l: ListenerConfig): string {
  if (!l.tls) return "";
  const { secrets: _secrets, ...tls } = l.tls;
  return JSON.stringify(tls);
}

/** A port just released by the listener it replaces may take a moment to be free. */
async function bindRetrying(start: () => Promise<RunningListener>, retry: boolean): Promise<RunningListener> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await start();
    } catch (e) {
      if (!retry || attempt >= 20 || !(e instanceof Error) || !e.message.endsWith("address already in use")) throw e;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

function sameAddress(a: SocketAddr, b: SocketAddr): boolean {
  return a.address === b.address && a.port === b.port;
}

function clusterKey(c: ClusterConfig): string {
  return configKey(c);
}
