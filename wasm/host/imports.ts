// The `env` (proxy-wasm ABI v0.2.1) and `wasi_snapshot_preview1` import objects for one VM.
// Every hostcall validates guest pointers: a bad pointer/length answers InvalidMemoryAccess (WASI:
// EFAULT) and never throws into the host. Hostcalls the host does not support answer
// Unimplemented; imports the module wants beyond the ABI get such stubs too, so instantiation
// never fails on an optional extension (e.g. an SDK's vendor calls).
import { BufferType, LOG_LEVELS, MapType, NO_GRPC_STATUS, StreamType, WasiErrno, WasmResult } from "./abi.js";
import { GuestExit, GuestMemoryError, PluginError } from "./errors.js";
import { levelOfStdioLine } from "./log.js";
import { metricKindFromAbi, type MetricsRegistry } from "./metrics.js";
import { encodePairs, pairsSize, parsePairs } from "./pairs.js";
import { getProperty, setProperty, type PluginScope } from "./properties.js";
import type { SharedState } from "./shared.js";
import type { HeaderMap, HostOptions } from "./types.js";
import { FOLD_LOWER, FOLD_NONE } from "./intern.js";
import type { GuestVM } from "./vm.js";

/** What hostcalls need from the plugin that owns the VM. */
export interface ImportHost {
  readonly name: string;
  readonly vmId: string;
  readonly logLevel: number;
  readonly configuration: Uint8Array;
  readonly vmConfiguration: Uint8Array;
  readonly metrics: MetricsRegistry;
  readonly shared: SharedState;
  readonly scope: PluginScope;
  readonly options: HostOptions;
  now(): bigint;
  monotonicNow(): bigint;
  log(level: number, message: string): void;
  /** Starts proxy_http_call's request; the response is delivered to `contextId` later. */
  startHttpCall(vm: GuestVM, contextId: number, token: number, cluster: string, headers: HeaderMap, body: Uint8Array | null, trailers: HeaderMap, timeoutMs: number): void;
  /** proxy_on_queue_ready for a queue this VM registered. */
  queueReady(vm: GuestVM, token: number): void;
}

type Fn = (...args: any[]) => number;

/**
 * Wraps a hostcall so GuestMemoryError answers `code`; everything else (traps, proc_exit) propagates.
 * The wrapper takes exactly the hostcall's declared parameters: V8 then calls it from wasm on its
 * fast path (no arity adaptation, no `arguments` object), which a generic `fn.apply(this, arguments)`
 * wrapper cost on every hostcall.
 */
function guard(fn: Fn, code: number): Fn {
  const fail = (e: unknown): number => {
    if (e instanceof GuestMemoryError) return code;
    throw e;
  };
  switch (fn.length) {
    case 0:
      return () => {
        try {
          return fn();
        } catch (e) {
          return fail(e);
        }
      };
    case 1:
      return (a: unknown) => {
        try {
          return fn(a);
        } catch (e) {
          return fail(e);
        }
      };
    case 2:
      return (a: unknown, b: unknown) => {
        try {
          return fn(a, b);
        } catch (e) {
          return fail(e);
        }
      };
    case 3:
      return (a: unknown, b: unknown, c: unknown) => {
        try {
          return fn(a, b, c);
        } catch (e) {
          return fail(e);
        }
      };
    case 4:
      return (a: unknown, b: unknown, c: unknown, d: unknown) => {
        try {
          return fn(a, b, c, d);
        } catch (e) {
          return fail(e);
        }
      };
    case 5:
      return (a: unknown, b: unknown, c: unknown, d: unknown, e: unknown) => {
        try {
          return fn(a, b, c, d, e);
        } catch (err) {
          return fail(err);
        }
      };
    case 6:
      return (a: unknown, b: unknown, c: unknown, d: unknown, e: unknown, f: unknown) => {
        try {
          return fn(a, b, c, d, e, f);
        } catch (err) {
          return fail(err);
        }
      };
    case 8:
      return (a: unknown, b: unknown, c: unknown, d: unknown, e: unknown, f: unknown, g: unknown, h: unknown) => {
        try {
          return fn(a, b, c, d, e, f, g, h);
        } catch (err) {
          return fail(err);
        }
      };
  }
  return function (this: unknown) {
    try {
      return fn.apply(this, arguments as unknown as unknown[]);
    } catch (e) {
      return fail(e);
    }
  };
}

const EMPTY = new Uint8Array(0);

export function buildImports(module: WebAssembly.Module, vm: GuestVM, host: ImportHost): WebAssembly.Imports {
  const mem = () => vm.memory;
  const stream = () => vm.current?.stream ?? null;

  function headerMap(type: number): HeaderMap | null | undefined {
    switch (type) {
      case MapType.RequestHeaders:
        return stream()?.requestHeaders ?? null;
      case MapType.RequestTrailers:
        return stream()?.requestTrailers ?? null;
      case MapType.ResponseHeaders:
        return stream()?.responseHeaders ?? null;
      case MapType.ResponseTrailers:
        return stream()?.responseTrailers ?? null;
      case MapType.GrpcReceiveInitialMetadata:
      case MapType.GrpcReceiveTrailingMetadata:
        return null;
      case MapType.HttpCallResponseHeaders:
        return vm.httpCallResponse?.headers ?? null;
      case MapType.HttpCallResponseTrailers:
        return vm.httpCallResponse?.trailers ?? null;
    }
    return undefined;
  }

  /** A map the guest may change (request/response headers and trailers of the current stream). */
  function mutableMap(type: number): HeaderMap | WasmResult {
    if (type > MapType.HttpCallResponseTrailers || type < 0) return WasmResult.BadArgument;
    if (type > MapType.ResponseTrailers) return WasmResult.BadArgument;
    return headerMap(type) ?? WasmResult.NotFound;
  }

  function buffer(type: number): Uint8Array | null | undefined {
    switch (type) {
      case BufferType.RequestBody:
      case BufferType.ResponseBody:
        return stream()?.body(type) ?? null;
      case BufferType.DownstreamData:
      case BufferType.UpstreamData:
      case BufferType.GrpcReceiveBuffer:
      case BufferType.ForeignFunctionArguments:
        return null;
      case BufferType.HttpCallResponseBody:
        return vm.httpCallResponse?.body ?? null;
      case BufferType.VmConfiguration:
        return host.vmConfiguration;
      case BufferType.PluginConfiguration:
        return host.configuration;
    }
    return undefined;
  }

  const lowerKey = (ptr: number, len: number) => vm.memory.interned(ptr, len, FOLD_LOWER);
  const text = (ptr: number, len: number) => vm.memory.interned(ptr, len, FOLD_NONE);

  const unimplemented = () => WasmResult.Unimplemented;

  const env: Record<string, Fn> = {
    proxy_log(level: number, ptr: number, size: number) {
      if (level >>> 0 >= LOG_LEVELS.length) return WasmResult.BadArgument;
      const message = mem().string(ptr, size);
      host.log(level >>> 0, message);
      return WasmResult.Ok;
    },
    proxy_get_log_level(ptr: number) {
      mem().setU32(ptr, host.logLevel);
      return WasmResult.Ok;
    },
    proxy_get_current_time_nanoseconds(ptr: number) {
      mem().setU64(ptr, host.now());
      return WasmResult.Ok;
    },
    proxy_set_tick_period_milliseconds(period: number) {
      vm.tick.set(period >>> 0);
      return WasmResult.Ok;
    },
    proxy_done() {
      const id = vm.current?.contextId ?? -1;
      const finish = vm.awaitingDone.get(id);
      if (!finish) return WasmResult.NotFound;
      vm.awaitingDone.delete(id);
      queueMicrotask(finish);
      return WasmResult.Ok;
    },
    proxy_set_effective_context(id: number) {
      const ctx = vm.contexts.get(id >>> 0);
      if (!ctx) return WasmResult.BadArgument;
      vm.current = ctx;
      return WasmResult.Ok;
    },

    proxy_get_buffer_status(type: number, lenPtr: number, flagsPtr: number) {
      const buf = buffer(type);
      if (buf === undefined) return WasmResult.BadArgument;
      if (buf === null) return WasmResult.NotFound;
      mem().check(flagsPtr, 4);
      mem().setU32(lenPtr, buf.length);
      mem().setU32(flagsPtr, stream()?.bodyEndOfStream(type) ? 1 : 0);
      return WasmResult.Ok;
    },
    proxy_get_buffer_bytes(type: number, start: number, maxSize: number, ptrOut: number, sizeOut: number) {
      const buf = buffer(type);
      if (buf === undefined) return WasmResult.BadArgument;
      if (buf === null) return WasmResult.NotFound;
      const from = start >>> 0;
      if (from > buf.length) return WasmResult.BadArgument;
      const to = Math.min(buf.length, from + (maxSize >>> 0));
      vm.returnBytes(buf.subarray(from, to), ptrOut, sizeOut);
      return WasmResult.Ok;
    },
    proxy_set_buffer_bytes(type: number, start: number, size: number, ptr: number, len: number) {
      if (type !== BufferType.RequestBody && type !== BufferType.ResponseBody) {
        return buffer(type) === undefined || type > BufferType.UpstreamData ? WasmResult.BadArgument : WasmResult.NotFound;
      }
      const s = stream();
      if (!s || !s.body(type)) return WasmResult.NotFound;
      s.spliceBody(type as number as StreamType.Request, start >>> 0, size >>> 0, mem().copy(ptr, len));
      return WasmResult.Ok;
    },

    proxy_get_header_map_size(type: number, sizePtr: number) {
      const map = headerMap(type);
      if (map === undefined) return WasmResult.BadArgument;
      mem().setU32(sizePtr, map ? pairsSize(map) : 0);
      return map ? WasmResult.Ok : WasmResult.NotFound;
    },
    proxy_get_header_map_pairs(type: number, ptrOut: number, sizeOut: number) {
      const map = headerMap(type);
      if (map === undefined) return WasmResult.BadArgument;
      if (map === null) return WasmResult.NotFound;
      vm.returnBytes(encodePairs(map), ptrOut, sizeOut);
      return WasmResult.Ok;
    },
    proxy_set_header_map_pairs(type: number, ptr: number, size: number) {
      const map = mutableMap(type);
      if (typeof map === "number") return map;
      const pairs = parsePairs(mem().view(ptr, size), true);
      if (!pairs) return WasmResult.BadArgument;
      map.length = 0;
      for (let i = 0; i < pairs.length; i++) map.push(pairs[i]);
      return WasmResult.Ok;
    },
    proxy_get_header_map_value(type: number, kPtr: number, kSize: number, ptrOut: number, sizeOut: number) {
      const map = headerMap(type);
      if (map === undefined) return WasmResult.BadArgument;
      const key = lowerKey(kPtr, kSize);
      if (!map) return WasmResult.NotFound;
      for (let i = 0; i < map.length; i++) {
        if (map[i][0] === key) {
          vm.returnString(map[i][1], ptrOut, sizeOut);
          return WasmResult.Ok;
        }
      }
      return WasmResult.NotFound;
    },
    proxy_add_header_map_value(type: number, kPtr: number, kSize: number, vPtr: number, vSize: number) {
      const map = mutableMap(type);
      if (typeof map === "number") return map;
      map.push([lowerKey(kPtr, kSize), text(vPtr, vSize)]);
      return WasmResult.Ok;
    },
    proxy_replace_header_map_value(type: number, kPtr: number, kSize: number, vPtr: number, vSize: number) {
      const map = mutableMap(type);
      if (typeof map === "number") return map;
      const key = lowerKey(kPtr, kSize);
      const value = text(vPtr, vSize);
      let first = 0;
      while (first < map.length && map[first][0] !== key) first++;
      if (first === map.length) map.push([key, value]);
      else {
        map[first] = [key, value];
        removeKey(map, key, first + 1);
      }
      return WasmResult.Ok;
    },
    proxy_remove_header_map_value(type: number, kPtr: number, kSize: number) {
      const map = mutableMap(type);
      if (typeof map === "number") return map;
      removeKey(map, lowerKey(kPtr, kSize), 0);
      return WasmResult.Ok;
    },

    proxy_continue_stream(type: number) {
      return continueStream(type);
    },
    proxy_close_stream(type: number) {
      if (type === StreamType.Downstream || type === StreamType.Upstream) return WasmResult.Unimplemented;
      if (type !== StreamType.Request && type !== StreamType.Response) return WasmResult.BadArgument;
      const s = stream();
      if (!s) return WasmResult.NotFound;
      s.closeStream();
      return WasmResult.Ok;
    },
    proxy_continue_request() {
      return continueStream(StreamType.Request);
    },
    proxy_continue_response() {
      return continueStream(StreamType.Response);
    },
    proxy_clear_route_cache() {
      stream()?.clearRouteCache();
      return WasmResult.Ok;
    },
    proxy_get_status(codePtr: number, msgPtrOut: number, msgSizeOut: number) {
      mem().check(codePtr, 4);
      const { code, message } = vm.callStatus;
      vm.returnString(message, msgPtrOut, msgSizeOut);
      mem().setU32(codePtr, code);
      return WasmResult.Ok;
    },
    proxy_send_local_response(status: number, dPtr: number, dSize: number, bPtr: number, bSize: number, hPtr: number, hSize: number, grpc: number) {
      const details = mem().string(dPtr, dSize);
      const body = mem().copy(bPtr, bSize);
      const headers = parsePairs(mem().view(hPtr, hSize), true);
      if (!headers) return WasmResult.BadArgument;
      const s = stream();
      if (!s) return WasmResult.BadArgument;
      const g = grpc >>> 0;
      s.sendLocalResponse({
        status: status >>> 0,
        details,
        body,
        headers,
        grpcStatus: g === NO_GRPC_STATUS || g > 16 ? undefined : g,
      });
      return WasmResult.Ok;
    },

    proxy_http_call(uPtr: number, uSize: number, hPtr: number, hSize: number, bPtr: number, bSize: number, tPtr: number, tSize: number, timeout: number, tokenPtr: number) {
      const cluster = mem().string(uPtr, uSize);
      const headers = parsePairs(mem().view(hPtr, hSize));
      const body = bSize >>> 0 ? mem().copy(bPtr, bSize) : null;
      const trailers = parsePairs(mem().view(tPtr, tSize));
      mem().check(tokenPtr, 4);
      if (!headers || !trailers) return WasmResult.BadArgument;
      if (!host.options.httpCall) return WasmResult.BadArgument;
      for (const required of [":method", ":path", ":authority"]) {
        if (!headers.some(([k, v]) => k === required && v !== "")) return WasmResult.BadArgument;
      }
      const token = vm.nextCallToken++;
      mem().setU32(tokenPtr, token);
      host.startHttpCall(vm, vm.current?.contextId ?? vm.root.contextId, token, cluster, headers, body, trailers, timeout >>> 0);
      return WasmResult.Ok;
    },
    proxy_grpc_call: unimplemented,
    proxy_grpc_stream: unimplemented,
    proxy_grpc_send: unimplemented,
    proxy_grpc_cancel: unimplemented,
    proxy_grpc_close: unimplemented,

    proxy_get_shared_data(kPtr: number, kSize: number, ptrOut: number, sizeOut: number, casPtr: number) {
      const key = mem().string(kPtr, kSize);
      mem().check(casPtr, 4);
      const entry = host.shared.getData(host.vmId, key);
      if (!entry) return WasmResult.NotFound;
      vm.returnBytes(entry.value, ptrOut, sizeOut);
      mem().setU32(casPtr, entry.cas);
      return WasmResult.Ok;
    },
    proxy_set_shared_data(kPtr: number, kSize: number, vPtr: number, vSize: number, cas: number) {
      const key = mem().string(kPtr, kSize);
      return host.shared.setData(host.vmId, key, mem().copy(vPtr, vSize), cas >>> 0);
    },
    proxy_register_shared_queue(nPtr: number, nSize: number, tokenPtr: number) {
      const name = mem().string(nPtr, nSize);
      mem().check(tokenPtr, 4);
      const listener = (token: number) => host.queueReady(vm, token);
      const token = host.shared.registerQueue(host.vmId, name, listener);
      vm.queueListeners.set(token, listener);
      mem().setU32(tokenPtr, token);
      return WasmResult.Ok;
    },
    proxy_resolve_shared_queue(vPtr: number, vSize: number, nPtr: number, nSize: number, tokenPtr: number) {
      const vmId = mem().string(vPtr, vSize);
      const name = mem().string(nPtr, nSize);
      mem().check(tokenPtr, 4);
      const token = host.shared.resolveQueue(vmId, name);
      if (token === undefined) return WasmResult.NotFound;
      mem().setU32(tokenPtr, token);
      return WasmResult.Ok;
    },
    proxy_enqueue_shared_queue(token: number, ptr: number, size: number) {
      return host.shared.enqueue(token >>> 0, mem().copy(ptr, size));
    },
    proxy_dequeue_shared_queue(token: number, ptrOut: number, sizeOut: number) {
      mem().check(ptrOut, 4);
      mem().check(sizeOut, 4);
      const item = host.shared.dequeue(token >>> 0);
      if (item === undefined) return WasmResult.NotFound;
      if (item === null) return WasmResult.Empty;
      vm.returnBytes(item, ptrOut, sizeOut);
      return WasmResult.Ok;
    },

    proxy_define_metric(type: number, nPtr: number, nSize: number, idPtr: number) {
      const kind = metricKindFromAbi(type);
      if (!kind) return WasmResult.BadArgument;
      const name = mem().string(nPtr, nSize);
      mem().check(idPtr, 4);
      mem().setU32(idPtr, host.metrics.define(kind, name));
      return WasmResult.Ok;
    },
    proxy_increment_metric(id: number, delta: bigint) {
      return host.metrics.increment(id >>> 0, BigInt(delta));
    },
    proxy_record_metric(id: number, value: bigint) {
      return host.metrics.record(id >>> 0, BigInt.asUintN(64, BigInt(value)));
    },
    proxy_get_metric(id: number, ptr: number) {
      if (!host.metrics.has(id >>> 0)) return WasmResult.NotFound;
      const value = host.metrics.get(id >>> 0);
      if (value === undefined) return WasmResult.BadArgument;
      mem().setU64(ptr, value);
      return WasmResult.Ok;
    },

    proxy_get_property(pPtr: number, pSize: number, ptrOut: number, sizeOut: number) {
      const value = getProperty(mem().view(pPtr, pSize), host.scope, stream());
      mem().check(ptrOut, 4);
      mem().check(sizeOut, 4);
      if (value === null) return WasmResult.NotFound;
      if (typeof value === "string") vm.returnString(value, ptrOut, sizeOut);
      else vm.returnBytes(value, ptrOut, sizeOut);
      return WasmResult.Ok;
    },
    proxy_set_property(pPtr: number, pSize: number, vPtr: number, vSize: number) {
      const m = vm.memory;
      m.check(pPtr, pSize);
      const value = m.copy(vPtr, vSize);
      return setProperty(m.path(pPtr, pSize), value, stream()) ? WasmResult.Ok : WasmResult.NotFound;
    },
    proxy_call_foreign_function(nPtr: number, nSize: number, aPtr: number, aSize: number, ptrOut: number, sizeOut: number) {
      const m = vm.memory;
      const name = text(nPtr, nSize);
      m.check(aPtr, aSize);
      m.check(ptrOut, 4);
      m.check(sizeOut, 4);
      const s = stream();
      const fn = host.options.foreignFunctions?.[name];
      if (!fn) {
        if (name !== "clear_route_cache") return WasmResult.NotFound;
        s?.clearRouteCache();
        vm.returnBytes(null, ptrOut, sizeOut);
        return WasmResult.Ok;
      }
      const args = m.copy(aPtr, aSize);
      let result: Uint8Array | null;
      try {
        result = fn(args, s);
      } catch (e) {
        host.log(4, `foreign function ${name} failed: ${e instanceof Error ? e.message : String(e)}`);
        return WasmResult.InternalFailure;
      }
      vm.returnBytes(result ?? EMPTY, ptrOut, sizeOut);
      return WasmResult.Ok;
    },

    // AssemblyScript's default `abort` import (modules built without a custom abort).
    abort(msgPtr: number, filePtr: number, line: number, column: number) {
      const msg = asString(vm, msgPtr);
      const file = asString(vm, filePtr);
      throw new GuestExit(`abort: ${msg} at ${file}:${line}:${column}`);
    },
    // AssemblyScript's Math.random seed and trace(), harmless for other modules.
    seed() {
      return crypto.getRandomValues(new Uint32Array(1))[0] * 4294967296 + crypto.getRandomValues(new Uint32Array(1))[0];
    },
    trace(msgPtr: number, n: number, a0: number, a1: number, a2: number, a3: number, a4: number) {
      const values = [a0, a1, a2, a3, a4];
      host.log(1, `trace: ${asString(vm, msgPtr)} ${values.slice(0, n).join(", ")}`.trim());
      return 0;
    },
  };

  function continueStream(type: number): WasmResult {
    if (type === StreamType.Downstream || type === StreamType.Upstream) return WasmResult.Unimplemented;
    if (type !== StreamType.Request && type !== StreamType.Response) return WasmResult.BadArgument;
    const s = stream();
    if (!s) return WasmResult.NotFound;
    s.continueStream(type);
    return WasmResult.Ok;
  }

  const wasi: Record<string, Fn> = {
    fd_write(fd: number, iovs: number, iovsLen: number, writtenPtr: number) {
      if (fd !== 1 && fd !== 2) return WasiErrno.Badf;
      const m = mem();
      m.check(writtenPtr, 4);
      const parts: Uint8Array[] = [];
      let total = 0;
      for (let i = 0; i < iovsLen >>> 0; i++) {
        const ptr = m.getU32(iovs + i * 8);
        const len = m.getU32(iovs + i * 8 + 4);
        parts.push(m.copy(ptr, len));
        total += len;
      }
      const all = new Uint8Array(total);
      let at = 0;
      for (const p of parts) {
        all.set(p, at);
        at += p.length;
      }
      const text = new TextDecoder().decode(all).replace(/\n+$/, "");
      if (text) {
        const { level, message } = levelOfStdioLine(fd, text);
        host.log(level, message);
      }
      m.setU32(writtenPtr, total);
      return WasiErrno.Success;
    },
    fd_read: () => WasiErrno.Badf,
    fd_seek: () => WasiErrno.Badf,
    fd_close: () => WasiErrno.Badf,
    fd_fdstat_get: () => WasiErrno.Badf,
    fd_prestat_get: () => WasiErrno.Badf,
    fd_prestat_dir_name: () => WasiErrno.Badf,
    clock_time_get(id: number, _precision: bigint, ptr: number) {
      if (id === 0) mem().setU64(ptr, host.now());
      else if (id === 1) mem().setU64(ptr, host.monotonicNow());
      else return WasiErrno.Notsup;
      return WasiErrno.Success;
    },
    random_get(ptr: number, len: number) {
      const view = mem().view(ptr, len);
      for (let at = 0; at < view.length; at += 65536) crypto.getRandomValues(view.subarray(at, Math.min(view.length, at + 65536)) as Uint8Array<ArrayBuffer>);
      return WasiErrno.Success;
    },
    environ_sizes_get(countPtr: number, sizePtr: number) {
      mem().check(sizePtr, 4);
      mem().setU32(countPtr, 0);
      mem().setU32(sizePtr, 0);
      return WasiErrno.Success;
    },
    environ_get: () => WasiErrno.Success,
    args_sizes_get(countPtr: number, sizePtr: number) {
      mem().check(sizePtr, 4);
      mem().setU32(countPtr, 0);
      mem().setU32(sizePtr, 0);
      return WasiErrno.Success;
    },
    args_get: () => WasiErrno.Success,
    sched_yield: () => WasiErrno.Success,
    poll_oneoff: () => WasiErrno.Nosys,
    proc_exit(code: number) {
      throw new GuestExit(`proc_exit(${code})`);
    },
  };

  const guardedEnv: Record<string, Fn> = {};
  for (const [k, f] of Object.entries(env)) guardedEnv[k] = guard(f, WasmResult.InvalidMemoryAccess);
  const guardedWasi: Record<string, Fn> = {};
  for (const [k, f] of Object.entries(wasi)) guardedWasi[k] = guard(f, WasiErrno.Fault);

  // Stubs for whatever else the module imports from env/WASI; anything else cannot be satisfied.
  for (const imp of WebAssembly.Module.imports(module)) {
    const isWasi = imp.module === "wasi_snapshot_preview1" || imp.module === "wasi_unstable";
    const table = imp.module === "env" ? guardedEnv : isWasi ? guardedWasi : null;
    if (!table || imp.kind !== "function") {
      throw new PluginError(host.name, `module imports ${imp.kind} ${imp.module}.${imp.name}, which the proxy-wasm host does not provide`);
    }
    if (table[imp.name]) continue;
    const name = imp.name;
    table[name] = isWasi
      ? () => WasiErrno.Nosys
      : () => {
          host.log(1, `unsupported hostcall ${name}: answering Unimplemented`);
          return WasmResult.Unimplemented;
        };
  }
  return { env: guardedEnv, wasi_snapshot_preview1: guardedWasi, wasi_unstable: guardedWasi };
}

function removeKey(map: HeaderMap, key: string, from: number): void {
  let w = from;
  for (let r = from; r < map.length; r++) if (map[r][0] !== key) map[w++] = map[r];
  map.length = w;
}

/** Reads an AssemblyScript string object (UTF-16LE, byte length stored just before it). */
function asString(vm: GuestVM, ptr: number): string {
  try {
    if (!ptr) return "";
    const bytes = vm.memory.view((ptr >>> 0) - 4, 4);
    const len = (bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24)) >>> 0;
    const data = vm.memory.copy(ptr, Math.min(len, 4096));
    return new TextDecoder("utf-16le").decode(data as Uint8Array<ArrayBuffer>);
  } catch {
    return "?";
  }
}
