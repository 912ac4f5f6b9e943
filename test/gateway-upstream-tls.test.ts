// Outbound TLS from the gateway's clusters, with the transport sockets the translator emits (control/translate/xds/
// mtls.ts) put into a static bootstrap and served in-process: real TLS upstreams (node:https, node:http2 secure) on
// 127.0.0.1 with certificates from the in-process mesh CA (SPIFFE SVIDs) and a test CA (DNS names). ISTIO_MUTUAL
// with the right SPIFFE id, a wrong one and a foreign root; SIMPLE with a CA file and SNI; MUTUAL by credentialName;
// auto-mTLS (one endpoint TLS, one plain, in one cluster); h2 over TLS with gRPC trailers; a rotated certificate
// used by new connections.
import { create, toJson, type JsonValue } from "@bufbuild/protobuf";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest, createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createSecureServer, connect as h2connect, type ServerHttp2Stream } from "node:http2";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import type { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MeshCa } from "../control/ca/ca.js";
import { openMeshCa } from "../control/ca/open.js";
import type { ClientTLSSettings } from "../control/config/types.js";
import { clusterTls, endpointTlsMetadata, type UpstreamTlsTarget } from "../control/translate/xds/mtls.js";
import { ClusterSchema } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { registry } from "../gen/registry.js";
import { parseBootstrap } from "../gateway/bootstrap/parse.js";
import { startGateway, type RunningGateway } from "../gateway/gateway.js";
import { bootstrap, listener, socketAddress } from "./helpers/envoy-bootstrap.js";
import { createTestCa, type TestCa } from "./helpers/tls-certs.js";
import { issueSvid, meshSecrets, type TestSecrets } from "./helpers/upstream-tls-secrets.js";

const SHOP_HOST = "shop.shop.svc.cluster.local";
const SHOP_ID = "spiffe://cluster.local/ns/shop/sa/shop-sa";
const GATEWAY_ID = "spiffe://cluster.local/ns/edge/sa/gateway";

interface Seen {
  tls: boolean;
  sni: string | false;
  clientSan?: string;
  clientFingerprint?: string;
  alpn?: string | false;
}

interface Upstream {
  port: number;
  seen: Seen[];
  /** TLS connections accepted, and how many of them have closed. */
  connections: { opened: number; closed: number };
  close(): Promise<void>;
}

function describeSocket(socket: TLSSocket | import("node:net").Socket): Seen {
  if (!("encrypted" in socket) || !socket.encrypted) return { tls: false, sni: false };
  const tls = socket as TLSSocket;
  const peer = tls.getPeerCertificate();
  return {
    tls: true,
    sni: tls.servername ?? false,
    alpn: tls.alpnProtocol,
    ...(peer?.subjectaltname ? { clientSan: peer.subjectaltname } : {}),
    ...(peer?.fingerprint256 ? { clientFingerprint: peer.fingerprint256 } : {}),
  };
}

function answer(seen: Seen[], name: string) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const s = describeSocket(req.socket);
    seen.push(s);
    req.resume();
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ upstream: name, ...s }));
    });
  };
}

async function listen(server: import("node:net").Server, seen: Seen[]): Promise<Upstream> {
  const connections = { opened: 0, closed: 0 };
  server.on("secureConnection", (socket: TLSSocket) => {
    connections.opened++;
    socket.once("close", () => connections.closed++);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    connections,
    close: () =>
      new Promise<void>((r) => {
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => r());
      }),
  };
}

/** An HTTPS upstream serving `cert`; asks for a client certificate, verified against `clientCa` when given. */
function httpsUpstream(name: string, cert: { certificateChain: string; privateKey: string }, clientCa?: string): Promise<Upstream> {
  const seen: Seen[] = [];
  const server = createHttpsServer(
    { cert: cert.certificateChain, key: cert.privateKey, requestCert: true, rejectUnauthorized: clientCa !== undefined, ...(clientCa ? { ca: clientCa } : {}) },
    answer(seen, name),
  );
  return listen(server, seen);
}

function plainUpstream(name: string): Promise<Upstream> {
  const seen: Seen[] = [];
  return listen(createHttpServer(answer(seen, name)), seen);
}

/** A gRPC-style HTTP/2 TLS upstream: echoes the body, answers with trailers (grpc-status 0). */
function h2Upstream(cert: { certificateChain: string; privateKey: string }, clientCa: string): Promise<Upstream> {
  const seen: Seen[] = [];
  const server = createSecureServer({ cert: cert.certificateChain, key: cert.privateKey, requestCert: true, rejectUnauthorized: true, ca: clientCa });
  server.on("stream", (stream: ServerHttp2Stream) => {
    seen.push(describeSocket(stream.session!.socket as TLSSocket));
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0", "grpc-message": "ok" }));
      stream.end(Buffer.concat(chunks));
    });
  });
  return listen(server, seen);
}

type ClusterInit = Parameters<typeof create<typeof ClusterSchema>>[1];

/** A STATIC cluster in bootstrap JSON, with the translator's transport sockets and optional endpoint metadata. */
function cluster(name: string, endpoints: Array<{ port: number; sidecar?: boolean }>, tls: ReturnType<typeof clusterTls>, extra: Record<string, unknown> = {}): JsonValue {
  const init: ClusterInit = {
    name,
    connectTimeout: { seconds: 2n },
    ...tls,
    loadAssignment: {
      clusterName: name,
      endpoints: [
        {
          lbEndpoints: endpoints.map((e) => ({
            hostIdentifier: { case: "endpoint" as const, value: { address: { address: { case: "socketAddress" as const, value: { address: "127.0.0.1", portSpecifier: { case: "portValue" as const, value: e.port } } } } } },
            ...(e.sidecar ? { metadata: { filterMetadata: endpointTlsMetadata({ labels: { "security.istio.io/tlsMode": "istio" } })! } } : {}),
          })),
        },
      ],
    },
  };
  const json = toJson(ClusterSchema, create(ClusterSchema, init), { registry, useProtoFieldName: true }) as Record<string, JsonValue>;
  return { ...json, ...(extra as Record<string, JsonValue>) };
}

const target = (port: number, spiffeIds: string[]): UpstreamTlsTarget => ({ host: SHOP_HOST, port, subset: "", spiffeIds });

const HTTP2 = {
  typed_extension_protocol_options: {
    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
      "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
      explicit_http_config: { http2_protocol_options: {} },
    },
  },
};

function get(port: number, path: string): Promise<{ status: number; body: string; headers: IncomingMessage["headers"] }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.setTimeout(8000, () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end();
  });
}

async function waitFor<T>(read: () => T | undefined, what: string, timeoutMs = 3000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = read();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let dir: string;
let meshCa: MeshCa;
let foreignCa: MeshCa;
let newRootCa: MeshCa;
let testCa: TestCa;
let secrets: TestSecrets;
let gateway: RunningGateway;
let port: number;
let accessLog: string;
const upstreams: Upstream[] = [];
const up: Record<string, Upstream> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "halyard-upstream-tls-"));
  [meshCa, foreignCa, newRootCa, testCa] = await Promise.all([
    openMeshCa({ stateDir: join(dir, "ca") }),
    openMeshCa({ stateDir: join(dir, "foreign-ca") }),
    openMeshCa({ stateDir: join(dir, "new-root-ca") }),
    createTestCa("upstream test CA"),
  ]);
  secrets = await meshSecrets(meshCa, "edge", "gateway");
  const shopSvid = await issueSvid(meshCa, "shop", "shop-sa");
  const simpleLeaf = await testCa.issue(["shop.example.com"]);
  const mutualClient = await testCa.issue(["edge-client"], { client: true });
  secrets.setCertificate("shop-client", { certificateChain: mutualClient.cert, privateKey: mutualClient.key });
  secrets.setCa("shop-client-cacert", testCa.cert);
  const caFile = join(dir, "test-ca.pem");
  writeFileSync(caFile, testCa.cert);

  up.mesh = await httpsUpstream("mesh", shopSvid);
  up.foreign = await httpsUpstream("foreign", await issueSvid(foreignCa, "shop", "shop-sa"));
  up.simple = await httpsUpstream("simple", { certificateChain: simpleLeaf.cert, privateKey: simpleLeaf.key });
  up.mutual = await httpsUpstream("mutual", { certificateChain: simpleLeaf.cert, privateKey: simpleLeaf.key }, testCa.cert);
  up.sidecar = await httpsUpstream("sidecar", shopSvid, meshCa.rootCertPem);
  up.plain = await plainUpstream("plain");
  up.grpc = await h2Upstream(shopSvid, meshCa.rootCertPem);
  up.rotate = await httpsUpstream("rotate", shopSvid, meshCa.rootCertPem);
  up.newRoot = await httpsUpstream("new-root", await issueSvid(newRootCa, "shop", "shop-sa"));
  upstreams.push(...Object.values(up));

  const istio: ClientTLSSettings = { mode: "ISTIO_MUTUAL" };
  const clusters = [
    cluster("istio", [{ port: up.mesh!.port }], clusterTls(istio, target(8443, [SHOP_ID]), false, "dr")),
    cluster("wrong-san", [{ port: up.mesh!.port }], clusterTls(istio, target(8443, ["spiffe://cluster.local/ns/shop/sa/someone-else"]), false, "dr")),
    cluster("foreign-root", [{ port: up.foreign!.port }], clusterTls(istio, target(8443, [SHOP_ID]), false, "dr")),
    cluster("simple", [{ port: up.simple!.port }], clusterTls({ mode: "SIMPLE", caCertificates: caFile, sni: "shop.example.com" }, target(443, []), false, "dr")),
    cluster("mutual", [{ port: up.mutual!.port }], clusterTls({ mode: "MUTUAL", credentialName: "shop-client" }, target(443, []), false, "dr")),
    cluster("auto", [{ port: up.sidecar!.port, sidecar: true }, { port: up.plain!.port }], clusterTls(undefined, target(8080, [SHOP_ID]), true, "dr")),
    cluster("grpc", [{ port: up.grpc!.port }], clusterTls(istio, target(9090, [SHOP_ID]), false, "dr"), HTTP2),
    cluster("grpc-wrong-san", [{ port: up.grpc!.port }], clusterTls(istio, target(9090, ["spiffe://cluster.local/ns/x/sa/y"]), false, "dr"), HTTP2),
    cluster("rotate", [{ port: up.rotate!.port }], clusterTls(istio, target(8443, [SHOP_ID]), false, "dr")),
    cluster("new-root", [{ port: up.newRoot!.port }], clusterTls(istio, target(8443, [SHOP_ID]), false, "dr")),
  ];
  const names = ["istio", "wrong-san", "foreign-root", "simple", "mutual", "auto", "grpc", "grpc-wrong-san", "rotate", "new-root"];
  accessLog = join(dir, "access.log");
  const doc = bootstrap(
    [
      listener({
        port: 0,
        virtualHosts: [{ name: "all", domains: ["*"], routes: names.map((n) => ({ match: { prefix: `/${n}/` }, route: { cluster: n } })) }],
        hcmExtra: { access_log: [{ name: "envoy.access_loggers.file", typed_config: { "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog", path: accessLog } }] },
      }),
    ],
    clusters,
  );
  const config = parseBootstrap("upstream-tls.yaml", JSON.stringify(doc), { resolvePath: (n) => n, secrets });
  gateway = await startGateway(config, { upstreamSecrets: secrets });
  port = gateway.listeners[0]!.address.port;
}, 30_000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all(upstreams.map((u) => u.close()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const logLine = (path: string) => readFileSync(accessLog, "utf8").split("\n").find((l) => l.includes(` ${path} `));

describe("ISTIO_MUTUAL", () => {
  it("presents the workload certificate, checks the server's SPIFFE id, sends Istio's SNI", async () => {
    const res = await get(port, "/istio/a");
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body) as Seen;
    expect(body.tls).toBe(true);
    expect(body.clientSan).toBe(`URI:${GATEWAY_ID}`);
    expect(body.sni).toBe(`outbound_.8443_._.${SHOP_HOST}`);
  });

  it("a server whose SPIFFE id is not the expected one: 503 UF, logged", async () => {
    const before = up.mesh!.seen.length;
    const res = await get(port, "/wrong-san/a");
    expect(res.status).toBe(503);
    expect(res.body).toContain("reset reason: connection failure, transport failure reason: TLS_error: ");
    expect(res.body).toContain(`upstream certificate SANs (URI:${SHOP_ID}) match none of: URI exact "spiffe://cluster.local/ns/shop/sa/someone-else"`);
    expect(up.mesh!.seen.length).toBe(before);
    const line = await waitFor(() => logLine("/wrong-san/a"), "the access log line");
    expect(line).toMatch(/" 503 UF /);
  });

  it("a server certificate from a foreign root: 503 UF", async () => {
    const res = await get(port, "/foreign-root/a");
    expect(res.status).toBe(503);
    expect(res.body).toMatch(/transport failure reason: TLS_error: .*certificate/);
    expect(up.foreign!.seen).toEqual([]);
    expect(await waitFor(() => logLine("/foreign-root/a"), "the access log line")).toMatch(/" 503 UF /);
  });
});

describe("SIMPLE and MUTUAL", () => {
  it("SIMPLE: the server is verified against a CA file; the upstream sees the SNI and no client certificate", async () => {
    const res = await get(port, "/simple/a");
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body) as Seen;
    expect(body).toMatchObject({ tls: true, sni: "shop.example.com" });
    expect(body.clientSan).toBeUndefined();
  });

  it("MUTUAL by credentialName: client certificate from the secret, server verified against <name>-cacert", async () => {
    const res = await get(port, "/mutual/a");
    expect(res.status).toBe(200);
    expect((JSON.parse(res.body) as Seen).clientSan).toBe("DNS:edge-client");
  });
});

describe("auto-mTLS", () => {
  it("an endpoint labelled tlsMode istio gets mTLS, one without stays plain text, in the same cluster", async () => {
    const results = await Promise.all([1, 2, 3, 4].map((i) => get(port, `/auto/${i}`)));
    const bodies = results.map((r) => {
      expect(r.status).toBe(200);
      return JSON.parse(r.body) as Seen & { upstream: string };
    });
    const sidecar = bodies.filter((b) => b.upstream === "sidecar");
    const plain = bodies.filter((b) => b.upstream === "plain");
    expect(sidecar.length).toBeGreaterThan(0);
    expect(plain.length).toBeGreaterThan(0);
    for (const b of sidecar) expect(b).toMatchObject({ tls: true, clientSan: `URI:${GATEWAY_ID}` });
    for (const b of plain) expect(b.tls).toBe(false);
  });
});

describe("HTTP/2 over TLS", () => {
  it("negotiates h2 by ALPN and carries a gRPC call's response trailers", async () => {
    const client = h2connect(`http://127.0.0.1:${port}`);
    try {
      const result = await new Promise<{ status: number; body: string; trailers: Record<string, unknown> }>((resolve, reject) => {
        const stream = client.request({ ":method": "POST", ":path": "/grpc/helloworld.Greeter/SayHello", "content-type": "application/grpc", te: "trailers" });
        let status = 0;
        let body = "";
        stream.on("response", (h) => (status = Number(h[":status"])));
        stream.on("data", (d: Buffer) => (body += d));
        stream.on("trailers", (t) => resolve({ status, body, trailers: t }));
        stream.on("error", reject);
        stream.setTimeout(8000, () => reject(new Error("grpc call timed out")));
        stream.end("hello");
      });
      expect(result.status).toBe(200);
      expect(result.body).toBe("hello");
      expect(result.trailers["grpc-status"]).toBe("0");
    } finally {
      client.close();
    }
    expect(up.grpc!.seen.at(-1)).toMatchObject({ tls: true, alpn: "h2", clientSan: `URI:${GATEWAY_ID}`, sni: `outbound_.9090_._.${SHOP_HOST}` });
  });
});

describe("HTTP/2 over TLS, failing", () => {
  it("a SAN mismatch on an HTTP/2 cluster is 503 UF with the reason", async () => {
    const before = up.grpc!.seen.length;
    const res = await get(port, "/grpc-wrong-san/a");
    expect(res.status).toBe(503);
    expect(res.body).toContain('transport failure reason: TLS_error: upstream certificate SANs');
    expect(up.grpc!.seen.length).toBe(before);
    expect(await waitFor(() => logLine("/grpc-wrong-san/a"), "the access log line")).toMatch(/" 503 UF /);
  });
});

describe("certificate rotation", () => {
  it("after `default` changes, new connections present the new certificate; the old pooled one is closed", async () => {
    const first = JSON.parse((await get(port, "/rotate/a")).body) as Seen;
    const old = new X509Certificate(secrets.tlsCertificate("default").certificateChain);
    expect(first.clientFingerprint).toBe(old.fingerprint256);
    await get(port, "/rotate/again");
    expect(up.rotate!.connections).toEqual({ opened: 1, closed: 0 }); // kept alive and reused

    const next = await issueSvid(meshCa, "edge", "gateway");
    secrets.setCertificate("default", next);
    const second = JSON.parse((await get(port, "/rotate/b")).body) as Seen;
    expect(second.clientFingerprint).toBe(new X509Certificate(next.certificateChain).fingerprint256);
    expect(second.clientFingerprint).not.toBe(first.clientFingerprint);
    expect(second.clientSan).toBe(`URI:${GATEWAY_ID}`);
    expect(up.rotate!.connections.opened).toBe(2);
    await waitFor(() => (up.rotate!.connections.closed === 1 ? true : undefined), "the superseded connection to close");
  });

  it("after `ROOTCA` changes, servers of the new root are trusted", async () => {
    expect((await get(port, "/new-root/a")).status).toBe(503);
    secrets.setCa("ROOTCA", meshCa.rootCertPem + newRootCa.rootCertPem);
    const res = await get(port, "/new-root/b");
    expect(res.status).toBe(200);
    expect((JSON.parse(res.body) as Seen).clientSan).toBe(`URI:${GATEWAY_ID}`);
    expect((await get(port, "/istio/after-ca-change")).status).toBe(200);
  });
});
