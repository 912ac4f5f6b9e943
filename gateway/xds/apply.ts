// Runs a gateway whose configuration changes while it serves (xDS): each applied GatewayConfig becomes a generation
// (gateway/generations.ts) and a request in flight finishes on the one it started on. Listeners are bound as they
// appear, re-bound when their TLS changes and drained as they go. Node-only.
import type { LogLevel } from "../../wasm/host/index.js";
import { openAccessLog } from "../access-log-node.js";
import type { AccessLogSink } from "../access-log.js";
import { startAdmin } from "../admin.js";
import type { AccessLogConfig, GatewayConfig, ListenerConfig, SocketAddr } from "../bootstrap/types.js";
import { Cluster } from "../clusters.js";
import { nodeDnsResolvers } from "../dns-node.js";
import { Generations, type Generation } from "../generations.js";
import type { DownstreamInfo, DownstreamRequest, HcmResponse, HttpConnectionManager, ProtocolError } from "../hcm.js";
import { startListener, type RunningListener } from "../listener.js";
import { NodeUpstreamTransport } from "../upstream-node.js";
import { WasmCode } from "../wasm-code-node.js";
import { loadFilterPlugin, nodeProperties } from "../wasm-filters.js";
import type { WatchableSecretSource } from "../upstream-tls-node.js";
import { bindAddress, type PortMapping } from "./ports.js";
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
  private readonly generations: Generations;
  private readonly code: WasmCode;
  private readonly slots = new Map<string, Slot>();
  private admin: RunningListener | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private draining = false;

  constructor(private readonly identity: Pick<GatewayConfig, "node" | "admin">, private readonly opts: DynamicGatewayOptions = {}) {
    this.code = new WasmCode(opts.remoteCode);
    this.transport = new NodeUpstreamTransport(opts.upstreamSecrets ? { secrets: opts.upstreamSecrets } : {});
    this.generations = new Generations(
      {
        cluster: (c) => new Cluster(c, undefined, nodeDnsResolvers, this.transport.endpoints),
        plugin: async (f, where, host) => loadFilterPlugin(await this.code.module(f.codePath, where), f, where, host),
        accessLogs: (l, share) => this.accessLogs(l, share),
      },
      this.transport,
      { properties: nodeProperties(identity.node), ...(opts.logLevel ? { logLevel: opts.logLevel } : {}) },
    );
  }

  /** For tests and debugging: generations not yet released, pooled objects, wasm plugins created so far. */
  stats(): { generations: number; clusters: number; plugins: number; pluginLoads: number } {
    return this.generations.stats();
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
      this.admin = await startAdmin(this.identity.admin, { ready: () => this.generations.current !== undefined && !this.draining, draining: () => this.draining });
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
    const gen = await this.generations.build(config);
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
        const entry = { serve: (req: DownstreamRequest, down: DownstreamInfo) => this.serve(slot, req, down), logProtocolError: (e: ProtocolError) => slot.hcm.logProtocolError(e) };
        slot.running = await bindRetrying(() => startListener({ ...l, address }, entry), rebind);
        this.opts.onListener?.({ kind: "added", name: l.name, address: slot.running.address, scheme: slot.running.scheme ?? "http", ...(mapping ? { mapping } : {}) });
      }
    } catch (e) {
      await Promise.all(bound.map((s) => s.running?.close()));
      this.generations.discard(gen);
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
    this.generations.install(gen);
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
    this.generations.enter(gen);
    try {
      return await hcm.serve(req, down);
    } finally {
      this.generations.leave(gen);
    }
  }

  private async accessLogs(l: ListenerConfig, share: <T extends { close(): void | Promise<void> }>(key: string, create: () => T) => Promise<T>): Promise<AccessLogSink[]> {
    const sinks: AccessLogSink[] = [];
    for (const [j, cfg] of (l.hcm.accessLogs ?? (this.opts.defaultAccessLog ? [this.opts.defaultAccessLog] : [])).entries()) {
      const log = await share(`access-log ${configKey(cfg)}`, () => {
        try {
          return openAccessLog(cfg);
        } catch (e) {
          throw new Error(`listener "${l.name}": access_log[${j}]: ${e instanceof Error ? e.message : String(e)}`);
        }
      });
      sinks.push(log.sink);
    }
    return sinks;
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
    await this.admin?.close();
    await this.generations.close();
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

