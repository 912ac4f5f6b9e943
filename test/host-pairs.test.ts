// Pure host pieces: the pairs serialization, property encodings, metrics and shared state, plus
// the "no node: imports" rule that keeps wasm/host loadable in workerd.
import fc from "fast-check";
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { encodeValue } from "../wasm/host/properties.js";
import { MetricsRegistry, SharedState, parsePairs, serializePairs, type HeaderMap } from "../wasm/host/index.js";

describe("pairs serialization", () => {
  it("matches the spec's example byte for byte", () => {
    const bytes = serializePairs([["a", "1"], ["b", "22"]]);
    expect(Array.from(bytes)).toEqual([
      2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0,
      0x61, 0, 0x31, 0, 0x62, 0, 0x32, 0x32, 0,
    ]);
  });

  it("round-trips any map, including UTF-8 and empty strings", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme" }))), (pairs) => {
        const map = pairs.filter(([k, v]) => !k.includes("\0") && !v.includes("\0")) as HeaderMap;
        expect(parsePairs(serializePairs(map))).toEqual(map);
      }),
      { numRuns: 300 },
    );
  });

  it("accepts the empty encodings and rejects malformed input", () => {
    expect(parsePairs(new Uint8Array(0))).toEqual([]);
    expect(parsePairs(Uint8Array.of(0))).toEqual([]);
    expect(parsePairs(serializePairs([]))).toEqual([]);
    const good = serializePairs([["k", "v"]]);
    expect(parsePairs(good.subarray(0, good.length - 1))).toBeNull(); // truncated
    expect(parsePairs(Uint8Array.of(...good, 0))).toBeNull(); // trailing byte
    const noNul = good.slice();
    noNul[13] = 0x41; // the NUL after the key
    expect(parsePairs(noNul)).toBeNull();
    expect(parsePairs(Uint8Array.of(0xff, 0xff, 0xff, 0x0f))).toBeNull(); // absurd count
  });
});

describe("property value encoding", () => {
  it("encodes like Envoy: raw strings, int64 LE, float64 LE, one-byte bools, ns timestamps", () => {
    expect(Array.from(encodeValue("hé"))).toEqual([0x68, 0xc3, 0xa9]);
    expect(Array.from(encodeValue(258))).toEqual([2, 1, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(encodeValue(-1n))).toEqual([255, 255, 255, 255, 255, 255, 255, 255]);
    expect(Array.from(encodeValue(true))).toEqual([1]);
    expect(Array.from(encodeValue(false))).toEqual([0]);
    expect(encodeValue(1.5)).toEqual(new Uint8Array(new Float64Array([1.5]).buffer));
    expect(new DataView(encodeValue(new Date(1700000000123)).buffer).getBigInt64(0, true)).toBe(1700000000123000000n);
    expect(encodeValue([["a", "1"]])).toEqual(serializePairs([["a", "1"]]));
  });
});

describe("metrics registry", () => {
  it("keeps counters monotonic, tags apart, and histograms summarized", () => {
    const m = new MetricsRegistry();
    const a = m.define("counter", "reqs", { code: "200" });
    const b = m.define("counter", "reqs", { code: "503" });
    expect(m.define("counter", "reqs", { code: "200" })).toBe(a);
    expect(a).not.toBe(b);
    expect(m.increment(a, 2n)).toBe(0);
    expect(m.increment(a, -1n)).toBe(2);
    expect(m.record(a, 1n)).toBe(0); // lower than current: ignored
    expect(m.get(a)).toBe(2n);
    const h = m.define("histogram", "lat");
    m.record(h, 5n);
    m.record(h, 1n);
    expect(m.get(h)).toBeUndefined();
    expect(m.snapshot()).toEqual([
      { name: "reqs", type: "counter", tags: { code: "200" }, value: 2 },
      { name: "reqs", type: "counter", tags: { code: "503" }, value: 0 },
      { name: "lat", type: "histogram", tags: {}, value: 2, sum: 6, min: 1, max: 5 },
    ]);
  });
});

describe("shared state", () => {
  it("CAS: 0 writes unconditionally, a stale cas is refused", () => {
    const s = new SharedState();
    expect(s.setData("vm", "k", Uint8Array.of(1), 0)).toBe(0);
    const cas = s.getData("vm", "k")!.cas;
    expect(s.setData("vm", "k", Uint8Array.of(2), cas)).toBe(0);
    expect(s.setData("vm", "k", Uint8Array.of(3), cas)).toBe(8);
    expect(s.getData("vm", "k")!.value).toEqual(Uint8Array.of(2));
    expect(s.getData("other", "k")).toBeUndefined();
  });

  it("queues keep items across re-registration and report empty/unknown", async () => {
    const s = new SharedState();
    const ready: number[] = [];
    const t = s.registerQueue("vm", "q", (tok) => ready.push(tok));
    expect(s.enqueue(t, Uint8Array.of(1))).toBe(0);
    expect(s.registerQueue("vm", "q", (tok) => ready.push(-tok))).toBe(t);
    expect(s.enqueue(t, Uint8Array.of(2))).toBe(0);
    await Promise.resolve();
    expect(ready).toEqual([t, -t]);
    expect(s.dequeue(t)).toEqual(Uint8Array.of(1));
    expect(s.dequeue(t)).toEqual(Uint8Array.of(2));
    expect(s.dequeue(t)).toBeNull();
    expect(s.dequeue(t + 100)).toBeUndefined();
    expect(s.enqueue(t + 100, Uint8Array.of(0))).toBe(1);
  });
});

describe("runtime neutrality", () => {
  it("has no node: (or other Node-only) imports under wasm/host", () => {
    const dir = new URL("../wasm/host/", import.meta.url);
    const offenders = readdirSync(dir)
      .filter((f) => f.endsWith(".ts"))
      .filter((f) => /from\s+["'](node:|fs|path|crypto|http|events|buffer)["']|require\(|\bBuffer\b|\bprocess\./.test(readFileSync(new URL(f, dir), "utf8")));
    expect(offenders).toEqual([]);
  });
});

describe("import object", () => {
  it("provides every ABI v0.2.1 hostcall and the WASI calls", async () => {
    const { buildImports } = await import("../wasm/host/imports.js");
    const { GuestVM } = await import("../wasm/host/vm.js");
    const empty = new WebAssembly.Module(Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0));
    const imports = buildImports(empty, new GuestVM(() => {}), { name: "t" } as never);
    const abi = `log get_log_level get_current_time_nanoseconds set_tick_period_milliseconds done set_effective_context
      set_buffer_bytes get_buffer_bytes get_buffer_status get_header_map_size get_header_map_pairs set_header_map_pairs
      get_header_map_value add_header_map_value replace_header_map_value remove_header_map_value continue_stream
      close_stream get_status send_local_response http_call grpc_call grpc_stream grpc_send grpc_cancel grpc_close
      set_shared_data get_shared_data register_shared_queue resolve_shared_queue enqueue_shared_queue
      dequeue_shared_queue define_metric record_metric increment_metric get_metric get_property set_property
      call_foreign_function`.split(/\s+/);
    expect(abi).toHaveLength(39);
    for (const name of abi) expect(typeof imports.env[`proxy_${name}`], name).toBe("function");
    for (const name of ["fd_write", "clock_time_get", "random_get", "environ_get", "environ_sizes_get", "args_get", "args_sizes_get", "proc_exit"]) {
      expect(typeof imports.wasi_snapshot_preview1[name], name).toBe("function");
    }
  });
});
