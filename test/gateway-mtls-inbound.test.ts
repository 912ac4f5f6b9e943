// Inbound mesh mTLS in our gateway, from Istio YAML: PeerAuthentication → the translator's virtualInbound chains
// (control/translate/xds/mtls.ts) → the gateway's builder with SDS `default` / `ROOTCA` from the in-process mesh
// CA → real listeners on 127.0.0.1 in front of a real upstream, called by real TLS clients holding SVIDs from that
// CA (and from a second CA: "another root"). Also: the peer identity the filters see (halyard.authz deciding
// principals / namespaces, and the connection.* properties read by a probe guest), x-forwarded-client-cert, and
// certificate rotation through the SecretSource's `watch`.
import { X509Certificate } from "node:crypto";
import { writeFileSync } from "node:fs";
import { connect as http2Connect } from "node:http2";
import { Agent, request as httpsRequest } from "node:https";
import { connect as netConnect } from "node:net";
import { join } from "node:path";
import { connect as tlsConnect, type PeerCertificate, type TLSSocket } from "node:tls";
import { toJson } from "@bufbuild/protobuf";
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ListenerSchema, type Listener } from "../gen/envoy/config/listener/v3/listener_pb.js";
import {
  HttpConnectionManager_ForwardClientCertDetails,
  HttpConnectionManagerSchema,
} from "../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { registry as protoRegistry } from "../gen/registry.js";
import type { MeshCa } from "../control/ca/ca.js";
import { buildConfigSet } from "../control/config/config-set.js";
import { loadAndValidate } from "../control/config/validate.js";
import { buildRegistry } from "../control/registry/registry.js";
import { buildProxyResources } from "../control/translate/xds/index.js";
import type { SecretSource } from "../gateway/bootstrap/listener-tls.js";
import { parseBootstrap } from "../gateway/bootstrap/parse.js";
import { startGateway, type RunningGateway } from "../gateway/gateway.js";
import { compileAS } from "./helpers/as.js";
import { routerFilter, staticCluster, wasmFilter } from "./helpers/envoy-bootstrap.js";
import { httpRequest, root, startUpstream, tempDir, type HttpResult, type Upstream } from "./helpers/gateway-process.js";
import { rotatingSecrets, svid, testMeshCa, type RotatingSecrets } from "./helpers/inbound-mtls.js";

const WASM = join(root, "wasm/build/halyard.wasm");
const HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const DOWNSTREAM_TLS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext";
const NODES = {
  web: "sidecar~10.0.1.1~web-1.shop~shop.svc.cluster.local",
  api: "sidecar~10.0.1.2~api-1.shop~shop.svc.cluster.local",
  legacy: "sidecar~10.0.1.3~legacy-1.shop~shop.svc.cluster.local",
};

type Pem = { cert: string; key: string; spiffeId: string };

let meshCa: MeshCa;
let otherCa: MeshCa;
let upstream: Upstream;
const gateways: RunningGateway[] = [];
const clients: Record<"foo" | "barReporter" | "barOther" | "foreign", Pem> = {} as never;
const ports: Record<"web" | "api" | "legacy", number> = {} as never;
const secrets: Record<"web" | "api" | "legacy", RotatingSecrets> = {} as never;
const inbound: Record<"web" | "api" | "legacy", Listener> = {} as never;

/**
 * The translator's inbound chains of one port, served directly on 127.0.0.1:0: a sidecar's virtualInbound sits
 * behind iptables (original_dst restores the port, chains match destination_port); here the port is the listener.
 */
function directInbound(l: Listener, port: number): Record<string, unknown> {
  const json = toJson(ListenerSchema, l, { registry: protoRegistry, useProtoFieldName: true }) as Record<string, any>;
  json.address = { socket_address: { address: "127.0.0.1", port_value: 0 } };
  const filters = (json.listener_filters ?? []).filter((f: { name: string }) => f.name !== "envoy.filters.listener.original_dst");
  if (filters.length) json.listener_filters = filters;
  else delete json.listener_filters;
  json.filter_chains = json.filter_chains
    .filter((c: any) => c.filter_chain_match?.destination_port === port)
    .map((c: any) => {
      delete c.filter_chain_match.destination_port;
      if (Object.keys(c.filter_chain_match).length === 0) delete c.filter_chain_match;
      return c;
    });
  return json;
}

async function serve(listeners: unknown[], source: SecretSource, clusterPort = upstream.port): Promise<number[]> {
  const doc = { node: { id: "test", cluster: "test" }, static_resources: { listeners, clusters: [staticCluster("inbound|8080||", [clusterPort]), staticCluster("app", [clusterPort])] } };
  const config = parseBootstrap("mtls-inbound", JSON.stringify(doc), { resolvePath: (p) => p, secrets: source });
  const gw = await startGateway(config);
  gateways.push(gw);
  return gw.listeners.map((l) => l.address.port);
}

type TlsResult = HttpResult & { serverCert: PeerCertificate; socket: TLSSocket };

/** An HTTPS request as a mesh client: trusts the mesh root, checks the server's SPIFFE id instead of a host name. */
function mtlsGet(port: number, path: string, o: { client?: Pem; headers?: Record<string, string>; agent?: Agent; expectId?: string; ca?: string } = {}): Promise<TlsResult> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: "127.0.0.1",
        port,
        path,
        headers: o.headers ?? {},
        ca: o.ca ?? meshCa.rootCertPem,
        ...(o.agent ? { agent: o.agent } : { agent: false }),
        ...(o.client ? { cert: o.client.cert, key: o.client.key } : {}),
        checkServerIdentity: (_host, cert) => (o.expectId && cert.subjectaltname !== `URI:${o.expectId}` ? new Error(`server is ${cert.subjectaltname}`) : undefined),
      },
      (res) => {
        // Read now: a keep-alive agent takes the socket back once the response ends.
        const socket = res.socket as TLSSocket;
        const serverCert = socket.getPeerCertificate();
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), serverCert, socket }));
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end();
  });
}

/** Resolves with the error a request ends with (it must not get a response). */
const refused = (p: Promise<unknown>) => p.then((r) => { throw new Error(`expected no response, got ${JSON.stringify((r as HttpResult).status)}`); }, (e: Error) => e);

const seenBy = (path: string) => [...upstream.seen].reverse().find((r) => r.url === path);

beforeAll(async () => {
  [meshCa, otherCa, upstream] = await Promise.all([testMeshCa(), testMeshCa(), startUpstream("app")]);
  clients.foo = await svid(meshCa, "foo", "caller", ["caller.foo.svc"]);
  clients.barReporter = await svid(meshCa, "bar", "reporter");
  clients.barOther = await svid(meshCa, "bar", "other");
  clients.foreign = await svid(otherCa, "foo", "caller"); // the right identity, from another root
  const { documents, errors } = await loadAndValidate(["test/fixtures/gateway-mtls-inbound"]);
  if (errors.length) throw new Error(errors.map((e) => e.message).join("; "));
  const config = buildConfigSet(documents);
  const registry = buildRegistry(config);
  for (const w of ["web", "api", "legacy"] as const) {
    const r = buildProxyResources(config, registry, { id: NODES[w] }, { wasm: { kind: "local", filename: WASM } });
    inbound[w] = r.listeners.get("virtualInbound")!;
    secrets[w] = await rotatingSecrets(meshCa, "shop", w);
    [ports[w]] = await serve([directInbound(inbound[w], 8080)], secrets[w]);
  }
}, 120_000);

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  await upstream?.close();
});

describe("PeerAuthentication modes, translated and served", () => {
  it("translates namespace STRICT, workload PERMISSIVE over it, and DISABLE into the chains Istio builds", () => {
    const kinds = (l: Listener) => l.filterChains.map((c) => `${c.filterChainMatch?.transportProtocol || "any"}:${c.transportSocket ? "tls" : "plain"}`);
    expect(kinds(inbound.api)).toEqual(["tls:tls"]);
    expect(kinds(inbound.web)).toEqual(["tls:tls", "raw_buffer:plain"]);
    expect(kinds(inbound.legacy)).toEqual(["any:plain"]);
    for (const chain of [...inbound.api.filterChains, ...inbound.web.filterChains, ...inbound.legacy.filterChains]) {
      const hcm = anyUnpack(chain.filters[0]!.configType.value as Any, HttpConnectionManagerSchema)!;
      expect(hcm.forwardClientCertDetails).toBe(HttpConnectionManager_ForwardClientCertDetails.SANITIZE_SET);
      expect(hcm.setCurrentClientCertDetails).toMatchObject({ subject: true, uri: true, dns: true, cert: false, chain: false });
    }
  });

  it("STRICT: a mesh client gets through and sees the workload's SPIFFE id; plaintext, no certificate and another root are refused", async () => {
    const ok = await mtlsGet(ports.api, "/strict", { client: clients.foo, expectId: secrets.api.spiffeId });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ upstream: "app", url: "/strict" });
    await refused(httpRequest(`http://127.0.0.1:${ports.api}/strict-plain`, { timeoutMs: 3000 }));
    await refused(mtlsGet(ports.api, "/strict-anonymous"));
    await refused(mtlsGet(ports.api, "/strict-foreign", { client: clients.foreign }));
    expect(upstream.seen.some((r) => r.url.startsWith("/strict-"))).toBe(false);
  });

  it("the foreign-root client is refused during the handshake, before any request is read", async () => {
    const socket = tlsConnect({ host: "127.0.0.1", port: ports.api, ca: meshCa.rootCertPem, cert: clients.foreign.cert, key: clients.foreign.key, checkServerIdentity: () => undefined, ALPNProtocols: ["http/1.1"] });
    const ended = await new Promise<string>((resolve) => {
      socket.setTimeout(3000, () => resolve("timeout"));
      socket.on("error", (e) => resolve(`error ${e.message}`));
      socket.on("close", () => resolve("closed"));
      socket.on("secureConnect", () => socket.write("GET /foreign-raw HTTP/1.1\r\nhost: x\r\n\r\n"));
      socket.on("data", (d: Buffer) => resolve(`data ${d.toString().split("\r\n")[0]}`));
    });
    socket.destroy();
    expect(ended).toMatch(/^(closed|error )/);
    expect(seenBy("/foreign-raw")).toBeUndefined();
  });

  it("workload PERMISSIVE over namespace STRICT: plaintext and mTLS on one port; another root is still refused", async () => {
    expect((await httpRequest(`http://127.0.0.1:${ports.web}/permissive-plain`)).status).toBe(200);
    const m = await mtlsGet(ports.web, "/permissive-mtls", { client: clients.barOther, expectId: secrets.web.spiffeId });
    expect(m.status).toBe(200);
    await refused(mtlsGet(ports.web, "/permissive-foreign", { client: clients.foreign }));
    expect(seenBy("/permissive-foreign")).toBeUndefined();
  });

  it("ALPN as emitted (istio-peer-exchange, h2, http/1.1): what the gateway speaks is negotiated, h2 first", async () => {
    const alpn = (offer: string[]) =>
      new Promise<string | false>((resolve, reject) => {
        const s = tlsConnect({ host: "127.0.0.1", port: ports.api, ca: meshCa.rootCertPem, cert: clients.foo.cert, key: clients.foo.key, checkServerIdentity: () => undefined, ALPNProtocols: offer });
        s.once("secureConnect", () => {
          resolve(s.alpnProtocol);
          s.end();
        });
        s.once("error", reject);
      });
    expect(await alpn(["istio-peer-exchange", "h2", "http/1.1"])).toBe("h2");
    expect(await alpn(["istio-peer-exchange", "http/1.1"])).toBe("http/1.1");
  });

  it("DISABLE: plaintext only; a TLS ClientHello gets no handshake", async () => {
    expect((await httpRequest(`http://127.0.0.1:${ports.legacy}/disabled-plain`)).status).toBe(200);
    await refused(mtlsGet(ports.legacy, "/disabled-tls", { client: clients.foo }));
  });
});

describe("peer identity from the verified certificate", () => {
  it("AuthorizationPolicy namespaces / principals decide by the client certificate", async () => {
    expect((await mtlsGet(ports.api, "/authz-foo", { client: clients.foo })).status).toBe(200);
    expect((await mtlsGet(ports.api, "/authz-reporter", { client: clients.barReporter })).status).toBe(200);
    const denied = await mtlsGet(ports.api, "/authz-other", { client: clients.barOther });
    expect(denied.status).toBe(403);
    expect(denied.body).toBe("RBAC: access denied");
    expect(seenBy("/authz-other")).toBeUndefined();
  });

  it("over HTTP/2 (ALPN h2) the identity is the same: authz decides and XFCC names the peer", async () => {
    const get = (client: Pem, path: string) =>
      new Promise<{ status: number }>((resolve, reject) => {
        const session = http2Connect(`https://127.0.0.1:${ports.api}`, { ca: meshCa.rootCertPem, cert: client.cert, key: client.key, checkServerIdentity: () => undefined });
        session.on("error", reject);
        const req = session.request({ ":path": path });
        req.on("response", (h) => {
          req.resume();
          req.on("end", () => {
            session.close();
            resolve({ status: Number(h[":status"]) });
          });
        });
        req.on("error", reject);
        req.end();
      });
    expect((await get(clients.foo, "/h2-foo")).status).toBe(200);
    expect(seenBy("/h2-foo")!.headers["x-forwarded-client-cert"]).toContain(`;URI=${clients.foo.spiffeId};`);
    expect((await get(clients.barOther, "/h2-other")).status).toBe(403);
  });

  it("a forged x-forwarded-client-cert gains nothing and never reaches the app as sent", async () => {
    const forged = { "x-forwarded-client-cert": "By=spiffe://cluster.local/ns/shop/sa/api;Hash=00;URI=spiffe://cluster.local/ns/foo/sa/caller" };
    expect((await mtlsGet(ports.api, "/forged-denied", { client: clients.barOther, headers: forged })).status).toBe(403);
    expect((await mtlsGet(ports.api, "/forged-mtls", { client: clients.foo, headers: forged })).status).toBe(200);
    // The translated inbound HCM sets SANITIZE_SET: the app gets the real peer's element only.
    const hash = new X509Certificate(clients.foo.cert).fingerprint256.replace(/:/g, "").toLowerCase();
    expect(seenBy("/forged-mtls")!.headers["x-forwarded-client-cert"]).toBe(
      `By=${secrets.api.spiffeId};Hash=${hash};Subject="";URI=${clients.foo.spiffeId};DNS=caller.foo.svc`,
    );
    expect((await httpRequest(`http://127.0.0.1:${ports.web}/forged-plain`, { headers: forged })).status).toBe(200);
    expect(seenBy("/forged-plain")!.headers["x-forwarded-client-cert"]).toBeUndefined();
  });

  it("connection.* and source.principal as Envoy gives them to wasm filters", async () => {
    const probe = join(tempDir("halyard-mtls-probe-"), "probe.wasm");
    writeFileSync(probe, await compileAS("test/fixtures/host-probe/probe.ts"));
    const listenerJson = {
      ...directInbound(inbound.web, 8080),
      filter_chains: (directInbound(inbound.web, 8080).filter_chains as any[]).map((c) => ({
        ...c,
        filters: [{ name: "envoy.filters.network.http_connection_manager", typed_config: hcmJson([wasmFilter({ name: "probe", rootId: "probe", filename: probe })]) }],
      })),
    };
    const [port] = await serve([listenerJson], secrets.web);
    const names = ["connection.mtls", "connection.uri_san_peer_certificate", "connection.dns_san_peer_certificate", "connection.subject_peer_certificate", "connection.uri_san_local_certificate", "source.principal"];
    const headers = { "x-probe": "props", "x-props": names.join(",") };
    const text = (h: string | string[] | undefined) => (typeof h === "string" && !h.startsWith("!") ? Buffer.from(h, "hex").toString() : h);
    const m = await mtlsGet(port!, "/props-mtls", { client: clients.foo, headers });
    expect(m.status).toBe(200);
    const seen = seenBy("/props-mtls")!.headers;
    expect(seen["x-prop-connection.mtls"]).toBe("01");
    expect(text(seen["x-prop-connection.uri_san_peer_certificate"])).toBe(clients.foo.spiffeId);
    expect(text(seen["x-prop-connection.dns_san_peer_certificate"])).toBe("caller.foo.svc");
    expect(text(seen["x-prop-connection.subject_peer_certificate"])).toBe("");
    expect(text(seen["x-prop-connection.uri_san_local_certificate"])).toBe(secrets.web.spiffeId);
    expect(text(seen["x-prop-source.principal"])).toBe(clients.foo.spiffeId);
    await httpRequest(`http://127.0.0.1:${port}/props-plain`, { headers });
    const plain = seenBy("/props-plain")!.headers;
    expect(plain["x-prop-connection.mtls"]).toBe("00");
    expect(plain["x-prop-connection.uri_san_peer_certificate"]).toMatch(/^!/);
    expect(plain["x-prop-source.principal"]).toMatch(/^!/);
  });
});

function hcmJson(httpFilters: unknown[], extra: Record<string, unknown> = {}) {
  return {
    "@type": HCM,
    stat_prefix: "inbound_test",
    route_config: { name: "local", virtual_hosts: [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "app" } }] }] },
    http_filters: [...httpFilters, routerFilter()],
    ...extra,
  };
}

/** An inbound mTLS listener written as Istio's chains are (SDS default / ROOTCA), with HCM extras. */
function meshListener(name: string, hcmExtra: Record<string, unknown>, opts: { permissive?: boolean; tls?: Record<string, unknown> } = {}) {
  const filters = [{ name: "envoy.filters.network.http_connection_manager", typed_config: hcmJson([], hcmExtra) }];
  const ads = { ads: {}, resource_api_version: "V3" };
  const tls = {
    "@type": DOWNSTREAM_TLS,
    require_client_certificate: true,
    common_tls_context: {
      tls_certificate_sds_secret_configs: [{ name: "default", sds_config: ads }],
      combined_validation_context: { default_validation_context: {}, validation_context_sds_secret_config: { name: "ROOTCA", sds_config: ads } },
      alpn_protocols: ["istio-peer-exchange", "h2", "http/1.1"],
    },
    ...opts.tls,
  };
  return {
    name,
    address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
    listener_filters: [{ name: "envoy.filters.listener.tls_inspector", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector" } }],
    filter_chains: [
      { name: `${name}-mtls`, filter_chain_match: { transport_protocol: "tls" }, transport_socket: { name: "envoy.transport_sockets.tls", typed_config: tls }, filters },
      ...(opts.permissive ? [{ name, filter_chain_match: { transport_protocol: "raw_buffer" }, filters }] : []),
    ],
  };
}

describe("x-forwarded-client-cert", () => {
  let sanitizeSet: number;
  let appendForward: number;
  beforeAll(async () => {
    const details = { subject: true, uri: true, dns: true };
    [sanitizeSet, appendForward] = await serve(
      [
        meshListener("xfcc-set", { forward_client_cert_details: "SANITIZE_SET", set_current_client_cert_details: details }, { permissive: true }),
        meshListener("xfcc-append", { forward_client_cert_details: "APPEND_FORWARD", set_current_client_cert_details: details }),
      ],
      secrets.web,
    ) as [number, number];
  });

  it("SANITIZE_SET (Istio sidecar): By=<our id>;Hash=<sha256 of the peer DER>;Subject;URI;DNS replaces what the client sent", async () => {
    const forged = { "x-forwarded-client-cert": "By=spiffe://evil;Hash=00;URI=spiffe://cluster.local/ns/shop/sa/admin" };
    expect((await mtlsGet(sanitizeSet, "/xfcc-set", { client: clients.foo, headers: forged })).status).toBe(200);
    const hash = new X509Certificate(clients.foo.cert).fingerprint256.replace(/:/g, "").toLowerCase();
    expect(seenBy("/xfcc-set")!.headers["x-forwarded-client-cert"]).toBe(
      `By=${secrets.web.spiffeId};Hash=${hash};Subject="";URI=${clients.foo.spiffeId};DNS=caller.foo.svc`,
    );
  });

  it("SANITIZE_SET on the plaintext chain of a PERMISSIVE port: removed", async () => {
    await httpRequest(`http://127.0.0.1:${sanitizeSet}/xfcc-plain`, { headers: { "x-forwarded-client-cert": "URI=spiffe://cluster.local/ns/foo/sa/caller" } });
    expect(seenBy("/xfcc-plain")!.headers["x-forwarded-client-cert"]).toBeUndefined();
  });

  it("APPEND_FORWARD: the current element follows what the (mTLS) client sent", async () => {
    const sent = "By=spiffe://cluster.local/ns/foo/sa/caller;Hash=ab";
    await mtlsGet(appendForward, "/xfcc-append", { client: clients.barReporter, headers: { "x-forwarded-client-cert": sent } });
    const hash = new X509Certificate(clients.barReporter.cert).fingerprint256.replace(/:/g, "").toLowerCase();
    expect(seenBy("/xfcc-append")!.headers["x-forwarded-client-cert"]).toBe(`${sent},By=${secrets.web.spiffeId};Hash=${hash};Subject="";URI=${clients.barReporter.spiffeId}`);
  });
});

describe("rotation through the SecretSource's watch", () => {
  it("after watch fires, a new connection sees the new serial while an open keep-alive connection still works", async () => {
    const rotating = await rotatingSecrets(meshCa, "shop", "rotating");
    const [port] = await serve([meshListener("rotating", {})], rotating);
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: meshCa.rootCertPem, cert: clients.foo.cert, key: clients.foo.key });
    try {
      const first = await mtlsGet(port!, "/rotate-1", { client: clients.foo, agent });
      const oldSerial = first.serverCert.serialNumber;
      await rotating.rotate();
      const fresh = await mtlsGet(port!, "/rotate-new", { client: clients.foo, expectId: rotating.spiffeId });
      expect(fresh.status).toBe(200);
      expect(fresh.serverCert.serialNumber).not.toBe(oldSerial);
      expect(fresh.serverCert.serialNumber).toBe(new X509Certificate(rotating.chainPem).serialNumber);
      const again = await mtlsGet(port!, "/rotate-2", { client: clients.foo, agent });
      expect(again.status).toBe(200);
      expect(again.socket).toBe(first.socket); // the same connection, still open
      expect(again.serverCert.serialNumber).toBe(oldSerial);
    } finally {
      agent.destroy();
    }
  });
});

describe("mesh root rotation through ROOTCA's watch", () => {
  it("a new root bundle admits its clients on new handshakes; a bundle that does not load keeps the previous one", async () => {
    const source = await rotatingSecrets(meshCa, "shop", "roots");
    const [port] = await serve([meshListener("roots", {})], source);
    await refused(mtlsGet(port!, "/roots-before", { client: clients.foreign }));
    source.setRoots(meshCa.rootCertPem + otherCa.rootCertPem);
    expect((await mtlsGet(port!, "/roots-both", { client: clients.foreign })).status).toBe(200);
    const errors: string[] = [];
    const original = console.error;
    console.error = (m: string) => errors.push(m);
    try {
      source.setRoots("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n");
    } finally {
      console.error = original;
    }
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^halyard gateway: listener "roots": filter chain "roots-mtls": keeping the previous certificate: .+$/);
    expect((await mtlsGet(port!, "/roots-kept", { client: clients.foreign })).status).toBe(200);
    expect((await mtlsGet(port!, "/roots-mesh", { client: clients.foo })).status).toBe(200);
  });
});

describe("what the gateway cannot honour is a one-line error", () => {
  const build = (listener: unknown, source: SecretSource = secrets.web) => () =>
    parseBootstrap("mtls.yaml", JSON.stringify({ node: { id: "t", cluster: "t" }, static_resources: { listeners: [listener], clusters: [staticCluster("app", [1])] } }), { resolvePath: (p) => p, secrets: source });

  it("names the field: an unknown ALPN, client SAN matching, a missing secret", () => {
    const alpn = meshListener("a", {});
    (alpn.filter_chains[0]!.transport_socket!.typed_config as any).common_tls_context.alpn_protocols = ["istio"];
    expect(build(alpn)).toThrow(/^mtls\.yaml:1: static_resources\.listeners\[0\]\.filter_chains\[0\]\.transport_socket\.typed_config\.common_tls_context\.alpn_protocols\[0\]: "istio" is not supported by halyard gateway/);
    const sans = meshListener("s", {});
    (sans.filter_chains[0]!.transport_socket!.typed_config as any).common_tls_context.combined_validation_context.default_validation_context = {
      match_typed_subject_alt_names: [{ san_type: "URI", matcher: { exact: "spiffe://x" } }],
    };
    expect(build(sans)).toThrow(/combined_validation_context: subject alt name matching of client certificates is not supported by halyard gateway/);
    const missing: SecretSource = { ...secrets.web, trustedCa: (n) => { throw new Error(`SDS secret "${n}": not known`); } };
    expect(build(meshListener("m", {}), missing)).toThrow(/validation_context_sds_secret_config\.name: SDS secret "ROOTCA": not known$/);
    for (const f of [alpn, sans]) expect(() => build(f)()).toThrow(/^[^\n]+$/);
  });

  it("plaintext to a STRICT port gets no HTTP answer, and the connection is closed", async () => {
    const s = netConnect(ports.api, "127.0.0.1");
    const got = await new Promise<string>((resolve) => {
      let data = "";
      s.on("connect", () => s.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n"));
      s.on("data", (d: Buffer) => (data += d.toString("latin1")));
      s.on("close", () => resolve(`closed ${data}`));
      s.on("error", () => {});
      s.setTimeout(12_000, () => resolve("timeout"));
    });
    s.destroy();
    expect(got).toMatch(/^closed /);
    expect(got).not.toMatch(/HTTP\//);
  }, 15_000);
});
