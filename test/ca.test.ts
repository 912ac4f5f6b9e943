// The mesh CA library: the self-signed root kept in the state dir, a plugged-in cacerts CA, SPIFFE X.509-SVIDs
// from CSRs (checked with node:crypto against the spec's rules), refusals, TTL limits and service-account tokens.
import { createPrivateKey, X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { connect, createServer, type TLSSocket } from "node:tls";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT } from "jose";
import { afterAll, describe, expect, it } from "vitest";
import { MeshCa } from "../control/ca/ca.js";
import { loadPluggedInCa } from "../control/ca/cacerts.js";
import { createCsr } from "../control/ca/csr.js";
import { formatDuration, parseDuration } from "../control/ca/duration.js";
import { CaError } from "../control/ca/errors.js";
import { parseServiceAccount, parseSpiffeId } from "../control/ca/identity.js";
import { exportPrivateKeyPem, generateKeyPair } from "../control/ca/keys.js";
import { openMeshCa } from "../control/ca/open.js";
import { decodeCertificateRequest, encodeCertificateRequest } from "../control/ca/proto.js";
import { loadOrCreateTokenKeys, mintServiceAccountToken, TokenVerifier } from "../control/ca/token.js";
import { expectChain, expectSvid, keyAndCsr, writeTestCacerts } from "./helpers/ca.js";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "halyard-ca-"));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const web = { namespace: "default", serviceAccount: "web" };
const WEB_ID = "spiffe://cluster.local/ns/default/sa/web";
const DAY = 24 * 3_600_000;

async function refusal(p: Promise<unknown>): Promise<CaError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(CaError);
  return e as CaError;
}

async function spkiOf(keys: CryptoKeyPair): Promise<string> {
  return Buffer.from(await crypto.subtle.exportKey("spki", keys.publicKey)).toString("base64");
}

describe("self-signed root in the state dir", () => {
  it("is created on first start: ECDSA P-256, CA, self-signed, 10 years, key file 0600", async () => {
    const stateDir = tempDir();
    const logs: string[] = [];
    const ca = await openMeshCa({ stateDir, log: (l) => logs.push(l) });
    const certPem = readFileSync(join(stateDir, "ca/root-cert.pem"), "utf8");
    expect(ca.rootCertPem).toBe(certPem);
    expect(statSync(join(stateDir, "ca/root-key.pem")).mode & 0o777).toBe(0o600);
    const root = new X509Certificate(certPem);
    expect(root.ca).toBe(true);
    expect(root.verify(root.publicKey)).toBe(true);
    expect(root.subject).toContain("O=cluster.local");
    expect(root.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    const years = (Date.parse(root.validTo) - Date.now()) / (365 * DAY);
    expect(years).toBeGreaterThan(9.9);
    expect(years).toBeLessThan(10.1);
    expect(logs.join("\n")).toMatch(/created a self-signed root CA/);
  });

  it("is reused on restart: same root, and certificates issued before and after chain to it", async () => {
    const stateDir = tempDir();
    const first = await openMeshCa({ stateDir });
    const { csr } = await keyAndCsr([WEB_ID]);
    const before = await first.signCsr(csr, web);
    const second = await openMeshCa({ stateDir });
    expect(second.rootCertPem).toBe(first.rootCertPem);
    const after = await second.signCsr(csr, web);
    expectChain(before, second.rootCertPem);
    expectChain(after, first.rootCertPem);
    expect(after).toHaveLength(2);
  });

  it("refuses to start with only one of the two root files", async () => {
    const stateDir = tempDir();
    await openMeshCa({ stateDir });
    unlinkSync(join(stateDir, "ca/root-key.pem"));
    await expect(openMeshCa({ stateDir })).rejects.toThrow(`${join(stateDir, "ca/root-cert.pem")} exists but ${join(stateDir, "ca/root-key.pem")} does not`);
  });

  it("names the file when the stored key does not match the root", async () => {
    const stateDir = tempDir();
    await openMeshCa({ stateDir });
    writeFileSync(join(stateDir, "ca/root-key.pem"), await exportPrivateKeyPem((await generateKeyPair()).privateKey));
    await expect(openMeshCa({ stateDir })).rejects.toThrow(`${join(stateDir, "ca/root-key.pem")}: does not match the public key of ${join(stateDir, "ca/root-cert.pem")}`);
  });
});

describe("SPIFFE X.509-SVIDs from CSRs", () => {
  let ca: MeshCa;
  const logs: string[] = [];
  const setup = async () => (ca ??= await openMeshCa({ stateDir: tempDir(), log: (l) => logs.push(l) }));

  it("ECDSA P-256 CSR: one URI SAN, CA:false, digitalSignature, server+client auth, 24 h, the CSR's key", async () => {
    await setup();
    const { keys, csr } = await keyAndCsr([WEB_ID]);
    const chain = await ca.signCsr(csr, web);
    const leaf = expectSvid(chain[0]!, { spiffeId: WEB_ID, ttlMs: DAY });
    expectChain(chain, ca.rootCertPem);
    expect(leaf.verify(new X509Certificate(ca.rootCertPem).publicKey)).toBe(true);
    expect(leaf.publicKey.export({ type: "spki", format: "der" }).toString("base64")).toBe(await spkiOf(keys));
  });

  it("RSA-2048 CSR: keyEncipherment too", async () => {
    await setup();
    const { csr } = await keyAndCsr([WEB_ID], "rsa-2048");
    const chain = await ca.signCsr(csr, web);
    const leaf = expectSvid(chain[0]!, { spiffeId: WEB_ID, rsa: true, ttlMs: DAY });
    expect(leaf.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  it("a CSR without SANs gets the caller's identity; its subject is ignored", async () => {
    await setup();
    const keys = await generateKeyPair();
    const csr = await createCsr(keys, { subject: "CN=admin, O=evil" });
    expectSvid((await ca.signCsr(csr, web))[0]!, { spiffeId: WEB_ID, ttlMs: DAY });
  });

  it("serial numbers are random 128-bit values", async () => {
    await setup();
    const { csr } = await keyAndCsr([WEB_ID]);
    const serials = new Set<string>();
    for (let i = 0; i < 5; i++) serials.add(new X509Certificate((await ca.signCsr(csr, web))[0]!).serialNumber);
    expect(serials.size).toBe(5);
  });

  it("refuses and logs a CSR naming another identity or any other SAN", async () => {
    await setup();
    for (const uris of [["spiffe://cluster.local/ns/default/sa/admin"], [WEB_ID, "spiffe://cluster.local/ns/kube-system/sa/admin"]]) {
      const { csr } = await keyAndCsr(uris);
      const e = await refusal(ca.signCsr(csr, web));
      expect(e.kind).toBe("permission-denied");
      expect(e.message).toMatch(/^CSR names URI:spiffe:\/\/cluster\.local\/ns\/(default|kube-system)\/sa\/admin but the caller is spiffe:\/\/cluster\.local\/ns\/default\/sa\/web/);
    }
    const dns = await createCsr(await generateKeyPair(), { dnsNames: ["payments.example.com"] });
    expect((await refusal(ca.signCsr(dns, web))).message).toMatch(/^CSR names DNS:payments\.example\.com but the caller is/);
    expect(logs.filter((l) => l.startsWith("ca: refused a CSR from spiffe://cluster.local/ns/default/sa/web"))).toHaveLength(3);
  });

  it("refuses malformed CSRs as invalid arguments with a one-line reason", async () => {
    await setup();
    const { csr } = await keyAndCsr([WEB_ID]);
    const b64 = csr.split("\n").filter((l) => l && !l.startsWith("-----")).join("");
    const der = Buffer.from(b64, "base64");
    der[der.length - 5]! ^= 0xff; // inside the signature
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64")}\n-----END CERTIFICATE REQUEST-----\n`;
    const cases: [string, RegExp][] = [
      ["", /^CSR is empty$/],
      ["hello", /^CSR is not a PEM "CERTIFICATE REQUEST" block$/],
      ["-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", /^CSR is not a valid PKCS#10 request: /],
      [tampered, /^CSR signature (does not verify with its own public key|cannot be checked: .*)$/],
    ];
    for (const [text, message] of cases) {
      const e = await refusal(ca.signCsr(text, web));
      expect(e.kind).toBe("invalid-argument");
      expect(e.message).toMatch(message);
      expect(e.message).not.toContain("\n");
    }
  });

  it("TTL: requested, default when 0, refused above the 90-day maximum as istiod does", async () => {
    await setup();
    const { csr } = await keyAndCsr([WEB_ID]);
    expectSvid((await ca.signCsr(csr, web, 3600))[0]!, { spiffeId: WEB_ID, ttlMs: 3_600_000 });
    expectSvid((await ca.signCsr(csr, web, 0))[0]!, { spiffeId: WEB_ID, ttlMs: DAY });
    expectSvid((await ca.signCsr(csr, web, 90 * 86400))[0]!, { spiffeId: WEB_ID, ttlMs: 90 * DAY });
    const e = await refusal(ca.signCsr(csr, web, 91 * 86400));
    expect([e.kind, e.message]).toEqual(["invalid-argument", "requested TTL 2184h0m0s is greater than the max allowed TTL 2160h0m0s"]);
  });

  it("the default TTL and the trust domain are configurable", async () => {
    const other = await openMeshCa({ stateDir: tempDir(), trustDomain: "example.org", workloadCertTtlMs: 2 * 3_600_000 });
    const id = "spiffe://example.org/ns/shop/sa/cart";
    const { csr } = await keyAndCsr([id]);
    expectSvid((await other.signCsr(csr, { namespace: "shop", serviceAccount: "cart" }))[0]!, { spiffeId: id, ttlMs: 2 * 3_600_000 });
    expect(new X509Certificate(other.rootCertPem).subject).toContain("O=example.org");
    await expect(openMeshCa({ stateDir: tempDir(), trustDomain: "Bad Domain" })).rejects.toThrow(/^trust domain "Bad Domain" must be/);
    const untouched = tempDir();
    await expect(openMeshCa({ stateDir: untouched, workloadCertTtlMs: 100 * DAY })).rejects.toThrow(/^workload certificate TTL 2400h0m0s is greater than the max allowed TTL 2160h0m0s$/);
    expect(existsSync(join(untouched, "ca"))).toBe(false);
  });

  it("issues the server certificate with DNS and IP SANs and a key made here", async () => {
    await setup();
    const issued = await ca.issueWithNewKey({ dnsNames: ["istiod.istio-system.svc", "localhost"], ipAddresses: ["127.0.0.1"], ttlMs: DAY });
    const leaf = new X509Certificate(issued.certChainPem[0]!);
    expect(leaf.subjectAltName).toBe("DNS:istiod.istio-system.svc, DNS:localhost, IP Address:127.0.0.1");
    expect(leaf.checkHost("localhost")).toBe("localhost");
    expect(leaf.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(leaf.checkPrivateKey(createPrivateKey(issued.privateKeyPem))).toBe(true);
    expectChain(issued.certChainPem, ca.rootCertPem);
  });
});

describe("plugged-in CA (Istio cacerts layout)", () => {
  it("signs with ca-cert.pem; chains carry the intermediate and end at root-cert.pem", async () => {
    const stateDir = tempDir();
    const cacerts = await writeTestCacerts(join(stateDir, "cacerts"));
    const ca = await openMeshCa({ stateDir }); // found in <state dir>/cacerts
    expect(ca.source).toBe(`cacerts ${cacerts.dir}`);
    expect(ca.rootCertPem).toBe(cacerts.rootPem);
    const { keyPem, csr } = await keyAndCsr([WEB_ID]);
    const chain = await ca.signCsr(csr, web);
    expect(chain).toHaveLength(3);
    expect(chain[1]).toBe(cacerts.caCertPem);
    expectSvid(chain[0]!, { spiffeId: WEB_ID, ttlMs: DAY });
    expectChain(chain, cacerts.rootPem);
    expect(new X509Certificate(chain[0]!).issuer).toBe(new X509Certificate(cacerts.caCertPem).subject);

    // OpenSSL's own chain building agrees: a TLS server presenting leaf + intermediate is trusted via the root.
    const server = createServer({ key: keyPem, cert: chain[0]! + chain[1]! }, (s) => s.end());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const socket = await new Promise<TLSSocket>((resolve, reject) => {
        const s = connect({ host: "127.0.0.1", port: (server.address() as AddressInfo).port, ca: cacerts.rootPem, checkServerIdentity: () => undefined }, () => resolve(s));
        s.on("error", reject);
      });
      expect(socket.authorized).toBe(true);
      socket.destroy();
    } finally {
      server.close();
    }
  });

  it("accepts cert-chain.pem without the root too", async () => {
    const cacerts = await writeTestCacerts(join(tempDir(), "cacerts"), { chainIncludesRoot: false });
    const ca = await openMeshCa({ stateDir: tempDir(), cacertsDir: cacerts.dir });
    const { csr } = await keyAndCsr([WEB_ID]);
    expectChain(await ca.signCsr(csr, web), cacerts.rootPem);
  });

  it("names the directory and file when something is missing or does not fit", async () => {
    const a = await writeTestCacerts(join(tempDir(), "a"));
    const b = await writeTestCacerts(join(tempDir(), "b"));
    unlinkSync(join(a.dir, "cert-chain.pem"));
    await expect(loadPluggedInCa(a.dir)).rejects.toThrow(`cacerts ${a.dir}: cert-chain.pem is missing`);
    writeFileSync(join(a.dir, "cert-chain.pem"), a.caCertPem);
    writeFileSync(join(a.dir, "ca-key.pem"), readFileSync(join(b.dir, "ca-key.pem")));
    await expect(loadPluggedInCa(a.dir)).rejects.toThrow(`${join(a.dir, "ca-key.pem")}: does not match the public key of ${join(a.dir, "ca-cert.pem")}`);
    writeFileSync(join(b.dir, "root-cert.pem"), a.rootPem);
    await expect(loadPluggedInCa(b.dir)).rejects.toThrow(`cacerts ${b.dir}: certificate 2 of cert-chain.pem (O=Example Corp, CN=Example Root CA) is a root other than root-cert.pem`);
    writeFileSync(join(b.dir, "cert-chain.pem"), b.caCertPem);
    await expect(loadPluggedInCa(b.dir)).rejects.toThrow(`cacerts ${b.dir}: ca-cert.pem (O=Example Corp, CN=Halyard Intermediate CA) is not signed by root-cert.pem`);
    writeFileSync(join(b.dir, "ca-cert.pem"), "not a cert");
    await expect(loadPluggedInCa(b.dir)).rejects.toThrow(`${join(b.dir, "ca-cert.pem")}: no PEM certificate found`);
  });
});

describe("service-account tokens", () => {
  it("mints ES256 tokens the verifier maps back to the service account; the key file is 0600 and reused", async () => {
    const stateDir = tempDir();
    const keys = await loadOrCreateTokenKeys(stateDir);
    expect(statSync(join(stateDir, "ca/token-key.pem")).mode & 0o777).toBe(0o600);
    const token = await mintServiceAccountToken(keys, web);
    const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());
    expect(claims).toMatchObject({ iss: "halyard", aud: "halyard-ca", sub: "system:serviceaccount:default:web" });
    expect(claims.exp - claims.iat).toBe(3600);
    const verifier = await TokenVerifier.fromStateDir(stateDir); // loads the same key
    expect(await verifier.verify(token)).toEqual(web);
  });

  it("rejects expired, foreign, wrong-audience and malformed tokens as unauthenticated", async () => {
    const stateDir = tempDir();
    const keys = await loadOrCreateTokenKeys(stateDir);
    const verifier = await TokenVerifier.fromStateDir(stateDir);
    const now = Math.floor(Date.now() / 1000);
    const signed = (claims: Record<string, unknown>, key = keys.privateKey) => new SignJWT(claims).setProtectedHeader({ alg: "ES256" }).sign(key);
    const base = { iss: "halyard", aud: "halyard-ca", sub: "system:serviceaccount:default:web", iat: now - 7200, exp: now + 600 };
    const foreign = await loadOrCreateTokenKeys(tempDir());
    const cases: [string, RegExp][] = [
      [await signed({ ...base, exp: now - 60 }), /^token rejected: expired$/],
      [await signed(base, foreign.privateKey), /^token rejected: signature does not verify/],
      [await signed({ ...base, aud: "kubernetes" }), /^token rejected: claim "aud"/],
      [await signed({ ...base, sub: "alice" }), /^token rejected: sub "alice" is not system:serviceaccount:/],
      [await signed({ iss: "halyard", aud: "halyard-ca", sub: base.sub }), /^token rejected: claim "exp" is missing/],
      ["not.a.jwt", /^token rejected: not a well-formed JWT$/],
    ];
    for (const [token, message] of cases) {
      const e = await refusal(verifier.verify(token));
      expect(e.kind).toBe("unauthenticated");
      expect(e.message).toMatch(message);
    }
  });
});

describe("small parts", () => {
  it("durations, service accounts, SPIFFE IDs and the request message", () => {
    expect(parseDuration("24h")).toBe(DAY);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("90s")).toBe(90_000);
    expect(parseDuration("1d")).toBeUndefined();
    expect(parseDuration("0s")).toBeUndefined();
    expect(formatDuration(90 * DAY)).toBe("2160h0m0s");
    expect(parseServiceAccount("default/web")).toEqual(web);
    expect(() => parseServiceAccount("web")).toThrow('"web" is not <namespace>/<service-account>');
    expect(parseSpiffeId(WEB_ID, "cluster.local")).toEqual(web);
    expect(parseSpiffeId(WEB_ID, "example.org")).toBeUndefined();
    expect(parseSpiffeId("spiffe://cluster.local/ns/default/sa/web/extra", "cluster.local")).toBeUndefined();
    const bytes = encodeCertificateRequest({ csr: "x", validityDuration: 3600 });
    expect(decodeCertificateRequest(bytes)).toEqual({ csr: "x", validityDuration: 3600 });
    // Field 4 (metadata, a Struct) is skipped; a wrong wire type for a known field is reported.
    expect(decodeCertificateRequest(new Uint8Array([...bytes, 0x22, 0x00]))).toEqual({ csr: "x", validityDuration: 3600 });
    expect(decodeCertificateRequest(new Uint8Array([0x08, 0x01])).malformed).toMatch(/^request is not an istio\.v1\.auth\.IstioCertificateRequest: field 1 has wire type 0/);
  });
});
