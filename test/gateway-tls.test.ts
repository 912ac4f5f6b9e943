// HTTPS listeners. From Istio config: a Gateway with two TLS SIMPLE servers (credentialName per host) and a plain
// server with httpsRedirect, translated by the real control plane (serve() + control/translate/xds), served by
// `halyard gateway --xds ... --secrets-dir`: SNI picks each host's certificate, an unknown name gets no handshake,
// plain HTTP is redirected with a 301. From a static bootstrap: certificate files, require_tls ALL, MUTUAL (a client
// certificate is required), and one-line errors for missing secrets. Certificates are made in the test.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect, type PeerCertificate } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serve, type ControlPlane } from "../control/serve.js";
import { createSnapshotBuilder } from "../control/translate/xds/index.js";
import { bootstrap, listener, staticCluster } from "./helpers/envoy-bootstrap.js";
import { freePort, httpRequest, requireBuiltCli, runCli, startUpstream, tempDir, writeYaml, type Upstream } from "./helpers/gateway-process.js";
import { spawnGateway, type GatewayChild } from "./helpers/gateway-xds.js";
import { staticServiceYaml } from "./helpers/istio-yaml.js";
import { createTestCa, writeSecret, type Pem, type TestCa } from "./helpers/tls-certs.js";

const NODE = "router~127.0.0.1~istio-ingress.istio-system~istio-system.svc.cluster.local";
const DOWNSTREAM_TLS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext";

let ca: TestCa;
let shop: Upstream;

/** A TLS handshake with `servername`; resolves with the served certificate, rejects when there is no handshake. */
function handshake(port: number, servername: string, clientCert?: Pem): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: "127.0.0.1", port, servername, ca: ca.cert, ALPNProtocols: ["http/1.1"], ...(clientCert ? { cert: clientCert.cert, key: clientCert.key } : {}) });
    s.setTimeout(5000, () => s.destroy(new Error("handshake timed out")));
    s.once("secureConnect", () => {
      const cert = s.getPeerCertificate();
      s.end();
      resolve(cert);
    });
    s.once("error", reject);
  });
}

/** An HTTPS request verified against the test CA, for `host` (SNI and Host). */
function httpsGet(port: number, host: string, path: string, clientCert?: Pem): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: "127.0.0.1", port, path, servername: host, headers: { host }, ca: ca.cert, agent: false, ...(clientCert ? { cert: clientCert.cert, key: clientCert.key } : {}) },
      (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end();
  });
}

const subjectAltNames = (c: PeerCertificate) => c.subjectaltname;

beforeAll(async () => {
  requireBuiltCli();
  [ca, shop] = await Promise.all([createTestCa(), startUpstream("shop")]);
});

afterAll(async () => {
  await shop?.close();
});

describe("a Gateway's HTTPS servers, from Istio config through the control plane", () => {
  let dir: string;
  let secrets: string;
  let plane: ControlPlane;
  let gw: GatewayChild;
  let httpsPort: number;
  let httpPort: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "halyard-gw-tls-istio-"));
    secrets = join(dir, "secrets");
    const config = join(dir, "config");
    mkdirSync(config);
    writeSecret(secrets, "cert-a", await ca.issue(["a.example.com"]));
    writeSecret(secrets, "cert-b", await ca.issue(["b.example.com"]));
    [httpsPort, httpPort] = [await freePort(), await freePort()];
    writeFileSync(
      join(config, "mesh.yaml"),
      `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: ingress, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: ${httpsPort}, name: https-a, protocol: HTTPS}
    hosts: [a.example.com]
    tls: {mode: SIMPLE, credentialName: cert-a}
  - port: {number: ${httpsPort}, name: https-b, protocol: HTTPS}
    hosts: [b.example.com]
    tls: {mode: SIMPLE, credentialName: cert-b}
  - port: {number: ${httpPort}, name: http, protocol: HTTP}
    hosts: [a.example.com, b.example.com]
    tls: {httpsRedirect: true}
---
${staticServiceYaml("shop", [{ name: "shop-1", port: shop.port }])}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: default}
spec:
  hosts: [a.example.com, b.example.com]
  gateways: [istio-system/ingress]
  http:
  - route:
    - destination: {host: shop.default.svc.cluster.local, port: {number: 8080}}
`,
    );
    plane = await serve({ paths: [config], builder: createSnapshotBuilder(), host: "127.0.0.1", xdsPort: 0, httpPort: 0, pushDebounceMs: 20, log: () => {} });
    gw = spawnGateway(["--xds", `127.0.0.1:${plane.xds.port}`, "--node", NODE, "--labels", "istio=ingressgateway", "--secrets-dir", secrets, "--access-log", "off"]);
    await gw.waitFor(new RegExp(`listener "0\\.0\\.0\\.0_${httpsPort}" on https://`), 20_000);
    await gw.waitFor(new RegExp(`listener "0\\.0\\.0\\.0_${httpPort}" on http://`), 20_000);
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    await plane?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("SNI selects each host's certificate (credentialName), and both hosts are served", async () => {
    expect(subjectAltNames(await handshake(httpsPort, "a.example.com"))).toBe("DNS:a.example.com");
    expect(subjectAltNames(await handshake(httpsPort, "b.example.com"))).toBe("DNS:b.example.com");
    for (const host of ["a.example.com", "b.example.com"]) {
      const r = await httpsGet(httpsPort, host, "/buy?x=1");
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body)).toMatchObject({ upstream: "shop", url: "/buy?x=1", headers: { host, "x-forwarded-proto": "https" } });
    }
  });

  it("a server name no chain matches gets no handshake (Envoy: no filter chain, connection closed)", async () => {
    await expect(handshake(httpsPort, "c.example.com")).rejects.toThrow();
  });

  it("httpsRedirect: plain HTTP gets a 301 to https, whatever the route", async () => {
    const r = await httpRequest(`http://127.0.0.1:${httpPort}/buy?x=1`, { headers: { host: "a.example.com" } });
    expect(r.status).toBe(301);
    expect(r.headers.location).toMatch(/^https:\/\/a\.example\.com(:\d+)?\/buy\?x=1$/);
    expect(shop.seen.some((s) => s.headers["x-forwarded-proto"] === "http")).toBe(false);
  });
});

describe("static bootstrap TLS", () => {
  let dir: string;
  let server: Pem;

  beforeAll(async () => {
    dir = tempDir("halyard-gw-tls-");
    server = await ca.issue(["static.example.com", "*.wild.example.com"]);
    writeFileSync(join(dir, "server.crt"), server.cert);
    writeFileSync(join(dir, "server.key"), server.key);
    writeFileSync(join(dir, "ca.crt"), ca.cert);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const vhosts = (requireTls: boolean) => [
    { name: "all", domains: ["*"], ...(requireTls ? { require_tls: "ALL" } : {}), routes: [{ match: { prefix: "/" }, route: { cluster: "shop" } }] },
  ];

  function tlsListener(name: string, common: Record<string, unknown>, extra: Record<string, unknown> = {}, requireTls = false) {
    const l = listener({ name, port: 0, virtualHosts: vhosts(requireTls), ...(requireTls ? { hcmExtra: { use_remote_address: true } } : {}) });
    (l.filter_chains[0] as Record<string, unknown>).transport_socket = {
      name: "envoy.transport_sockets.tls",
      typed_config: { "@type": DOWNSTREAM_TLS, common_tls_context: common, ...extra },
    };
    return l;
  }

  const files = { tls_certificates: [{ certificate_chain: { filename: "server.crt" }, private_key: { filename: "server.key" } }] };

  it("certificate files; require_tls ALL redirects plain HTTP on a listener that has both", async () => {
    // One listener with a TLS chain and a plain chain (tls_inspector tells them apart), and require_tls.
    const mixed = tlsListener("mixed", files, {}, true);
    const plainChain = structuredClone((mixed.filter_chains[0] as { filters: unknown }).filters);
    (mixed as { filter_chains: unknown[] }).filter_chains.push({ filters: plainChain });
    (mixed as Record<string, unknown>).listener_filters = [
      { name: "envoy.filters.listener.tls_inspector", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector" } },
    ];
    const file = writeYaml(dir, "mixed.yaml", bootstrap([mixed], [staticCluster("shop", [shop.port])]));
    const gw = spawnGateway(["-c", file, "--access-log", "off"]);
    try {
      const port = Number((await gw.waitFor(/listener "mixed" on http:\/\/127\.0\.0\.1:(\d+)/, 20_000))[1]);
      const cert = await handshake(port, "x.wild.example.com");
      expect(cert.subjectaltname).toBe("DNS:static.example.com, DNS:*.wild.example.com");
      const ok = await httpsGet(port, "static.example.com", "/secure");
      expect([ok.status, JSON.parse(ok.body).url]).toEqual([200, "/secure"]);
      const redirect = await httpRequest(`http://127.0.0.1:${port}/secure?q=1`, { headers: { host: "static.example.com" } });
      expect([redirect.status, redirect.headers.location]).toEqual([301, "https://static.example.com/secure?q=1"]);
      // At the edge (use_remote_address) a client's own x-forwarded-proto does not get it past require_tls.
      const spoofed = await httpRequest(`http://127.0.0.1:${port}/secure`, { headers: { host: "static.example.com", "x-forwarded-proto": "https" } });
      expect(spoofed.status).toBe(301);
    } finally {
      await gw.stop();
    }
  });

  it("MUTUAL: a client certificate signed by the trusted CA is required", async () => {
    const mtls = tlsListener("mtls", { ...files, validation_context: { trusted_ca: { filename: "ca.crt" } } }, { require_client_certificate: true });
    const file = writeYaml(dir, "mtls.yaml", bootstrap([mtls], [staticCluster("shop", [shop.port])]));
    const gw = spawnGateway(["-c", file, "--access-log", "off"]);
    try {
      const port = Number((await gw.waitFor(/listener "mtls" on https:\/\/127\.0\.0\.1:(\d+)/, 20_000))[1]);
      const client = await ca.issue(["client.example.com"], { client: true });
      const ok = await httpsGet(port, "static.example.com", "/m", client);
      expect(ok.status).toBe(200);
      await expect(httpsGet(port, "static.example.com", "/m")).rejects.toThrow();
      const stranger = await (await createTestCa("another CA")).issue(["client.example.com"], { client: true });
      await expect(httpsGet(port, "static.example.com", "/m", stranger)).rejects.toThrow();
    } finally {
      await gw.stop();
    }
  });

  it("bad TLS config: one line naming the file, field and secret", async () => {
    const sds = { tls_certificate_sds_secret_configs: [{ name: "shop-cert", sds_config: { ads: {}, resource_api_version: "V3" } }] };
    const file = writeYaml(dir, "sds.yaml", bootstrap([tlsListener("sds", sds)], [staticCluster("shop", [shop.port])]));
    const cases: Array<[string[], RegExp]> = [
      [
        ["gateway", "-c", file],
        /^halyard gateway: \S+sds\.yaml:\d+: static_resources\.listeners\[0\]\.filter_chains\[0\]\.transport_socket\.typed_config\.common_tls_context\.tls_certificate_sds_secret_configs\[0\]\.name: SDS secret "shop-cert": no --secrets-dir given/,
      ],
      [["gateway", "-c", file, "--secrets-dir", dir], /SDS secret "shop-cert": \S+\/shop-cert\/tls\.crt: no such file$/],
      [
        ["gateway", "-c", writeYaml(dir, "nofile.yaml", bootstrap([tlsListener("f", { tls_certificates: [{ certificate_chain: { filename: "missing.crt" }, private_key: { filename: "server.key" } }] })], [staticCluster("shop", [shop.port])]))],
        /tls_certificates\[0\]\.certificate_chain\.filename: \S+missing\.crt: no such file$/,
      ],
    ];
    writeSecret(join(dir, "bad"), "shop-cert", { cert: server.cert, key: (await ca.issue(["other"])).key });
    cases.push([["gateway", "-c", file, "--secrets-dir", join(dir, "bad")], /SDS secret "shop-cert": the certificate and private key do not load/]);
    for (const [args, want] of cases) {
      const r = await runCli(args);
      expect(r.code).toBe(1);
      const lines = r.stderr.split("\n").filter(Boolean);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(want);
    }
  });
});
