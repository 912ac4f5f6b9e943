// Istio config → per-proxy xDS resources (control/translate/xds): clusters from DestinationRules, EDS localities
// and subsets, sidecar / router / proxyless-gRPC resources, gateway selection by labels, every resource
// round-tripping through binary and JSON with the registry, and a real @grpc/grpc-js-xds client served by them.
import { fromBinary, fromJson, toBinary, toJson, type DescMessage, type Message } from "@bufbuild/protobuf";
import { anyUnpack, StringValueSchema, type Any } from "@bufbuild/protobuf/wkt";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import xds from "@grpc/grpc-js-xds";
import { Cluster_DiscoveryType, Cluster_LbPolicy, ClusterSchema, type Cluster } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema, type Listener } from "../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "../gen/envoy/config/route/v3/route_pb.js";
import { registry as protoRegistry } from "../gen/registry.js";
import { WasmSchema } from "../gen/envoy/extensions/filters/http/wasm/v3/wasm_pb.js";
import { HttpConnectionManagerSchema, type HttpConnectionManager } from "../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { HttpProtocolOptionsSchema } from "../gen/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.js";
import { DownstreamTlsContextSchema } from "../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import { HTTPFaultSchema } from "../gen/envoy/extensions/filters/http/fault/v3/fault_pb.js";
import { TcpProxySchema } from "../gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js";
import { buildConfigSet, type ConfigSet } from "../control/config/config-set.js";
import { loadAndValidate } from "../control/config/validate.js";
import { buildRegistry, type ServiceRegistry } from "../control/registry/registry.js";
import { serve, type ControlPlane } from "../control/serve.js";
import { buildProxyResources, createSnapshotBuilder, type ProxyResources } from "../control/translate/xds/index.js";
import type { EngineRouteConfig } from "../control/translate/engine-config.js";
import { greeterClient, startGreeter, type GreeterClient, type GreeterServer } from "./helpers/grpc-greeter.js";
import { waitFor } from "./helpers/xds-server.js";

const FIXTURE = "test/fixtures/translate-xds";
const REVIEWS = "reviews.shop.svc.cluster.local";
const SIDECAR = "sidecar~10.0.0.11~reviews-v1.shop~shop.svc.cluster.local";
const ROUTER = "router~10.0.0.50~ingress-7d9.istio-system~istio-system.svc.cluster.local";

async function loadConfig(dir: string): Promise<ConfigSet> {
  const { documents, errors } = await loadAndValidate([dir]);
  if (errors.length) throw new Error(`fixture invalid: ${errors.map((e) => e.message).join("; ")}`);
  return buildConfigSet(documents);
}

let config: ConfigSet;
let registry: ServiceRegistry;
let sidecar: ProxyResources;

beforeAll(async () => {
  config = await loadConfig(FIXTURE);
  registry = buildRegistry(config);
  sidecar = buildProxyResources(config, registry, { id: SIDECAR });
});

const cluster = (r: ProxyResources, name: string): Cluster => {
  const c = r.clusters.get(name);
  if (!c) throw new Error(`no cluster ${name}; have ${[...r.clusters.keys()].join(", ")}`);
  return c;
};

const unpack = <D extends DescMessage>(schema: D, any: Any | undefined) => {
  const m = any && anyUnpack(any, schema);
  if (!m) throw new Error(`expected ${schema.typeName}, got ${any?.typeUrl}`);
  return m;
};

function hcmOf(listener: Listener, chainName?: string): HttpConnectionManager {
  const chain = chainName === undefined ? listener.filterChains[0] : listener.filterChains.find((c) => c.name === chainName);
  const filter = chain?.filters[0];
  if (filter?.configType.case !== "typedConfig") throw new Error(`listener ${listener.name}: no filter chain ${chainName}`);
  return unpack(HttpConnectionManagerSchema, filter.configType.value);
}

function wasmFilters(hcm: HttpConnectionManager): { name: string; rootId: string; configuration: string; code: unknown }[] {
  return hcm.httpFilters
    .filter((f) => f.configType.case === "typedConfig" && f.configType.value.typeUrl.endsWith("filters.http.wasm.v3.Wasm"))
    .map((f) => {
      const w = unpack(WasmSchema, f.configType.value as Any).config!;
      const vm = w.vm.case === "vmConfig" ? w.vm.value : undefined;
      const configuration = unpack(StringValueSchema, w.configuration).value;
      return { name: f.name, rootId: w.rootId, configuration, code: vm?.code?.specifier };
    });
}

describe("CDS from DestinationRules", () => {
  it("names outbound clusters per service port and subset, typed by resolution", () => {
    const names = [...sidecar.clusters.keys()];
    for (const port of [9080, 9090]) {
      for (const subset of ["", "v1", "v2", "v3"]) expect(names).toContain(`outbound|${port}|${subset}|${REVIEWS}`);
    }
    expect(names).toEqual(expect.arrayContaining(["BlackHoleCluster", "PassthroughCluster", "inbound|9080||", "inbound|9090||"]));
    const type = (n: string) => {
      const d = cluster(sidecar, n).clusterDiscoveryType;
      return d.case === "type" ? Cluster_DiscoveryType[d.value] : d.case;
    };
    expect(type(`outbound|9080||${REVIEWS}`)).toBe("EDS");
    expect(type("outbound|443||api.example.com")).toBe("STRICT_DNS");
    expect(type("outbound|8080||legacy.internal")).toBe("EDS");
    expect(type("outbound|443||*.google.com")).toBe("ORIGINAL_DST");
    expect(cluster(sidecar, "outbound|443||*.google.com").lbPolicy).toBe(Cluster_LbPolicy.CLUSTER_PROVIDED);
    expect(type("PassthroughCluster")).toBe("ORIGINAL_DST");
    expect(type("BlackHoleCluster")).toBe("STATIC");
    const dns = cluster(sidecar, "outbound|443||api.example.com");
    expect(dns.loadAssignment?.endpoints[0]?.lbEndpoints[0]?.hostIdentifier.value).toMatchObject({ address: { address: { value: { address: "api.example.com", portSpecifier: { value: 443 } } } } });
    expect(cluster(sidecar, "inbound|9080||").loadAssignment?.endpoints[0]?.lbEndpoints[0]?.hostIdentifier.value).toMatchObject({
      address: { address: { value: { address: "127.0.0.1", portSpecifier: { value: 9080 } } } },
    });
  });

  it("applies load balancer, connection pool, outlier detection and protocol options", () => {
    const c = cluster(sidecar, `outbound|9080||${REVIEWS}`);
    expect(c.lbPolicy).toBe(Cluster_LbPolicy.ROUND_ROBIN);
    expect(c.connectTimeout).toMatchObject({ seconds: 3n, nanos: 0 });
    expect(c.circuitBreakers?.thresholds[0]).toMatchObject({ maxConnections: 100, maxPendingRequests: 10, maxRequests: 1000, maxRetries: 5, trackRemaining: true });
    expect(c.outlierDetection).toMatchObject({
      consecutive5xx: 7,
      enforcingConsecutive5xx: 100,
      consecutiveGatewayFailure: 3,
      enforcingConsecutiveGatewayFailure: 100,
      interval: { seconds: 5n },
      baseEjectionTime: { seconds: 60n },
      maxEjectionPercent: 50,
      enforcingSuccessRate: 0,
    });
    expect(c.commonLbConfig?.healthyPanicThreshold?.value).toBe(20);
    const options = unpack(HttpProtocolOptionsSchema, c.typedExtensionProtocolOptions["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]);
    expect(options.commonHttpProtocolOptions).toMatchObject({ idleTimeout: { seconds: 30n }, maxRequestsPerConnection: 20 });
    expect(options.upstreamProtocolOptions.value?.protocolConfig.case).toBe("httpProtocolOptions");
    expect(c.edsClusterConfig?.edsConfig?.configSourceSpecifier.case).toBe("ads");
  });

  it("lets port-level settings replace the whole policy and subsets override the top level", () => {
    // Port 9090's level sets only the load balancer: pool and outlier detection fall back to Istio's defaults.
    const grpcPort = cluster(sidecar, `outbound|9090||${REVIEWS}`);
    expect(grpcPort.lbPolicy).toBe(Cluster_LbPolicy.RANDOM);
    expect(grpcPort.outlierDetection).toBeUndefined();
    expect(grpcPort.connectTimeout).toMatchObject({ seconds: 10n });
    expect(grpcPort.circuitBreakers?.thresholds[0]).toMatchObject({ maxConnections: 4294967295, maxRequests: 4294967295 });
    const h2 = unpack(HttpProtocolOptionsSchema, grpcPort.typedExtensionProtocolOptions["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]);
    expect(h2.upstreamProtocolOptions.value?.protocolConfig.case).toBe("http2ProtocolOptions");
    expect(cluster(sidecar, "outbound|8080||legacy.internal").typedExtensionProtocolOptions).toHaveProperty(["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]);

    const v2 = cluster(sidecar, `outbound|9080|v2|${REVIEWS}`);
    expect(v2.lbPolicy).toBe(Cluster_LbPolicy.RING_HASH);
    expect(v2.lbConfig).toMatchObject({ case: "ringHashLbConfig", value: { minimumRingSize: 2048n } });
    expect(v2.outlierDetection?.consecutive5xx).toBe(7); // inherited from the top level
    const v3 = cluster(sidecar, `outbound|9080|v3|${REVIEWS}`);
    expect(v3.lbPolicy).toBe(Cluster_LbPolicy.MAGLEV);
    expect(v3.lbConfig).toMatchObject({ case: "maglevLbConfig", value: { tableSize: 65537n } });
    expect(cluster(sidecar, `outbound|9090|v2|${REVIEWS}`).lbPolicy).toBe(Cluster_LbPolicy.RING_HASH);
    expect(cluster(sidecar, `outbound|9080|v1|${REVIEWS}`).lbPolicy).toBe(Cluster_LbPolicy.ROUND_ROBIN);
  });
});

describe("EDS", () => {
  const addresses = (name: string) =>
    sidecar.endpoints.get(name)!.endpoints.flatMap((l) => l.lbEndpoints.map((e) => (e.hostIdentifier.value as { address: { address: { value: { address: string } } } }).address.address.value.address));

  it("groups endpoints by locality with priorities from the proxy's locality when outlier detection is on", () => {
    const la = sidecar.endpoints.get(`outbound|9080||${REVIEWS}`)!;
    expect(la.endpoints.map((l) => [`${l.locality?.region}/${l.locality?.zone}`, l.priority, l.loadBalancingWeight])).toEqual([
      ["us-east/us-east-1a", 0, 1],
      ["us-east/us-east-1b", 1, 1],
      ["eu-west/eu-west-1a", 2, 3],
    ]);
    expect(la.endpoints[2]!.lbEndpoints[0]!.loadBalancingWeight).toBe(3);
    expect(la.endpoints[0]!.lbEndpoints[0]!.metadata?.filterMetadata.istio).toEqual({ workload: "reviews-v1;shop;reviews;v1;" });
    // Port 9090 has no outlier detection (port-level settings replaced it): one priority.
    expect(sidecar.endpoints.get(`outbound|9090||${REVIEWS}`)!.endpoints.every((l) => l.priority === 0)).toBe(true);
  });

  it("keeps only a subset's endpoints, and weights ServiceEntry endpoints", () => {
    expect(addresses(`outbound|9080|v2|${REVIEWS}`)).toEqual(["10.0.0.12"]);
    expect(addresses(`outbound|9090|v3|${REVIEWS}`)).toEqual(["10.0.0.13"]);
    const legacy = sidecar.endpoints.get("outbound|8080||legacy.internal")!;
    expect(legacy.endpoints).toHaveLength(1);
    expect(legacy.endpoints[0]!.loadBalancingWeight).toBe(5);
    expect(legacy.endpoints[0]!.lbEndpoints.map((e) => e.loadBalancingWeight)).toEqual([1, 4]);
    // Only EDS clusters have assignments.
    expect(sidecar.endpoints.has("outbound|443||api.example.com")).toBe(false);
    expect(sidecar.endpoints.has("outbound|443||*.google.com")).toBe(false);
  });
});

describe("sidecar LDS / RDS", () => {
  it("has one outbound listener on 15001 with a filter chain per HTTP port running the wasm filters", () => {
    const outbound = sidecar.listeners.get("virtualOutbound")!;
    expect(outbound.address?.address).toMatchObject({ case: "socketAddress", value: { address: "0.0.0.0", portSpecifier: { value: 15001 } } });
    expect(outbound.listenerFilters.map((f) => f.name)).toEqual(["envoy.filters.listener.original_dst"]);
    expect(outbound.filterChains.map((c) => [c.name, c.filterChainMatch?.destinationPort])).toEqual([
      ["0.0.0.0_8080", 8080],
      ["0.0.0.0_9080", 9080],
      ["0.0.0.0_9090", 9090],
    ]);
    const hcm = hcmOf(outbound, "0.0.0.0_9080");
    expect(hcm.httpFilters.map((f) => f.name)).toEqual(["halyard.fault", "halyard.route", "envoy.filters.http.router"]);
    const [fault, route] = wasmFilters(hcm);
    expect(fault!.rootId).toBe("halyard.fault");
    expect(route!.code).toEqual({ case: "local", value: expect.objectContaining({ specifier: { case: "filename", value: "/etc/halyard/halyard.wasm" } }) });
    // Scoped: the filters get names, domains and scopes; the routes travel over RDS, one RouteConfiguration a scope.
    const engine = JSON.parse(route!.configuration) as { scoped: boolean; virtual_hosts: { name: string; domains: string[]; scope: string; routes?: unknown }[] };
    expect(engine.scoped).toBe(true);
    const vh = engine.virtual_hosts.find((v) => v.domains.includes("reviews:9080"))!;
    expect(vh).toEqual({ name: `${REVIEWS}:9080`, domains: expect.arrayContaining([REVIEWS, `${REVIEWS}:9080`, "reviews", "reviews:9080"]), scope: `9080/${REVIEWS}:9080` });
    for (const v of engine.virtual_hosts) expect(v).toEqual({ name: v.name, domains: v.domains, scope: `9080/${v.name}` });
    expect(engine.virtual_hosts.map((v) => v.name)).toContain("allow_any");
    expect(fault!.configuration).toBe(route!.configuration);
    // The HCM selects the scope by x-halyard-scope, from the inline list of the port's virtual hosts.
    expect(hcm.routeSpecifier.case).toBe("scopedRoutes");
    const scoped = hcm.routeSpecifier.case === "scopedRoutes" ? hcm.routeSpecifier.value : undefined;
    expect(scoped?.name).toBe("9080");
    expect(scoped?.scopeKeyBuilder?.fragments.map((f) => f.type)).toEqual([{ case: "headerValueExtractor", value: expect.objectContaining({ name: "x-halyard-scope", elementSeparator: "" }) }]);
    expect(scoped?.rdsConfigSource?.configSourceSpecifier.case).toBe("ads");
    const list = scoped?.configSpecifier.case === "scopedRouteConfigurationsList" ? scoped.configSpecifier.value.scopedRouteConfigurations : [];
    expect(list.map((c) => [c.name, c.routeConfigurationName, c.key?.fragments.map((f) => f.type.value)])).toEqual(
      engine.virtual_hosts.map((v) => [v.scope, v.scope, [v.scope]]),
    );
    // No route on 8080 injects faults: no fault filter there.
    expect(hcmOf(outbound, "0.0.0.0_8080").httpFilters.map((f) => f.name)).toEqual(["halyard.route", "envoy.filters.http.router"]);
    // Anything else passes through to its original destination (ALLOW_ANY).
    const fallback = outbound.defaultFilterChain!.filters[0]!;
    expect(unpack(TcpProxySchema, fallback.configType.value as Any).clusterSpecifier).toEqual({ case: "cluster", value: "PassthroughCluster" });
  });

  it("has one RouteConfiguration per scope, carrying its virtual host's routes as default-route metadata", () => {
    const outbound = sidecar.listeners.get("virtualOutbound")!;
    const scopes = outbound.filterChains.flatMap((c) => {
      const spec = hcmOf(outbound, c.name).routeSpecifier;
      return spec.case === "scopedRoutes" && spec.value.configSpecifier.case === "scopedRouteConfigurationsList" ? spec.value.configSpecifier.value.scopedRouteConfigurations.map((s) => s.routeConfigurationName) : [];
    });
    expect([...sidecar.routes.keys()].sort()).toEqual([...scopes].sort());
    expect(scopes).toContain(`9080/${REVIEWS}:9080`);
    expect(scopes).toContain("8080/allow_any");
    const rc = sidecar.routes.get(`9080/${REVIEWS}:9080`)!;
    expect(rc.virtualHosts.map((v) => [v.name, v.domains])).toEqual([[`${REVIEWS}:9080`, ["*"]]]);
    const routes = rc.virtualHosts[0]!.routes;
    expect(routes.map((r) => r.name)).toEqual([`hash|outbound|9080|v2|${REVIEWS}`, `hash|outbound|9080|v3|${REVIEWS}`, "default"]);
    const meta = routes[2]!.metadata!.filterMetadata["halyard.route"] as { routes: string; digest: string };
    expect(Object.keys(meta).sort()).toEqual(["digest", "routes"]);
    const vhRoutes = JSON.parse(meta.routes) as EngineRouteConfig["virtual_hosts"][number]["routes"];
    expect(vhRoutes.map((r) => r.name)).toEqual(["jason", "default"]);
    expect(vhRoutes[1]!.route).toEqual([
      { cluster: `outbound|9080|v1|${REVIEWS}`, weight: 90 },
      { cluster: `outbound|9080|v3|${REVIEWS}`, weight: 10 },
    ]);
    expect(meta.digest).toMatch(/^[0-9a-f]{16}$/);
    // The metadata survives the wire as a Struct of two string values.
    const wire = fromBinary(RouteConfigurationSchema, toBinary(RouteConfigurationSchema, rc));
    expect(wire.virtualHosts[0]!.routes[2]!.metadata!.filterMetadata["halyard.route"]).toEqual(meta);
    // A scope only hashes for clusters its own routes can pick: allow_any has the default route alone.
    expect(sidecar.routes.get("9080/allow_any")!.virtualHosts[0]!.routes.map((r) => r.name)).toEqual(["default"]);
  });

  it("routes by the cluster header, with the DestinationRule's hash policy for consistent-hash clusters", () => {
    const rc = sidecar.routes.get(`9080/${REVIEWS}:9080`)!;
    expect(rc.virtualHosts).toHaveLength(1);
    expect(rc.virtualHosts[0]!.domains).toEqual(["*"]);
    const routes = rc.virtualHosts[0]!.routes;
    const last = routes[routes.length - 1]!;
    expect(last.action.case === "route" && last.action.value.clusterSpecifier).toEqual({ case: "clusterHeader", value: "x-halyard-cluster" });
    expect(last.action.case === "route" && last.action.value.timeout).toMatchObject({ seconds: 0n });
    const hashed = routes.find((r) => r.name === `hash|outbound|9080|v2|${REVIEWS}`)!;
    expect(hashed.match?.headers[0]).toMatchObject({ name: "x-halyard-cluster", headerMatchSpecifier: { case: "stringMatch", value: { matchPattern: { case: "exact", value: `outbound|9080|v2|${REVIEWS}` } } } });
    expect(hashed.action.case === "route" && hashed.action.value.hashPolicy[0]?.policySpecifier).toEqual({ case: "header", value: expect.objectContaining({ headerName: "x-user" }) });
    const cookie = routes.find((r) => r.name === `hash|outbound|9080|v3|${REVIEWS}`)!;
    expect(cookie.action.case === "route" && cookie.action.value.hashPolicy[0]?.policySpecifier).toMatchObject({ case: "cookie", value: { name: "session", path: "/", ttl: { seconds: 60n } } });
  });

  it("has an inbound listener on 15006 routing each workload port to its inbound cluster", () => {
    const inbound = sidecar.listeners.get("virtualInbound")!;
    // No PeerAuthentication: Istio's default PERMISSIVE, an mTLS chain and a plaintext chain per port.
    expect(inbound.filterChains.map((c) => [c.filterChainMatch?.destinationPort, c.filterChainMatch?.transportProtocol])).toEqual([
      [9080, "tls"],
      [9080, "raw_buffer"],
      [9090, "tls"],
      [9090, "raw_buffer"],
    ]);
    const hcm = hcmOf(inbound, "inbound|9080||");
    expect(hcm.routeSpecifier.case).toBe("routeConfig");
    const route = hcm.routeSpecifier.case === "routeConfig" ? hcm.routeSpecifier.value.virtualHosts[0]!.routes[0]! : undefined;
    expect(route?.action.case === "route" && route.action.value.clusterSpecifier).toEqual({ case: "cluster", value: "inbound|9080||" });
  });

  it("sends non-HTTP traffic to BlackHoleCluster under a REGISTRY_ONLY Sidecar", async () => {
    const dir = mkdtempSync(join(tmpdir(), "halyard-xds-"));
    try {
      writeFileSync(join(dir, "sidecar.yaml"), "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata:\n  name: default\n  namespace: shop\nspec:\n  outboundTrafficPolicy:\n    mode: REGISTRY_ONLY\n");
      const cfg = await loadConfig(dir);
      const r = buildProxyResources(cfg, buildRegistry(cfg), { id: SIDECAR });
      const fallback = r.listeners.get("virtualOutbound")!.defaultFilterChain!.filters[0]!;
      expect(unpack(TcpProxySchema, fallback.configType.value as Any).clusterSpecifier).toEqual({ case: "cluster", value: "BlackHoleCluster" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("takes the wasm module from the node's metadata, or remotely from the control plane with a fetch cluster", () => {
    const local = buildProxyResources(config, registry, { id: SIDECAR, metadata: { HALYARD_WASM_PATH: "/opt/h/halyard.wasm" } });
    const code = (r: ProxyResources) => wasmFilters(hcmOf(r.listeners.get("virtualOutbound")!, "0.0.0.0_9080"))[0]!.code;
    expect(code(local)).toMatchObject({ case: "local", value: { specifier: { value: "/opt/h/halyard.wasm" } } });
    const sha256 = "a".repeat(64);
    const remote = buildProxyResources(config, registry, { id: SIDECAR }, { wasm: { kind: "remote", url: "http://10.1.2.3:15014/wasm/halyard.wasm", sha256 } });
    expect(code(remote)).toMatchObject({ case: "remote", value: { sha256, httpUri: { uri: "http://10.1.2.3:15014/wasm/halyard.wasm", httpUpstreamType: { value: "halyard-wasm-http" } } } });
    expect(cluster(remote, "halyard-wasm-http").loadAssignment?.endpoints[0]?.lbEndpoints[0]?.hostIdentifier.value).toMatchObject({ address: { address: { value: { address: "10.1.2.3", portSpecifier: { value: 15014 } } } } });
    expect(() => buildProxyResources(config, registry, { id: SIDECAR }, { wasm: { kind: "remote", url: "http://x:1/w", sha256: "nope" } })).toThrow(/^wasm: sha256 "nope" is not 64 lower-case hex digits$/);
  });

  it("rejects a malformed node id with one line naming it", () => {
    expect(() => buildProxyResources(config, registry, { id: "sidecar~not-an-ip~a.b~b.svc" })).toThrow(/^node id "sidecar~not-an-ip~a\.b~b\.svc": "not-an-ip" is not an IP address$/);
  });
});

describe("router (gateway) resources", () => {
  it("serves the Gateways whose selector the node's LABELS satisfy, one listener per server port", () => {
    const r = buildProxyResources(config, registry, { id: ROUTER, metadata: { LABELS: { istio: "ingressgateway" } } });
    expect(r.role).toBe("router");
    expect([...r.listeners.keys()]).toEqual(["0.0.0.0_443", "0.0.0.0_80"]);
    expect([...r.routes.keys()].sort()).toEqual(["http.443", "http.80"]);
    const https = r.listeners.get("0.0.0.0_443")!;
    const tls = unpack(DownstreamTlsContextSchema, https.filterChains[0]!.transportSocket!.configType.value as Any);
    expect(tls.commonTlsContext?.tlsCertificateSdsSecretConfigs[0]).toMatchObject({ name: "bookinfo-cert", sdsConfig: { configSourceSpecifier: { case: "ads" } } });
    const hcm = hcmOf(r.listeners.get("0.0.0.0_80")!);
    expect(hcm.useRemoteAddress).toBe(true);
    expect(hcm.routeSpecifier).toMatchObject({ case: "rds", value: { routeConfigName: "http.80" } });
    const engine = JSON.parse(wasmFilters(hcm)[0]!.configuration) as EngineRouteConfig;
    expect(engine.virtual_hosts.map((v) => v.domains)).toEqual([["bookinfo.example.com"]]);
    expect(engine.virtual_hosts[0]!.routes[0]!.route).toEqual([{ cluster: `outbound|9080||${REVIEWS}` }]);
    expect(r.listeners.has("0.0.0.0_8081")).toBe(false);
  });

  it("serves no Gateway to a router whose labels match no selector", () => {
    const other = buildProxyResources(config, registry, { id: ROUTER, metadata: { LABELS: { istio: "other-gateway" } } });
    expect([...other.listeners.keys()]).toEqual(["0.0.0.0_8081"]);
    const none = buildProxyResources(config, registry, { id: ROUTER, metadata: { LABELS: { app: "nothing" } } });
    expect(none.listeners.size).toBe(0);
    expect(() => buildProxyResources(config, registry, { id: ROUTER, metadata: { LABELS: ["x"] } })).toThrow(/metadata LABELS: expected an object of string labels/);
  });
});

describe("proxyless gRPC resources", () => {
  const grpcNode = { id: "grpc-client-1", metadata: { GENERATOR: "grpc", NAMESPACE: "shop" } };

  it("has api listeners per service port with RDS, native routes, and EDS / LOGICAL_DNS clusters only", () => {
    const r = buildProxyResources(config, registry, grpcNode);
    expect(r.role).toBe("grpc");
    expect([...r.listeners.keys()]).toEqual(expect.arrayContaining([`${REVIEWS}:9080`, "reviews:9080", "reviews.shop:9080", `${REVIEWS}:9090`, "api.example.com:443"]));
    const hcm = unpack(HttpConnectionManagerSchema, r.listeners.get("reviews:9080")!.apiListener!.apiListener);
    expect(hcm.routeSpecifier).toMatchObject({ case: "rds", value: { routeConfigName: `${REVIEWS}:9080` } });
    expect(hcm.httpFilters.map((f) => f.name)).toEqual(["envoy.filters.http.fault", "envoy.filters.http.router"]);

    const vh = r.routes.get(`${REVIEWS}:9080`)!.virtualHosts[0]!;
    expect(vh.domains).toEqual(expect.arrayContaining([`${REVIEWS}:9080`, "reviews:9080", "reviews"]));
    const [jason, dflt] = vh.routes;
    expect(jason!.match?.headers[0]).toMatchObject({ name: "end-user", headerMatchSpecifier: { case: "stringMatch", value: { matchPattern: { case: "exact", value: "jason" } } } });
    const fault = unpack(HTTPFaultSchema, jason!.typedPerFilterConfig["envoy.filters.http.fault"]);
    expect(fault.delay).toMatchObject({ faultDelaySecifier: { case: "fixedDelay", value: { seconds: 2n } }, percentage: { numerator: 500_000 } });
    const action = dflt!.action.case === "route" ? dflt!.action.value : undefined;
    expect(action?.clusterSpecifier).toMatchObject({
      case: "weightedClusters",
      value: { clusters: [{ name: `outbound|9080|v1|${REVIEWS}`, weight: 90 }, { name: `outbound|9080|v3|${REVIEWS}`, weight: 10 }] },
    });
    expect(action?.maxStreamDuration).toMatchObject({ maxStreamDuration: { seconds: 5n }, grpcTimeoutHeaderMax: { seconds: 5n } });
    expect(action?.retryPolicy).toMatchObject({ retryOn: "unavailable", numRetries: 3 });

    for (const c of r.clusters.values()) {
      expect(c.clusterDiscoveryType.case).toBe("type");
      expect(["EDS", "LOGICAL_DNS"]).toContain(Cluster_DiscoveryType[c.clusterDiscoveryType.value as number]);
      expect([Cluster_LbPolicy.ROUND_ROBIN, Cluster_LbPolicy.RING_HASH]).toContain(c.lbPolicy);
      expect(Object.keys(c.typedExtensionProtocolOptions)).toEqual([]);
    }
    expect(r.clusters.has("outbound|443||*.google.com")).toBe(false);
    expect(r.clusters.has("PassthroughCluster")).toBe(false);
    expect(cluster(r, `outbound|9080|v2|${REVIEWS}`).lbPolicy).toBe(Cluster_LbPolicy.RING_HASH);
  });
});

describe("every resource parses as Envoy would", () => {
  const nodes = {
    sidecar: { id: SIDECAR },
    router: { id: ROUTER, metadata: { LABELS: { istio: "ingressgateway" } } },
    grpc: { id: "grpc-x", metadata: { GENERATOR: "grpc", NAMESPACE: "shop" } },
  };
  for (const [role, node] of Object.entries(nodes)) {
    it(`round-trips the ${role}'s resources through binary and JSON`, () => {
      const r = buildProxyResources(config, registry, node);
      const all: [DescMessage, Message][] = [
        ...[...r.listeners.values()].map((m) => [ListenerSchema, m] as [DescMessage, Message]),
        ...[...r.routes.values()].map((m) => [RouteConfigurationSchema, m] as [DescMessage, Message]),
        ...[...r.clusters.values()].map((m) => [ClusterSchema, m] as [DescMessage, Message]),
        ...[...r.endpoints.values()].map((m) => [ClusterLoadAssignmentSchema, m] as [DescMessage, Message]),
      ];
      expect(all.length).toBeGreaterThan(3);
      for (const [schema, message] of all) {
        const bytes = toBinary(schema, message);
        expect(toBinary(schema, fromBinary(schema, bytes))).toEqual(bytes);
        const json = toJson(schema, message, { registry: protoRegistry });
        const back = fromJson(schema, json, { registry: protoRegistry });
        expect(toBinary(schema, back)).toEqual(bytes);
      }
    });
  }
});

describe("a real proxyless gRPC client served by the translator", () => {
  xds.register();
  const BOOTSTRAP_OPTION = "grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config";
  let dir: string;
  let plane: ControlPlane;
  let a: GreeterServer, b: GreeterServer;
  const clients: GreeterClient[] = [];

  beforeAll(async () => {
    [a, b] = await Promise.all([startGreeter("a"), startGreeter("b")]);
    dir = mkdtempSync(join(tmpdir(), "halyard-grpc-"));
    const we = (name: string, version: string, port: number) =>
      `apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata:\n  name: ${name}\n  namespace: default\nspec:\n  address: 127.0.0.1\n  ports:\n    grpc: ${port}\n  locality: local/a\n  labels:\n    app: greeter\n    version: ${version}\n`;
    writeFileSync(
      join(dir, "greeter.yaml"),
      [
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: greeter\n  namespace: default\nspec:\n  hosts:\n  - greeter.default.svc.cluster.local\n  location: MESH_INTERNAL\n  resolution: STATIC\n  ports:\n  - number: 50051\n    name: grpc\n    protocol: GRPC\n  workloadSelector:\n    labels:\n      app: greeter\n",
        we("greeter-a", "v1", a.port),
        we("greeter-b", "v2", b.port),
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: greeter\n  namespace: default\nspec:\n  host: greeter\n  subsets:\n  - name: v1\n    labels:\n      version: v1\n  - name: v2\n    labels:\n      version: v2\n",
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: greeter\n  namespace: default\nspec:\n  hosts:\n  - greeter\n  http:\n  - route:\n    - destination:\n        host: greeter\n        subset: v1\n      weight: 75\n    - destination:\n        host: greeter\n        subset: v2\n      weight: 25\n",
      ].join("---\n"),
    );
    plane = await serve({ paths: [dir], builder: createSnapshotBuilder(), host: "127.0.0.1", xdsPort: 0, httpPort: 0, log: () => {} });
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await plane?.close();
    await Promise.all([a, b].filter(Boolean).map((s) => s.close()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("resolves xds:///greeter:50051 through our resources and splits calls 75/25 by the VirtualService", async () => {
    const bootstrap = JSON.stringify({
      xds_servers: [{ server_uri: `127.0.0.1:${plane.xds.port}`, channel_creds: [{ type: "insecure" }], server_features: ["xds_v3"] }],
      node: { id: "grpc-e2e", locality: { region: "local", zone: "a" }, metadata: { GENERATOR: "grpc", NAMESPACE: "default" } },
    });
    const client = greeterClient("xds:///greeter:50051", { [BOOTSTRAP_OPTION]: bootstrap });
    clients.push(client);
    await waitFor("a first answer", async () => (await client.sayHello(2000).catch(() => undefined)), 8000);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 400; i += 20) {
      const batch = await Promise.all(Array.from({ length: 20 }, () => client.sayHello()));
      for (const s of batch) counts[s] = (counts[s] ?? 0) + 1;
    }
    expect((counts.a ?? 0) + (counts.b ?? 0)).toBe(400);
    expect(Math.abs((counts.a ?? 0) - 300)).toBeLessThanOrEqual(40);
  }, 20_000);
});
