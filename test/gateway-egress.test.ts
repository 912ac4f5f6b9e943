// Egress (issue #5 item 6): Istio config → translator (routes, clusters incl. PassthroughCluster / BlackHoleCluster,
// the executing RDS route) → the gateway's xDS converters → a running gateway on 127.0.0.1, with real upstream
// servers. REGISTRY_ONLY answers 502 for hosts outside the registry and reaches a MESH_EXTERNAL ServiceEntry;
// ALLOW_ANY passes unknown hosts through to the IP:port they name (also as an HTTP proxy, absolute-form); external
// callers cannot steer the router with x-envoy-* headers; x-halyard-cluster never reaches an upstream.
// The sidecar's outbound listener (original_dst listener filter, per-port chains, scoped RDS) is not something the
// gateway serves yet, so the test listener is a plain HCM running halyard.route with the port's translated config.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { createServer, request, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster_DiscoveryType, Cluster_LbPolicy, ClusterSchema, type Cluster } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ListenerSchema, type Listener } from "../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema, type RouteConfiguration } from "../gen/envoy/config/route/v3/route_pb.js";
import { RouterSchema } from "../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import { HttpConnectionManagerSchema } from "../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import type { ConfigSet } from "../control/config/config-set.js";
import { parseServeArgs } from "../control/cli/serve.js";
import { buildRegistry } from "../control/registry/registry.js";
import { outboundTrafficMode } from "../control/translate/outbound-policy.js";
import { sidecarProxy } from "../control/translate/proxy.js";
import { routeConfigForPort, translateRoutes } from "../control/translate/routes.js";
import { packed, socketAddress } from "../control/translate/xds/common.js";
import { blackHoleCluster } from "../control/translate/xds/clusters.js";
import { buildProxyResources } from "../control/translate/xds/index.js";
import { filterDrivenRouteConfig } from "../control/translate/xds/routes.js";
import { wasmHttpFilter } from "../control/translate/xds/wasm-filter.js";
import { startGateway, type RunningGateway } from "../gateway/gateway.js";
import { checkSupported, convertCluster, convertEndpoints, convertListener, convertRoutes, ResourceError, type Resolvers } from "../gateway/xds/convert.js";
import type { ClusterConfig, ListenerConfig, RouteTableConfig, SocketAddr } from "../gateway/bootstrap/types.js";
import { Cluster as GatewayCluster } from "../gateway/clusters.js";
import { NodeUpstreamTransport } from "../gateway/upstream-node.js";
import type { HeaderMap } from "../wasm/host/index.js";
import { configFromYaml } from "./helpers/config-text.js";
import { HALYARD_WASM } from "./helpers/gateway-xds.js";

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** The gateway's side of the upstream connection (same port = same pooled connection). */
  remotePort: number;
}

/** An upstream answering 200 with what it saw (JSON) after `delayMs`; `status` overrides the code. */
async function startUpstream(name: string, opts: { delayMs?: number; status?: number } = {}): Promise<{ server: Server; port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, remotePort: req.socket.remotePort ?? 0 });
    req.resume();
    setTimeout(() => {
      res.writeHead(opts.status ?? 200, { "content-type": "application/json", "x-upstream": name });
      res.end(JSON.stringify({ name, url: req.url, host: req.headers.host }));
    }, opts.delayMs ?? 0);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, port: (server.address() as AddressInfo).port, seen };
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One HTTP/1.1 request to the gateway; `path` may be absolute-form (HTTP proxy use). */
function send(port: number, opts: { host: string; path?: string; headers?: Record<string, string> }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: opts.path ?? "/", method: "GET", headers: { host: opts.host, ...opts.headers }, agent: false, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on("timeout", () => req.destroy(new Error("client timeout")));
    req.on("error", reject);
    req.end();
  });
}

const EXTERNAL_HOST = "api.partner.test";

function meshYaml(externalPort: number): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: partner-api
  namespace: egress
spec:
  hosts:
  - ${EXTERNAL_HOST}
  location: MESH_EXTERNAL
  resolution: STATIC
  ports:
  - number: 80
    name: http
    protocol: HTTP
  endpoints:
  - address: 127.0.0.1
    ports:
      http: ${externalPort}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: default
  namespace: locked
spec:
  outboundTrafficPolicy:
    mode: REGISTRY_ONLY
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: default
  namespace: istio-system
spec:
  outboundTrafficPolicy:
    mode: ALLOW_ANY
`;
}

const sidecarId = (ns: string) => `sidecar~10.1.0.7~client.${ns}~${ns}.svc.cluster.local`;

const routerFilter = () => ({ name: "envoy.filters.http.router", configType: { case: "typedConfig" as const, value: packed(RouterSchema, {}) } });

/** A listener on 127.0.0.1 (ephemeral port) whose one filter chain is an HCM with these fields. */
function hcmListener(name: string, hcm: MessageInitShape<typeof HttpConnectionManagerSchema>): Listener {
  return create(ListenerSchema, {
    name,
    address: socketAddress("127.0.0.1", 0),
    filterChains: [{ filters: [{ name: "envoy.filters.network.http_connection_manager", configType: { case: "typedConfig", value: packed(HttpConnectionManagerSchema, { statPrefix: name, ...hcm }) } }] }],
  });
}

/**
 * The gateway config for one sidecar namespace: the translator's clusters and endpoints, its executing RDS route
 * config for port 80, and an HCM listener on 127.0.0.1 running halyard.route with the port-80 engine config.
 */
function egressGateway(config: ConfigSet, namespace: string, hcm: { useRemoteAddress: boolean }): { listener: ListenerConfig; clusters: ClusterConfig[] } {
  const registry = buildRegistry(config);
  const resources = buildProxyResources(config, registry, { id: sidecarId(namespace) });
  const translation = translateRoutes(config, sidecarProxy(namespace), { registry });
  const engine = routeConfigForPort(translation, 80);
  if (!engine) throw new Error("no route config for port 80");
  const rds = filterDrivenRouteConfig("80", []);
  const listener = hcmListener("egress_80", {
    routeSpecifier: { case: "rds", value: { configSource: { configSourceSpecifier: { case: "ads", value: {} } }, routeConfigName: "80" } },
    httpFilters: [wasmHttpFilter("halyard.route", JSON.stringify(engine), { kind: "local", filename: HALYARD_WASM }), routerFilter()],
    useRemoteAddress: hcm.useRemoteAddress,
  });
  const endpoints = new Map<string, SocketAddr[]>();
  for (const cla of resources.endpoints.values()) endpoints.set(cla.clusterName, convertEndpoints(cla));
  const routes = new Map<string, RouteTableConfig>();
  const clusterNames = new Set(resources.clusters.keys());
  routes.set("80", convertRoutes(rds, clusterNames));
  const resolvers: Resolvers = { resolvePath: (p) => p, routes: (n) => routes.get(n), endpoints: (s) => endpoints.get(s), code: () => undefined };
  // What the xDS gateway does before converting: every field must be one it implements (else it NACKs).
  for (const c of resources.clusters.values()) checkSupported("clusters", c.name, c);
  for (const cla of resources.endpoints.values()) checkSupported("endpoints", cla.clusterName, cla);
  checkSupported("routes", rds.name, rds);
  checkSupported("listeners", listener.name, listener);
  return { listener: convertListener(listener, clusterNames, resolvers), clusters: [...resources.clusters.values()].map((c) => convertCluster(c, resolvers)) };
}

async function runEgress(config: ConfigSet, namespace: string, useRemoteAddress = false): Promise<RunningGateway> {
  const { listener, clusters } = egressGateway(config, namespace, { useRemoteAddress });
  return startGateway({ node: { id: sidecarId(namespace), cluster: "", metadata: {} }, listeners: [listener], clusters });
}

describe("outbound traffic policy: Sidecar precedence", () => {
  const yaml = (extra: string) =>
    configFromYaml(`apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: mesh-default
  namespace: istio-system
spec:
  outboundTrafficPolicy:
    mode: REGISTRY_ONLY
${extra}`);
  const selected = `---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: payments
  namespace: shop
spec:
  workloadSelector:
    labels:
      app: payments
  outboundTrafficPolicy:
    mode: ALLOW_ANY
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: default
  namespace: shop
spec:
  egress:
  - hosts: ["./*"]
`;

  it("workload selector, then the namespace's Sidecar, then the root namespace's, then the mesh default", () => {
    const config = yaml(selected);
    expect(outboundTrafficMode(config, "shop", { app: "payments" })).toBe("ALLOW_ANY");
    // The namespace-wide Sidecar applies and sets no mode: the mesh default, not the root namespace's Sidecar.
    expect(outboundTrafficMode(config, "shop", { app: "cart" })).toBe("ALLOW_ANY");
    expect(outboundTrafficMode(config, "shop", { app: "cart" }, { meshDefault: "REGISTRY_ONLY" })).toBe("REGISTRY_ONLY");
    expect(outboundTrafficMode(config, "other", {})).toBe("REGISTRY_ONLY");
    expect(outboundTrafficMode(configFromYaml(selected), "other", {}, { meshDefault: "REGISTRY_ONLY" })).toBe("REGISTRY_ONLY");
    expect(outboundTrafficMode(configFromYaml(selected), "other", {})).toBe("ALLOW_ANY");
    expect(outboundTrafficMode(config, "other", {}, { rootNamespace: "mesh-root" })).toBe("ALLOW_ANY");
  });

  it("REGISTRY_ONLY makes the catch-all Istio's block_all (502); ALLOW_ANY keeps allow_any → PassthroughCluster", () => {
    const config = configFromYaml(meshYaml(9999));
    const registry = buildRegistry(config);
    const locked = translateRoutes(config, sidecarProxy("locked"), { registry });
    const open = translateRoutes(config, sidecarProxy("open"), { registry });
    const meshLocked = translateRoutes(config, sidecarProxy("open"), { registry, outboundTrafficPolicy: "REGISTRY_ONLY", rootNamespace: "none" });
    const last = (t: typeof locked) => routeConfigForPort(t, 80)!.virtual_hosts.at(-1)!;
    expect(locked.outboundTrafficPolicy).toBe("REGISTRY_ONLY");
    expect(last(locked)).toEqual({ name: "block_all", domains: ["*"], routes: [{ name: "block_all", direct_response: { status: 502 } }] });
    expect(last(open)).toMatchObject({ name: "allow_any", domains: ["*"], routes: [{ name: "allow_any", route: [{ cluster: "PassthroughCluster" }] }] });
    expect(last(meshLocked).name).toBe("block_all");
    // The listener's TCP fallback agrees with the routes.
    const tcpFallback = (ns: string) => {
      const l = buildProxyResources(config, registry, { id: sidecarId(ns) }).listeners.get("virtualOutbound")!;
      return l.defaultFilterChain?.name;
    };
    expect(tcpFallback("locked")).toBe("BlackHoleCluster");
    expect(tcpFallback("open")).toBe("PassthroughCluster");
  });
});

describe("halyard serve --outbound-traffic-policy", () => {
  it("sets the mesh default (ALLOW_ANY unless told) and refuses other values with one line", () => {
    expect(parseServeArgs(["-f", "cfg"])).toMatchObject({ outboundTrafficPolicy: "ALLOW_ANY" });
    expect(parseServeArgs(["-f", "cfg", "--outbound-traffic-policy", "REGISTRY_ONLY"])).toMatchObject({ outboundTrafficPolicy: "REGISTRY_ONLY" });
    expect(parseServeArgs(["-f", "cfg", "--outbound-traffic-policy=registry_only"])).toMatchObject({ outboundTrafficPolicy: "REGISTRY_ONLY" });
    const bad = parseServeArgs(["-f", "cfg", "--outbound-traffic-policy", "DENY"]);
    expect("error" in bad && bad.error.split(";")[0]).toBe('--outbound-traffic-policy: "DENY" is not an outbound traffic policy mode (ALLOW_ANY or REGISTRY_ONLY)');
  });
});

describe("egress through the gateway", () => {
  let partner: Awaited<ReturnType<typeof startUpstream>>;
  let elsewhere: Awaited<ReturnType<typeof startUpstream>>;
  let slow: Awaited<ReturnType<typeof startUpstream>>;
  let config: ConfigSet;
  const gateways: RunningGateway[] = [];
  let locked: number;
  let open: number;
  let edge: number;

  beforeAll(async () => {
    partner = await startUpstream("partner");
    elsewhere = await startUpstream("elsewhere");
    slow = await startUpstream("slow", { delayMs: 300 });
    config = configFromYaml(meshYaml(partner.port));
    for (const [ns, edgeHcm] of [["locked", false], ["open", false], ["open", true]] as const) {
      gateways.push(await runEgress(config, ns, edgeHcm));
    }
    [locked, open, edge] = gateways.map((g) => g.listeners[0]!.address.port) as [number, number, number];
  });

  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    for (const u of [partner, elsewhere, slow]) u?.server.close();
  });

  it("REGISTRY_ONLY: a host outside the registry gets 502 and never reaches it", async () => {
    const before = elsewhere.seen.length;
    const r = await send(locked, { host: `127.0.0.1:${elsewhere.port}` });
    expect(r.status).toBe(502);
    expect(elsewhere.seen.length).toBe(before);
  });

  it("REGISTRY_ONLY: the MESH_EXTERNAL ServiceEntry host is reachable (200), without x-halyard-cluster upstream", async () => {
    const r = await send(locked, { host: EXTERNAL_HOST, path: "/v1/quote" });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ name: "partner", url: "/v1/quote", host: EXTERNAL_HOST });
    const seen = partner.seen.at(-1)!;
    expect(seen.headers["x-halyard-cluster"]).toBeUndefined();
    expect(Object.keys(seen.headers).filter((h) => h.startsWith("x-envoy-upstream-rq") || h === "x-envoy-max-retries")).toEqual([]);
  });

  it("ALLOW_ANY: an unknown host passes through to the IP:port it names; registry hosts still route", async () => {
    const r = await send(open, { host: `127.0.0.1:${elsewhere.port}`, path: "/anything?x=1" });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ name: "elsewhere", url: "/anything?x=1", host: `127.0.0.1:${elsewhere.port}` });
    expect(elsewhere.seen.at(-1)!.headers["x-halyard-cluster"]).toBeUndefined();
    expect((await send(open, { host: EXTERNAL_HOST })).headers["x-upstream"]).toBe("partner");
  });

  it("ALLOW_ANY: `localhost:<port>` is the loopback the client named; a dead port is a 503 connect failure", async () => {
    expect((await send(open, { host: `localhost:${elsewhere.port}` })).headers["x-upstream"]).toBe("elsewhere");
    const dead = await startUpstream("dead");
    const deadPort = dead.port;
    await new Promise<void>((r) => dead.server.close(() => r()));
    const r = await send(open, { host: `127.0.0.1:${deadPort}` });
    expect(r.status).toBe(503);
    expect(r.body).toContain("connection failure");
  });

  it("ALLOW_ANY: a name that does not resolve is Envoy's dynamic-forward-proxy 503 (DNS resolution failure)", async () => {
    const r = await send(open, { host: "no-such-host.invalid:8080" });
    expect([r.status, r.body]).toEqual([503, "DNS resolution failure"]);
  });

  it("HTTP proxy use: an absolute-form request goes to the URL's authority, upstream sees origin-form", async () => {
    const r = await send(open, { host: "ignored.invalid", path: `http://127.0.0.1:${elsewhere.port}/via-proxy?q=2` });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ name: "elsewhere", url: "/via-proxy?q=2", host: `127.0.0.1:${elsewhere.port}` });
    // Under REGISTRY_ONLY the same proxy request is refused.
    expect((await send(locked, { host: "ignored.invalid", path: `http://127.0.0.1:${elsewhere.port}/via-proxy` })).status).toBe(502);
  });

  it("external client: its x-envoy-upstream-rq-timeout-ms / per-try timeout / x-envoy-max-retries are ignored", async () => {
    const target = { host: `127.0.0.1:${slow.port}` };
    const steer = { "x-envoy-upstream-rq-timeout-ms": "50", "x-envoy-upstream-rq-per-try-timeout-ms": "50", "x-envoy-max-retries": "5", "x-envoy-retry-on": "5xx,reset" };
    for (const port of [open, edge]) {
      const before = slow.seen.length;
      const r = await send(port, { ...target, headers: steer });
      expect(r.status).toBe(200);
      expect(slow.seen.length - before).toBe(1);
      const upstream = slow.seen.at(-1)!.headers;
      expect(upstream["x-envoy-upstream-rq-per-try-timeout-ms"]).toBeUndefined();
      expect(upstream["x-envoy-retry-on"]).toBeUndefined();
    }
    // The edge listener (use_remote_address) names the external client to the upstream, as Envoy does.
    expect(slow.seen.at(-1)!.headers["x-envoy-external-address"]).toBe("127.0.0.1");
  });
});

describe("gateway: x-envoy-* hygiene and ORIGINAL_DST without the translator", () => {
  let flaky: Awaited<ReturnType<typeof startUpstream>>;
  let target: Awaited<ReturnType<typeof startUpstream>>;
  const gateways: RunningGateway[] = [];

  beforeAll(async () => {
    flaky = await startUpstream("flaky", { status: 503 });
    target = await startUpstream("target");
  });

  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    flaky?.server.close();
    target?.server.close();
  });

  /** A filterless HCM routing everything to `cluster` (inline route config), internal addresses as given. */
  function plainListener(cluster: string, internal: { addressPrefix: string; prefixLen: number }[] = []): Listener {
    const rc: RouteConfiguration = create(RouteConfigurationSchema, {
      name: "plain",
      virtualHosts: [{ name: "all", domains: ["*"], routes: [{ match: { pathSpecifier: { case: "prefix", value: "/" } }, action: { case: "route", value: { clusterSpecifier: { case: "cluster", value: cluster } } } }] }],
    });
    return hcmListener("plain", {
      routeSpecifier: { case: "routeConfig", value: rc },
      httpFilters: [routerFilter()],
      useRemoteAddress: true,
      ...(internal.length ? { internalAddressConfig: { cidrRanges: internal.map((c) => ({ addressPrefix: c.addressPrefix, prefixLen: c.prefixLen })) } } : {}),
    });
  }

  function staticCluster(name: string, port: number): Cluster {
    return create(ClusterSchema, {
      name,
      clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.STATIC },
      loadAssignment: { clusterName: name, endpoints: [{ lbEndpoints: [{ hostIdentifier: { case: "endpoint", value: { address: socketAddress("127.0.0.1", port) } } }] }] },
    });
  }

  function originalDstCluster(name: string, useHttpHeader: boolean): Cluster {
    return create(ClusterSchema, {
      name,
      clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.ORIGINAL_DST },
      lbPolicy: Cluster_LbPolicy.CLUSTER_PROVIDED,
      connectTimeout: { seconds: 1n },
      ...(useHttpHeader ? { lbConfig: { case: "originalDstLbConfig" as const, value: { useHttpHeader: true } } } : {}),
    });
  }

  async function run(listener: Listener, clusters: Cluster[]): Promise<number> {
    const resolvers: Resolvers = { resolvePath: (p) => p, routes: () => undefined, endpoints: () => undefined, code: () => undefined };
    for (const c of clusters) checkSupported("clusters", c.name, c);
    checkSupported("listeners", listener.name, listener);
    const names = new Set(clusters.map((c) => c.name));
    const g = await startGateway({ node: { id: "egress-test", cluster: "", metadata: {} }, listeners: [convertListener(listener, names, resolvers)], clusters: clusters.map((c) => convertCluster(c, resolvers)) });
    gateways.push(g);
    return g.listeners[0]!.address.port;
  }

  const retryHeaders = { "x-envoy-max-retries": "3", "x-envoy-retry-on": "5xx" };

  it("an external client's retry headers are stripped; an internal_address_config client's are honoured", async () => {
    const external = await run(plainListener("flaky"), [staticCluster("flaky", flaky.port)]);
    let before = flaky.seen.length;
    expect((await send(external, { host: "x", headers: retryHeaders })).status).toBe(503);
    expect(flaky.seen.length - before).toBe(1);

    const internal = await run(plainListener("flaky", [{ addressPrefix: "127.0.0.0", prefixLen: 8 }]), [staticCluster("flaky", flaky.port)]);
    before = flaky.seen.length;
    expect((await send(internal, { host: "x", headers: retryHeaders })).status).toBe(503);
    expect(flaky.seen.length - before).toBe(4);
    expect(flaky.seen.at(-1)!.headers["x-envoy-internal"]).toBe("true");
  });

  it("ORIGINAL_DST use_http_header: x-envoy-original-dst-host picks the IP:port; a malformed one is 503 UH", async () => {
    const port = await run(plainListener("PassthroughCluster"), [originalDstCluster("PassthroughCluster", true)]);
    const r = await send(port, { host: "unrelated.invalid", headers: { "x-envoy-original-dst-host": `127.0.0.1:${target.port}` } });
    expect(r.status).toBe(200);
    expect(r.headers["x-upstream"]).toBe("target");
    const bad = await send(port, { host: "unrelated.invalid", headers: { "x-envoy-original-dst-host": "target.example:80" } });
    expect(bad.status).toBe(503);
    expect(bad.body).toBe("no healthy upstream");
    // Without the header, the authority names the destination.
    expect((await send(port, { host: `127.0.0.1:${target.port}` })).headers["x-upstream"]).toBe("target");
  });

  it("ORIGINAL_DST without use_http_header ignores the header; keep-alive pools are per destination", async () => {
    const port = await run(plainListener("PassthroughCluster"), [originalDstCluster("PassthroughCluster", false)]);
    const r = await send(port, { host: `127.0.0.1:${target.port}`, headers: { "x-envoy-original-dst-host": `127.0.0.1:${flaky.port}` } });
    expect(r.headers["x-upstream"]).toBe("target");
    expect(r.status).toBe(200);
    // One pooled connection per destination, reused request after request; another destination has its own.
    const connections = async (u: typeof target) => {
      const ports = new Set<number>();
      for (let i = 0; i < 3; i++) {
        await send(port, { host: `127.0.0.1:${u.port}` });
        ports.add(u.seen.at(-1)!.remotePort);
      }
      return ports;
    };
    const toTarget = await connections(target);
    const toFlaky = await connections(flaky);
    expect(toTarget.size).toBe(1);
    expect(toFlaky.size).toBe(1);
    expect([...toTarget][0]).not.toBe([...toFlaky][0]);
  });

  it("a name whose DNS answer is a loopback address is refused; named loopback and other answers are used", async () => {
    const transport = new NodeUpstreamTransport();
    const hosts = new GatewayCluster({ name: "PassthroughCluster", connectTimeoutMs: 1000, endpoints: [], originalDst: {} }).originalDst!;
    // Real lookups (hosts file / DNS) standing for the names: "alias.test" answers what localhost answers.
    const dnsAlias = (name: string) => transport.resolve(name === "alias.test" ? "localhost" : name);
    const at = (authority: string): HeaderMap => [[":authority", authority], [":scheme", "http"]];
    expect(await hosts.hostFor(at("alias.test:8080"), dnsAlias)).toMatchObject({ kind: "refused" });
    expect(await hosts.hostFor(at(`localhost:${target.port}`), dnsAlias)).toMatchObject({ address: { address: "127.0.0.1", port: target.port } });
    expect(await hosts.hostFor(at("[::1]:9"), dnsAlias)).toMatchObject({ address: { address: "::1", port: 9 } });
    expect(await hosts.hostFor(at("no-such-host.invalid"), dnsAlias)).toMatchObject({ kind: "dns" });
    // One host per destination, reused (localhost and 127.0.0.1 are the same destination).
    const again = await hosts.hostFor(at(`127.0.0.1:${target.port}`), dnsAlias);
    expect(again).toBe(await hosts.hostFor(at(`localhost:${target.port}`), dnsAlias));
    expect(hosts.size).toBe(2);
    transport.close();
  });

  it("the translator's BlackHoleCluster (STATIC, no endpoints) is Envoy's 503 UH", async () => {
    const port = await run(plainListener("BlackHoleCluster"), [blackHoleCluster()]);
    const r = await send(port, { host: `127.0.0.1:${target.port}` });
    expect([r.status, r.body]).toEqual([503, "no healthy upstream"]);
  });

  it("bad ORIGINAL_DST clusters are refused with one line naming the field", () => {
    const wrongLb = create(ClusterSchema, { ...originalDstCluster("od", false), lbPolicy: Cluster_LbPolicy.ROUND_ROBIN });
    expect(() => convertCluster(wrongLb, { resolvePath: (p) => p, routes: () => undefined, endpoints: () => undefined, code: () => undefined })).toThrow(
      new ResourceError('cluster "od": lb_policy: ROUND_ROBIN is not valid for type ORIGINAL_DST (only CLUSTER_PROVIDED)'),
    );
    const providedElsewhere = create(ClusterSchema, { ...staticCluster("s", 1), lbPolicy: Cluster_LbPolicy.CLUSTER_PROVIDED });
    expect(() => convertCluster(providedElsewhere, { resolvePath: (p) => p, routes: () => undefined, endpoints: () => undefined, code: () => undefined })).toThrow(
      'cluster "s": lb_policy: CLUSTER_PROVIDED is only valid with type ORIGINAL_DST',
    );
  });
});
