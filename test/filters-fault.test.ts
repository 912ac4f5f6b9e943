// halyard.fault running in the real halyard.wasm through the project's proxy-wasm host: delays
// resumed from the root context's tick, HTTP and gRPC aborts answered as Envoy's fault filter
// does, percentages drawn by the route engine, and the filter chained before halyard.route.
import { beforeAll, describe, expect, it } from "vitest";
import { type FilterOutcome, type HeaderMap, type HttpStream, type LogLevel, MetricsRegistry, WasmPlugin } from "../wasm/host/index.js";
import { halyardModule } from "./helpers/halyard-wasm.js";

let module: WebAssembly.Module;

beforeAll(() => {
  module = halyardModule();
}, 120_000);

const C1 = "outbound|9080|v1|reviews.foo.svc.cluster.local";
const C2 = "outbound|9080|v2|reviews.foo.svc.cluster.local";

function vh(routes: unknown[]) {
  return JSON.stringify({ virtual_hosts: [{ name: "reviews:9080", domains: ["*"], routes }] });
}

async function load(configuration: string, rootId = "halyard.fault", metrics?: MetricsRegistry) {
  const logs: Array<[LogLevel, string]> = [];
  const plugin = await WasmPlugin.load(module, { name: rootId, rootId, configuration }, {
    log: (l, m) => logs.push([l, m]),
    ...(metrics ? { metrics } : {}),
  });
  return { plugin, logs };
}

function request(path: string, extra: HeaderMap = [], method = "GET"): HeaderMap {
  return [[":authority", "reviews:9080"], [":path", path], [":method", method], [":scheme", "http"], ...extra];
}

const get = (map: HeaderMap, name: string) => map.find(([k]) => k === name)?.[1];
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const flags = (s: HttpStream) =>
  text((s as unknown as { setProperties: Map<string, Uint8Array> }).setProperties.get("halyard.fault.flags") ?? new Uint8Array(0));

/** Request headers through a new stream; resolves with the outcome and the elapsed milliseconds. */
async function timed(plugin: WasmPlugin, headers: HeaderMap) {
  const stream = plugin.createStream();
  const t0 = performance.now();
  const outcome = await stream.onRequestHeaders(headers, true);
  return { outcome, ms: performance.now() - t0, stream };
}

const ABORT_BODY = "fault filter abort";
/** How late a resumed delay may be: generous, for a loaded CI machine running files in parallel. */
const SLACK_MS = 400;

describe("halyard.fault: delays", () => {
  it("pauses the request for the configured delay, then lets it continue", async () => {
    const { plugin, logs } = await load(vh([{ name: "slow", route: [{ cluster: C1 }], fault: { delay: { fixed_delay_ms: 120, percentage: 100 } } }]));
    for (let i = 0; i < 3; i++) {
      const r = await timed(plugin, request("/"));
      expect(r.outcome).toEqual({ kind: "continue" });
      expect(r.ms).toBeGreaterThanOrEqual(120);
      expect(r.ms).toBeLessThan(120 + SLACK_MS);
      expect(flags(r.stream)).toBe("DI");
      r.stream.done();
    }
    expect(logs.filter(([l]) => l === "error" || l === "critical")).toEqual([]);
    await plugin.close();
  });

  it("resumes concurrent streams in deadline order, each after its own delay", async () => {
    const { plugin } = await load(vh([
      { name: "long", match: [{ headers: { "x-d": { exact: "long" } } }], route: [{ cluster: C1 }], fault: { delay: { fixed_delay_ms: 150, percentage: 100 } } },
      { name: "short", match: [{ headers: { "x-d": { exact: "short" } } }], route: [{ cluster: C1 }], fault: { delay: { fixed_delay_ms: 40, percentage: 100 } } },
      { name: "none", route: [{ cluster: C1 }] },
    ]));
    const order: string[] = [];
    const t0 = performance.now();
    const start = (name: string) => {
      const s = plugin.createStream();
      return s.onRequestHeaders(request("/", [["x-d", name]]), true).then((o) => {
        order.push(name);
        s.done();
        return { o, ms: performance.now() - t0 };
      });
    };
    const [long, short, none] = await Promise.all([start("long"), start("short"), start("none")]);
    expect(order).toEqual(["none", "short", "long"]);
    expect(short.ms).toBeGreaterThanOrEqual(40);
    expect(long.ms).toBeGreaterThanOrEqual(150);
    expect(long.ms).toBeLessThan(150 + SLACK_MS);
    expect(none.ms).toBeLessThan(short.ms);
    await plugin.close();
  });

  it("forgets a stream that ends while delayed and keeps serving others", async () => {
    const { plugin, logs } = await load(vh([{ name: "slow", route: [{ cluster: C1 }], fault: { delay: { fixed_delay_ms: 60, percentage: 100 } } }]));
    const s = plugin.createStream();
    const pending = s.onRequestHeaders(request("/"), true);
    s.done(); // client went away: the host answers what was waiting
    expect((await pending).kind).toBe("local_response");
    await new Promise((r) => setTimeout(r, 100)); // past the deadline: the tick must not touch it
    const r = await timed(plugin, request("/"));
    expect(r.outcome).toEqual({ kind: "continue" });
    expect(r.ms).toBeGreaterThanOrEqual(60);
    r.stream.done();
    expect(logs.filter(([l]) => l === "error" || l === "critical")).toEqual([]);
    await plugin.close();
  });
});

describe("halyard.fault: long delays", () => {
  it("holds a stream with the longest configurable delay without trapping, until it ends", async () => {
    const { plugin, logs } = await load(vh([{ name: "forever", route: [{ cluster: C1 }], fault: { delay: { fixed_delay_ms: 315576000000000, percentage: 100 } } }]));
    const s = plugin.createStream();
    let settled = false;
    const pending = s.onRequestHeaders(request("/"), true).then((o) => ((settled = true), o));
    await new Promise((r) => setTimeout(r, 1100)); // past one maximal tick period
    expect(settled).toBe(false);
    expect(flags(s)).toBe("DI");
    s.done();
    expect((await pending).kind).toBe("local_response");
    expect(logs.filter(([l]) => l === "error" || l === "critical")).toEqual([]);
    await plugin.close();
  });
});

describe("halyard.fault: aborts", () => {
  it("answers an HTTP abort with the status and Envoy's body and details", async () => {
    const metrics = new MetricsRegistry();
    const { plugin } = await load(vh([{ name: "broken", route: [{ cluster: C1 }], fault: { abort: { http_status: 503, percentage: 100 } } }]), "halyard.fault", metrics);
    const r = await timed(plugin, request("/"));
    expect(r.outcome).toMatchObject({ kind: "local_response", status: 503, headers: [], details: "fault_filter_abort" });
    if (r.outcome.kind === "local_response") {
      expect(text(r.outcome.body)).toBe(ABORT_BODY);
      expect(r.outcome.grpcStatus).toBeUndefined();
    }
    expect(flags(r.stream)).toBe("FI");
    r.stream.done();
    expect(metrics.snapshot()).toContainEqual(expect.objectContaining({ name: "halyard.fault.aborts_injected", value: 1 }));
    await plugin.close();
  });

  it("answers a gRPC abort as HTTP 200 with grpc-status, trailers-only for gRPC requests", async () => {
    const { plugin } = await load(vh([{ name: "grpc", route: [{ cluster: C1 }], fault: { abort: { grpc_status: "UNAVAILABLE", percentage: 100 } } }]));
    const grpc = await timed(plugin, request("/helloworld.Greeter/SayHello", [["content-type", "application/grpc"], ["te", "trailers"]], "POST"));
    expect(grpc.outcome).toEqual({
      kind: "local_response", status: 200, details: "fault_filter_abort", grpcStatus: 14, body: new Uint8Array(0),
      headers: [["content-type", "application/grpc"], ["grpc-status", "14"], ["grpc-message", ABORT_BODY]],
    });
    grpc.stream.done();
    const proto = await timed(plugin, request("/svc/M", [["content-type", "application/grpc+proto"]], "POST"));
    expect(proto.outcome).toMatchObject({ status: 200, grpcStatus: 14, headers: expect.arrayContaining([["grpc-status", "14"]]) });
    proto.stream.done();
    // Not a gRPC request: Envoy sends the 200 with the plain body (the gRPC status is not rendered).
    const plain = await timed(plugin, request("/svc/M", [["content-type", "application/grpc-web-text-not"]]));
    expect(plain.outcome).toMatchObject({ kind: "local_response", status: 200, headers: [], grpcStatus: 14 });
    if (plain.outcome.kind === "local_response") expect(text(plain.outcome.body)).toBe(ABORT_BODY);
    plain.stream.done();
    await plugin.close();
  });

  it("delays first, then aborts (flags DI,FI)", async () => {
    const metrics = new MetricsRegistry();
    const { plugin } = await load(vh([{ name: "both", route: [{ cluster: C1 }], fault: { delay: { fixed_delay_ms: 80, percentage: 100 }, abort: { http_status: 418, percentage: 100 } } }]), "halyard.fault", metrics);
    const r = await timed(plugin, request("/"));
    expect(r.ms).toBeGreaterThanOrEqual(80);
    expect(r.ms).toBeLessThan(80 + SLACK_MS);
    expect(r.outcome).toMatchObject({ kind: "local_response", status: 418, details: "fault_filter_abort" });
    expect(flags(r.stream)).toBe("DI,FI");
    r.stream.done();
    const counts = Object.fromEntries(metrics.snapshot().map((m) => [m.name, m.value]));
    expect(counts).toMatchObject({ "halyard.fault.delays_injected": 1, "halyard.fault.aborts_injected": 1 });
    await plugin.close();
  });
});

describe("halyard.fault: which requests", () => {
  it("applies each route's own fault, and none to CORS preflights or unrouted requests", async () => {
    const { plugin } = await load(JSON.stringify({ virtual_hosts: [{ name: "reviews:9080", domains: ["reviews:9080"], routes: [
      { name: "jason", match: [{ headers: { "end-user": { exact: "jason" } } }], route: [{ cluster: C2 }], fault: { abort: { http_status: 500, percentage: 100 } } },
      { name: "api", match: [{ uri: { prefix: "/api" } }], route: [{ cluster: C1 }], fault: { abort: { http_status: 503, percentage: 100 } },
        cors: { allow_origins: [{ exact: "https://a.example" }], allow_methods: ["GET"] } },
      { name: "default", match: [{ uri: { prefix: "/ok" } }], route: [{ cluster: C1 }] },
    ] }] }));
    const jason = await timed(plugin, request("/ok", [["end-user", "jason"]]));
    expect(jason.outcome).toMatchObject({ status: 500 });
    const other = await timed(plugin, request("/ok", [["end-user", "bob"]]));
    expect(other.outcome).toEqual({ kind: "continue" });
    expect(flags(other.stream)).toBe("");
    const preflight = await timed(plugin, request("/api/x", [["origin", "https://a.example"], ["access-control-request-method", "GET"]], "OPTIONS"));
    expect(preflight.outcome).toEqual({ kind: "continue" }); // the route filter answers it
    const api = await timed(plugin, request("/api/x"));
    expect(api.outcome).toMatchObject({ status: 503 });
    const unrouted = await timed(plugin, request("/nowhere"));
    expect(unrouted.outcome).toEqual({ kind: "continue" }); // the route filter answers 404
    for (const r of [jason, other, preflight, api, unrouted]) r.stream.done();
    await plugin.close();
  });

  it("injects at the configured percentages within ±2% over 10 000 streams", async () => {
    const { plugin } = await load(vh([{ name: "flaky", route: [{ cluster: C1 }],
      fault: { delay: { fixed_delay_ms: 1, percentage: 30 }, abort: { http_status: 503, percentage: 12.5 } } }]));
    const n = 10_000;
    let delayed = 0, aborted = 0;
    for (let batch = 0; batch < n / 1000; batch++) {
      const streams = Array.from({ length: 1000 }, () => plugin.createStream());
      const outcomes: Array<Promise<FilterOutcome>> = streams.map((s) => s.onRequestHeaders(request("/"), true));
      // The delay flag is recorded as soon as the request is paused.
      delayed += streams.filter((s) => flags(s).startsWith("DI")).length;
      for (const o of await Promise.all(outcomes)) if (o.kind === "local_response" && o.status === 503) aborted++;
      streams.forEach((s) => s.done());
    }
    expect(Math.abs(delayed / n - 0.3)).toBeLessThan(0.02);
    expect(Math.abs(aborted / n - 0.125)).toBeLessThan(0.02);
    await plugin.close();
  }, 60_000);
});

describe("halyard.fault before halyard.route", () => {
  const config = vh([
    { name: "canary", match: [{ headers: { "x-canary": {} } }], route: [{ cluster: C2 }], fault: { delay: { fixed_delay_ms: 50, percentage: 100 } } },
    { name: "default", route: [{ cluster: C1, weight: 50 }, { cluster: C2, weight: 50 }], fault: { abort: { http_status: 503, percentage: 50 } },
      retries: { attempts: 4, retry_on: "5xx" } },
  ]);

  /** The gateway's decode path: each filter in order on the same header map. */
  async function chain(fault: WasmPlugin, route: WasmPlugin, headers: HeaderMap) {
    const streams = [fault.createStream(), route.createStream()];
    try {
      for (const s of streams) {
        const o = await s.onRequestHeaders(headers, true);
        if (o.kind === "local_response") return { outcome: o, streams };
      }
      return { outcome: { kind: "continue" } as FilterOutcome, streams };
    } finally {
      streams.forEach((s) => s.done());
    }
  }

  it("lets the route filter route after a delay, and never routes an aborted request", async () => {
    const fault = (await load(config)).plugin;
    const route = (await load(config, "halyard.route")).plugin;
    const t0 = performance.now();
    const headers = request("/", [["x-canary", "1"]]);
    const canary = await chain(fault, route, headers);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(50);
    expect(canary.outcome).toEqual({ kind: "continue" });
    expect(get(headers, "x-halyard-cluster")).toBe(C2);

    let aborted = 0, routed = 0;
    for (let i = 0; i < 400; i++) {
      const h = request("/");
      const r = await chain(fault, route, h);
      if (r.outcome.kind === "local_response") {
        aborted++;
        expect(r.outcome).toMatchObject({ status: 503, details: "fault_filter_abort" });
        expect(get(h, "x-halyard-cluster")).toBeUndefined();
      } else {
        routed++;
        // The route filter ignores faults: a routed request keeps its retry policy.
        expect(get(h, "x-envoy-max-retries")).toBe("4");
        expect([C1, C2]).toContain(get(h, "x-halyard-cluster"));
      }
    }
    expect(aborted).toBeGreaterThan(100);
    expect(routed).toBeGreaterThan(100);
    await fault.close();
    await route.close();
  });

  it("a route filter alone never injects the faults of its configuration", async () => {
    const route = (await load(vh([{ name: "x", route: [{ cluster: C1 }], fault: { delay: { fixed_delay_ms: 5000, percentage: 100 }, abort: { http_status: 500, percentage: 100 } } }]), "halyard.route")).plugin;
    const r = await timed(route, request("/"));
    expect(r.outcome).toEqual({ kind: "continue" });
    expect(r.ms).toBeLessThan(1000);
    r.stream.done();
    await route.close();
  });
});

describe("halyard.fault: configuration", () => {
  it("refuses a bad configuration with the engine's one-line error", async () => {
    const cases: Array<[string, string]> = [
      ["", "halyard.fault: invalid configuration: route config: the plugin configuration is empty"],
      [vh([{ name: "f", route: [{ cluster: C1 }], fault: { abort: { http_status: 503, grpc_status: "UNAVAILABLE" } } }]),
        "halyard.fault: invalid configuration: route config: virtual_hosts[0].routes[0](f).fault.abort: give exactly one of http_status, grpc_status"],
      [vh([{ name: "f", route: [{ cluster: C1 }], fault: { delay: { percentage: 10 } } }]),
        "halyard.fault: invalid configuration: route config: virtual_hosts[0].routes[0](f).fault.delay.fixed_delay_ms: required field is missing"],
      [vh([{ name: "f", route: [{ cluster: C1 }], fault: { abort: { grpc_status: "NOPE", percentage: 1 } } }]),
        "halyard.fault: invalid configuration: route config: virtual_hosts[0].routes[0](f).fault.abort.grpc_status"],
    ];
    for (const [configuration, message] of cases) {
      const logs: Array<[LogLevel, string]> = [];
      const loading = WasmPlugin.load(module, { name: "fault", rootId: "halyard.fault", configuration }, { log: (l, m) => logs.push([l, m]) });
      await expect(loading, configuration).rejects.toThrow(message);
      const line = logs.find(([l]) => l === "error")?.[1] ?? "";
      expect(line.startsWith(message), line).toBe(true);
      expect(line).not.toContain("\n");
      expect(logs.some(([l]) => l === "critical")).toBe(false);
    }
  });

  it("passes every request untouched when no route injects faults", async () => {
    const { plugin } = await load(vh([{ name: "calm", route: [{ cluster: C1 }], fault: { delay: { fixed_delay_ms: 100 } } }])); // percentage unset = 0%
    const headers = request("/", [["x-envoy-max-retries", "9"]]);
    const r = await timed(plugin, headers);
    expect(r.outcome).toEqual({ kind: "continue" });
    expect(headers).toEqual(request("/", [["x-envoy-max-retries", "9"]]));
    r.stream.done();
    await plugin.close();
  });
});
