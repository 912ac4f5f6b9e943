// The shape of wasm/build/halyard.wasm: exactly the proxy-wasm ABI v0.2.1 exports, only ABI and
// allowed WASI imports (with the spec's signatures), and nothing running at instantiation.
import { beforeAll, describe, expect, it } from "vitest";
import { compileAS } from "./helpers/as.js";
import { halyardWasmBytes } from "./helpers/halyard-wasm.js";

type Sig = string; // "(i32,i64)->i32"

// proxy-wasm spec abi-versions/v0.2.1: hostcalls (module "env").
const I = "i32";
const n = (count: number) => Array(count).fill(I).join(",");
const HOSTCALLS: Record<string, Sig> = {
  proxy_done: `()->i32`,
  proxy_set_effective_context: `(${n(1)})->i32`,
  proxy_log: `(${n(3)})->i32`,
  proxy_get_log_level: `(${n(1)})->i32`,
  proxy_get_current_time_nanoseconds: `(${n(1)})->i32`,
  proxy_set_tick_period_milliseconds: `(${n(1)})->i32`,
  proxy_get_buffer_bytes: `(${n(5)})->i32`,
  proxy_set_buffer_bytes: `(${n(5)})->i32`,
  proxy_get_buffer_status: `(${n(3)})->i32`,
  proxy_get_header_map_size: `(${n(2)})->i32`,
  proxy_get_header_map_pairs: `(${n(3)})->i32`,
  proxy_set_header_map_pairs: `(${n(3)})->i32`,
  proxy_get_header_map_value: `(${n(5)})->i32`,
  proxy_add_header_map_value: `(${n(5)})->i32`,
  proxy_replace_header_map_value: `(${n(5)})->i32`,
  proxy_remove_header_map_value: `(${n(3)})->i32`,
  proxy_continue_stream: `(${n(1)})->i32`,
  proxy_close_stream: `(${n(1)})->i32`,
  proxy_get_status: `(${n(3)})->i32`,
  proxy_send_local_response: `(${n(8)})->i32`,
  proxy_http_call: `(${n(10)})->i32`,
  proxy_grpc_call: `(${n(12)})->i32`,
  proxy_grpc_stream: `(${n(9)})->i32`,
  proxy_grpc_send: `(${n(4)})->i32`,
  proxy_grpc_cancel: `(${n(1)})->i32`,
  proxy_grpc_close: `(${n(1)})->i32`,
  proxy_get_shared_data: `(${n(5)})->i32`,
  proxy_set_shared_data: `(${n(5)})->i32`,
  proxy_register_shared_queue: `(${n(3)})->i32`,
  proxy_resolve_shared_queue: `(${n(5)})->i32`,
  proxy_enqueue_shared_queue: `(${n(3)})->i32`,
  proxy_dequeue_shared_queue: `(${n(3)})->i32`,
  proxy_define_metric: `(${n(4)})->i32`,
  proxy_record_metric: `(i32,i64)->i32`,
  proxy_increment_metric: `(i32,i64)->i32`,
  proxy_get_metric: `(${n(2)})->i32`,
  proxy_get_property: `(${n(4)})->i32`,
  proxy_set_property: `(${n(4)})->i32`,
  proxy_call_foreign_function: `(${n(6)})->i32`,
};

const WASI: Record<string, Sig> = {
  fd_write: `(${n(4)})->i32`,
  clock_time_get: `(i32,i64,i32)->i32`,
  random_get: `(${n(2)})->i32`,
  proc_exit: `(i32)->()`,
  environ_get: `(${n(2)})->i32`,
  environ_sizes_get: `(${n(2)})->i32`,
};

// Module exports: integration, memory management and every callback.
const EXPORTS: Record<string, Sig> = {
  proxy_abi_version_0_2_1: `()->()`,
  _initialize: `()->()`,
  proxy_on_memory_allocate: `(i32)->i32`,
  malloc: `(i32)->i32`,
  proxy_on_context_create: `(${n(2)})->()`,
  proxy_on_done: `(i32)->i32`,
  proxy_on_log: `(i32)->()`,
  proxy_on_delete: `(i32)->()`,
  proxy_on_vm_start: `(${n(2)})->i32`,
  proxy_on_configure: `(${n(2)})->i32`,
  proxy_on_tick: `(i32)->()`,
  proxy_on_queue_ready: `(${n(2)})->()`,
  proxy_on_foreign_function: `(${n(3)})->()`,
  proxy_on_new_connection: `(i32)->i32`,
  proxy_on_downstream_data: `(${n(3)})->i32`,
  proxy_on_upstream_data: `(${n(3)})->i32`,
  proxy_on_downstream_connection_close: `(${n(2)})->()`,
  proxy_on_upstream_connection_close: `(${n(2)})->()`,
  proxy_on_request_headers: `(${n(3)})->i32`,
  proxy_on_request_body: `(${n(3)})->i32`,
  proxy_on_request_trailers: `(${n(2)})->i32`,
  proxy_on_request_metadata: `(${n(2)})->i32`,
  proxy_on_response_headers: `(${n(3)})->i32`,
  proxy_on_response_body: `(${n(3)})->i32`,
  proxy_on_response_trailers: `(${n(2)})->i32`,
  proxy_on_response_metadata: `(${n(2)})->i32`,
  proxy_on_http_call_response: `(${n(5)})->()`,
  proxy_on_grpc_receive_initial_metadata: `(${n(3)})->()`,
  proxy_on_grpc_receive: `(${n(3)})->()`,
  proxy_on_grpc_receive_trailing_metadata: `(${n(3)})->()`,
  proxy_on_grpc_close: `(${n(3)})->()`,
};

// ---- a minimal reader for the sections we check (type, import, function, export, start) ----

interface WasmShape {
  imports: Array<{ module: string; name: string; sig: Sig }>;
  exports: Array<{ name: string; kind: number; sig?: Sig }>;
  hasStart: boolean;
}

const VALTYPE: Record<number, string> = { 0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64" };

function readShape(bytes: Uint8Array): WasmShape {
  let p = 8; // magic + version
  const u32 = () => {
    let result = 0, shift = 0, b: number;
    do {
      b = bytes[p++];
      result |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    return result >>> 0;
  };
  const name = () => {
    const len = u32();
    const s = new TextDecoder().decode(bytes.subarray(p, p + len));
    p += len;
    return s;
  };
  const types: Sig[] = [];
  const funcTypes: number[] = []; // imported functions first, then defined ones
  const shape: WasmShape = { imports: [], exports: [], hasStart: false };
  const rawExports: Array<{ name: string; kind: number; index: number }> = [];
  while (p < bytes.length) {
    const id = bytes[p++];
    const size = u32();
    const end = p + size;
    if (id === 1) {
      for (let i = u32(); i > 0; i--) {
        if (bytes[p++] !== 0x60) throw new Error("unexpected type form");
        const params = Array.from({ length: u32() }, () => VALTYPE[bytes[p++]]);
        const results = Array.from({ length: u32() }, () => VALTYPE[bytes[p++]]);
        types.push(`(${params.join(",")})->${results.length ? results.join(",") : "()"}`);
      }
    } else if (id === 2) {
      for (let i = u32(); i > 0; i--) {
        const module = name();
        const field = name();
        const kind = bytes[p++];
        if (kind !== 0) throw new Error(`non-function import ${module}.${field}`);
        const t = u32();
        funcTypes.push(t);
        shape.imports.push({ module, name: field, sig: types[t] });
      }
    } else if (id === 3) {
      for (let i = u32(); i > 0; i--) funcTypes.push(u32());
    } else if (id === 7) {
      for (let i = u32(); i > 0; i--) rawExports.push({ name: name(), kind: bytes[p++], index: u32() });
    } else if (id === 8) {
      shape.hasStart = true;
    }
    p = end;
  }
  shape.exports = rawExports.map((e) => ({ name: e.name, kind: e.kind, sig: e.kind === 0 ? types[funcTypes[e.index]] : undefined }));
  return shape;
}

let wasm: Uint8Array<ArrayBuffer>;
let shape: WasmShape;

beforeAll(() => {
  wasm = halyardWasmBytes();
  shape = readShape(wasm);
}, 120_000);

describe("wasm/build/halyard.wasm", () => {
  it("exports exactly the ABI v0.2.1 entry points, with the spec's signatures", () => {
    const module = new WebAssembly.Module(wasm);
    const names = WebAssembly.Module.exports(module).map((e) => e.name).sort();
    expect(names).toEqual([...Object.keys(EXPORTS), "memory"].sort());
    expect(WebAssembly.Module.exports(module).find((e) => e.name === "memory")?.kind).toBe("memory");
    for (const e of shape.exports.filter((x) => x.kind === 0)) expect(`${e.name}${e.sig}`).toBe(`${e.name}${EXPORTS[e.name]}`);
  });

  it("imports only ABI hostcalls from env and allowed WASI functions, with the spec's signatures", () => {
    const module = new WebAssembly.Module(wasm);
    const imports = WebAssembly.Module.imports(module);
    expect(imports.length).toBeGreaterThan(0);
    for (const imp of imports) {
      expect(imp.kind).toBe("function");
      const table = imp.module === "env" ? HOSTCALLS : imp.module === "wasi_snapshot_preview1" ? WASI : null;
      expect(table, `${imp.module}.${imp.name}`).not.toBeNull();
      expect(Object.keys(table!), `${imp.module}.${imp.name}`).toContain(imp.name);
    }
    for (const imp of shape.imports) {
      const table = imp.module === "env" ? HOSTCALLS : WASI;
      expect(`${imp.module}.${imp.name}${imp.sig}`).toBe(`${imp.module}.${imp.name}${table[imp.name]}`);
    }
    const names = imports.map((i) => `${i.module}.${i.name}`);
    for (const forbidden of ["env.abort", "env.trace", "env.seed"]) expect(names).not.toContain(forbidden);
    // What the echo filter and the guest layer need to run.
    for (const used of ["proxy_log", "proxy_get_property", "proxy_get_buffer_bytes", "proxy_get_header_map_value", "proxy_replace_header_map_value", "proxy_send_local_response"]) {
      expect(names).toContain(`env.${used}`);
    }
  });

  it("has no start function: instantiating runs no guest code", async () => {
    expect(shape.hasStart).toBe(false);
    const calls: string[] = [];
    const imports: Record<string, Record<string, (...a: unknown[]) => number>> = {};
    for (const imp of WebAssembly.Module.imports(new WebAssembly.Module(wasm))) {
      (imports[imp.module] ??= {})[imp.name] = () => {
        calls.push(imp.name);
        return 0;
      };
    }
    const { instance } = await WebAssembly.instantiate(wasm, imports);
    expect(calls).toEqual([]);
    expect(typeof instance.exports._initialize).toBe("function");
  });

  it("declares every ABI v0.2.1 hostcall and the allowed WASI functions with exact signatures", async () => {
    const all = readShape(new Uint8Array(await compileAS("test/fixtures/as/abi-all-imports.ts")));
    const declared = all.imports.filter((i) => i.module !== "env" || i.name.startsWith("proxy_"));
    const env = Object.fromEntries(declared.filter((i) => i.module === "env").map((i) => [i.name, i.sig]));
    const wasi = Object.fromEntries(declared.filter((i) => i.module === "wasi_snapshot_preview1").map((i) => [i.name, i.sig]));
    expect(env).toEqual(HOSTCALLS);
    expect(wasi).toEqual(WASI);
    expect(declared.every((i) => i.module === "env" || i.module === "wasi_snapshot_preview1")).toBe(true);
  });

  it("routes AssemblyScript's abort / trace / seed through proxy_log and random_get", async () => {
    const routes = ["abort=filters/abi/runtime/abortWithLog", "trace=filters/abi/runtime/traceToLog", "seed=filters/abi/runtime/seedFromHost"];
    const bytes = new Uint8Array(await compileAS("test/fixtures/as/abi-runtime.ts", routes.flatMap((r) => ["--use", r])));
    const module = new WebAssembly.Module(bytes);
    const names = WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}`).sort();
    expect(names).toEqual(["env.proxy_log", "wasi_snapshot_preview1.random_get"]);
    let memory: WebAssembly.Memory;
    const logs: Array<[number, string]> = [];
    let randomCalls = 0;
    const instance = new WebAssembly.Instance(module, {
      env: {
        proxy_log: (level: number, ptr: number, size: number) => {
          logs.push([level, new TextDecoder().decode(new Uint8Array(memory.buffer, ptr, size))]);
          return 0;
        },
      },
      wasi_snapshot_preview1: {
        random_get: (ptr: number, size: number) => {
          randomCalls++;
          new Uint8Array(memory.buffer, ptr, size).fill(7);
          return 0;
        },
      },
    });
    const ex = instance.exports as any;
    memory = ex.memory;
    ex._initialize?.(); // present only when built with exportStart
    expect(() => ex.failCheck()).toThrow(WebAssembly.RuntimeError);
    expect(logs.pop()).toEqual([5, expect.stringMatching(/^halyard\.wasm abort: config invariant broken at test\/fixtures\/as\/abi-runtime\.ts:\d+:\d+$/)]);
    expect(() => ex.outOfRange(7)).toThrow(WebAssembly.RuntimeError);
    expect(logs.pop()?.[1]).toMatch(/^halyard\.wasm abort: Index out of range at ~lib\/array\.ts:\d+:\d+$/);
    const r = ex.random();
    expect(r).toBeGreaterThanOrEqual(0);
    expect(r).toBeLessThan(1);
    expect(randomCalls).toBe(1);
    ex.traced();
    expect(logs.pop()).toEqual([1, "trace: checkpoint 1.5 42.0"]);
  });
});
