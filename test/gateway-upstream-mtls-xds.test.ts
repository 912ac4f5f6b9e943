// Outbound mesh mTLS from Istio config, end to end: the real control plane (serve + control/translate/xds)
// translates a DestinationRule ISTIO_MUTUAL and auto-mTLS (a WorkloadEntry labelled tlsMode istio next to one
// without), and `halyard gateway --xds ... --secrets-dir` (secrets `default` and `ROOTCA` from the in-process mesh
// CA) calls real HTTPS upstreams on 127.0.0.1 with the workload certificate.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Server, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openMeshCa } from "../control/ca/open.js";
import { serve, type ControlPlane } from "../control/serve.js";
import { createSnapshotBuilder } from "../control/translate/xds/index.js";
import { freePort, httpRequest, requireBuiltCli } from "./helpers/gateway-process.js";
import { spawnGateway, type GatewayChild } from "./helpers/gateway-xds.js";
import { ingressGatewayYaml, staticServiceYaml } from "./helpers/istio-yaml.js";
import { issueSvid } from "./helpers/upstream-tls-secrets.js";

const NODE = "router~127.0.0.1~istio-ingress.istio-system~istio-system.svc.cluster.local";
const GATEWAY_ID = "spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway";

interface Seen {
  upstream: string;
  tls: boolean;
  sni?: string | false;
  clientSan?: string;
}

const servers: Server[] = [];

function answer(name: string) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket as Socket & Partial<TLSSocket>;
    const tls = socket.encrypted === true;
    const seen: Seen = { upstream: name, tls, ...(tls ? { sni: socket.servername ?? false, clientSan: socket.getPeerCertificate!().subjectaltname } : {}) };
    req.resume();
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(seen));
  };
}

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as AddressInfo).port;
}

let dir: string;
let plane: ControlPlane;
let gw: GatewayChild;
let port: number;

beforeAll(async () => {
  requireBuiltCli();
  dir = mkdtempSync(join(tmpdir(), "halyard-upstream-mtls-xds-"));
  const ca = await openMeshCa({ stateDir: join(dir, "ca") });
  const [gatewaySvid, shopSvid] = await Promise.all([issueSvid(ca, "istio-system", "istio-ingressgateway"), issueSvid(ca, "default", "shop")]);
  const secrets = join(dir, "secrets");
  mkdirSync(join(secrets, "default"), { recursive: true });
  mkdirSync(join(secrets, "ROOTCA"), { recursive: true });
  writeFileSync(join(secrets, "default", "tls.crt"), gatewaySvid.certificateChain);
  writeFileSync(join(secrets, "default", "tls.key"), gatewaySvid.privateKey);
  writeFileSync(join(secrets, "ROOTCA", "ca.crt"), ca.rootCertPem);

  const mtlsServer = (name: string) =>
    createHttpsServer({ cert: shopSvid.certificateChain, key: shopSvid.privateKey, requestCert: true, rejectUnauthorized: true, ca: ca.rootCertPem }, answer(name));
  const [shopPort, cartMeshPort, cartPlainPort] = await Promise.all([listen(mtlsServer("shop")), listen(mtlsServer("cart-sidecar")), listen(createHttpServer(answer("cart-plain")))]);
  port = await freePort();

  const config = join(dir, "config");
  mkdirSync(config);
  writeFileSync(
    join(config, "mesh.yaml"),
    `${ingressGatewayYaml(port)}---
${staticServiceYaml("shop", [{ name: "shop-1", port: shopPort, serviceAccount: "shop" }])}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: shop, namespace: default}
spec:
  host: shop.default.svc.cluster.local
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
---
${staticServiceYaml("cart", [
  { name: "cart-sidecar", port: cartMeshPort, labels: { "security.istio.io/tlsMode": "istio" }, serviceAccount: "shop" },
  { name: "cart-plain", port: cartPlainPort },
])}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: routes, namespace: default}
spec:
  hosts: ["*"]
  gateways: [istio-system/ingress]
  http:
  - match: [{uri: {prefix: /shop}}]
    route: [{destination: {host: shop.default.svc.cluster.local, port: {number: 8080}}}]
  - match: [{uri: {prefix: /cart}}]
    route: [{destination: {host: cart.default.svc.cluster.local, port: {number: 8080}}}]
`,
  );
  plane = await serve({ paths: [config], builder: createSnapshotBuilder(), host: "127.0.0.1", xdsPort: 0, httpPort: 0, pushDebounceMs: 20, log: () => {} });
  gw = spawnGateway(["--xds", `127.0.0.1:${plane.xds.port}`, "--node", NODE, "--labels", "istio=ingressgateway", "--secrets-dir", secrets, "--access-log", "off"]);
  await gw.waitFor(new RegExp(`listener "0\\.0\\.0\\.0_${port}" on http://`), 20_000);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await plane?.close();
  for (const s of servers) {
    (s as { closeAllConnections?: () => void }).closeAllConnections?.();
    s.close();
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("outbound mesh mTLS from Istio config", () => {
  it("DestinationRule ISTIO_MUTUAL: the upstream sees the gateway's SPIFFE id and Istio's SNI", async () => {
    const r = await httpRequest(`http://127.0.0.1:${port}/shop/buy`, { headers: { host: "shop.example.com" } });
    expect(r.status, gw.output()).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ upstream: "shop", tls: true, sni: "outbound_.8080_._.shop.default.svc.cluster.local", clientSan: `URI:${GATEWAY_ID}` });
  });

  it("auto-mTLS: the tlsMode istio endpoint gets mTLS, the other plain text, in one cluster", async () => {
    // Istio's LEAST_REQUEST picks among idle hosts at random: ask until both have answered (bounded).
    const seen: Seen[] = [];
    for (let i = 0; i < 40 && new Set(seen.map((s) => s.upstream)).size < 2; i++) {
      const r = await httpRequest(`http://127.0.0.1:${port}/cart/${i}`, { headers: { host: "shop.example.com" } });
      expect(r.status, gw.output()).toBe(200);
      seen.push(JSON.parse(r.body) as Seen);
    }
    expect(new Set(seen.map((s) => s.upstream)), gw.output()).toEqual(new Set(["cart-sidecar", "cart-plain"]));
    for (const s of seen) {
      if (s.upstream === "cart-sidecar") expect(s).toMatchObject({ tls: true, clientSan: `URI:${GATEWAY_ID}` });
      else expect(s.tls).toBe(false);
    }
  });
});
