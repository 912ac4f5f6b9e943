// One instance of a guest module: its memory, allocator, exported callbacks and the contexts
// (root + streams) living in it. A trap marks the VM failed; the plugin then builds a new one.
import { IdTable } from "./id-table.js";
import { GuestMemoryError, GuestTrap } from "./errors.js";
import { GuestMemory } from "./memory.js";
import { TickTimer } from "./timers.js";
import type { HttpCallResponse } from "./types.js";
import { utf8Length, writeUtf8 } from "./utf8.js";

export const ROOT_CONTEXT_ID = 1;

/** A context the guest can make effective: the root (stream null) or an HTTP stream. */
export interface HostContext {
  readonly contextId: number;
  readonly stream: import("./stream.js").HttpStreamImpl | null;
}

type GuestFn = (...args: number[]) => number | undefined;

/** An exported callback looked up once when the instance is attached (absent: fn undefined). */
export interface GuestCallback {
  readonly name: string;
  readonly fn: GuestFn | undefined;
}

/** The callbacks every HTTP stream runs, by the exports they name; resolved once per instance. */
export const STREAM_CALLBACKS = {
  contextCreate: "proxy_on_context_create",
  requestHeaders: "proxy_on_request_headers",
  requestBody: "proxy_on_request_body",
  requestTrailers: "proxy_on_request_trailers",
  responseHeaders: "proxy_on_response_headers",
  responseBody: "proxy_on_response_body",
  responseTrailers: "proxy_on_response_trailers",
  done: "proxy_on_done",
  log: "proxy_on_log",
  delete: "proxy_on_delete",
} as const;

export type StreamCallback = keyof typeof STREAM_CALLBACKS;
export type StreamCallbacks = Record<StreamCallback, GuestCallback>;

export class GuestVM {
  readonly root: HostContext = { contextId: ROOT_CONTEXT_ID, stream: null };
  readonly contexts = new IdTable<HostContext>().set(ROOT_CONTEXT_ID, this.root);
  /** The effective context of the hostcall being served (proxy_set_effective_context changes it). */
  current: HostContext | null = null;
  nextContextId = ROOT_CONTEXT_ID + 1;
  nextCallToken = 1;
  failed: GuestTrap | null = null;
  closed = false;
  /** Set only while proxy_on_http_call_response runs. */
  httpCallResponse: HttpCallResponse | null = null;
  /** proxy_get_status answer for the callback being run. */
  callStatus: { code: number; message: string } = { code: 0, message: "" };
  /** Contexts that returned false from proxy_on_done and wait for proxy_done. */
  readonly awaitingDone = new IdTable<() => void>(8);
  readonly tick: TickTimer;
  /** Shared-queue tokens this VM listens on, with the listener to remove when it dies. */
  readonly queueListeners = new Map<number, (token: number) => void>();
  /** Cancels for outstanding http calls' timeouts, by call token. */
  readonly pendingCalls = new IdTable<() => void>(8);

  private instance!: WebAssembly.Instance;
  private fns!: Record<string, GuestFn | undefined>;
  private allocFn!: (size: number) => number;
  memory!: GuestMemory;
  streamCallbacks!: StreamCallbacks;

  constructor(onTick: (vm: GuestVM) => void) {
    this.tick = new TickTimer(() => onTick(this));
  }

  /** Binds the instance (created with imports that close over this VM). */
  attach(instance: WebAssembly.Instance): string | null {
    this.instance = instance;
    const ex = instance.exports as Record<string, unknown>;
    if (!(ex.memory instanceof WebAssembly.Memory)) return "module does not export its memory as 'memory'";
    const alloc = ex.proxy_on_memory_allocate ?? ex.malloc;
    if (typeof alloc !== "function") return "module exports neither proxy_on_memory_allocate nor malloc";
    this.memory = new GuestMemory(ex.memory);
    this.allocFn = alloc as (size: number) => number;
    // A fixed-shape copy of the exported functions: cheaper lookups than the exports object.
    const fns: Record<string, GuestFn | undefined> = {};
    for (const [name, value] of Object.entries(ex)) if (typeof value === "function") fns[name] = value as GuestFn;
    this.fns = fns;
    const callbacks = {} as Record<StreamCallback, GuestCallback>;
    for (const [key, name] of Object.entries(STREAM_CALLBACKS)) callbacks[key as StreamCallback] = { name, fn: fns[name] };
    this.streamCallbacks = callbacks;
    return null;
  }

  has(name: string): boolean {
    return this.fns[name] !== undefined;
  }

  /**
   * Runs an exported callback with `ctx` effective; a missing callback returns `missing`.
   * Arguments are fixed-arity (extra ones are ignored by wasm) to avoid allocating per call.
   * Any exception (trap, proc_exit, abort) marks the VM failed and is rethrown as GuestTrap.
   */
  call(name: string, ctx: HostContext, missing: number, a = 0, b = 0, c = 0, d = 0, e = 0): number {
    const fn = this.fns[name];
    if (fn === undefined) return missing;
    return this.run(fn, name, ctx, a, b, c, d, e);
  }

  /** `call` for a callback resolved at attach (the per-stream path). */
  invoke(cb: GuestCallback, ctx: HostContext, missing: number, a = 0, b = 0, c = 0): number {
    const fn = cb.fn;
    if (fn === undefined) return missing;
    return this.run(fn, cb.name, ctx, a, b, c, 0, 0);
  }

  private run(fn: GuestFn, name: string, ctx: HostContext, a: number, b: number, c: number, d: number, e: number): number {
    if (this.failed) throw this.failed;
    const previous = this.current;
    this.current = ctx;
    try {
      return (fn(a, b, c, d, e) ?? 0) as number;
    } catch (err) {
      this.failed = err instanceof GuestTrap ? err : new GuestTrap(name, err);
      this.tick.stop();
      throw this.failed;
    } finally {
      this.current = previous;
    }
  }

  /** Runs the module's start function(s): _initialize (+ main) or _start. */
  initialize(): void {
    if (this.has("_initialize")) {
      this.call("_initialize", this.root, 0);
      if (this.has("main")) this.call("main", this.root, 0, 0, 0);
    } else if (this.has("_start")) this.call("_start", this.root, 0);
  }

  /** Allocates size bytes in the guest; throws GuestMemoryError if the allocator fails. */
  malloc(size: number): number {
    const ptr = this.allocFn(size) >>> 0;
    if (ptr === 0) throw new GuestMemoryError(0, size);
    this.memory.check(ptr, size);
    return ptr;
  }

  /**
   * Hands bytes to the guest: malloc + copy, then writes the pointer and size to the out-params.
   * Empty (or null) results are ptr 0 / size 0 without calling malloc.
   */
  returnBytes(bytes: Uint8Array | null, ptrOut: number, sizeOut: number): void {
    this.memory.check(ptrOut, 4);
    this.memory.check(sizeOut, 4);
    if (!bytes || bytes.length === 0) {
      this.memory.setU32(ptrOut, 0);
      this.memory.setU32(sizeOut, 0);
      return;
    }
    const ptr = this.malloc(bytes.length);
    this.memory.write(ptr, bytes);
    this.memory.setU32(ptrOut, ptr);
    this.memory.setU32(sizeOut, bytes.length);
  }

  /** returnBytes for a string, encoded as UTF-8 straight into the guest's buffer. */
  returnString(value: string, ptrOut: number, sizeOut: number): void {
    const memory = this.memory;
    memory.check(ptrOut, 4);
    memory.check(sizeOut, 4);
    const size = utf8Length(value);
    const ptr = size === 0 ? 0 : this.malloc(size);
    if (size !== 0) writeUtf8(value, memory.view8, ptr);
    memory.setU32(ptrOut, ptr);
    memory.setU32(sizeOut, size);
  }

  /** Stops everything this VM started (timer, http call timeouts); no more guest calls. */
  shutdown(): void {
    this.closed = true;
    this.tick.stop();
    for (const cancel of this.pendingCalls.values()) cancel();
    this.pendingCalls.clear();
  }

  get alive(): boolean {
    return !this.failed && !this.closed;
  }
}
