// The gateway on a Workers-style edge: no sockets to bind, one fetch handler for every listener. Each applied
// GatewayConfig becomes a generation (gateway/generations.ts); a request goes to a listener of the current
// generation and finishes on it even when a newer config arrives meanwhile.
//
// Every wasm filter runs the one module the embedder passes in (the statically imported halyard.wasm): whatever
// vm_config.code names — local.filename or remote http_uri — is not read. Workers cannot compile wasm at run time,
// so there is no other module to load. Portable: no node: imports.
import type { LogLevel } from "../../wasm/host/index.js";
import type { AccessLogSink } from "../access-log.js";
import type { AccessLogConfig, GatewayConfig, ListenerConfig, NodeInfo, WasmFilterConfig } from "../bootstrap/types.js";
import { Cluster } from "../clusters.js";
import { Generations } from "../generations.js";
import { fromWebRequest, type DownstreamInfo } from "../hcm.js";
import type { UpstreamTransport } from "../upstream.js";
import { FetchUpstreamTransport } from "../upstream-fetch.js";
import { loadFilterPlugin, nodeProperties } from "../wasm-filters.js";
import { configKey } from "../xds/state.js";

/** Period of the no-op timer a request in flight holds (see `handle`). */
const KEEP_ALIVE_MS = 1000;
const IDLE_CHECK_MS = 25;

export interface EdgeGatewayOptions {
  /** The compiled halyard.wasm every wasm filter runs. */
  wasm: WebAssembly.Module;
  node: NodeInfo;
  /** Default: fetch(). */
  transport?: UpstreamTransport;
  /** The listener every request goes to, by name; default: see `selectListener`. */
  listener?: string;
  logLevel?: LogLevel;
}

/** A request the gateway answers itself because no listener takes it, or no configuration is in service. */
export class NoListenerError extends Error {
  override name = "NoListenerError";
}

export class EdgeGateway {
  private readonly transport: UpstreamTransport;
  private readonly generations: Generations;
  private queue: Promise<unknown> = Promise.resolve();
  private inflight = 0;

  constructor(private readonly opts: EdgeGatewayOptions) {
    this.transport = opts.transport ?? new FetchUpstreamTransport();
    this.generations = new Generations(
      {
        cluster: (c) => new Cluster(c),
        plugin: (f, where, host) => loadFilterPlugin(opts.wasm, f, where, host),
        pluginKey,
        accessLogs: async (l) => (l.hcm.accessLogs ?? []).map((cfg, j) => consoleSink(cfg, `listener "${l.name}": access_log[${j}]`)),
      },
      this.transport,
      { properties: nodeProperties(opts.node), ...(opts.logLevel ? { logLevel: opts.logLevel } : {}) },
    );
  }

  get ready(): boolean {
    return this.generations.current !== undefined;
  }

  /** For tests and debugging: the listeners in service and the wasm plugins created so far. */
  stats(): { listeners: string[]; plugins: number; pluginLoads: number } {
    const { plugins, pluginLoads } = this.generations.stats();
    return { listeners: this.generations.current?.listeners.map((l) => l.name) ?? [], plugins, pluginLoads };
  }

  /** Puts `config` into service; on failure (a filter that does not load) nothing changes and it rejects with one line. */
  apply(config: GatewayConfig): Promise<void> {
    const run = this.queue.then(async () => this.generations.install(await this.generations.build(config)));
    this.queue = run.catch(() => {});
    return run;
  }

  /**
   * Answers one downstream request through the HCM of the listener it belongs to.
   *
   * A wasm VM is shared by all requests, so what resumes a paused stream (the tick of halyard.fault's delays) may
   * run in another request's context. Workers cancel a request that waits with nothing of its own pending, and end
   * a request's timers with it; so each request keeps a timer of its own while it runs, and the caller should
   * keep every request's context alive until `idle()` (ctx.waitUntil), since the VM's tick may belong to it.
   */
  async handle(request: Request, remoteAddress: string): Promise<Response> {
    const gen = this.generations.current;
    if (!gen) throw new NoListenerError("no configuration in service yet");
    const listener = selectListener(gen.listeners, new URL(request.url), this.opts.listener);
    const hcm = gen.hcms.get(listener.name)!;
    const down: DownstreamInfo = { remote: { address: remoteAddress, port: 0 }, local: listener.address };
    this.generations.enter(gen);
    this.inflight++;
    try {
      return await awaitHoldingTimer(hcm.handle(fromWebRequest(request), down));
    } finally {
      this.generations.leave(gen);
      this.inflight--;
    }
  }

  /**
   * Resolves once no request is in flight. It checks on a timer of its own rather than being resolved by the last
   * request: Workers cancel a waitUntil promise that only another request could settle.
   */
  async idle(): Promise<void> {
    while (this.inflight > 0) await new Promise((resolve) => setTimeout(resolve, IDLE_CHECK_MS));
  }

  async close(): Promise<void> {
    await this.queue;
    await this.generations.close();
    this.transport.close();
  }
}

/** stdout and stderr access logs go to the console (the Workers log); an edge worker has no files. */
function consoleSink(cfg: AccessLogConfig, where: string): AccessLogSink {
  if (cfg.kind === "stdout") return (line) => console.log(line);
  if (cfg.kind === "stderr") return (line) => console.error(line);
  throw new Error(`${where}: a file access log (${cfg.path}) is not available on the edge; use stdout or stderr`);
}

/**
 * Awaits `p` while holding a no-op timer in the caller's context: Workers cancel a request that waits with nothing
 * of its own pending, as when `p` is settled by another request's timer or I/O.
 */
export async function awaitHoldingTimer<T>(p: Promise<T>): Promise<T> {
  const timer = setInterval(() => {}, KEEP_ALIVE_MS);
  try {
    return await p;
  } finally {
    clearInterval(timer);
  }
}

/**
 * The listener a request belongs to. A worker has one URL for all of them, so: the listener named by `named`
 * (HALYARD_LISTENER), else the one whose port is the request URL's port, else the only listener there is.
 */
export function selectListener(listeners: readonly ListenerConfig[], url: URL, named: string | undefined): ListenerConfig {
  if (named !== undefined) {
    const l = listeners.find((x) => x.name === named);
    if (!l) throw new NoListenerError(`listener "${named}" (HALYARD_LISTENER) is not in the configuration (listeners: ${describeListeners(listeners)})`);
    return l;
  }
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const byPort = listeners.filter((l) => l.address.port === port);
  if (byPort.length === 1) return byPort[0]!;
  if (listeners.length === 1) return listeners[0]!;
  if (listeners.length === 0) throw new NoListenerError("the configuration has no listeners");
  throw new NoListenerError(`no single listener for port ${port} (listeners: ${describeListeners(listeners)}); set HALYARD_LISTENER to one of them`);
}

function describeListeners(listeners: readonly ListenerConfig[]): string {
  return listeners.length === 0 ? "none" : listeners.map((l) => `${l.name} on port ${l.address.port}`).join(", ");
}

// The module is the same for every filter, so the code path does not make plugins different.
function pluginKey(f: WasmFilterConfig): string {
  return configKey({ ...f, codePath: "", codeField: [] });
}
