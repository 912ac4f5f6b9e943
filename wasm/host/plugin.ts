// WasmPlugin: loads a proxy-wasm module for one plugin (root id + configuration), runs its root
// context (tick timer, http calls, shared queues) and creates HTTP streams. A trap anywhere kills
// only the VM instance: streams waiting on it are answered (503, or continue when failOpen) and
// the next stream gets a freshly instantiated and configured VM.
import { LOG_LEVELS } from "./abi.js";
import { GuestTrap, PluginError } from "./errors.js";
import { buildImports, type ImportHost } from "./imports.js";
import { defaultLog, levelNumber } from "./log.js";
import { MetricsRegistry } from "./metrics.js";
import type { PluginScope } from "./properties.js";
import { processSharedState, type SharedState } from "./shared.js";
import { HttpStreamImpl, type StreamOwner } from "./stream.js";
import { unrefTimeout } from "./timers.js";
import type { HeaderMap, HostOptions, HttpCallResponse, HttpStream, LogLevel, PluginConfig, PropertyValue, StreamInfo } from "./types.js";
import { encodeUtf8 } from "./utf8.js";
import { GuestVM, ROOT_CONTEXT_ID } from "./vm.js";

const ABI_MARKERS = ["proxy_abi_version_0_2_1", "proxy_abi_version_0_2_0"];
const RESTART_BACKOFF_MS = 1000;
const CLOSE_DONE_WAIT_MS = 1000;

function toBytes(v: string | Uint8Array | undefined): Uint8Array {
  if (v === undefined) return new Uint8Array(0);
  return typeof v === "string" ? encodeUtf8(v) : v;
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class WasmPlugin implements ImportHost, StreamOwner {
  readonly name: string;
  readonly rootId: string;
  readonly vmId: string;
  readonly failOpen: boolean;
  readonly configuration: Uint8Array;
  readonly vmConfiguration: Uint8Array;
  readonly metrics: MetricsRegistry;
  readonly shared: SharedState;
  readonly logLevel: number;
  readonly scope: PluginScope;
  /** @internal */
  readonly options: HostOptions;

  private vm: GuestVM | null = null;
  private lastFailedRestart = -Infinity;
  private isClosed = false;
  /** Last error/critical line the guest logged: explains why configure failed. */
  private lastGuestError = "";
  private readonly logFn: NonNullable<HostOptions["log"]>;
  private readonly nowFn: () => bigint;
  private readonly monoFn: () => bigint;

  private constructor(private readonly module: WebAssembly.Module, config: PluginConfig, options: HostOptions) {
    this.name = config.name;
    this.rootId = config.rootId;
    this.vmId = config.vmId ?? "";
    this.failOpen = config.failOpen === true;
    this.configuration = toBytes(config.configuration);
    this.vmConfiguration = toBytes(config.vmConfiguration);
    this.options = options;
    this.metrics = options.metrics ?? new MetricsRegistry();
    this.shared = options.shared ?? processSharedState();
    this.logLevel = levelNumber(options.logLevel ?? "info");
    this.logFn = options.log ?? defaultLog;
    this.nowFn = options.now ?? (() => BigInt(Date.now()) * 1_000_000n);
    this.monoFn = options.monotonicNow ?? (() => BigInt(Math.round(performance.now() * 1e6)));
    const properties: Record<string, PropertyValue> = options.properties ?? {};
    this.scope = { name: this.name, rootId: this.rootId, vmId: this.vmId, properties };
  }

  /**
   * Instantiates the module, runs _initialize/_start, creates the root context and calls
   * proxy_on_vm_start and proxy_on_configure. Throws PluginError naming the plugin and the reason.
   */
  static async load(module: WebAssembly.Module, config: PluginConfig, options: HostOptions = {}): Promise<WasmPlugin> {
    const label = typeof config?.name === "string" && config.name ? config.name : "<unnamed>";
    if (!(module instanceof WebAssembly.Module)) throw new PluginError(label, "expected a compiled WebAssembly.Module");
    if (typeof config?.name !== "string" || !config.name) throw new PluginError(label, "config.name must be a non-empty string");
    if (typeof config.rootId !== "string") throw new PluginError(label, "config.rootId must be a string");
    if (options.logLevel !== undefined && !LOG_LEVELS.includes(options.logLevel)) {
      throw new PluginError(label, `options.logLevel "${options.logLevel}" is not one of ${LOG_LEVELS.join(", ")}`);
    }
    const exportsNames = WebAssembly.Module.exports(module).map((e) => e.name);
    if (!ABI_MARKERS.some((m) => exportsNames.includes(m))) {
      throw new PluginError(label, "module does not export proxy_abi_version_0_2_1: not a proxy-wasm ABI v0.2.1 module");
    }
    const plugin = new WasmPlugin(module, config, options);
    plugin.vm = plugin.startVm();
    return plugin;
  }

  createStream(info: StreamInfo = {}): HttpStream {
    if (this.isClosed) throw new PluginError(this.name, "createStream called after close()");
    const vm = this.liveVm();
    if (!vm) return new HttpStreamImpl(this, null, info, 0);
    const id = vm.nextContextId++;
    const stream = new HttpStreamImpl(this, vm, info, id);
    vm.contexts.set(id, stream);
    try {
      vm.invoke(vm.streamCallbacks.contextCreate, stream, 0, id, ROOT_CONTEXT_ID);
    } catch (e) {
      this.handleTrap(vm, e as GuestTrap);
    }
    return stream;
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    const vm = this.vm;
    this.vm = null;
    if (!vm) return;
    if (vm.alive) {
      try {
        const completed = vm.call("proxy_on_done", vm.root, 1, ROOT_CONTEXT_ID);
        if (!completed) {
          await new Promise<void>((resolve) => {
            const cancel = unrefTimeout(resolve, CLOSE_DONE_WAIT_MS);
            vm.awaitingDone.set(ROOT_CONTEXT_ID, () => {
              cancel();
              resolve();
            });
          });
        }
        if (vm.alive) vm.call("proxy_on_delete", vm.root, 0, ROOT_CONTEXT_ID);
      } catch (e) {
        this.log(3, `root context teardown failed: ${describe(e)}`);
      }
    }
    this.retire(vm);
    // Streams still waiting on this plugin get the failure outcome instead of hanging.
    for (const ctx of vm.contexts.values()) ctx.stream?.failPending();
  }

  // ---- ImportHost / StreamOwner ----

  now(): bigint {
    return this.nowFn();
  }

  monotonicNow(): bigint {
    return this.monoFn();
  }

  clockMark(): number | bigint {
    // performance.now() is much cheaper than building a BigInt per stream; only a custom clock needs one.
    return this.options.monotonicNow ? this.options.monotonicNow() : performance.now();
  }

  elapsedNs(mark: number | bigint): bigint {
    if (typeof mark === "bigint") return this.monoFn() - mark;
    return BigInt(Math.round((performance.now() - mark) * 1e6));
  }

  log(level: number, message: string): void {
    if (level >= 4) this.lastGuestError = message;
    if (level < this.logLevel) return;
    this.logFn(LOG_LEVELS[level] as LogLevel, message, this.name);
  }

  handleTrap(vm: GuestVM, trap: GuestTrap): void {
    const reason = trap instanceof GuestTrap ? trap.message : describe(trap);
    if (vm.closed) return;
    this.log(4, `VM trapped, failing its streams and restarting it for new ones: ${reason}`);
    this.retire(vm);
    for (const ctx of vm.contexts.values()) ctx.stream?.failPending();
    if (this.vm === vm) this.vm = null;
  }

  startHttpCall(vm: GuestVM, contextId: number, token: number, cluster: string, headers: HeaderMap, body: Uint8Array | null, trailers: HeaderMap, timeoutMs: number): void {
    const dispatch = this.options.httpCall!;
    let settled = false;
    const finish = (response: HttpCallResponse | null, failure: string) => {
      if (settled) return;
      settled = true;
      vm.pendingCalls.delete(token);
      cancelTimeout();
      this.deliverHttpCallResponse(vm, contextId, token, response, failure);
    };
    const cancelTimeout = timeoutMs > 0 ? unrefTimeout(() => finish(null, "timeout"), timeoutMs) : () => {};
    vm.pendingCalls.set(token, cancelTimeout);
    let request: Promise<HttpCallResponse>;
    try {
      request = Promise.resolve(dispatch(cluster, headers, body, trailers, timeoutMs));
    } catch (e) {
      request = Promise.reject(e);
    }
    request.then(
      (r) => finish(r, ""),
      (e) => {
        this.log(1, `http call ${token} to ${cluster} failed: ${describe(e)}`);
        finish(null, "failure");
      },
    );
  }

  queueReady(vm: GuestVM, token: number): void {
    if (!vm.alive) return;
    try {
      vm.call("proxy_on_queue_ready", vm.root, 0, ROOT_CONTEXT_ID, token);
    } catch (e) {
      this.handleTrap(vm, e as GuestTrap);
    }
  }

  // ---- internals ----

  private deliverHttpCallResponse(vm: GuestVM, contextId: number, token: number, response: HttpCallResponse | null, failure: string): void {
    const ctx = vm.contexts.get(contextId);
    if (!vm.alive || !ctx) return; // the VM died or the calling stream finished: Envoy cancels the call
    const r = response ?? { headers: [], body: new Uint8Array(0), trailers: [] };
    const status = r.headers.find(([k]) => k === ":status")?.[1];
    vm.httpCallResponse = r;
    vm.callStatus = response ? { code: status ? Number(status) : 0, message: "" } : { code: 14, message: failure };
    try {
      vm.call("proxy_on_http_call_response", ctx, 0, contextId, token, r.headers.length, r.body.length, r.trailers.length);
    } catch (e) {
      this.handleTrap(vm, e as GuestTrap);
    } finally {
      vm.httpCallResponse = null;
      vm.callStatus = { code: 0, message: "" };
    }
  }

  private fireTick(vm: GuestVM): void {
    if (!vm.alive) return vm.tick.stop();
    try {
      vm.call("proxy_on_tick", vm.root, 0, ROOT_CONTEXT_ID);
    } catch (e) {
      this.handleTrap(vm, e as GuestTrap);
    }
  }

  /**
   * The current VM, re-instantiating a failed one. After a restart that itself failed (e.g. the
   * guest now rejects its configuration) new attempts wait RESTART_BACKOFF_MS; streams created
   * meanwhile get the failure outcome.
   */
  private liveVm(): GuestVM | null {
    if (this.vm?.alive) return this.vm;
    if (Date.now() - this.lastFailedRestart < RESTART_BACKOFF_MS) return null;
    try {
      this.vm = this.startVm();
      this.log(2, "VM restarted after a trap");
      return this.vm;
    } catch (e) {
      this.lastFailedRestart = Date.now();
      this.log(4, `VM restart failed: ${describe(e)}`);
      return null;
    }
  }

  /** Instantiate + initialize + root context + vm_start + configure, all synchronous. */
  private startVm(): GuestVM {
    const vm = new GuestVM((v) => this.fireTick(v));
    const imports = buildImports(this.module, vm, this);
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(this.module, imports);
    } catch (e) {
      throw new PluginError(this.name, `instantiation failed: ${describe(e)}`);
    }
    const problem = vm.attach(instance);
    if (problem) throw new PluginError(this.name, problem);
    this.lastGuestError = "";
    const why = () => (this.lastGuestError ? ` (guest said: ${this.lastGuestError})` : "");
    try {
      vm.initialize();
      vm.call("proxy_on_context_create", vm.root, 0, ROOT_CONTEXT_ID, 0);
      if (!vm.call("proxy_on_vm_start", vm.root, 1, ROOT_CONTEXT_ID, this.vmConfiguration.length)) {
        throw new PluginError(this.name, `proxy_on_vm_start returned false${why()}`);
      }
      if (!vm.call("proxy_on_configure", vm.root, 1, ROOT_CONTEXT_ID, this.configuration.length)) {
        throw new PluginError(this.name, `proxy_on_configure rejected the plugin configuration${why()}`);
      }
    } catch (e) {
      this.retire(vm);
      if (e instanceof PluginError) throw e;
      throw new PluginError(this.name, `${describe(e)}${why()}`);
    }
    return vm;
  }

  /** Stops a VM's timers, http call timeouts and queue listeners; it gets no more callbacks. */
  private retire(vm: GuestVM): void {
    vm.shutdown();
    for (const [token, listener] of vm.queueListeners) this.shared.unlistenQueue(token, listener);
    vm.queueListeners.clear();
  }
}
