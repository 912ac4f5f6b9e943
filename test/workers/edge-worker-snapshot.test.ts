// gateway/worker.ts inside workerd, configured by a snapshot that `halyard proxy-config all -o json` translated from
// examples/payments plus a Gateway (test/workers/global-setup.ts): requests go through the HCM, halyard.fault and
// halyard.route decide, the router executes, upstreams are real node:http servers on 127.0.0.1 reached by fetch().
// Importing gateway/worker.ts here is itself the check that its import graph runs in workerd (no node: modules).
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import worker, { createEdgeWorker, type WorkerEnv } from "../../gateway/worker.js";

const edge = inject("edge");
const BASE = "http://edge.example:8080";
const lines: string[] = [];
const quiet = (line: string) => void lines.push(line);

async function call(w: { fetch(r: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> }, env: WorkerEnv, path: string, init?: RequestInit) {
  const ctx = createExecutionContext();
  const res = await w.fetch(new Request(BASE + path, init), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

interface Echo {
  upstream: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  bodySpreadMs: number;
}

const env: WorkerEnv = { HALYARD_SNAPSHOT: edge.snapshot, HALYARD_NODE_ID: edge.nodeId };

describe("edge worker from a bundled snapshot", () => {
  it("routes by halyard.route's decision to the real upstream, through the HCM", async () => {
    const res = await call(worker, env, "/pay?x=1", { headers: { "x-request-id": "req-1" } });
    expect(res.status).toBe(200);
    const echo = (await res.json()) as Echo;
    expect(echo.upstream).toBe("v1");
    expect(echo.url).toBe("/pay?x=1");
    // The decision's cluster header (read by the route's cluster_header) is removed by the route before upstream.
    expect(echo.headers["x-halyard-cluster"]).toBeUndefined();
    expect(echo.headers["x-request-id"]).toBe("req-1");
    expect(echo.headers["x-forwarded-proto"]).toBe("http");
    expect(echo.headers["x-forwarded-host"]).toBe("edge.example:8080");
    expect(res.headers.get("x-edge-route")).toBe("stable"); // set by halyard.route on the response path
    expect(res.headers.get("x-envoy-upstream-service-time")).toMatch(/^\d+$/);
    expect(res.headers.getSetCookie()).toEqual(["a=v1", "b=2"]);
  });

  it("routes canary traffic by header", async () => {
    const res = await call(worker, env, "/pay", { headers: { "x-env": "canary" } });
    expect(((await res.json()) as Echo).upstream).toBe("v2-canary");
    expect(res.headers.get("x-edge-route")).toBe("canary");
  });

  it("sends a request body of known length upstream whole", async () => {
    const res = await call(worker, env, "/pay", { method: "POST", body: "amount=10", headers: { "content-type": "text/plain", "content-length": "9" } });
    const echo = (await res.json()) as Echo;
    expect([echo.method, echo.body, echo.headers["content-length"]]).toEqual(["POST", "amount=10", "9"]);
  });

  it("streams a request body upstream as the client sends it (through the filters and the router)", async () => {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    const sending = (async () => {
      await writer.write(new TextEncoder().encode("first,"));
      await new Promise((r) => setTimeout(r, 300));
      await writer.write(new TextEncoder().encode("second"));
      await writer.close();
    })();
    const res = await call(worker, env, "/pay", { method: "POST", body: readable, duplex: "half" } as RequestInit);
    await sending;
    expect(res.status).toBe(200);
    const echo = (await res.json()) as Echo;
    expect(echo.body).toBe("first,second");
    expect(echo.bodySpreadMs).toBeGreaterThanOrEqual(200);
    expect(echo.headers["transfer-encoding"]).toBe("chunked");
  });

  it("answers a fault abort locally (halyard.fault)", async () => {
    const res = await call(worker, env, "/pay", { headers: { "x-chaos-test": "true" } });
    expect(res.status).toBe(418);
    expect(await res.text()).toBe("fault filter abort");
  });

  it("answers a redirect locally (halyard.route)", async () => {
    const res = await call(worker, env, "/old/receipt");
    expect(res.status).toBe(301);
    expect(res.headers.get("location")).toBe(`${BASE}/new`);
  });

  it("holds a request for a fault delay (halyard.fault's tick), also for requests in flight together", async () => {
    const t0 = Date.now();
    const [a, b] = await Promise.all([call(worker, env, "/delayed/1"), call(worker, env, "/delayed/2")]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect([((await a.json()) as Echo).url, ((await b.json()) as Echo).url]).toEqual(["/delayed/1", "/delayed/2"]);
  });

  it("times out a slow upstream as the route says (x-envoy-upstream-rq-timeout-ms)", async () => {
    const t0 = Date.now();
    const res = await call(worker, env, "/slow");
    expect(res.status).toBe(504);
    expect(await res.text()).toBe("upstream request timeout");
    expect(Date.now() - t0).toBeLessThan(1400);
  });

  it("answers 503 UF for an endpoint that refuses connections, after the route's retries", async () => {
    const res = await call(worker, env, "/down");
    expect(res.status).toBe(503);
    expect(await res.text()).toBe("upstream connect error or disconnect/reset before headers. reset reason: connection failure");
  });

  it("keeps one gateway per isolate: wasm plugins are loaded once", async () => {
    await call(worker, env, "/pay");
    const before = worker.runtime!.gateway.stats();
    await call(worker, env, "/pay");
    expect(worker.runtime!.gateway.stats()).toEqual(before);
    expect(before.listeners).toContain("0.0.0.0_8080");
  });

  it("takes a snapshot bundled by the entry module (createEdgeWorker({ snapshot }))", async () => {
    const bundled = createEdgeWorker({ snapshot: JSON.parse(edge.snapshot), log: quiet });
    const res = await call(bundled, {}, "/pay", { headers: { "x-env": "canary" } });
    expect(((await res.json()) as Echo).upstream).toBe("v2-canary");
  });

  it("says which resources of the snapshot it left out, with the NACK reason", async () => {
    const w = createEdgeWorker({ log: quiet });
    const snapshot = JSON.parse(edge.snapshot) as { clusters: object[] };
    snapshot.clusters.push({ name: "dns-only", type: "STRICT_DNS", connectTimeout: "1s", lbPolicy: "LOAD_BALANCING_POLICY_CONFIG" });
    lines.length = 0;
    expect((await call(w, { ...env, HALYARD_SNAPSHOT: JSON.stringify(snapshot) }, "/pay")).status).toBe(200);
    expect(lines).toContain(
      'halyard worker: HALYARD_SNAPSHOT: left out: clusters: cluster "dns-only": lb_policy: "LOAD_BALANCING_POLICY_CONFIG" is not supported by halyard gateway (supported: ROUND_ROBIN, LEAST_REQUEST, RING_HASH, RANDOM, MAGLEV, CLUSTER_PROVIDED)',
    );
    // The translator's PassthroughCluster (ORIGINAL_DST: fetch() to the request's authority) is taken.
    expect(lines.filter((l) => l.includes("PassthroughCluster"))).toEqual([]);
  });

  it("picks the listener by HALYARD_LISTENER and says when it does not exist", async () => {
    const named = createEdgeWorker({ log: quiet });
    expect((await call(named, { ...env, HALYARD_LISTENER: "0.0.0.0_8080" }, "/pay")).status).toBe(200);
    const missing = await call(createEdgeWorker({ log: quiet }), { ...env, HALYARD_LISTENER: "nope" }, "/pay");
    expect(missing.status).toBe(503);
    expect(await missing.text()).toMatch(/^halyard worker: listener "nope" \(HALYARD_LISTENER\) is not in the configuration \(listeners: .*0\.0\.0\.0_8080 on port 8080.*\)\n$/);
  });
});

describe("edge worker configuration errors: one line, 503, never a stack trace", () => {
  const cases: Array<[string, WorkerEnv, string]> = [
    ["no source", {}, "no configuration: set HALYARD_SNAPSHOT (a `halyard proxy-config all -o json` snapshot) or HALYARD_XDS_URL and HALYARD_NODE_ID"],
    ["two sources", { HALYARD_SNAPSHOT: "{}", HALYARD_XDS_URL: "http://127.0.0.1:1" }, "HALYARD_SNAPSHOT and HALYARD_XDS_URL are both set; give exactly one configuration source"],
    ["snapshot not JSON", { HALYARD_SNAPSHOT: "{listeners" }, "HALYARD_SNAPSHOT: not JSON ("],
    ["unknown key", { HALYARD_SNAPSHOT: '{"secrets":[]}' }, 'HALYARD_SNAPSHOT: unknown key "secrets" (expected listeners, routes, clusters, endpoints)'],
    ["bad resource", { HALYARD_SNAPSHOT: '{"listeners":[{"name":"l","bogus":1}]}' }, "HALYARD_SNAPSHOT: listeners[0]: "],
    ["no listener", { HALYARD_SNAPSHOT: '{"clusters":[]}' }, "HALYARD_SNAPSHOT: no listener the gateway can serve"],
    ["url without node", { HALYARD_XDS_URL: "http://127.0.0.1:15014" }, "HALYARD_NODE_ID is required with HALYARD_XDS_URL"],
    ["bad url", { HALYARD_XDS_URL: "istiod:15014", HALYARD_NODE_ID: "x" }, 'HALYARD_XDS_URL: "istiod:15014" is not an http(s)://host[:port] URL'],
    ["bad node id", { HALYARD_XDS_URL: "http://127.0.0.1:15014", HALYARD_NODE_ID: "edge" }, 'HALYARD_NODE_ID: "edge" is not an Istio proxy id'],
    ["bad labels", { HALYARD_SNAPSHOT: "{}", HALYARD_LABELS: "istio" }, 'HALYARD_LABELS: "istio" is not key=value'],
    ["bad interval", { HALYARD_XDS_URL: "http://127.0.0.1:1", HALYARD_NODE_ID: edge.nodeId, HALYARD_POLL_INTERVAL_MS: "soon" }, 'HALYARD_POLL_INTERVAL_MS: "soon" is not a whole number of milliseconds'],
    ["bad log level", { HALYARD_SNAPSHOT: "{}", HALYARD_LOG_LEVEL: "loud" }, 'HALYARD_LOG_LEVEL: "loud" is not one of trace, debug, info, warn, error, critical'],
  ];
  for (const [what, badEnv, expected] of cases) {
    it(what, async () => {
      const res = await call(createEdgeWorker({ log: quiet }), badEnv, "/");
      expect(res.status).toBe(503);
      const body = await res.text();
      expect(body.startsWith(`halyard worker: ${expected}`)).toBe(true);
      expect(body.trimEnd().split("\n")).toHaveLength(1);
    });
  }

  it("a wasm filter the bundled module cannot run rejects its listener with the plugin's reason", async () => {
    const snap = JSON.parse(edge.snapshot) as { listeners: Array<Record<string, unknown>> };
    const text = JSON.stringify(snap).replaceAll('"rootId":"halyard.route"', '"rootId":"halyard.nope"');
    const res = await call(createEdgeWorker({ log: quiet }), { HALYARD_SNAPSHOT: text }, "/pay");
    expect(res.status).toBe(503);
    const body = await res.text();
    expect(body).toMatch(/^halyard worker: HALYARD_SNAPSHOT: not served: .*routes: listener "[^"]+": http_filters\[1\] \(halyard\.route\): .*unknown root id "halyard\.nope"/);
    expect(body.trimEnd().split("\n")).toHaveLength(1);
  });
});
