// Self-signed server certificates for the gateway TLS tests, made in the test with @peculiar/x509 on WebCrypto
// (ECDSA P-256): a CA, and leaves for given DNS names signed by it (or by themselves), as PEM.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { x509 } from "../../control/ca/x509.js";
import { exportPrivateKeyPem } from "../../control/ca/keys.js";

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

export interface Pem {
  cert: string;
  key: string;
}

export interface TestCa extends Pem {
  /** A leaf for `names` (DNS SANs; the first is the CN), signed by this CA. */
  issue(names: string[], opts?: { client?: boolean }): Promise<Pem>;
}

async function keyPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
}

function serial(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex").replace(/^[89a-f]/, "1");
}

export async function createTestCa(name = "halyard test CA"): Promise<TestCa> {
  const keys = await keyPair();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${name}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 86_400_000),
    keys,
    signingAlgorithm: ALG,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  const caPem = { cert: cert.toString("pem"), key: await exportPrivateKeyPem(keys.privateKey) };
  return {
    ...caPem,
    async issue(names, opts = {}) {
      const leafKeys = await keyPair();
      const leaf = await x509.X509CertificateGenerator.create({
        serialNumber: serial(),
        subject: `CN=${names[0]}`,
        issuer: cert.subject,
        notBefore: new Date(now - 60_000),
        notAfter: new Date(now + 86_400_000),
        publicKey: leafKeys.publicKey,
        signingKey: keys.privateKey,
        signingAlgorithm: ALG,
        extensions: [
          new x509.SubjectAlternativeNameExtension(names.map((n) => ({ type: "dns" as const, value: n }))),
          new x509.ExtendedKeyUsageExtension([opts.client ? x509.ExtendedKeyUsage.clientAuth : x509.ExtendedKeyUsage.serverAuth]),
        ],
      });
      return { cert: leaf.toString("pem"), key: await exportPrivateKeyPem(leafKeys.privateKey) };
    },
  };
}

/** Writes a secret in the layout `--secrets-dir` reads: <dir>/<name>/tls.crt, tls.key (and ca.crt). */
export function writeSecret(dir: string, name: string, pem: Pem, ca?: string): void {
  mkdirSync(join(dir, name), { recursive: true });
  writeFileSync(join(dir, name, "tls.crt"), pem.cert);
  writeFileSync(join(dir, name, "tls.key"), pem.key);
  if (ca) writeFileSync(join(dir, name, "ca.crt"), ca);
}
