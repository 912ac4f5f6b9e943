// Where Envoy gets `default` / `ROOTCA`: `halyard bootstrap --sds-socket` adds Istio's static `sds-grpc` cluster to
// the agent's Unix socket and node metadata, and the translator then points the mesh SDS configs at that cluster
// (ADS otherwise), through both the per-proxy translation and the shared proxy-class builder. `serve
// --trust-domain` reaches the SPIFFE ids of upstream SAN checks and the authz filter's trust domain.
import { toJson, type Message } from "@bufbuild/protobuf";
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import { beforeAll, describe, expect, it } from "vitest";
import { ClusterSchema, type Cluster } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ListenerSchema, type Listener } from "../gen/envoy/config/listener/v3/listener_pb.js";
import { BootstrapSchema } from "../gen/envoy/config/bootstrap/v3/bootstrap_pb.js";
import { DownstreamTlsContextSchema, UpstreamTlsContextSchema } from "../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import { registry as protoRegistry } from "../gen/registry.js";
import { buildConfigSet, type ConfigSet } from "../control/config/config-set.js";
import { loadAndValidate } from "../control/config/validate.js";
import { buildRegistry, type ServiceRegistry } from "../control/registry/registry.js";
import { buildBootstrap } from "../control/translate/xds/bootstrap.js";
import { buildProxyResources, createSnapshotBuilder } from "../control/translate/xds/index.js";
import { parseBootstrapArgs, runBootstrap } from "../control/cli/bootstrap.js";
import { parseServeArgs } from "../control/cli/serve.js";

const REVIEWS_NODE = "sidecar~10.0.0.11~reviews-v1.shop~shop.svc.cluster.local";
const PAYMENTS = "payments.shop.svc.cluster.local";
const SOCKET = "./var/run/secrets/workload-spiffe-uds/socket";
const AGENT_META = { NAMESPACE: "shop", HALYARD_SDS_CLUSTER: "sds-grpc" };

let config: ConfigSet;
let registry: ServiceRegistry;
beforeAll(async () => {
  const { documents, errors } = await loadAndValidate(["test/fixtures/translate-mtls"]);
  if (errors.length) throw new Error(errors.map((e) => e.message).join("; "));
  config = buildConfigSet(documents);
  registry = buildRegistry(config);
});

const json = (schema: Parameters<typeof toJson>[0], m: Message) => toJson(schema, m as never, { registry: protoRegistry }) as Record<string, any>;
/** The SDS config sources of every secret a transport socket names, as JSON. */
function sdsSources(tlsJson: Record<string, any>): Array<[string, unknown]> {
  const common = tlsJson.commonTlsContext;
  return [
    ...(common.tlsCertificateSdsSecretConfigs ?? []).map((s: any) => [s.name, s.sdsConfig]),
    [common.combinedValidationContext.validationContextSdsSecretConfig.name, common.combinedValidationContext.validationContextSdsSecretConfig.sdsConfig],
  ];
}
const inboundTls = (l: Listener) => json(DownstreamTlsContextSchema, anyUnpack(l.filterChains.find((c) => c.name.endsWith("-mtls"))!.transportSocket!.configType.value as Any, DownstreamTlsContextSchema)!);
const upstreamTls = (c: Cluster) => json(UpstreamTlsContextSchema, anyUnpack(c.transportSocket!.configType.value as Any, UpstreamTlsContextSchema)!);

const SDS_GRPC = {
  apiConfigSource: { apiType: "GRPC", transportApiVersion: "V3", setNodeOnFirstMessageOnly: true, grpcServices: [{ envoyGrpc: { clusterName: "sds-grpc" } }] },
  initialFetchTimeout: "0s",
  resourceApiVersion: "V3",
};
const ADS = { ads: {}, resourceApiVersion: "V3" };

describe("halyard bootstrap --sds-socket", () => {
  it("adds the static sds-grpc cluster (pipe address, HTTP/2) and the node metadata; without it, nothing changes", () => {
    const b = json(BootstrapSchema, buildBootstrap({ nodeId: REVIEWS_NODE, xds: { host: "127.0.0.1", port: 15010 }, sdsSocket: SOCKET }));
    expect(b.node.metadata.HALYARD_SDS_CLUSTER).toBe("sds-grpc");
    const sds = b.staticResources.clusters.find((c: any) => c.name === "sds-grpc");
    expect(sds).toMatchObject({
      type: "STATIC",
      connectTimeout: "1s",
      loadAssignment: { clusterName: "sds-grpc", endpoints: [{ lbEndpoints: [{ endpoint: { address: { pipe: { path: SOCKET } } } }] }] },
    });
    expect(sds.typedExtensionProtocolOptions["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].explicitHttpConfig).toEqual({ http2ProtocolOptions: {} });
    const plain = json(BootstrapSchema, buildBootstrap({ nodeId: REVIEWS_NODE, xds: { host: "127.0.0.1", port: 15010 } }));
    expect(plain.staticResources.clusters.map((c: any) => c.name)).toEqual(["xds-grpc"]);
    expect(plain.node.metadata.HALYARD_SDS_CLUSTER).toBeUndefined();
  });

  it("the CLI flag", async () => {
    const args = parseBootstrapArgs(["--node", REVIEWS_NODE, "--xds", "127.0.0.1:15010", "--sds-socket", SOCKET]);
    expect(args).toMatchObject({ sdsSocket: SOCKET });
    let out = "";
    expect(await runBootstrap(["--node", REVIEWS_NODE, "--xds", "127.0.0.1:15010", "--sds-socket", SOCKET], { out: (t) => (out += t), err: () => {} })).toBe(0);
    expect(JSON.parse(out).staticResources.clusters.map((c: any) => c.name)).toEqual(["xds-grpc", "sds-grpc"]);
    expect(parseBootstrapArgs(["--node", REVIEWS_NODE, "--xds", "127.0.0.1:15010", "--sds-socket"])).toEqual({ error: expect.stringMatching(/^--sds-socket needs a value; usage: /) });
  });
});

describe("the translator follows the node's SDS source", () => {
  it("buildProxyResources: inbound mTLS and ISTIO_MUTUAL clusters name sds-grpc for an agent's node, ADS otherwise", () => {
    const agent = buildProxyResources(config, registry, { id: REVIEWS_NODE, metadata: AGENT_META });
    const ads = buildProxyResources(config, registry, { id: REVIEWS_NODE });
    expect(sdsSources(inboundTls(agent.listeners.get("virtualInbound")!))).toEqual([["default", SDS_GRPC], ["ROOTCA", SDS_GRPC]]);
    expect(sdsSources(inboundTls(ads.listeners.get("virtualInbound")!))).toEqual([["default", ADS], ["ROOTCA", ADS]]);
    expect(sdsSources(upstreamTls(agent.clusters.get(`outbound|8001||${PAYMENTS}`)!))).toEqual([["default", SDS_GRPC], ["ROOTCA", SDS_GRPC]]);
    expect(sdsSources(upstreamTls(ads.clusters.get(`outbound|8001||${PAYMENTS}`)!))).toEqual([["default", ADS], ["ROOTCA", ADS]]);
  });

  it("the shared proxy-class builder does not hand one node's SDS source to the other", async () => {
    const builder = createSnapshotBuilder();
    const resources = async (metadata?: Record<string, string>) => {
      const snap = (await builder.build(config, { id: REVIEWS_NODE, ...(metadata ? { metadata } : {}) } as never)) as unknown as { types: Map<string, { resources: Map<string, { message: Message }> }> };
      const get = (type: string, name: string) => snap.types.get(`type.googleapis.com/${type}`)!.resources.get(name)!.message;
      return { inbound: get("envoy.config.listener.v3.Listener", "virtualInbound") as Listener, payments: get("envoy.config.cluster.v3.Cluster", `outbound|8001||${PAYMENTS}`) as Cluster };
    };
    const ads = await resources({ NAMESPACE: "shop" });
    const agent = await resources(AGENT_META);
    expect(sdsSources(inboundTls(agent.inbound))[0]).toEqual(["default", SDS_GRPC]);
    expect(sdsSources(upstreamTls(agent.payments))[0]).toEqual(["default", SDS_GRPC]);
    expect(sdsSources(inboundTls(ads.inbound))[0]).toEqual(["default", ADS]);
    expect(sdsSources(upstreamTls(ads.payments))[0]).toEqual(["default", ADS]);
  });
});

describe("serve --trust-domain reaches translation", () => {
  it("upstream SAN checks and the authz trust domain use it", () => {
    const r = buildProxyResources(config, registry, { id: REVIEWS_NODE }, { security: { trustDomain: "example.org" } });
    const sans = upstreamTls(r.clusters.get(`outbound|8001||${PAYMENTS}`)!).commonTlsContext.combinedValidationContext.defaultValidationContext.matchTypedSubjectAltNames;
    expect(sans).toEqual([{ sanType: "URI", matcher: { exact: "spiffe://example.org/ns/shop/sa/payments" } }]);
    const text = JSON.stringify([...r.listeners.values()].map((l) => toJson(ListenerSchema, l, { registry: protoRegistry })));
    expect(text).toMatch(/trust_domain\\+":\\+"example\.org/);
    const dflt = buildProxyResources(config, registry, { id: REVIEWS_NODE });
    expect(upstreamTls(dflt.clusters.get(`outbound|8001||${PAYMENTS}`)!).commonTlsContext.combinedValidationContext.defaultValidationContext.matchTypedSubjectAltNames[0].matcher.exact).toBe(
      "spiffe://cluster.local/ns/shop/sa/payments",
    );
  });

  it("the serve flag is parsed and defaults to cluster.local", () => {
    expect(parseServeArgs(["-f", "x", "--trust-domain", "example.org"])).toMatchObject({ trustDomain: "example.org" });
    expect(parseServeArgs(["-f", "x"])).toMatchObject({ trustDomain: "cluster.local" });
  });
});

void ClusterSchema;
