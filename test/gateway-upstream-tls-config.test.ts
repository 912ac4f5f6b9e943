// Upstream TLS as configuration: the translator's transport sockets over xDS (CDS + EDS with Istio's
// envoy.transport_socket_match endpoint metadata) become per-endpoint TLS; what the gateway cannot do is a NACK or
// a bootstrap error of one line naming the cluster and the field. Secrets come from an in-memory SecretSource.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MeshCa } from "../control/ca/ca.js";
import { openMeshCa } from "../control/ca/open.js";
import { clusterTls, endpointTlsMetadata } from "../control/translate/xds/mtls.js";
import { Cluster_DiscoveryType, ClusterSchema } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { BootstrapError } from "../gateway/bootstrap/errors.js";
import { parseBootstrap } from "../gateway/bootstrap/parse.js";
import type { GatewayConfig } from "../gateway/bootstrap/types.js";
import { Cluster } from "../gateway/clusters.js";
import { TYPE_URLS } from "../gateway/xds/convert.js";
import { XdsState } from "../gateway/xds/state.js";
import { parseSubjectAltName, sansMatch } from "../gateway/upstream-tls.js";
import { offeredAlpn } from "../gateway/upstream-tls-node.js";
import { bootstrap, listener, staticCluster } from "./helpers/envoy-bootstrap.js";
import { meshSecrets, type TestSecrets } from "./helpers/upstream-tls-secrets.js";

const UPSTREAM_TLS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext";
const SHOP_ID = "spiffe://cluster.local/ns/shop/sa/shop-sa";
const target = { host: "shop.shop.svc.cluster.local", port: 8080, subset: "", spiffeIds: [SHOP_ID] };

let dir: string;
let ca: MeshCa;
let secrets: TestSecrets;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "halyard-upstream-tls-config-"));
  ca = await openMeshCa({ stateDir: dir });
  secrets = await meshSecrets(ca, "edge", "gateway");
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type ClusterInit = MessageInitShape<typeof ClusterSchema>;

function edsCluster(name: string, tls: Partial<ClusterInit>): ReturnType<typeof create<typeof ClusterSchema>> {
  return create(ClusterSchema, {
    name,
    clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS },
    edsClusterConfig: { edsConfig: { configSourceSpecifier: { case: "ads", value: {} } }, serviceName: name },
    ...tls,
  } as ClusterInit);
}

function endpoint(port: number, sidecar: boolean) {
  return {
    hostIdentifier: { case: "endpoint" as const, value: { address: { address: { case: "socketAddress" as const, value: { address: "127.0.0.1", portSpecifier: { case: "portValue" as const, value: port } } } } } },
    ...(sidecar ? { metadata: { filterMetadata: endpointTlsMetadata({ labels: { "halyard.io/sidecar": "true" } })! } } : {}),
  };
}

function xdsState(applied: GatewayConfig[], withSecrets = true): XdsState {
  return new XdsState({
    base: { node: { id: "n", cluster: "c", metadata: {} }, listeners: [], clusters: [], ads: { cluster: "xds", lds: false, cds: true } },
    apply: async (c) => void applied.push(c),
    ...(withSecrets ? { secrets } : {}),
  });
}

describe("over xDS", () => {
  it("auto-mTLS: the EDS endpoint with tlsMode istio gets ISTIO_MUTUAL, the other plain text", async () => {
    const applied: GatewayConfig[] = [];
    const state = xdsState(applied);
    const cluster = edsCluster("outbound|8080||shop", clusterTls(undefined, target, true, "dr"));
    expect(await state.handleResponse(TYPE_URLS.clusters, "1", [anyPack(ClusterSchema, cluster)])).toEqual({ accepted: true });
    const cla = create(ClusterLoadAssignmentSchema, { clusterName: "outbound|8080||shop", endpoints: [{ lbEndpoints: [endpoint(1001, true), endpoint(1002, false)] }] });
    expect(await state.handleResponse(TYPE_URLS.endpoints, "1", [anyPack(ClusterLoadAssignmentSchema, cla)])).toEqual({ accepted: true });
    const config = applied.at(-1)!.clusters[0]!;
    expect(config.tls).toBeUndefined();
    expect(config.transportSocketMatches?.[0]).toMatchObject({ name: "tlsMode-istio", match: { tlsMode: "istio" } });
    const hosts = new Cluster(config).hosts;
    expect(hosts.map((h) => h.address.port)).toEqual([1001, 1002]);
    expect(hosts[0]!.tls).toMatchObject({
      sni: "outbound_.8080_._.shop.shop.svc.cluster.local",
      alpn: ["istio-peer-exchange", "istio"],
      certificate: { sds: "default" },
      trustedCa: { sds: "ROOTCA", pem: ca.rootCertPem },
      sans: [{ sanType: "URI", kind: "exact", value: SHOP_ID, ignoreCase: false }],
      minVersion: "TLSv1.2",
      maxVersion: "TLSv1.2",
    });
    expect(hosts[1]!.tls).toBeUndefined();
  });

  it("a missing SDS secret NACKs the cluster, naming it and the field", async () => {
    const state = xdsState([]);
    const cluster = edsCluster("mutual", clusterTls({ mode: "MUTUAL", credentialName: "nope" }, target, false, "dr"));
    const outcome = await state.handleResponse(TYPE_URLS.clusters, "1", [anyPack(ClusterSchema, cluster)]);
    expect(outcome).toEqual({
      accepted: false,
      error: 'cluster "mutual": transport_socket.typed_config.common_tls_context.tls_certificate_sds_secret_configs[0].name: SDS secret "nope": not found',
    });
  });

  it("without a secret source, a TLS cluster is NACKed", async () => {
    const state = xdsState([], false);
    const outcome = await state.handleResponse(TYPE_URLS.clusters, "1", [anyPack(ClusterSchema, edsCluster("istio", clusterTls({ mode: "ISTIO_MUTUAL" }, target, false, "dr")))]);
    expect(outcome).toMatchObject({ accepted: false, error: expect.stringMatching(/^cluster "istio": transport_socket\.typed_config: upstream TLS needs certificate files and secrets/) });
  });
});

/** A static bootstrap with one cluster whose transport_socket is an UpstreamTlsContext `ctx`. */
function parseWith(ctx: Record<string, unknown>, extra: Record<string, unknown> = {}): GatewayConfig {
  const c = { ...staticCluster("shop", [9999]), transport_socket: { name: "envoy.transport_sockets.tls", typed_config: { "@type": UPSTREAM_TLS, ...ctx } }, ...extra };
  const doc = bootstrap([listener({ port: 0, virtualHosts: [{ name: "v", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "shop" } }] }] })], [c]);
  return parseBootstrap("b.yaml", JSON.stringify(doc), { resolvePath: (n) => n, secrets });
}

function errorOf(ctx: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  try {
    parseWith(ctx, extra);
  } catch (e) {
    expect(e).toBeInstanceOf(BootstrapError);
    const message = (e as Error).message;
    expect(message).not.toContain("\n");
    return message;
  }
  throw new Error("expected a bootstrap error");
}

const rootca = { validation_context_sds_secret_config: { name: "ROOTCA", sds_config: { ads: {} } } };

describe("static bootstrap", () => {
  it("takes SNI, ALPN, versions, a file CA, typed and plain SAN matchers", () => {
    const caFile = join(dir, "root.pem");
    writeFileSync(caFile, ca.rootCertPem);
    const config = parseWith({
      sni: "shop.example.com",
      common_tls_context: {
        alpn_protocols: ["h2"],
        tls_params: { tls_minimum_protocol_version: "TLSv1_2", tls_maximum_protocol_version: "TLSv1_3" },
        validation_context: {
          trusted_ca: { filename: caFile },
          match_typed_subject_alt_names: [{ san_type: "DNS", matcher: { suffix: ".example.com" } }],
          match_subject_alt_names: [{ exact: SHOP_ID }],
        },
      },
    });
    expect(config.clusters[0]!.tls).toEqual({
      sni: "shop.example.com",
      alpn: ["h2"],
      sans: [
        { sanType: "DNS", kind: "suffix", value: ".example.com", ignoreCase: false },
        { sanType: "ANY", kind: "exact", value: SHOP_ID, ignoreCase: false },
      ],
      minVersion: "TLSv1.2",
      maxVersion: "TLSv1.3",
      trustedCa: { pem: ca.rootCertPem },
    });
  });

  it("raw_buffer in a transport socket match is plain text; the first match wins", () => {
    const config = parseWith({ common_tls_context: rootca }, {
      transport_socket_matches: [
        { name: "plain", match: { tlsMode: "disabled" }, transport_socket: { name: "envoy.transport_sockets.raw_buffer" } },
        { name: "any", match: {}, transport_socket: { name: "envoy.transport_sockets.tls", typed_config: { "@type": UPSTREAM_TLS, sni: "any" } } },
      ],
      load_assignment: {
        cluster_name: "shop",
        endpoints: [
          {
            metadata: { filter_metadata: { "envoy.transport_socket_match": { tlsMode: "disabled" } } },
            lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: 1 } } } }],
          },
          { lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: 2 } } } }] },
        ],
      },
    });
    const hosts = new Cluster(config.clusters[0]!).hosts;
    expect(hosts[0]!.tls).toBeUndefined(); // locality metadata matched "plain"
    expect(hosts[1]!.tls?.sni).toBe("any");
  });

  it("refuses what it cannot do, in one line naming the cluster field", () => {
    expect(errorOf({ common_tls_context: { validation_context: { match_typed_subject_alt_names: [{ san_type: "URI", matcher: { exact: SHOP_ID } }] } } })).toMatch(
      /static_resources\.clusters\[0\]\.transport_socket\.typed_config\.common_tls_context\.validation_context\.trusted_ca: is required with subject alt name matchers/,
    );
    expect(errorOf({ common_tls_context: { ...rootca, tls_certificate_sds_secret_configs: [{ name: "missing" }] } })).toMatch(/tls_certificate_sds_secret_configs\[0\]\.name: SDS secret "missing": not found/);
    expect(errorOf({ allow_renegotiation: true })).toMatch(/transport_socket\.typed_config\.allow_renegotiation: not supported by halyard gateway/);
    expect(errorOf({ common_tls_context: { validation_context: { match_typed_subject_alt_names: [{ san_type: "OTHER_NAME", matcher: { exact: "x" } }] } } })).toMatch(/san_type: "OTHER_NAME" is not supported/);
    expect(errorOf({ common_tls_context: { validation_context: { match_subject_alt_names: [{ safe_regex: { regex: "x" } }] } } })).toMatch(/match_subject_alt_names\[0\]\.safe_regex: not supported by halyard gateway/);
    expect(errorOf({ common_tls_context: { tls_params: { tls_minimum_protocol_version: "TLSv1_3", tls_maximum_protocol_version: "TLSv1_2" } } })).toMatch(/tls_minimum_protocol_version: TLSv1\.3 is above the maximum TLSv1\.2/);
    expect(
      errorOf({}, { transport_socket: { name: "envoy.transport_sockets.tls", typed_config: { "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext" } } }),
    ).toMatch(/clusters\[0\]\.transport_socket\.typed_config: expected an envoy\.extensions\.transport_sockets\.tls\.v3\.UpstreamTlsContext/);
  });
});

describe("SAN matching and ALPN", () => {
  it("parses Node's subjectaltname text and matches Envoy-style", () => {
    const sans = parseSubjectAltName(`DNS:*.example.com, URI:${SHOP_ID}, IP Address:127.0.0.1, email:"a,b@example.com"`);
    expect(sans).toEqual([
      { type: "DNS", value: "*.example.com" },
      { type: "URI", value: SHOP_ID },
      { type: "IP_ADDRESS", value: "127.0.0.1" },
      { type: "EMAIL", value: "a,b@example.com" },
    ]);
    const m = (sanType: "DNS" | "URI" | "ANY" | "EMAIL", kind: "exact" | "prefix", value: string, ignoreCase = false) => [{ sanType, kind, value, ignoreCase }];
    expect(sansMatch(sans, m("DNS", "exact", "shop.example.com"))).toBe(true); // wildcard certificate
    expect(sansMatch(sans, m("DNS", "exact", "a.b.example.com"))).toBe(false); // one label only
    expect(sansMatch(sans, m("URI", "prefix", "spiffe://cluster.local/ns/shop/"))).toBe(true);
    expect(sansMatch(sans, m("DNS", "exact", SHOP_ID))).toBe(false); // typed: URI only as URI
    expect(sansMatch(sans, m("ANY", "exact", "127.0.0.1"))).toBe(true);
    expect(sansMatch(sans, m("EMAIL", "exact", "A,B@EXAMPLE.COM", true))).toBe(true);
  });

  it("offers the protocol the cluster speaks alongside the configured names", () => {
    expect(offeredAlpn(["istio-peer-exchange", "istio"], true)).toEqual(["h2", "istio-peer-exchange", "istio"]);
    expect(offeredAlpn(["istio-peer-exchange", "istio"], false)).toEqual(["istio-peer-exchange", "istio", "http/1.1"]);
    expect(offeredAlpn([], false)).toEqual([]);
    expect(offeredAlpn([], true)).toEqual(["h2"]);
  });
});
