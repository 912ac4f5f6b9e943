// Helpers for the CA tests: SPIFFE-rule checks with node:crypto + @peculiar/x509, a test cacerts directory
// (root + intermediate in Istio's layout), and a grpc-js client for istio.v1.auth.IstioCertificateService.
import { createPrivateKey, X509Certificate } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { expect } from "vitest";
import { createCsr } from "../../control/ca/csr.js";
import { exportPrivateKeyPem, generateKeyPair, signatureAlgorithm, type KeyType } from "../../control/ca/keys.js";
import type { IstioCertificateResponse } from "../../control/ca/proto.js";
import { certificateServiceDefinition } from "../../control/ca/service.js";
import { x509 } from "../../control/ca/x509.js";

export interface SvidExpectations {
  spiffeId: string;
  rsa?: boolean;
  ttlMs: number;
}

/** Asserts the SPIFFE X.509-SVID rules on a leaf PEM; returns the parsed certificate. */
export function expectSvid(pem: string, want: SvidExpectations): X509Certificate {
  const cert = new X509Certificate(pem);
  const parsed = new x509.X509Certificate(pem);
  expect(cert.subjectAltName).toBe(`URI:${want.spiffeId}`);
  expect(cert.ca).toBe(false);
  expect(cert.subject ?? "").toBe("");
  const san = parsed.getExtension(x509.SubjectAlternativeNameExtension)!;
  expect(san.names.items.map((n) => [n.type, n.value])).toEqual([["url", want.spiffeId]]);
  expect(san.critical).toBe(true); // empty subject
  const basic = parsed.getExtension(x509.BasicConstraintsExtension)!;
  expect([basic.ca, basic.critical]).toEqual([false, true]);
  const keyUsage = parsed.getExtension(x509.KeyUsagesExtension)!;
  const wantUsage = x509.KeyUsageFlags.digitalSignature | (want.rsa ? x509.KeyUsageFlags.keyEncipherment : 0);
  expect([keyUsage.usages, keyUsage.critical]).toEqual([wantUsage, true]);
  expect([...(cert.keyUsage ?? [])].sort()).toEqual(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
  expect(cert.serialNumber).toMatch(/^[0-9A-F]{32}$/);
  const now = Date.now();
  const notBefore = Date.parse(cert.validFrom);
  const notAfter = Date.parse(cert.validTo);
  expect(notBefore).toBeLessThanOrEqual(now - 60_000);
  expect(notBefore).toBeGreaterThan(now - 10 * 60_000);
  expect(Math.abs(notAfter - (now + want.ttlMs))).toBeLessThan(15_000);
  return cert;
}

/** Asserts `chain` (leaf first, root last) links up by signature and issuer name, and ends at `rootPem`. */
export function expectChain(chain: string[], rootPem: string): void {
  const certs = chain.map((p) => new X509Certificate(p));
  const root = new X509Certificate(rootPem);
  expect(certs.at(-1)!.fingerprint256).toBe(root.fingerprint256);
  for (let i = 0; i + 1 < certs.length; i++) {
    expect(certs[i]!.verify(certs[i + 1]!.publicKey)).toBe(true);
    expect(certs[i]!.checkIssued(certs[i + 1]!)).toBe(true);
  }
  expect(root.verify(root.publicKey)).toBe(true);
}

export interface TestCacerts {
  dir: string;
  rootPem: string;
  caCertPem: string;
}

/**
 * A cacerts directory as an operator would make it: an RSA-2048 root, an ECDSA intermediate signed by it whose key
 * is in SEC1 "EC PRIVATE KEY" form, and cert-chain.pem = ca-cert + root (Istio's sample layout).
 */
export async function writeTestCacerts(dir: string, options: { chainIncludesRoot?: boolean } = {}): Promise<TestCacerts> {
  mkdirSync(dir, { recursive: true });
  const now = Date.now();
  const rootKeys = await generateKeyPair("rsa-2048");
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    name: "O=Example Corp, CN=Example Root CA",
    keys: rootKeys,
    signingAlgorithm: signatureAlgorithm(rootKeys.privateKey),
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(now + 365 * 24 * 3_600_000),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  const caKeys = await generateKeyPair("ecdsa-p256");
  const caCert = await x509.X509CertificateGenerator.create({
    subject: "O=Example Corp, CN=Halyard Intermediate CA",
    issuer: root.subjectName,
    publicKey: caKeys.publicKey,
    signingKey: rootKeys.privateKey,
    signingAlgorithm: signatureAlgorithm(rootKeys.privateKey),
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(now + 180 * 24 * 3_600_000),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const rootPem = root.toString("pem") + "\n";
  const caCertPem = caCert.toString("pem") + "\n";
  const sec1 = createPrivateKey(await exportPrivateKeyPem(caKeys.privateKey)).export({ type: "sec1", format: "pem" }).toString();
  writeFileSync(join(dir, "root-cert.pem"), rootPem);
  writeFileSync(join(dir, "ca-cert.pem"), caCertPem);
  writeFileSync(join(dir, "ca-key.pem"), sec1);
  writeFileSync(join(dir, "cert-chain.pem"), options.chainIncludesRoot === false ? caCertPem : caCertPem + rootPem);
  return { dir, rootPem, caCertPem };
}

// ---- a grpc-js client of the certificate API ----

export type CertificateClient = grpc.Client & {
  CreateCertificate(
    req: { csr: string; validityDuration?: number },
    metadata: grpc.Metadata,
    callback: (err: grpc.ServiceError | null, res?: IstioCertificateResponse) => void,
  ): grpc.ClientUnaryCall;
};

const CertificateClientCtor = grpc.makeGenericClientConstructor(certificateServiceDefinition, "IstioCertificateService");

/** A client on 127.0.0.1:`port` trusting `rootPem`, checking the server's name istiod.istio-system.svc. */
export function certificateClient(port: number, rootPem: string, clientCert?: { keyPem: string; chainPem: string }): CertificateClient {
  const creds = grpc.credentials.createSsl(Buffer.from(rootPem), clientCert ? Buffer.from(clientCert.keyPem) : null, clientCert ? Buffer.from(clientCert.chainPem) : null);
  return new CertificateClientCtor(`127.0.0.1:${port}`, creds, { "grpc.ssl_target_name_override": "istiod.istio-system.svc" }) as CertificateClient;
}

export type CallResult = { ok: true; certChain: string[] } | { ok: false; code: grpc.status; details: string };

export function createCertificate(client: CertificateClient, req: { csr: string; validityDuration?: number }, token?: string): Promise<CallResult> {
  const metadata = new grpc.Metadata();
  if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
  return new Promise((resolve) => {
    client.CreateCertificate(req, metadata, (err, res) =>
      resolve(err ? { ok: false, code: err.code, details: err.details } : { ok: true, certChain: res!.certChain }),
    );
  });
}

/** A fresh key and a CSR for it asking for `uris`. */
export async function keyAndCsr(uris: string[], keyType: KeyType = "ecdsa-p256"): Promise<{ keys: CryptoKeyPair; keyPem: string; csr: string }> {
  const keys = await generateKeyPair(keyType);
  return { keys, keyPem: await exportPrivateKeyPem(keys.privateKey), csr: await createCsr(keys, { uris }) };
}
