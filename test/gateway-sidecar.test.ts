// Sidecar mode on loopback (gateway/xds/sidecar.ts): which of the control plane's virtualInbound / virtualOutbound
// chains are served without traffic capture, where they are bound, and `inbound|<port>||` pointed at the app.
import { create, type Message } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { ClusterSchema, Cluster_DiscoveryType, type Cluster } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ListenerSchema, type Listener } from "../gen/envoy/config/listener/v3/listener_pb.js";
import { HttpConnectionManagerSchema } from "../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { TcpProxySchema } from "../gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js";
import { OriginalDstSchema } from "../gen/envoy/extensions/filters/listener/original_dst/v3/original_dst_pb.js";
import { TlsInspectorSchema } from "../gen/envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector_pb.js";
import { isUnboundSidecarListener, localizeForSidecar, outboundDispatch, type SidecarPorts } from "../gateway/xds/sidecar.js";
import type { DownstreamRequest } from "../gateway/hcm.js";
import { runCli } from "./helpers/gateway-process.js";

async function gatewayError(args: string[]): Promise<string> {
  const r = await runCli(["gateway", "--xds", "127.0.0.1:1", ...args]);
  expect(r.code).toBe(1);
  return r.stderr;
}

const hcm = (prefix: string) => ({
  name: "envoy.filters.network.http_connection_manager",
  configType: { case: "typedConfig" as const, value: anyPack(HttpConnectionManagerSchema, create(HttpConnectionManagerSchema, { statPrefix: prefix })) },
});
const tcp = { name: "envoy.filters.network.tcp_proxy", configType: { case: "typedConfig" as const, value: anyPack(TcpProxySchema, create(TcpProxySchema, { statPrefix: "PassthroughCluster" })) } };
const addr = (port: number) => ({ address: { case: "socketAddress" as const, value: { address: "0.0.0.0", portSpecifier: { case: "portValue" as const, value: port } } } });

function outbound(ports: number[]): Listener {
  return create(ListenerSchema, {
    name: "virtualOutbound",
    address: addr(15001),
    listenerFilters: [{ name: "envoy.filters.listener.original_dst", configType: { case: "typedConfig", value: anyPack(OriginalDstSchema, create(OriginalDstSchema)) } }],
    filterChains: ports.map((p) => ({ name: `0.0.0.0_${p}`, filterChainMatch: { destinationPort: p }, filters: [hcm(`outbound_${p}`)] })),
    defaultFilterChain: { name: "PassthroughCluster", filters: [tcp] },
  });
}

function inbound(ports: number[]): Listener {
  return create(ListenerSchema, {
    name: "virtualInbound",
    address: addr(15006),
    listenerFilters: [
      { name: "envoy.filters.listener.original_dst", configType: { case: "typedConfig", value: anyPack(OriginalDstSchema, create(OriginalDstSchema)) } },
      { name: "envoy.filters.listener.tls_inspector", configType: { case: "typedConfig", value: anyPack(TlsInspectorSchema, create(TlsInspectorSchema)) } },
    ],
    filterChains: ports.flatMap((p) => [
      { name: `inbound|${p}||`, filterChainMatch: { destinationPort: p, transportProtocol: "tls" }, filters: [hcm(`inbound_${p}`)] },
      { name: `inbound|${p}||`, filterChainMatch: { destinationPort: p, transportProtocol: "raw_buffer" }, filters: [hcm(`inbound_${p}`)] },
    ]),
  });
}

const PORTS: SidecarPorts = { inbound: 16006, outbound: 16001, app: 9999 };

function localizeAll(l: Listener, ports = PORTS, log: string[] = []): Map<string, Listener> {
  return localizeForSidecar("listeners", new Map<string, Message>([[l.name, l]]), ports, (line) => log.push(line)) as Map<string, Listener>;
}
function localize(l: Listener, ports = PORTS, log: string[] = []): Listener {
  return localizeAll(l, ports, log).get(l.name)!;
}

const boundPort = (l: Listener) => (l.address?.address.case === "socketAddress" ? [l.address.address.value.address, l.address.address.value.portSpecifier.value] : []);

describe("sidecar listeners on loopback", () => {
  it("virtualInbound: bound on 127.0.0.1:<inbound port>, serving the workload port equal to it, tls/plaintext split kept", () => {
    const log: string[] = [];
    const l = localize(inbound([8080, 16006]), PORTS, log);
    expect(boundPort(l)).toEqual(["127.0.0.1", 16006]);
    expect(l.filterChains.map((c) => [c.filterChainMatch?.destinationPort, c.filterChainMatch?.transportProtocol])).toEqual([[undefined, "tls"], [undefined, "raw_buffer"]]);
    expect(l.listenerFilters.map((f) => f.name)).toEqual(["envoy.filters.listener.tls_inspector"]);
    expect(log).toEqual(["sidecar: virtualInbound serves workload port 16006 on 16006; port(s) 8080 are not reachable without traffic capture"]);
  });

  it("virtualInbound: the only workload port when none equals the inbound port, else the lowest", () => {
    expect(localize(inbound([9080])).filterChains.map((c) => c.name)).toEqual(["inbound|9080||", "inbound|9080||"]);
    expect(localize(inbound([9443, 9080])).filterChains.map((c) => c.name)).toEqual(["inbound|9080||", "inbound|9080||"]);
  });

  it("virtualOutbound: the default chain is the only HTTP chain, else port 80's, else the lowest; no original_dst, no tcp_proxy default chain", () => {
    const one = localize(outbound([9080]));
    expect(boundPort(one)).toEqual(["127.0.0.1", 16001]);
    expect(one.filterChains).toHaveLength(1);
    expect(one.filterChains[0]!.filterChainMatch).toBeUndefined();
    expect(one.listenerFilters).toEqual([]);
    expect(one.defaultFilterChain).toBeUndefined();
    const log: string[] = [];
    expect(localize(outbound([8080, 80, 9080]), PORTS, log).filterChains.map((c) => c.name)).toEqual(["0.0.0.0_80"]);
    expect(log).toEqual(["sidecar: virtualOutbound on 16001: requests for service port(s) 8080, 9080 by their Host's port, the rest to port 80's routes"]);
    expect(localize(outbound([9080, 8080])).filterChains.map((c) => c.name)).toEqual(["0.0.0.0_8080"]);
  });

  it("inbound|<port>|| clusters send to the app port; other clusters and other kinds pass unchanged", () => {
    const inboundCluster = create(ClusterSchema, {
      name: "inbound|16006||",
      clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.STATIC },
      loadAssignment: { clusterName: "inbound|16006||", endpoints: [{ lbEndpoints: [{ hostIdentifier: { case: "endpoint", value: { address: addr(16006) } } }] }] },
    });
    const other = create(ClusterSchema, { name: "outbound|80||b.mesh.svc.cluster.local" });
    const out = localizeForSidecar("clusters", new Map<string, Message>([[inboundCluster.name, inboundCluster], [other.name, other]]), PORTS);
    const ep = (out.get("inbound|16006||") as Cluster).loadAssignment!.endpoints[0]!.lbEndpoints[0]!.hostIdentifier;
    expect(ep.case === "endpoint" && ep.value.address?.address.case === "socketAddress" ? [ep.value.address.address.value.address, ep.value.address.address.value.portSpecifier.value] : []).toEqual(["127.0.0.1", 9999]);
    expect(out.get(other.name)).toBe(other);
    const routes = new Map<string, Message>();
    expect(localizeForSidecar("routes", routes, PORTS)).toBe(routes);
    // Without --app-port the control plane's port stays.
    expect(localizeForSidecar("clusters", new Map<string, Message>([[inboundCluster.name, inboundCluster]]), { inbound: 1, outbound: 2 }).get(inboundCluster.name)).toBe(inboundCluster);
  });
});

describe("outbound chain per request by the Host's port", () => {
  const req = (authority: string, path = "/x"): DownstreamRequest => ({ method: "GET", path, authority, scheme: "http", headers: [] as unknown as DownstreamRequest["headers"], body: async () => new Uint8Array() });

  it("the other ports' chains become unbound listeners virtualOutbound|<port> on port 0", () => {
    const all = localizeAll(outbound([8080, 80, 9080]));
    expect([...all.keys()]).toEqual(["virtualOutbound", "virtualOutbound|8080", "virtualOutbound|9080"]);
    const side = all.get("virtualOutbound|9080")!;
    expect(boundPort(side)).toEqual(["127.0.0.1", 0]);
    expect(side.filterChains.map((c) => c.name)).toEqual(["0.0.0.0_9080"]);
    expect(isUnboundSidecarListener("virtualOutbound|9080")).toBe(true);
    expect(isUnboundSidecarListener("virtualOutbound")).toBe(false);
    expect(isUnboundSidecarListener("virtualInbound")).toBe(false);
  });

  it("dispatches by the Host's port (80 without one), by an absolute-form URI's authority, and only on virtualOutbound", () => {
    expect(outboundDispatch("virtualOutbound", req("b.mesh.svc.cluster.local:9080"))?.listener).toBe("virtualOutbound|9080");
    expect(outboundDispatch("virtualOutbound", req("b.mesh.svc.cluster.local"))?.listener).toBe("virtualOutbound|80");
    expect(outboundDispatch("virtualOutbound", req("[::1]:8080"))?.listener).toBe("virtualOutbound|8080");
    const proxied = outboundDispatch("virtualOutbound", req("127.0.0.1:15001", "http://b.mesh.svc.cluster.local:8080/p?q=1"))!;
    expect([proxied.listener, proxied.req.authority, proxied.req.path]).toEqual(["virtualOutbound|8080", "b.mesh.svc.cluster.local:8080", "/p?q=1"]);
    expect(outboundDispatch("virtualOutbound", req("x", "https://b.mesh.svc.cluster.local"))!.listener).toBe("virtualOutbound|443");
    expect(outboundDispatch("virtualOutbound", req("x", "http://b"))!.req.path).toBe("/");
    expect(outboundDispatch("virtualInbound", req("b:8080"))).toBeUndefined();
  });
});

describe("halyard gateway sidecar flags", () => {
  it("are refused for a node that is not a sidecar, and a bad port is named", async () => {
    expect(await gatewayError(["--node", "router~127.0.0.1~gw.istio-system~istio-system.svc.cluster.local", "--app-port", "8080"])).toMatch(
      /^halyard gateway: --inbound-port, --outbound-port and --app-port are for sidecar~ nodes, not "router~/,
    );
    expect(await gatewayError(["--node", "sidecar~127.0.0.1~a-1.mesh~mesh.svc.cluster.local", "--app-port", "80x"])).toMatch(/^halyard gateway: --app-port: "80x" is not a port number \(0-65535\)/);
  });
});
