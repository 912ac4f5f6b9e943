// `halyard proxy-config` (local translation and a live ADS server) and `halyard bootstrap` (parsed back with the
// generated Bootstrap type).
import { fromJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { parse as parseYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BootstrapSchema } from "../gen/envoy/config/bootstrap/v3/bootstrap_pb.js";
import { ClusterSchema } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "../gen/envoy/config/route/v3/route_pb.js";
import { registry as protoRegistry } from "../gen/registry.js";
import { runBootstrap } from "../control/cli/bootstrap.js";
import { runProxyConfig } from "../control/cli/proxy-config.js";
import { serve, type ControlPlane } from "../control/serve.js";
import { createSnapshotBuilder } from "../control/translate/xds/index.js";

const FIXTURE = "test/fixtures/translate-xds";
const SIDECAR = "sidecar~10.0.0.11~reviews-v1.shop~shop.svc.cluster.local";
const ROUTER = "router~10.0.0.50~ingress-7d9.istio-system~istio-system.svc.cluster.local";

async function cli(run: typeof runProxyConfig, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await run(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

describe("halyard proxy-config -f", () => {
  it("prints a short clusters table like istioctl", async () => {
    const r = await cli(runProxyConfig, ["clusters", "--node", SIDECAR, "-f", FIXTURE]);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^SERVICE FQDN\s+PORT\s+SUBSET\s+DIRECTION\s+TYPE\s+DESTINATION RULE$/);
    expect(lines).toContainEqual(expect.stringMatching(/^reviews\.shop\.svc\.cluster\.local\s+9080\s+v2\s+outbound\s+EDS\s+reviews\.shop$/));
    expect(lines).toContainEqual(expect.stringMatching(/^api\.example\.com\s+443\s+-\s+outbound\s+STRICT_DNS\s+-$/));
    expect(lines).toContainEqual(expect.stringMatching(/^BlackHoleCluster\s+-\s+-\s+-\s+STATIC\s+-$/));
    expect(lines).toContainEqual(expect.stringMatching(/^-\s+9080\s+-\s+inbound\s+STATIC\s+-$/));
  });

  it("prints listeners, routes and endpoints tables for `all`", async () => {
    const r = await cli(runProxyConfig, ["all", "--node", SIDECAR, "-f", FIXTURE]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^virtualOutbound\s+0\.0\.0\.0\s+15001\s+port 9080\s+Scoped Routes: 9080 \(2 scopes\)$/m);
    expect(r.out).toMatch(/^virtualOutbound\s+0\.0\.0\.0\s+15001\s+default\s+Cluster: PassthroughCluster$/m);
    const scope = String.raw`9080/reviews\.shop\.svc\.cluster\.local:9080\s+reviews\.shop\.svc\.cluster\.local:9080`;
    expect(r.out).toMatch(new RegExp(String.raw`^${scope}\s+\*\s+/\* \[x-halyard-cluster=outbound\|9080\|v2\|reviews\.shop\.svc\.cluster\.local\]\s+header x-halyard-cluster$`, "m"));
    expect(r.out).toMatch(new RegExp(String.raw`^${scope}\s+\*\s+/\*\s+header x-halyard-cluster$`, "m"));
    expect(r.out).toMatch(/^9080\/allow_any\s+allow_any\s+\*\s+\/\*\s+header x-halyard-cluster$/m);
    expect(r.out).toMatch(/^10\.0\.0\.13:9080\s+eu-west\/eu-west-1a\s+2\s+3\s+outbound\|9080\|\|reviews\.shop\.svc\.cluster\.local$/m);
  });

  it("prints canonical proto3 JSON (and YAML) that parses back with the registry", async () => {
    const r = await cli(runProxyConfig, ["all", "--node", ROUTER, "--label", "istio=ingressgateway", "-f", FIXTURE, "-o", "json"]);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out) as Record<string, JsonValue[]>;
    expect(Object.keys(json)).toEqual(["listeners", "routes", "clusters", "endpoints"]);
    expect(json.listeners!.map((l) => (l as JsonObject).name)).toEqual(["0.0.0.0_443", "0.0.0.0_80"]);
    for (const l of json.listeners!) fromJson(ListenerSchema, l, { registry: protoRegistry });
    for (const rc of json.routes!) fromJson(RouteConfigurationSchema, rc, { registry: protoRegistry });
    for (const c of json.clusters!) fromJson(ClusterSchema, c, { registry: protoRegistry });
    for (const e of json.endpoints!) fromJson(ClusterLoadAssignmentSchema, e, { registry: protoRegistry });
    const filter = ((json.listeners![1] as JsonObject).filterChains as JsonObject[])[0]!.filters as JsonObject[];
    expect((filter[0]!.typedConfig as JsonObject)["@type"]).toBe("type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager");

    const y = await cli(runProxyConfig, ["routes", "--node", ROUTER, "--label", "istio=ingressgateway", "-f", FIXTURE, "-o", "yaml"]);
    expect(parseYaml(y.out)).toEqual(json.routes);
  });

  it("fails with one line for bad arguments, a bad node id and invalid config", async () => {
    expect(await cli(runProxyConfig, ["clusters", "-f", FIXTURE])).toMatchObject({ code: 1, out: "", err: expect.stringMatching(/^halyard proxy-config: --node is required; usage: /) });
    expect(await cli(runProxyConfig, ["pods", "--node", SIDECAR, "-f", FIXTURE])).toMatchObject({ code: 1, err: expect.stringMatching(/^halyard proxy-config: unknown resource type "pods"/) });
    const bad = await cli(runProxyConfig, ["clusters", "--node", "sidecar~1.2.3~a.b~b.svc", "-f", FIXTURE]);
    expect(bad).toMatchObject({ code: 1, out: "" });
    expect(bad.err).toBe('halyard proxy-config: node id "sidecar~1.2.3~a.b~b.svc": "1.2.3" is not an IP address\n');
    const invalid = await cli(runProxyConfig, ["clusters", "--node", SIDECAR, "-f", "test/fixtures/config/invalid-destinationrule.yaml"]);
    expect(invalid.code).toBe(1);
    expect(invalid.err).toMatch(/^halyard proxy-config: config has \d+ errors?:\ntest\/fixtures\/config\/invalid-destinationrule\.yaml:\d+: DestinationRule /);
  });
});

describe("halyard proxy-config --xds", () => {
  let plane: ControlPlane;
  beforeAll(async () => {
    plane = await serve({ paths: [FIXTURE], builder: createSnapshotBuilder(), host: "127.0.0.1", xdsPort: 0, httpPort: 0, log: () => {} });
  });
  afterAll(async () => {
    await plane?.close();
  });

  for (const [role, extra] of [
    ["sidecar", ["--node", SIDECAR]],
    ["router", ["--node", ROUTER, "--label", "istio=ingressgateway"]],
    ["grpc", ["--node", "grpc-cli", "--meta", "GENERATOR=grpc", "--meta", "NAMESPACE=shop"]],
  ] as const) {
    it(`prints exactly what the ADS server sends a ${role}: the same as local translation`, async () => {
      const live = await cli(runProxyConfig, ["all", ...extra, "--xds", `127.0.0.1:${plane.xds.port}`, "-o", "json"]);
      expect(live.err).toBe("");
      expect(live.code).toBe(0);
      const local = await cli(runProxyConfig, ["all", ...extra, "-f", FIXTURE, "-o", "json"]);
      expect(JSON.parse(live.out)).toEqual(JSON.parse(local.out));
      expect((JSON.parse(live.out) as { routes: unknown[] }).routes.length).toBeGreaterThan(0);
    });
  }

  it("reports an unreachable control plane in one line", async () => {
    const r = await cli(runProxyConfig, ["clusters", "--node", SIDECAR, "--xds", "127.0.0.1:1"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^halyard proxy-config: 127\.0\.0\.1:1: .+\n$/);
  });
});

describe("halyard bootstrap", () => {
  it("prints an Envoy v3 bootstrap that parses with the generated Bootstrap type", async () => {
    const r = await cli(runBootstrap, ["--node", SIDECAR, "--xds", "10.0.0.2:15010", "--wasm", "/opt/halyard/halyard.wasm", "--label", "app=reviews"]);
    expect(r.code).toBe(0);
    const b = fromJson(BootstrapSchema, JSON.parse(r.out) as JsonValue, { registry: protoRegistry });
    expect(b.node).toMatchObject({ id: SIDECAR, cluster: "reviews-v1.shop", metadata: { NAMESPACE: "shop", HALYARD_WASM_PATH: "/opt/halyard/halyard.wasm", LABELS: { app: "reviews" } } });
    expect(b.admin?.address?.address).toMatchObject({ case: "socketAddress", value: { address: "127.0.0.1", portSpecifier: { value: 15000 } } });
    expect(b.dynamicResources?.adsConfig).toMatchObject({ apiType: 2, transportApiVersion: 2, grpcServices: [{ targetSpecifier: { case: "envoyGrpc", value: { clusterName: "xds-grpc" } } }] });
    expect(b.dynamicResources?.cdsConfig?.configSourceSpecifier.case).toBe("ads");
    expect(b.dynamicResources?.ldsConfig?.configSourceSpecifier.case).toBe("ads");
    const xdsCluster = b.staticResources!.clusters[0]!;
    expect(xdsCluster.name).toBe("xds-grpc");
    expect(xdsCluster.loadAssignment?.endpoints[0]?.lbEndpoints[0]?.hostIdentifier.value).toMatchObject({ address: { address: { value: { address: "10.0.0.2", portSpecifier: { value: 15010 } } } } });
    expect(Object.keys(xdsCluster.typedExtensionProtocolOptions)).toEqual(["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]);
  });

  it("uses STRICT_DNS for a host name and rejects bad arguments in one line", async () => {
    const r = await cli(runBootstrap, ["--node", ROUTER, "--xds", "halyard.istio-system:15010", "-o", "yaml"]);
    expect(r.code).toBe(0);
    const b = fromJson(BootstrapSchema, parseYaml(r.out) as JsonValue, { registry: protoRegistry });
    expect(b.staticResources!.clusters[0]!.clusterDiscoveryType).toEqual({ case: "type", value: 1 });
    expect(await cli(runBootstrap, ["--node", SIDECAR, "--xds", "nope"])).toMatchObject({ code: 1, err: expect.stringMatching(/^halyard bootstrap: --xds: "nope" is not host:port; usage: /) });
    expect(await cli(runBootstrap, ["--xds", "a:1"])).toMatchObject({ code: 1, err: expect.stringMatching(/^halyard bootstrap: --node is required/) });
    expect(await cli(runBootstrap, ["--node", "mystery", "--xds", "a:1"])).toMatchObject({ code: 1, out: "", err: expect.stringMatching(/^halyard bootstrap: node id "mystery": expected 4 parts[^\n]*\n$/) });
  });
});
