// End to end: `node bin/halyard.js gateway -c <bootstrap>` as a child process, real node:http upstreams, real wasm
// filters (halyard.echo from wasm/build/halyard.wasm and a filter built with @gcoredev/proxy-wasm-sdk-as).
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { WasmPlugin } from "../wasm/host/index.js";
import { createListenerApp } from "../gateway/app.js";
import { ClusterManager } from "../gateway/clusters.js";
import { fromWebRequest, HttpConnectionManager } from "../gateway/hcm.js";
import { Router } from "../gateway/router.js";
import { RouteTable } from "../gateway/routes.js";
import { NodeUpstreamTransport } from "../gateway/upstream-node.js";
import { bootstrap, listener, staticCluster, wasmFilter } from "./helpers/envoy-bootstrap.js";
import {
  freePort, httpRequest, requireBuiltCli, root, startGateway, startUpstream, tempDir, writeYaml,
  type GatewayProcess, type Upstream,
} from "./helpers/gateway-process.js";
import { buildGcoreFilter } from "./helpers/gcore-filter.js";

const ECHO_CONFIG = JSON.stringify({
  request_headers: { "x-a": "1" },
  response_headers: { "x-b": "2" },
  local_responses: [{ path: "/blocked", status: 403, body: "no", headers: {} }],
});
const CONNECT_FAILURE = "upstream connect error or disconnect/reset before headers. reset reason: connection failure";

let a: Upstream, b: Upstream, c: Upstream;
let gw: GatewayProcess;
let plain: string, echo: string, gcore: string;

beforeAll(async () => {
  requireBuiltCli();
  [a, b, c] = await Promise.all([startUpstream("a"), startUpstream("b"), startUpstream("c")]);
  const deadPort = await freePort(); // bound once, then closed: nothing listens there
  const gcoreWasm = await buildGcoreFilter();
  const dir = tempDir();
  const routes = (extra: unknown[] = []) => [
    {
      name: "main",
      domains: ["*"],
      routes: [
        ...extra,
        { match: { prefix: "/dyn" }, route: { cluster_header: "x-target" } },
        { match: { prefix: "/dead" }, route: { cluster: "dead" } },
        { match: { prefix: "/empty" }, route: { cluster: "empty" } },
        { match: { prefix: "/slow" }, route: { cluster: "ab", timeout: "0.3s" } },
        { match: { path: "/CaseLess", case_sensitive: false }, route: { cluster: "c" } },
        { match: { prefix: "/" }, route: { cluster: "ab" } },
      ],
    },
    { name: "other", domains: ["other.test", "*.wild.test"], routes: [{ match: { prefix: "/only" }, route: { cluster: "c" } }] },
  ];
  const [p1, p2, p3] = await Promise.all([freePort(), freePort(), freePort()]);
  const file = writeYaml(
    dir,
    "bootstrap.yaml",
    bootstrap(
      [
        // 127.0.0.1 is internal here (internal_address_config), so the caller's x-envoy-* headers are honoured.
        listener({ name: "plain", port: p1, virtualHosts: routes(), hcmExtra: { use_remote_address: true, internal_address_config: { cidr_ranges: [{ address_prefix: "127.0.0.1", prefix_len: 32 }] } } }),
        listener({
          name: "echo",
          port: p2,
          // Relative to the bootstrap's directory on purpose: that is how the gateway resolves it.
          httpFilters: [wasmFilter({ name: "echo", rootId: "halyard.echo", filename: relative(dir, join(root, "wasm/build/halyard.wasm")), configuration: ECHO_CONFIG })],
          // The header halyard.echo adds would pick this route; the route was chosen before the filter ran and the
          // filter does not clear the route cache, so it does not (as in Envoy since it stopped clearing it on
          // header changes).
          virtualHosts: routes([{ match: { prefix: "/hi", headers: [{ name: "x-a", string_match: { exact: "1" } }] }, route: { cluster: "c" } }]),
        }),
        listener({ name: "gcore", port: p3, httpFilters: [wasmFilter({ name: "gcore", rootId: "gcore", filename: gcoreWasm })], virtualHosts: routes() }),
      ],
      [staticCluster("ab", [a.port, b.port]), staticCluster("c", [c.port]), staticCluster("dead", [deadPort], "0.5s"), staticCluster("empty", [])],
      { admin: { address: { socket_address: { address: "127.0.0.1", port_value: 0 } } } },
    ),
  );
  gw = await startGateway(file, 3);
  ({ plain, echo, gcore } = gw.urls as { plain: string; echo: string; gcore: string });
});

afterAll(async () => {
  await gw?.stop();
  await Promise.all([a, b, c].filter(Boolean).map((u) => u.close()));
});

const json = (body: string) => JSON.parse(body) as { upstream: string; url: string; method: string; headers: Record<string, string>; body: string };

describe("halyard gateway: static bootstrap end to end", () => {
  it("prints its listeners and serves admin /ready", async () => {
    expect(gw.output()).toMatch(/listener "plain" on http:\/\/127\.0\.0\.1:\d+/);
    const r = await httpRequest(`${gw.admin}/ready`);
    expect([r.status, r.body]).toEqual([200, "LIVE\n"]);
  });

  it("proxies with Envoy's request headers and strips hop-by-hop headers", async () => {
    const r = await httpRequest(`${plain}/hello?q=1`, {
      method: "POST",
      headers: { connection: "keep-alive, x-hop", "x-hop": "secret", "x-keep": "yes", "content-type": "text/plain" },
      body: "payload",
    });
    expect(r.status).toBe(200);
    const seen = json(r.body);
    expect(seen.url).toBe("/hello?q=1");
    expect(seen.method).toBe("POST");
    expect(seen.body).toBe("payload");
    expect(seen.headers["x-keep"]).toBe("yes");
    expect(seen.headers["x-hop"]).toBeUndefined();
    expect(seen.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen.headers["x-forwarded-proto"]).toBe("http");
    expect(seen.headers["x-forwarded-for"]).toBe("127.0.0.1"); // use_remote_address: true on this listener
    expect(seen.headers["x-envoy-expected-rq-timeout-ms"]).toBe("15000");
    expect(seen.headers.host).toBe(new URL(plain).host);
    expect(r.headers["x-envoy-upstream-service-time"]).toMatch(/^\d+$/);
  });

  it("keeps a caller's x-request-id and honours x-envoy-upstream-rq-timeout-ms", async () => {
    const r = await httpRequest(`${plain}/x`, { headers: { "x-request-id": "abc", "x-envoy-upstream-rq-timeout-ms": "1234" } });
    const seen = json(r.body);
    expect(seen.headers["x-request-id"]).toBe("abc");
    expect(seen.headers["x-envoy-expected-rq-timeout-ms"]).toBe("1234");
    expect(seen.headers["x-envoy-upstream-rq-timeout-ms"]).toBeUndefined();
  });

  it("balances a cluster's endpoints round robin", async () => {
    const names: string[] = [];
    for (let i = 0; i < 6; i++) names.push(json((await httpRequest(`${plain}/rr`)).body).upstream);
    expect(names.filter((n) => n === "a")).toHaveLength(3);
    expect(names.filter((n) => n === "b")).toHaveLength(3);
    for (let i = 1; i < names.length; i++) expect(names[i]).not.toBe(names[i - 1]);
  });

  it("routes by cluster_header; an unknown or missing cluster is 503 (NC) with an empty body", async () => {
    expect(json((await httpRequest(`${plain}/dyn`, { headers: { "x-target": "c" } })).body).upstream).toBe("c");
    for (const headers of [{ "x-target": "nowhere" }, {}]) {
      const r = await httpRequest(`${plain}/dyn`, { headers });
      expect([r.status, r.body]).toEqual([503, ""]);
    }
  });

  it("matches virtual hosts by domain (exact and wildcard) and answers 404 (NR) when no route matches", async () => {
    expect(json((await httpRequest(`${plain}/only`, { headers: { host: "other.test" } })).body).upstream).toBe("c");
    expect(json((await httpRequest(`${plain}/only`, { headers: { host: "x.wild.test" } })).body).upstream).toBe("c");
    const r = await httpRequest(`${plain}/elsewhere`, { headers: { host: "other.test" } });
    expect([r.status, r.body]).toEqual([404, ""]);
    expect(json((await httpRequest(`${plain}/caseless`)).body).upstream).toBe("c");
  });

  it("answers 503 (UF) with Envoy's body when the upstream refuses the connection", async () => {
    const r = await httpRequest(`${plain}/dead`);
    expect([r.status, r.body]).toEqual([503, CONNECT_FAILURE]);
    expect(r.headers["content-type"]).toBe("text/plain");
  });

  it("answers 503 'no healthy upstream' (UH) for a cluster without endpoints", async () => {
    const r = await httpRequest(`${plain}/empty`);
    expect([r.status, r.body]).toEqual([503, "no healthy upstream"]);
  });

  it("answers 504 'upstream request timeout' (UT) after the route timeout", async () => {
    const t0 = Date.now();
    const r = await httpRequest(`${plain}/slow?ms=2000`);
    expect([r.status, r.body]).toEqual([504, "upstream request timeout"]);
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  it("runs the halyard.echo filter: headers added both ways", async () => {
    const r = await httpRequest(`${echo}/hi`);
    expect(r.status).toBe(200);
    expect(json(r.body).headers["x-a"]).toBe("1");
    expect(r.headers["x-b"]).toBe("2");
  });

  it("a header a filter adds without clear_route_cache does not change the route already chosen", async () => {
    const routed = await httpRequest(`${echo}/hi`);
    expect(json(routed.body).upstream).not.toBe("c");
    // The same route does match when the client sends the header itself.
    const matched = await httpRequest(`${echo}/hi`, { headers: { "x-a": "1" } });
    expect(json(matched.body).upstream).toBe("c");
  });

  it("runs the halyard.echo filter: a configured local response never reaches the upstream", async () => {
    const before = a.seen.length + b.seen.length;
    const r = await httpRequest(`${echo}/blocked`);
    expect([r.status, r.body]).toEqual([403, "no"]);
    expect(a.seen.length + b.seen.length).toBe(before);
  });

  it("runs a filter built with the gcore SDK: echoes x-user, denies /forbidden", async () => {
    const r = await httpRequest(`${gcore}/hi`, { headers: { "x-user": "alice" } });
    expect(r.status).toBe(200);
    expect(r.headers["x-gcore-user"]).toBe("alice");
    const denied = await httpRequest(`${gcore}/forbidden`);
    expect(denied.status).toBe(403);
  });

  it("shuts down cleanly on SIGTERM", async () => {
    const r = await gw.stop("SIGTERM");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("SIGTERM, shutting down");
  });
});

describe("RouteTable", () => {
  const vh = (name: string, domains: string[]) => ({
    name,
    domains,
    routes: [{ name, match: { kind: "prefix" as const, value: "/", caseSensitive: true }, action: { cluster: name, timeoutMs: 0, clusterNotFoundStatus: 503 } }],
  });
  const table = new RouteTable({
    name: "t",
    virtualHosts: [vh("exact", ["www.foo.com"]), vh("suffix", ["*.foo.com"]), vh("longsuffix", ["*-bar.foo.com"]), vh("prefix", ["foo.*", "api:*"]), vh("any", ["*"])],
  });
  const pick = (host: string) => table.virtualHost(host)?.name;

  it("follows Envoy's order: exact, longest suffix wildcard, longest prefix wildcard, then *", () => {
    expect(pick("www.foo.com")).toBe("exact");
    expect(pick("WWW.FOO.COM")).toBe("exact");
    expect(pick("a.foo.com")).toBe("suffix");
    expect(pick("baz-bar.foo.com")).toBe("longsuffix");
    expect(pick("foo.org")).toBe("prefix");
    expect(pick("api:8080")).toBe("prefix");
    expect(pick("elsewhere")).toBe("any");
    expect(pick("-bar.foo.com")).toBe("suffix"); // the wildcard never matches the empty string
  });
});

describe("portable core: Hono app + web Request/Response (what a Workers entry reuses)", () => {
  it("runs the echo filter and the router from a web Request", async () => {
    const up = await startUpstream("web");
    const transport = new NodeUpstreamTransport();
    const plugin = await WasmPlugin.load(new WebAssembly.Module(readFileSync(join(root, "wasm/build/halyard.wasm"))), {
      name: "echo",
      rootId: "halyard.echo",
      configuration: ECHO_CONFIG,
    });
    try {
      const action = { cluster: "web", timeoutMs: 5000, clusterNotFoundStatus: 503 };
      const routeConfig = { name: "r", virtualHosts: [{ name: "all", domains: ["*"], routes: [{ name: "all", match: { kind: "prefix" as const, value: "/", caseSensitive: true }, action }] }] };
      const router = new Router(new RouteTable(routeConfig), new ClusterManager([{ name: "web", connectTimeoutMs: 1000, endpoints: [{ address: "127.0.0.1", port: up.port }] }]), transport);
      const hcm = new HttpConnectionManager({ statPrefix: "web", routeConfig, httpFilters: [], useRemoteAddress: false }, [plugin], router);
      const info = { remote: { address: "203.0.113.9", port: 5555 }, local: { address: "127.0.0.1", port: 8080 } };
      const app = createListenerApp(hcm, (c) => ({ request: fromWebRequest(c.req.raw), info }));

      const res = await app.request("http://edge.test/hi?x=1", { method: "POST", body: "data", headers: { "x-user": "bob" } });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-b")).toBe("2");
      const seen = json(await res.text());
      expect([seen.url, seen.method, seen.body, seen.headers.host, seen.headers["x-a"], seen.headers["x-user"]]).toEqual(["/hi?x=1", "POST", "data", "edge.test", "1", "bob"]);

      const blocked = await app.request("http://edge.test/blocked");
      expect([blocked.status, await blocked.text()]).toEqual([403, "no"]);
    } finally {
      await plugin.close();
      transport.close();
      await up.close();
    }
  });
});
