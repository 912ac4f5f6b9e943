// halyard.route running in the real halyard.wasm through the project's proxy-wasm host: the route
// engine's decision stated in Envoy's terms (cluster header, x-envoy-* headers, rewrites, header
// operations, local responses), mirrors through http_call to a real 127.0.0.1 server.
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HeaderMap, type HostOptions, type HttpStream, type LogLevel, WasmPlugin } from "../wasm/host/index.js";
import { halyardModule } from "./helpers/halyard-wasm.js";

let module: WebAssembly.Module;

beforeAll(() => {
  module = halyardModule();
}, 120_000);

const C1 = "outbound|9080|v1|reviews.foo.svc.cluster.local";
const C2 = "outbound|9080|v2|reviews.foo.svc.cluster.local";
const C3 = "outbound|9080|v3|reviews.foo.svc.cluster.local";

function vh(routes: unknown[], domains: string[] = ["*"]) {
  return JSON.stringify({ virtual_hosts: [{ name: "reviews:9080", domains, routes }] });
}

async function load(configuration: string, options: HostOptions = {}) {
  const logs: Array<[LogLevel, string]> = [];
  const plugin = await WasmPlugin.load(module, { name: "route", rootId: "halyard.route", configuration }, {
    log: (l, m) => logs.push([l, m]),
    ...options,
  });
  return { plugin, logs };
}

function request(path: string, extra: HeaderMap = [], method = "GET", authority = "reviews:9080"): HeaderMap {
  return [[":authority", authority], [":path", path], [":method", method], [":scheme", "http"], ["x-request-id", "r-1"], ...extra];
}

const get = (map: HeaderMap, name: string) => map.find(([k]) => k === name)?.[1];
const all = (map: HeaderMap, name: string) => map.filter(([k]) => k === name).map(([, v]) => v);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const props = (s: HttpStream) => {
  const m = (s as unknown as { setProperties: Map<string, Uint8Array> }).setProperties;
  return Object.fromEntries([...m].map(([k, v]) => [k, text(v)]));
};

/** Runs request headers through one new stream; returns the outcome, the headers and the stream. */
async function run(plugin: WasmPlugin, headers: HeaderMap, opts: { endOfStream?: boolean; port?: number } = {}) {
  const stream = plugin.createStream(opts.port ? { destination: { address: "10.0.0.1", port: opts.port } } : {});
  let cleared = 0;
  stream.onClearRouteCache = () => cleared++;
  const outcome = await stream.onRequestHeaders(headers, opts.endOfStream ?? true);
  return { outcome, headers, stream, cleared: () => cleared };
}

describe("halyard.route: route decisions in Envoy's terms", () => {
  it("sets the cluster header, timeout and retry headers, and clears the route cache", async () => {
    const { plugin } = await load(vh([
      { name: "jason", match: [{ headers: { "end-user": { exact: "jason" } } }], route: [{ cluster: C2 }], timeout_ms: 1500,
        retries: { attempts: 3, per_try_timeout_ms: 200, retry_on: "gateway-error,connect-failure,503,504" } },
      { name: "default", route: [{ cluster: C1 }] },
    ]));
    const jason = await run(plugin, request("/ratings/1", [["end-user", "jason"]]));
    expect(jason.outcome).toEqual({ kind: "continue" });
    expect(get(jason.headers, "x-halyard-cluster")).toBe(C2);
    expect(get(jason.headers, "x-envoy-upstream-rq-timeout-ms")).toBe("1500");
    expect(get(jason.headers, "x-envoy-max-retries")).toBe("3");
    expect(get(jason.headers, "x-envoy-retry-on")).toBe("gateway-error,connect-failure,retriable-status-codes");
    expect(get(jason.headers, "x-envoy-retriable-status-codes")).toBe("503,504");
    expect(get(jason.headers, "x-envoy-upstream-rq-per-try-timeout-ms")).toBe("200");
    expect(jason.cleared()).toBe(1);
    expect(props(jason.stream)).toEqual({
      "halyard.route.decision": "route",
      "halyard.route.virtual_host": "reviews:9080",
      "halyard.route.name": "jason",
      "halyard.route.cluster": C2,
    });
    jason.stream.done();

    // No timeout configured: stated as 0 (Envoy: none); Istio's default retry policy.
    const other = await run(plugin, request("/ratings/1", [["end-user", "bob"]]));
    expect(get(other.headers, "x-halyard-cluster")).toBe(C1);
    expect(get(other.headers, "x-envoy-upstream-rq-timeout-ms")).toBe("0");
    expect(get(other.headers, "x-envoy-max-retries")).toBe("2");
    expect(get(other.headers, "x-envoy-retry-on")).toBe("connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes");
    expect(get(other.headers, "x-envoy-retriable-status-codes")).toBe("503");
    expect(get(other.headers, "x-envoy-upstream-rq-per-try-timeout-ms")).toBeUndefined();
    expect(get(other.headers, "x-envoy-original-path")).toBeUndefined();
    expect(other.cleared()).toBe(1);
    other.stream.done();
    await plugin.close();
  });

  it("states disabled retries as x-envoy-max-retries: 0", async () => {
    const { plugin } = await load(vh([{ name: "r", route: [{ cluster: C1 }], retries: { attempts: 0 } }]));
    const r = await run(plugin, request("/"));
    expect(get(r.headers, "x-envoy-max-retries")).toBe("0");
    expect(get(r.headers, "x-envoy-retry-on")).toBeUndefined();
    expect(get(r.headers, "x-envoy-retriable-status-codes")).toBeUndefined();
    r.stream.done();
    await plugin.close();
  });

  it("rewrites :path (keeping x-envoy-original-path) and :authority", async () => {
    const { plugin } = await load(vh([
      { name: "prefix", match: [{ uri: { prefix: "/old/" } }], route: [{ cluster: C1 }], rewrite: { uri: "/new/", authority: "reviews.internal" } },
      { name: "regex", match: [{ uri: { prefix: "/z2m" } }], route: [{ cluster: C1 }], rewrite: { uri_regex: { match: "^/z2m(/|$)(.*)", rewrite: "/\\2" } } },
      { name: "dest-authority", match: [{ uri: { prefix: "/d" } }], route: [{ cluster: C2, authority: "v2.internal" }] },
    ]));
    const prefix = await run(plugin, request("/old/items?page=2"));
    expect(get(prefix.headers, ":path")).toBe("/new/items?page=2");
    expect(get(prefix.headers, "x-envoy-original-path")).toBe("/old/items?page=2");
    expect(get(prefix.headers, ":authority")).toBe("reviews.internal");
    prefix.stream.done();
    const regex = await run(plugin, request("/z2m/a/b?x=1"));
    expect(get(regex.headers, ":path")).toBe("/a/b?x=1");
    expect(get(regex.headers, "x-envoy-original-path")).toBe("/z2m/a/b?x=1");
    expect(get(regex.headers, ":authority")).toBe("reviews:9080");
    regex.stream.done();
    const dest = await run(plugin, request("/d"));
    expect(get(dest.headers, ":path")).toBe("/d");
    expect(get(dest.headers, ":authority")).toBe("v2.internal");
    expect(get(dest.headers, "x-envoy-original-path")).toBeUndefined();
    dest.stream.done();
    await plugin.close();
  });

  it("applies request header operations upstream and response operations downstream", async () => {
    const { plugin } = await load(vh([{
      name: "ops",
      route: [{ cluster: C1, headers: { request: { set: { "x-dest": "v1", "x-a": "dest-wins" } }, response: { add: { "x-served-by": "v1" } } } }],
      headers: {
        request: { set: { "x-a": "route", "x-unicode": "Grüße ✓" }, add: { "x-multi": "2" }, remove: ["x-secret"] },
        response: { set: { "cache-control": "no-store" }, add: { "x-trace": "t1" }, remove: ["server"] },
      },
    }]));
    const r = await run(plugin, request("/", [["x-a", "client"], ["x-secret", "s"], ["x-multi", "1"]]));
    expect(get(r.headers, "x-a")).toBe("dest-wins");
    expect(all(r.headers, "x-a")).toHaveLength(1);
    expect(get(r.headers, "x-dest")).toBe("v1");
    expect(get(r.headers, "x-unicode")).toBe("Grüße ✓");
    expect(all(r.headers, "x-multi")).toEqual(["1", "2"]);
    expect(get(r.headers, "x-secret")).toBeUndefined();
    const resp: HeaderMap = [[":status", "200"], ["server", "upstream"], ["cache-control", "max-age=60"]];
    expect(await r.stream.onResponseHeaders(resp, true)).toEqual({ kind: "continue" });
    expect(get(resp, "server")).toBeUndefined();
    expect(all(resp, "cache-control")).toEqual(["no-store"]);
    expect(get(resp, "x-trace")).toBe("t1");
    expect(get(resp, "x-served-by")).toBe("v1");
    r.stream.done();
    await plugin.close();
  });

  it("matches on UTF-8 header values, the destination port and the query", async () => {
    const { plugin } = await load(vh([
      { name: "port", match: [{ port: 9443 }], route: [{ cluster: C3 }] },
      { name: "utf8", match: [{ headers: { "x-user": { exact: "Zoë" } }, query_params: { v: { exact: "2" } } }], route: [{ cluster: C2 }] },
      { name: "default", route: [{ cluster: C1 }] },
    ]));
    const cases: Array<[HeaderMap, number, string]> = [
      [request("/a?v=2", [["x-user", "Zoë"]]), 9080, C2],
      [request("/a?v=3", [["x-user", "Zoë"]]), 9080, C1],
      [request("/a?v=2", [["x-user", "Zoe"]]), 9080, C1],
      [request("/a"), 9443, C3],
    ];
    for (const [headers, port, cluster] of cases) {
      const r = await run(plugin, headers, { port });
      expect(get(r.headers, "x-halyard-cluster"), `${get(headers, ":path")} port ${port}`).toBe(cluster);
      r.stream.done();
    }
    await plugin.close();
  });

  it("strips client-sent x-halyard-cluster and x-envoy-* control headers before deciding", async () => {
    const { plugin } = await load(vh([
      { name: "sneaky", match: [{ headers: { "x-halyard-cluster": {} } }], route: [{ cluster: C3 }] },
      { name: "default", route: [{ cluster: C1 }], retries: { attempts: 1, retry_on: "5xx" } },
    ]));
    const r = await run(plugin, request("/", [
      ["x-halyard-cluster", "outbound|9080|admin|secret.svc"],
      ["x-envoy-max-retries", "100"],
      ["x-envoy-upstream-rq-timeout-ms", "999999"],
      ["x-envoy-original-dst-host", "10.9.9.9:22"],
      ["x-envoy-retriable-status-codes", "500"],
      ["x-envoy-internal", "true"],
      ["x-envoyish", "kept"],
    ]));
    expect(all(r.headers, "x-halyard-cluster")).toEqual([C1]);
    expect(all(r.headers, "x-envoy-max-retries")).toEqual(["1"]);
    expect(all(r.headers, "x-envoy-upstream-rq-timeout-ms")).toEqual(["0"]);
    expect(get(r.headers, "x-envoy-original-dst-host")).toBeUndefined();
    expect(get(r.headers, "x-envoy-retriable-status-codes")).toBeUndefined();
    // Set by Envoy's connection manager after sanitizing, so trusted; not a control header.
    expect(get(r.headers, "x-envoy-internal")).toBe("true");
    expect(get(r.headers, "x-envoyish")).toBe("kept");
    r.stream.done();
    await plugin.close();
  });

  it("splits weighted destinations within ±2% over 10 000 streams", async () => {
    const { plugin } = await load(vh([{ name: "split", route: [{ cluster: C1, weight: 70 }, { cluster: C2, weight: 20 }, { cluster: C3, weight: 10 }] }]));
    const counts: Record<string, number> = {};
    const n = 10_000;
    for (let i = 0; i < n; i++) {
      const r = await run(plugin, request("/"));
      const c = get(r.headers, "x-halyard-cluster")!;
      counts[c] = (counts[c] ?? 0) + 1;
      r.stream.done();
    }
    expect(Math.abs(counts[C1] / n - 0.7)).toBeLessThan(0.02);
    expect(Math.abs(counts[C2] / n - 0.2)).toBeLessThan(0.02);
    expect(Math.abs(counts[C3] / n - 0.1)).toBeLessThan(0.02);
    await plugin.close();
  }, 60_000);
});

describe("halyard.route: local responses", () => {
  const config = vh([
    { name: "moved", match: [{ uri: { exact: "/old" } }], redirect: { uri: "/new", authority: "new.example.com", redirect_code: 308 },
      headers: { response: { set: { "x-why": "moved" } } } },
    { name: "https", match: [{ uri: { prefix: "/secure" } }], redirect: { scheme: "https", derive_port: "FROM_PROTOCOL_DEFAULT" } },
    { name: "maintenance", match: [{ uri: { prefix: "/down" } }], direct_response: { status: 503, body: { string: "try later ✓" } },
      headers: { response: { add: { "retry-after": "30" } } } },
    { name: "api", match: [{ uri: { prefix: "/api" } }], route: [{ cluster: C1 }],
      cors: { allow_origins: [{ exact: "https://a.example" }], allow_methods: ["GET", "POST"], allow_headers: ["x-token"], expose_headers: ["x-trace"], max_age_s: 600, allow_credentials: true } },
  ], ["reviews:9080", "reviews"]);

  it("answers redirects with the status and Location (plus the route's response headers)", async () => {
    const { plugin } = await load(config);
    const r = await run(plugin, request("/old?x=1"));
    expect(r.outcome).toMatchObject({ kind: "local_response", status: 308, details: "direct_response" });
    if (r.outcome.kind !== "local_response") return;
    expect(r.outcome.headers).toEqual([["location", "http://new.example.com/new?x=1"], ["x-why", "moved"]]);
    expect(r.outcome.body).toHaveLength(0);
    expect(r.cleared()).toBe(0);
    expect(get(r.headers, "x-halyard-cluster")).toBeUndefined();
    // The local reply passes the filter's response callback unchanged (no doubled headers).
    const resp: HeaderMap = [[":status", "308"], ...r.outcome.headers];
    await r.stream.onResponseHeaders(resp, true);
    expect(all(resp, "x-why")).toEqual(["moved"]);
    r.stream.done();
    const s = await run(plugin, request("/secure/x", [], "GET", "reviews:9080"));
    expect(s.outcome).toMatchObject({ kind: "local_response", status: 301, headers: [["location", "https://reviews/secure/x"]] });
    s.stream.done();
    await plugin.close();
  });

  it("answers direct responses with status and body", async () => {
    const { plugin } = await load(config);
    const r = await run(plugin, request("/down/now"));
    expect(r.outcome).toMatchObject({ kind: "local_response", status: 503, details: "direct_response", headers: [["retry-after", "30"]] });
    if (r.outcome.kind === "local_response") expect(text(r.outcome.body)).toBe("try later ✓");
    expect(props(r.stream)["halyard.route.decision"]).toBe("direct_response");
    r.stream.done();
    await plugin.close();
  });

  it("answers CORS preflights locally and adds CORS headers to allowed responses", async () => {
    const { plugin } = await load(config);
    const pre = await run(plugin, request("/api/items", [["origin", "https://a.example"], ["access-control-request-method", "POST"]], "OPTIONS"));
    expect(pre.outcome).toMatchObject({ kind: "local_response", status: 200, details: "cors_response" });
    if (pre.outcome.kind === "local_response") {
      expect(pre.outcome.headers).toEqual([
        ["access-control-allow-origin", "https://a.example"],
        ["access-control-allow-credentials", "true"],
        ["access-control-allow-methods", "GET,POST"],
        ["access-control-allow-headers", "x-token"],
        ["access-control-max-age", "600"],
      ]);
    }
    expect(props(pre.stream)["halyard.route.decision"]).toBe("cors_preflight");
    pre.stream.done();

    const actual = await run(plugin, request("/api/items", [["origin", "https://a.example"]]));
    expect(actual.outcome).toEqual({ kind: "continue" });
    expect(get(actual.headers, "x-halyard-cluster")).toBe(C1);
    const resp: HeaderMap = [[":status", "200"], ["access-control-allow-origin", "*"]];
    await actual.stream.onResponseHeaders(resp, false);
    expect(all(resp, "access-control-allow-origin")).toEqual(["https://a.example"]);
    expect(get(resp, "access-control-allow-credentials")).toBe("true");
    expect(get(resp, "access-control-expose-headers")).toBe("x-trace");
    actual.stream.done();

    const stranger = await run(plugin, request("/api/items", [["origin", "https://evil.example"]]));
    const resp2: HeaderMap = [[":status", "200"]];
    await stranger.stream.onResponseHeaders(resp2, false);
    expect(get(resp2, "access-control-allow-origin")).toBeUndefined();
    stranger.stream.done();
    await plugin.close();
  });

  it("answers 404 with no body when no route matches (Envoy's NR)", async () => {
    const { plugin } = await load(config);
    for (const [path, authority] of [["/nothing", "reviews:9080"], ["/api", "other.example"]]) {
      const r = await run(plugin, request(path, [], "GET", authority));
      expect(r.outcome).toEqual({ kind: "local_response", status: 404, headers: [], body: new Uint8Array(0), details: "route_not_found" });
      expect(props(r.stream)).toMatchObject({ "halyard.route.decision": "no_route", "halyard.route.flags": "NR" });
      r.stream.done();
    }
    await plugin.close();
  });
});

describe("halyard.route: mirrors", () => {
  let server: Server;
  let base: { host: string; port: number };
  const seen: Array<{ method?: string; url?: string; host?: string; headers: Record<string, unknown>; body: string }> = [];
  const waiters: Array<() => void> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        seen.push({ method: req.method, url: req.url, host: req.headers.host, headers: req.headers, body });
        res.writeHead(200, { "content-type": "text/plain" }).end("mirror ok");
        waiters.splice(0).forEach((w) => w());
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = { host: "127.0.0.1", port: (server.address() as AddressInfo).port };
  });

  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const calls: Array<{ cluster: string; timeoutMs: number }> = [];
  /** The embedder's http_call: the mirror clusters map to the real server; Host comes from :authority. */
  const httpCall: HostOptions["httpCall"] = (cluster, headers, body, _trailers, timeoutMs) => {
    calls.push({ cluster, timeoutMs });
    if (cluster !== C3 && cluster !== C2) return Promise.reject(new Error(`unknown cluster ${cluster}`));
    const h = (k: string) => headers.find(([n]) => n === k)?.[1];
    return new Promise((resolve, reject) => {
      const out: Record<string, string> = { host: h(":authority")! };
      for (const [k, v] of headers) if (!k.startsWith(":")) out[k] = v;
      const req = httpRequest({ ...base, method: h(":method"), path: h(":path"), headers: out, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ headers: [[":status", String(res.statusCode)]], body: Buffer.concat(chunks), trailers: [] }));
      });
      req.on("error", reject);
      req.end(body ?? undefined);
    });
  };

  async function waitForRequests(n: number): Promise<void> {
    const deadline = Date.now() + 5000;
    while (seen.length < n && Date.now() < deadline) await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 50); });
  }

  it("sends a fire-and-forget copy to each mirror cluster, authority suffixed with -shadow", async () => {
    seen.length = 0;
    calls.length = 0;
    const { plugin } = await load(vh([{
      name: "mirrored", route: [{ cluster: C1 }], timeout_ms: 3000, rewrite: { uri: "/v2/" }, match: [{ uri: { prefix: "/v1/" } }],
      mirrors: [{ cluster: C3 }, { cluster: C2, percentage: 100 }],
      headers: { request: { set: { "x-tag": "mirrored" } } },
    }]), { httpCall });
    const r = await run(plugin, request("/v1/items?id=7", [["x-halyard-cluster", "nope"], ["user-agent", "test"]]));
    expect(r.outcome).toEqual({ kind: "continue" });
    expect(get(r.headers, "x-halyard-cluster")).toBe(C1);
    r.stream.done(); // the copies do not depend on the original stream
    await waitForRequests(2);
    expect(calls.map((c) => c.cluster).sort()).toEqual([C2, C3].sort());
    expect(calls.every((c) => c.timeoutMs === 3000)).toBe(true);
    expect(seen).toHaveLength(2);
    for (const s of seen) {
      expect(s.method).toBe("GET");
      expect(s.url).toBe("/v2/items?id=7");
      expect(s.host).toBe("reviews-shadow:9080");
      expect(s.headers["x-tag"]).toBe("mirrored");
      expect(s.headers["user-agent"]).toBe("test");
      expect(s.headers["x-envoy-original-path"]).toBe("/v1/items?id=7");
      expect(s.headers["x-halyard-cluster"]).toBeUndefined();
      expect(s.headers["x-envoy-max-retries"]).toBeUndefined();
      expect(s.headers["x-envoy-upstream-rq-timeout-ms"]).toBeUndefined();
      expect(s.body).toBe("");
    }
    await plugin.close();
  });

  it("waits for the request body before mirroring a request that has one", async () => {
    seen.length = 0;
    calls.length = 0;
    const { plugin } = await load(vh([{ name: "m", route: [{ cluster: C1 }], mirrors: [{ cluster: C3 }] }]), { httpCall });
    const r = await run(plugin, request("/upload", [["content-type", "application/json"]], "POST"), { endOfStream: false });
    expect(r.outcome).toEqual({ kind: "continue" });
    expect(calls).toHaveLength(0);
    const enc = new TextEncoder();
    expect(await r.stream.onRequestBody(enc.encode('{"part":'), false)).toMatchObject({ kind: "continue" });
    expect(calls).toHaveLength(0);
    expect(await r.stream.onRequestBody(enc.encode('"é"}'), true)).toMatchObject({ kind: "continue" });
    expect(calls).toHaveLength(1);
    expect(calls[0].timeoutMs).toBe(15000); // no route timeout: the mirror default
    await waitForRequests(1);
    expect(seen[0]).toMatchObject({ method: "POST", url: "/upload", host: "reviews-shadow:9080", body: '{"part":"é"}' });
    r.stream.done();
    await plugin.close();
  });

  it("skips mirrors at 0% and survives an unknown mirror cluster", async () => {
    calls.length = 0;
    const { plugin, logs } = await load(vh([{ name: "m", route: [{ cluster: C1 }], mirrors: [{ cluster: "unknown", percentage: 100 }, { cluster: C3, percentage: 0 }] }]), { httpCall });
    const r = await run(plugin, request("/"));
    expect(r.outcome).toEqual({ kind: "continue" });
    expect(calls.map((c) => c.cluster)).toEqual(["unknown"]);
    r.stream.done();
    await new Promise((res) => setTimeout(res, 20));
    expect(logs.filter(([l]) => l === "error" || l === "critical")).toEqual([]);
    await plugin.close();
  });
});

describe("halyard.route: configuration", () => {
  it("refuses a bad configuration with the engine's one-line error", async () => {
    const cases: Array<[string, string]> = [
      ["", "halyard.route: invalid configuration: route config: the plugin configuration is empty"],
      ["{", "halyard.route: invalid configuration: route config: invalid JSON"],
      [JSON.stringify({ virtual_hosts: [{ name: "a", domains: ["*"], routes: [{ name: "r", route: [{ cluster: C1, weight: -1 }] }] }] }),
        "halyard.route: invalid configuration: route config: virtual_hosts[0].routes[0](r).route[0].weight"],
      [JSON.stringify({ virtual_hosts: [], extra: 1 }), "halyard.route: invalid configuration: route config:"],
    ];
    for (const [configuration, message] of cases) {
      const logs: Array<[LogLevel, string]> = [];
      const loading = WasmPlugin.load(module, { name: "route", rootId: "halyard.route", configuration }, { log: (l, m) => logs.push([l, m]) });
      await expect(loading, configuration).rejects.toThrow(message);
      const line = logs.find(([l]) => l === "error")?.[1] ?? "";
      expect(line.startsWith(message), line).toBe(true);
      expect(line).not.toContain("\n");
      expect(logs.some(([l]) => l === "critical")).toBe(false); // no abort / trap
    }
  });
});
