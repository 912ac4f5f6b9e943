// The certificate API over real TLS with a real grpc-js client: CreateCertificate with a token and with a client
// certificate, refusals as gRPC statuses (the server keeps serving), the serving certificate, `halyard serve` wiring
// (root certificate on the HTTP port) and the `halyard token create` CLI.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type PeerCertificate } from "node:tls";
import { X509Certificate } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MeshCa } from "../control/ca/ca.js";
import { openMeshCa } from "../control/ca/open.js";
import { CREATE_CERTIFICATE_PATH } from "../control/ca/proto.js";
import { startCaServer, type RunningCaServer } from "../control/ca/server.js";
import { loadOrCreateTokenKeys, mintServiceAccountToken, TokenVerifier } from "../control/ca/token.js";
import { serve, type ControlPlane } from "../control/serve.js";
import { certificateClient, createCertificate, expectChain, expectSvid, keyAndCsr, type CallResult, type CertificateClient } from "./helpers/ca.js";
import { root } from "./helpers/gateway-process.js";

const DAY = 24 * 3_600_000;
const web = { namespace: "default", serviceAccount: "web" };
const WEB_ID = "spiffe://cluster.local/ns/default/sa/web";
const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "halyard-ca-server-"));
  dirs.push(d);
  return d;
}

let stateDir: string;
let ca: MeshCa;
let server: RunningCaServer;
let client: CertificateClient;
let token: string;
const logs: string[] = [];

beforeAll(async () => {
  stateDir = tempDir();
  ca = await openMeshCa({ stateDir, log: (l) => logs.push(l) });
  server = await startCaServer({ ca, tokenVerifier: await TokenVerifier.fromStateDir(stateDir), host: "127.0.0.1", port: 0, log: (l) => logs.push(l) });
  client = certificateClient(server.port, ca.rootCertPem);
  token = await mintServiceAccountToken(await loadOrCreateTokenKeys(stateDir), web);
});
afterAll(async () => {
  client?.close();
  await server?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function expectRefused(result: CallResult, code: grpc.status, details: RegExp): void {
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect([grpc.status[result.code], result.details]).toEqual([grpc.status[code], expect.stringMatching(details)]);
  expect(result.details).not.toContain("\n");
}

async function expectStillServing(): Promise<void> {
  const { csr } = await keyAndCsr([WEB_ID]);
  const result = await createCertificate(client, { csr }, token);
  expect(result.ok).toBe(true);
}

describe("CreateCertificate over TLS", () => {
  it("the server presents a CA-issued certificate for istiod.istio-system.svc, localhost and 127.0.0.1", async () => {
    const peer = await new Promise<PeerCertificate>((resolve, reject) => {
      const s = connect({ host: "127.0.0.1", port: server.port, ca: ca.rootCertPem, servername: "localhost", ALPNProtocols: ["h2"] }, () => {
        expect(s.authorized).toBe(true);
        resolve(s.getPeerCertificate());
        s.destroy();
      });
      s.on("error", reject);
    });
    expect(peer.subjectaltname).toBe("DNS:istiod.istio-system.svc, DNS:localhost, IP Address:127.0.0.1");
    const leaf = new X509Certificate(server.serverCertChainPem()[0]!);
    expect(leaf.verify(new X509Certificate(ca.rootCertPem).publicKey)).toBe(true);
    expect(leaf.fingerprint256).toBe(peer.fingerprint256);
  });

  it("with a bearer token: a certificate for the token's service account, chained to the root", async () => {
    const { csr } = await keyAndCsr([WEB_ID]);
    const result = await createCertificate(client, { csr, validityDuration: 7200 }, token);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expectSvid(result.certChain[0]!, { spiffeId: WEB_ID, ttlMs: 7_200_000 });
    expectChain(result.certChain, ca.rootCertPem);
    expect(result.certChain.at(-1)).toBe(ca.rootCertPem);
  });

  it("with a client certificate (mTLS): its SPIFFE identity, no token needed; RSA keys work too", async () => {
    const first = await keyAndCsr([WEB_ID], "rsa-2048");
    const issued = await createCertificate(client, { csr: first.csr }, token);
    if (!issued.ok) throw new Error(issued.details);
    const mtls = certificateClient(server.port, ca.rootCertPem, { keyPem: first.keyPem, chainPem: issued.certChain.slice(0, -1).join("") });
    try {
      const next = await keyAndCsr([]);
      const renewed = await createCertificate(mtls, { csr: next.csr });
      if (!renewed.ok) throw new Error(renewed.details);
      expectSvid(renewed.certChain[0]!, { spiffeId: WEB_ID, ttlMs: DAY });
      // The certificate proves web, so it cannot be used to get another identity.
      const other = await keyAndCsr(["spiffe://cluster.local/ns/default/sa/admin"]);
      expectRefused(await createCertificate(mtls, { csr: other.csr }), grpc.status.PERMISSION_DENIED, /^CSR names URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/admin but the caller is spiffe:\/\/cluster\.local\/ns\/default\/sa\/web/);
    } finally {
      mtls.close();
    }
  });

  it("a client certificate from another CA is not an identity", async () => {
    const foreignState = tempDir();
    const foreign = await openMeshCa({ stateDir: foreignState });
    const { keyPem, csr } = await keyAndCsr([WEB_ID]);
    const chain = await foreign.signCsr(csr, web);
    const stranger = certificateClient(server.port, ca.rootCertPem, { keyPem, chainPem: chain[0]! });
    try {
      expectRefused(await createCertificate(stranger, { csr }), grpc.status.UNAUTHENTICATED, /^no client certificate issued by the mesh CA, and no bearer token/);
    } finally {
      stranger.close();
    }
  });

  it("refuses a CSR for another identity with PERMISSION_DENIED, logs it, and keeps serving", async () => {
    const { csr } = await keyAndCsr(["spiffe://cluster.local/ns/istio-system/sa/istiod"]);
    expectRefused(await createCertificate(client, { csr }, token), grpc.status.PERMISSION_DENIED, /a workload may only obtain its own identity$/);
    expect(logs).toContain("ca: refused a CSR from spiffe://cluster.local/ns/default/sa/web naming URI:spiffe://cluster.local/ns/istio-system/sa/istiod");
    await expectStillServing();
  });

  it("refuses bad, foreign and expired tokens and missing credentials with UNAUTHENTICATED", async () => {
    const { csr } = await keyAndCsr([WEB_ID]);
    const keys = await loadOrCreateTokenKeys(stateDir);
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ sub: "system:serviceaccount:default:web" })
      .setProtectedHeader({ alg: "ES256" })
      .setIssuer("halyard")
      .setAudience("halyard-ca")
      .setIssuedAt(now - 7200)
      .setExpirationTime(now - 3600)
      .sign(keys.privateKey);
    const foreign = await mintServiceAccountToken(await loadOrCreateTokenKeys(tempDir()), web);
    expectRefused(await createCertificate(client, { csr }, expired), grpc.status.UNAUTHENTICATED, /^token rejected: expired$/);
    expectRefused(await createCertificate(client, { csr }, foreign), grpc.status.UNAUTHENTICATED, /^token rejected: signature does not verify/);
    expectRefused(await createCertificate(client, { csr }, "garbage"), grpc.status.UNAUTHENTICATED, /^token rejected: not a well-formed JWT$/);
    expectRefused(await createCertificate(client, { csr }), grpc.status.UNAUTHENTICATED, /^no client certificate issued by the mesh CA, and no bearer token in the authorization metadata$/);
    await expectStillServing();
  });

  it("refuses malformed CSRs, malformed requests and too-long TTLs with INVALID_ARGUMENT", async () => {
    expectRefused(await createCertificate(client, { csr: "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n" }, token), grpc.status.INVALID_ARGUMENT, /^CSR is not a valid PKCS#10 request: /);
    expectRefused(await createCertificate(client, { csr: "" }, token), grpc.status.INVALID_ARGUMENT, /^CSR is empty$/);
    const { csr } = await keyAndCsr([WEB_ID]);
    expectRefused(await createCertificate(client, { csr, validityDuration: 100 * 86400 }, token), grpc.status.INVALID_ARGUMENT, /^requested TTL 2400h0m0s is greater than the max allowed TTL 2160h0m0s$/);

    // Bytes that are not an IstioCertificateRequest at all (field 1 as a varint).
    const raw = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createSsl(Buffer.from(ca.rootCertPem)), { "grpc.ssl_target_name_override": "localhost" });
    try {
      const metadata = new grpc.Metadata();
      metadata.set("authorization", `Bearer ${token}`);
      const err = await new Promise<grpc.ServiceError | null>((resolve) =>
        raw.makeUnaryRequest(CREATE_CERTIFICATE_PATH, (b: Buffer) => b, (b: Buffer) => b, Buffer.from([0x08, 0x01]), metadata, (e) => resolve(e)),
      );
      expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err?.details).toMatch(/^request is not an istio\.v1\.auth\.IstioCertificateRequest: field 1 has wire type 0/);
    } finally {
      raw.close();
    }
    await expectStillServing();
  });

  it("serves many callers at once", async () => {
    const requests = await Promise.all(Array.from({ length: 20 }, () => keyAndCsr([WEB_ID])));
    const results = await Promise.all(requests.map(({ csr }) => createCertificate(client, { csr }, token)));
    expect(results.every((r) => r.ok)).toBe(true);
  });

  it("renews its own certificate at half its lifetime", async () => {
    const dir = tempDir();
    const shortCa = await openMeshCa({ stateDir: dir, workloadCertTtlMs: 2000 });
    const short = await startCaServer({ ca: shortCa, tokenVerifier: await TokenVerifier.fromStateDir(dir), host: "127.0.0.1", port: 0 });
    try {
      const first = short.serverCertChainPem()[0];
      const deadline = Date.now() + 5000;
      while (short.serverCertChainPem()[0] === first && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(short.serverCertChainPem()[0]).not.toBe(first);
      // And the renewed certificate is the one served.
      const c = certificateClient(short.port, shortCa.rootCertPem);
      try {
        const { csr } = await keyAndCsr([WEB_ID]);
        const r = await createCertificate(c, { csr }, await mintServiceAccountToken(await loadOrCreateTokenKeys(dir), web));
        expect(r.ok).toBe(true);
      } finally {
        c.close();
      }
    } finally {
      await short.close();
    }
  });

  it("names the address when the port is taken", async () => {
    await expect(startCaServer({ ca, tokenVerifier: await TokenVerifier.fromStateDir(stateDir), host: "127.0.0.1", port: server.port })).rejects.toThrow(
      new RegExp(`^certificate server on 127\\.0\\.0\\.1:${server.port}: `),
    );
  });
});

describe("halyard serve with the CA", () => {
  let plane: ControlPlane;
  let planeState: string;
  beforeAll(async () => {
    const config = tempDir();
    writeFileSync(join(config, "se.yaml"), "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: a, namespace: default}\nspec:\n  hosts: [a.example.com]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  resolution: DNS\n");
    planeState = tempDir();
    plane = await serve({
      paths: [config],
      builder: { build: () => ({}) },
      host: "127.0.0.1",
      xdsPort: 0,
      httpPort: 0,
      ca: { stateDir: planeState, port: 0, workloadCertTtlMs: 3_600_000 },
      log: () => {},
    });
  });
  afterAll(async () => {
    await plane?.close();
  });

  it("publishes the root at /ca/root-cert.pem and signs with the configured TTL", async () => {
    const res = await fetch(`http://127.0.0.1:${plane.http.port}/ca/root-cert.pem`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-pem-file");
    const pem = await res.text();
    expect(pem).toBe(readFileSync(join(planeState, "ca/root-cert.pem"), "utf8"));
    expect(plane.ca?.rootCertPem).toBe(pem);

    const c = certificateClient(plane.ca!.port, pem);
    try {
      const { csr } = await keyAndCsr([WEB_ID]);
      const r = await createCertificate(c, { csr }, await mintServiceAccountToken(await loadOrCreateTokenKeys(planeState), web));
      if (!r.ok) throw new Error(r.details);
      expectSvid(r.certChain[0]!, { spiffeId: WEB_ID, ttlMs: 3_600_000 });
    } finally {
      c.close();
    }
  });
});

describe("CLI", () => {
  const bin = join(root, "bin/halyard.js");
  beforeAll(() => {
    if (!existsSync(join(root, "dist/control/cli/token.js"))) {
      throw new Error("dist/control/cli/token.js is missing: run `node scripts/build.js protos ts` before these tests");
    }
  });

  it("`halyard token create` prints a token the certificate API accepts", async () => {
    const r = spawnSync(process.execPath, [bin, "token", "create", "--sa", "default/web", "--ttl", "10m", "--state-dir", stateDir], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const printed = r.stdout.trim();
    const claims = JSON.parse(Buffer.from(printed.split(".")[1]!, "base64url").toString());
    expect(claims.exp - claims.iat).toBe(600);
    const { csr } = await keyAndCsr([WEB_ID]);
    const result = await createCertificate(client, { csr }, printed);
    expect(result.ok).toBe(true);
  });

  it("`halyard token create` argument errors are one line, exit 1", () => {
    for (const [args, message] of [
      [[], /^halyard token create: --sa is required; usage: /],
      [["--sa", "web"], /^halyard token create: "web" is not <namespace>\/<service-account>; usage: /],
      [["--sa", "a/b", "--ttl", "2d"], /^halyard token create: --ttl: "2d" is not a duration/],
      [["--sa", "a/b", "--ttl", "25h"], /^halyard token create: --ttl: 25h is outside 1s\.\.24h0m0s/],
      [["--sa", "a/b", "--bogus"], /^halyard token create: unknown option --bogus; usage: /],
    ] as [string[], RegExp][]) {
      const r = spawnSync(process.execPath, [bin, "token", "create", ...args, "--state-dir", tempDir()], { encoding: "utf8" });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });

  it("`halyard serve --ca-port 0` keeps its state in ./.halyard, prints the CA address and serves the root over HTTP", async () => {
    const config = tempDir();
    writeFileSync(join(config, "se.yaml"), "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: a, namespace: default}\nspec:\n  hosts: [a.example.com]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  resolution: DNS\n");
    const cwd = tempDir();
    const dir = join(cwd, ".halyard");
    const child = spawn(process.execPath, [join(root, "test/fixtures/xds/serve-cli.mjs"), "-f", config, "--host", "127.0.0.1", "--xds-port", "0", "--http-port", "0", "--ca-port", "0", "--workload-cert-ttl", "2h"], {
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    try {
      const deadline = Date.now() + 15_000;
      while (!/^ca grpc\+tls on /m.test(out) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 25));
      const caPort = Number(/^ca grpc\+tls on 127\.0\.0\.1:(\d+) /m.exec(out)?.[1] ?? NaN);
      const httpPort = Number(/^http on http:\/\/127\.0\.0\.1:(\d+) /m.exec(out)?.[1] ?? NaN);
      expect(caPort, `stdout:\n${out}\nstderr:\n${err}`).toBeGreaterThan(0);
      const pem = await (await fetch(`http://127.0.0.1:${httpPort}/ca/root-cert.pem`)).text();
      expect(pem).toBe(readFileSync(join(dir, "ca/root-cert.pem"), "utf8"));
      const c = certificateClient(caPort, pem);
      try {
        const cli = spawnSync(process.execPath, [bin, "token", "create", "--sa", "default/web", "--state-dir", dir], { encoding: "utf8" });
        const { csr } = await keyAndCsr([WEB_ID]);
        const r = await createCertificate(c, { csr }, cli.stdout.trim());
        if (!r.ok) throw new Error(r.details);
        expectSvid(r.certChain[0]!, { spiffeId: WEB_ID, ttlMs: 2 * 3_600_000 });
      } finally {
        c.close();
      }
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once("exit", r)));
    }
    expect(child.exitCode).toBe(0);
  });
});
