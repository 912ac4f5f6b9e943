// The guest layer's hostcall wrappers, driven by a probe filter (test/fixtures/as/abi-probe.ts)
// inside the project's proxy-wasm host.
import { beforeAll, describe, expect, it } from "vitest";
import { type HeaderMap, type HostOptions, type LogLevel, MetricsRegistry, SharedState, WasmPlugin } from "../wasm/host/index.js";
import { compileAS } from "./helpers/as.js";

const ROUTES = ["abort=filters/abi/runtime/abortWithLog", "trace=filters/abi/runtime/traceToLog", "seed=filters/abi/runtime/seedFromHost"];
let module: WebAssembly.Module;

beforeAll(async () => {
  module = new WebAssembly.Module(new Uint8Array(await compileAS("test/fixtures/as/abi-probe.ts", ROUTES.flatMap((r) => ["--use", r]))));
}, 120_000);

async function probe(options: Pick<HostOptions, "httpCall"> = {}) {
  const logs: Array<[LogLevel, string]> = [];
  const metrics = new MetricsRegistry();
  const plugin = await WasmPlugin.load(
    module,
    { name: "probe-plugin", rootId: "probe", configuration: '{"probe":true}' },
    { log: (l, m) => logs.push([l, m]), metrics, shared: new SharedState(), logLevel: "debug", ...options },
  );
  return { plugin, logs, metrics };
}

async function localJson(plugin: WasmPlugin, headers: HeaderMap): Promise<any> {
  const stream = plugin.createStream();
  const outcome = await stream.onRequestHeaders(headers, true);
  stream.done();
  expect(outcome.kind).toBe("local_response");
  if (outcome.kind !== "local_response") return null;
  expect(outcome.headers).toEqual([["content-type", "application/json"]]);
  return JSON.parse(new TextDecoder().decode(outcome.body));
}

describe("filters/abi hostcall wrappers", () => {
  it("reads header pairs, sizes and absent headers", async () => {
    const { plugin } = await probe();
    const headers: HeaderMap = [[":method", "GET"], [":path", "/pairs"], ["x-ü", "välue ✓"], ["x-empty", ""]];
    const r = await localJson(plugin, headers);
    expect(r.pairs).toEqual(headers);
    expect(r.num).toBe(4);
    expect(r.size).toBeGreaterThan(4 + 4 * 8);
    expect(r).toMatchObject({ missing: true, status: 1 });
    await plugin.close();
  });

  it("adds, replaces, removes and sets header maps", async () => {
    const { plugin } = await probe();
    let stream = plugin.createStream();
    const req: HeaderMap = [[":path", "/mutate"], ["x-replaced", "old"], ["x-removed", "gone"]];
    expect(await stream.onRequestHeaders(req, true)).toEqual({ kind: "continue" });
    expect(req).toEqual([[":path", "/mutate"], ["x-replaced", "new ✓"], ["x-added", "a"], ["x-added", "b"]]);
    const resp: HeaderMap = [[":status", "200"]];
    await stream.onResponseHeaders(resp, true);
    expect(resp).toEqual([[":status", "200"], ["x-probe-response", "1"]]);
    stream.done();

    stream = plugin.createStream();
    const req2: HeaderMap = [[":path", "/setpairs"], ["x-old", "1"]];
    expect(await stream.onRequestHeaders(req2, true)).toEqual({ kind: "continue" });
    expect(req2).toEqual([[":path", "/rewritten"], ["x-ü", "välue"], ["x-empty", ""]]);
    stream.done();
    await plugin.close();
  });

  it("reads properties by NUL-joined path and the plugin configuration", async () => {
    const { plugin } = await probe();
    const r = await localJson(plugin, [[":path", "/props"], ["x-probe", "hdr"]]);
    expect(r).toEqual({ path: "/props", header: "hdr", root: "probe", configured: '{"probe":true}', missing: true, status: 1 });
    await plugin.close();
  });

  it("uses shared data with compare-and-swap", async () => {
    const { plugin } = await probe();
    const r = await localJson(plugin, [[":path", "/shared"]]);
    expect(r).toEqual({ absent: true, absentStatus: 1, set1: 0, set2: 0, stale: 8, value: "v2", casChanged: true });
    await plugin.close();
  });

  it("defines, increments, records and reads metrics", async () => {
    const { plugin, metrics } = await probe();
    const r = await localJson(plugin, [[":path", "/metrics"]]);
    expect(r).toEqual({ counter: 7, gauge: 42, negative: 2 });
    const snap = metrics.snapshot();
    expect(snap.find((m) => m.name === "probe_requests")).toMatchObject({ type: "counter", value: 7 });
    expect(snap.find((m) => m.name === "probe_gauge")).toMatchObject({ type: "gauge", value: 42 });
    await plugin.close();
  });

  it("enqueues and dequeues on a shared queue", async () => {
    const { plugin } = await probe();
    const r = await localJson(plugin, [[":path", "/queue"]]);
    expect(r).toEqual({ enqueue: 0, item: "hello ✓", again: true, emptyStatus: 7 });
    await plugin.close();
  });

  it("reads the clock and the host log level", async () => {
    const { plugin } = await probe();
    const before = BigInt(Date.now()) * 1_000_000n;
    const r = await localJson(plugin, [[":path", "/time"]]);
    const now = BigInt(r.now);
    expect(now >= before - 1_000_000_000n && now <= BigInt(Date.now()) * 1_000_000n + 1_000_000_000n).toBe(true);
    expect(r.level).toBe(1); // debug
    await plugin.close();
  });

  it("rewrites a request body through the buffer hostcalls", async () => {
    const { plugin } = await probe();
    const stream = plugin.createStream();
    await stream.onRequestHeaders([[":path", "/body"]], false);
    const outcome = await stream.onRequestBody(new TextEncoder().encode("héllo"), true);
    expect(outcome.kind).toBe("continue");
    expect(new TextDecoder().decode(outcome.body)).toBe("probe:héllo");
    stream.done();
    await plugin.close();
  });

  it("makes an http call and answers from its response", async () => {
    const seen: Array<{ cluster: string; headers: HeaderMap; body: string; timeout: number }> = [];
    const { plugin } = await probe({
      httpCall: async (cluster: string, headers: HeaderMap, body: Uint8Array | null, _t: HeaderMap, timeout: number) => {
        seen.push({ cluster, headers, body: new TextDecoder().decode(body ?? new Uint8Array()), timeout });
        return { headers: [[":status", "201"], ["x-up", "yes"]] as HeaderMap, body: new TextEncoder().encode("pong ✓"), trailers: [] };
      },
    });
    const r = await localJson(plugin, [[":method", "GET"], [":path", "/call"]]);
    expect(seen).toEqual([{ cluster: "upstream-x", headers: [[":method", "POST"], [":path", "/up"], [":authority", "up.test"]], body: "ping", timeout: 2000 }]);
    expect(r).toEqual({ sameToken: true, numHeaders: 2, headers: [[":status", "201"], ["x-up", "yes"]], body: "pong ✓", statusCode: 201 });
    await plugin.close();
  });
});
