// PeerAuthentication → inbound filter chains and DestinationRule TLS / auto-mTLS → upstream TLS, as Istio builds
// them for Envoy; every resource round-trips through binary and JSON with the generated registry.
import { fromBinary, fromJson, toBinary, toJson, type DescMessage, type Message } from "@bufbuild/protobuf";
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import { beforeAll, describe, expect, it } from "vitest";
import { ClusterSchema, type Cluster } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema, type Listener } from "../gen/envoy/config/listener/v3/listener_pb.js";
import { SubjectAltNameMatcher_SanType } from "../gen/envoy/extensions/transport_sockets/tls/v3/common_pb.js";
import { DownstreamTlsContextSchema, UpstreamTlsContextSchema, type UpstreamTlsContext } from "../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import { registry as protoRegistry } from "../gen/registry.js";
import { buildConfigSet, type ConfigSet } from "../control/config/config-set.js";
import { loadAndValidate } from "../control/config/validate.js";
import { buildRegistry, type ServiceRegistry } from "../control/registry/registry.js";
import { buildProxyResources, type ProxyResources } from "../control/translate/xds/index.js";
import { clusterTls, inboundMtlsChains } from "../control/translate/xds/mtls.js";

const REVIEWS_NODE = "sidecar~10.0.0.11~reviews-v1.shop~shop.svc.cluster.local";
const RATINGS_NODE = "sidecar~10.0.0.21~ratings-v1.shop~shop.svc.cluster.local";
const PAYMENTS = "payments.shop.svc.cluster.local";

let config: ConfigSet;
let registry: ServiceRegistry;
let reviews: ProxyResources;
let ratings: ProxyResources;

beforeAll(async () => {
  const { documents, errors } = await loadAndValidate(["test/fixtures/translate-mtls"]);
  if (errors.length) throw new Error(errors.map((e) => e.message).join("; "));
  config = buildConfigSet(documents);
  registry = buildRegistry(config);
  reviews = buildProxyResources(config, registry, { id: REVIEWS_NODE });
  ratings = buildProxyResources(config, registry, { id: RATINGS_NODE });
});

const unpack = <D extends DescMessage>(schema: D, any: Any | undefined) => {
  const m = any && anyUnpack(any, schema);
  if (!m) throw new Error(`expected ${schema.typeName}, got ${any?.typeUrl}`);
  return m;
};

const chainsOf = (l: Listener) => l.filterChains.map((c) => [c.name, c.filterChainMatch?.destinationPort, c.filterChainMatch?.transportProtocol ?? "", c.transportSocket ? "tls" : "plain"]);

const upstream = (c: Cluster): UpstreamTlsContext => unpack(UpstreamTlsContextSchema, c.transportSocket?.configType.value as Any);
const cluster = (r: ProxyResources, name: string) => {
  const c = r.clusters.get(name);
  if (!c) throw new Error(`no cluster ${name}`);
  return c;
};

describe("inbound chains per PeerAuthentication mode", () => {
  it("workload PERMISSIVE (over a mesh STRICT): mTLS + plaintext by transport protocol; port 9090 DISABLE: plaintext only", () => {
    const inbound = reviews.listeners.get("virtualInbound")!;
    expect(inbound.listenerFilters.map((f) => f.name)).toEqual(["envoy.filters.listener.original_dst", "envoy.filters.listener.tls_inspector"]);
    expect(chainsOf(inbound)).toEqual([
      ["inbound|9080||-mtls", 9080, "tls", "tls"],
      ["inbound|9080||", 9080, "raw_buffer", "plain"],
      ["inbound|9090||", 9090, "", "plain"],
    ]);
  });

  it("mesh STRICT: only the mTLS chain, requiring a client certificate from SDS default / ROOTCA", () => {
    const inbound = ratings.listeners.get("virtualInbound")!;
    expect(chainsOf(inbound)).toEqual([["inbound|9080||-mtls", 9080, "tls", "tls"]]);
    const tls = unpack(DownstreamTlsContextSchema, inbound.filterChains[0]!.transportSocket!.configType.value as Any);
    expect(tls.requireClientCertificate).toBe(true);
    const common = tls.commonTlsContext!;
    expect(common.alpnProtocols).toEqual(["istio-peer-exchange", "h2", "http/1.1"]);
    expect(common.tlsCertificateSdsSecretConfigs.map((s) => s.name)).toEqual(["default"]);
    expect(common.tlsCertificateSdsSecretConfigs[0]!.sdsConfig?.configSourceSpecifier.case).toBe("ads");
    expect(common.validationContextType.case).toBe("combinedValidationContext");
    if (common.validationContextType.case === "combinedValidationContext") expect(common.validationContextType.value.validationContextSdsSecretConfig?.name).toBe("ROOTCA");
  });

  it("builds each mode's chains from one plaintext chain", () => {
    const base = { name: "inbound|80||", destinationPort: 80, filters: [] };
    expect(inboundMtlsChains(base, "STRICT").map((c) => c.filterChainMatch)).toEqual([{ destinationPort: 80, transportProtocol: "tls" }]);
    expect(inboundMtlsChains(base, "PERMISSIVE").map((c) => c.filterChainMatch)).toEqual([
      { destinationPort: 80, transportProtocol: "tls" },
      { destinationPort: 80, transportProtocol: "raw_buffer" },
    ]);
    expect(inboundMtlsChains(base, "DISABLE")).toEqual([{ name: "inbound|80||", filterChainMatch: { destinationPort: 80 }, filters: [] }]);
  });
});

describe("outbound UpstreamTlsContext per DestinationRule tls mode", () => {
  it("ISTIO_MUTUAL: SDS default + ROOTCA, the destination's SPIFFE ids, Istio's SNI", () => {
    const c = cluster(reviews, `outbound|8001||${PAYMENTS}`);
    const tls = upstream(c);
    expect(tls.sni).toBe(`outbound_.8001_._.${PAYMENTS}`);
    const common = tls.commonTlsContext!;
    expect(common.tlsCertificateSdsSecretConfigs.map((s) => s.name)).toEqual(["default"]);
    expect(common.alpnProtocols).toEqual(["istio-peer-exchange", "istio"]);
    const v = common.validationContextType;
    expect(v.case).toBe("combinedValidationContext");
    if (v.case !== "combinedValidationContext") return;
    expect(v.value.validationContextSdsSecretConfig?.name).toBe("ROOTCA");
    expect(v.value.defaultValidationContext?.matchTypedSubjectAltNames.map((m) => [m.sanType, m.matcher?.matchPattern.value])).toEqual([
      [SubjectAltNameMatcher_SanType.URI, "spiffe://cluster.local/ns/shop/sa/payments"],
    ]);
    expect(upstream(cluster(reviews, `outbound|8001|v2|${PAYMENTS}`)).sni).toBe(`outbound_.8001_.v2_.${PAYMENTS}`);
  });

  it("SIMPLE with credentialName: CA from <name>-cacert, given sni and subjectAltNames, no client certificate", () => {
    const tls = upstream(cluster(reviews, `outbound|8002||${PAYMENTS}`));
    expect(tls.sni).toBe("pay.example.com");
    const common = tls.commonTlsContext!;
    expect(common.tlsCertificateSdsSecretConfigs).toEqual([]);
    const v = common.validationContextType;
    expect(v.case === "combinedValidationContext" && v.value.validationContextSdsSecretConfig?.name).toBe("payments-ca-cacert");
    expect(v.case === "combinedValidationContext" && v.value.defaultValidationContext?.matchTypedSubjectAltNames[0]?.matcher?.matchPattern.value).toBe("pay.example.com");
  });

  it("MUTUAL with credentialName presents that SDS secret; with files, the file paths", () => {
    const sds = upstream(cluster(reviews, `outbound|8003||${PAYMENTS}`)).commonTlsContext!;
    expect(sds.tlsCertificateSdsSecretConfigs.map((s) => s.name)).toEqual(["payments-client"]);
    const files = upstream(cluster(reviews, `outbound|8004||${PAYMENTS}`)).commonTlsContext!;
    const cert = files.tlsCertificates[0]!;
    expect([cert.certificateChain?.specifier.value, cert.privateKey?.specifier.value]).toEqual(["/etc/certs/client.pem", "/etc/certs/key.pem"]);
    expect(files.validationContextType.case === "validationContext" && files.validationContextType.value.trustedCa?.specifier.value).toBe("/etc/certs/ca.pem");
  });

  it("DISABLE: no transport socket and no auto-mTLS match", () => {
    const c = cluster(reviews, `outbound|8005||${PAYMENTS}`);
    expect(c.transportSocket).toBeUndefined();
    expect(c.transportSocketMatches).toEqual([]);
  });

  it("rejects bad TLS settings in one line naming the field", () => {
    const target = { host: PAYMENTS, port: 1, subset: "", spiffeIds: [] };
    expect(() => clusterTls({ mode: "MUTUAL" }, target, false, "DestinationRule shop/p: spec.trafficPolicy")).toThrow(
      "DestinationRule shop/p: spec.trafficPolicy.tls: MUTUAL needs credentialName or both clientCertificate and privateKey",
    );
    expect(() => clusterTls({ mode: "SIMPLE", credentialName: "x", caCertificates: "/ca.pem" }, target, false, "DR")).toThrow("DR.tls: give either credentialName or");
  });
});

describe("auto-mTLS", () => {
  it("matches endpoints with a sidecar (tlsMode label or Halyard marker) by transport_socket_match; others stay plaintext", () => {
    const c = cluster(reviews, "outbound|9080||ratings.shop.svc.cluster.local");
    expect(c.transportSocket).toBeUndefined();
    expect(c.transportSocketMatches.map((m) => [m.name, m.match])).toEqual([["tlsMode-istio", { tlsMode: "istio" }]]);
    const tls = unpack(UpstreamTlsContextSchema, c.transportSocketMatches[0]!.transportSocket!.configType.value as Any);
    expect(tls.sni).toBe("outbound_.9080_._.ratings.shop.svc.cluster.local");
    const la = reviews.endpoints.get("outbound|9080||ratings.shop.svc.cluster.local")!;
    const meta = la.endpoints.flatMap((l) => l.lbEndpoints).map((e) => {
      const addr = e.hostIdentifier.case === "endpoint" && e.hostIdentifier.value.address?.address.case === "socketAddress" ? e.hostIdentifier.value.address.address.value.address : "";
      return [addr, e.metadata?.filterMetadata["envoy.transport_socket_match"] ?? null];
    });
    expect(meta.sort()).toEqual([
      ["10.0.0.21", { tlsMode: "istio" }],
      ["10.0.0.22", null],
    ]);
  });

  it("leaves destinations without sidecars plaintext", () => {
    const c = cluster(reviews, "outbound|8080||legacy.shop.svc.cluster.local");
    expect(c.transportSocket).toBeUndefined();
    expect(c.transportSocketMatches).toEqual([]);
  });
});

describe("round trips", () => {
  const roundTrip = <D extends DescMessage>(schema: D, m: Message) => {
    const bin = fromBinary(schema, toBinary(schema, m as never));
    expect(toBinary(schema, bin as never)).toEqual(toBinary(schema, m as never));
    const json = toJson(schema, m as never, { registry: protoRegistry });
    expect(toJson(schema, fromJson(schema, json, { registry: protoRegistry }), { registry: protoRegistry })).toEqual(json);
  };
  it("every listener, cluster and endpoint assignment of both sidecars survives binary and JSON", () => {
    for (const r of [reviews, ratings]) {
      for (const l of r.listeners.values()) roundTrip(ListenerSchema, l);
      for (const c of r.clusters.values()) roundTrip(ClusterSchema, c);
      for (const e of r.endpoints.values()) roundTrip(ClusterLoadAssignmentSchema, e);
    }
  });
});
