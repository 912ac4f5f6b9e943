// The default mesh root: a self-signed ECDSA P-256 CA made on first start and kept in
// <state dir>/ca/root-cert.pem + root-key.pem (0600), reused on every later start.
import { X509Certificate } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { SigningAuthority } from "./authority.js";
import { loadCaKeyFor } from "./authority.js";
import { exportPrivateKeyPem, generateKeyPair, signatureAlgorithm } from "./keys.js";
import { parseCertificate } from "./pem.js";
import { randomSerialNumber } from "./serial.js";
import { x509 } from "./x509.js";

const ROOT_VALIDITY_MS = 10 * 365 * 24 * 3_600_000;
const BACKDATE_MS = 2 * 60_000;

export function rootFiles(stateDir: string): { dir: string; cert: string; key: string } {
  const dir = join(stateDir, "ca");
  return { dir, cert: join(dir, "root-cert.pem"), key: join(dir, "root-key.pem") };
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

export interface SelfSignedRootOptions {
  stateDir: string;
  /** Put in the root's subject (O=<trust domain>), as istiod does. */
  trustDomain: string;
  log?: (line: string) => void;
}

/** Loads the root kept in the state dir, or creates and stores one when there is none. Throws one line. */
export async function loadOrCreateSelfSignedRoot(options: SelfSignedRootOptions): Promise<SigningAuthority> {
  const files = rootFiles(options.stateDir);
  const [certPem, keyPem] = await Promise.all([readIfExists(files.cert), readIfExists(files.key)]);
  if (certPem !== undefined && keyPem !== undefined) {
    const cert = parseCertificate(certPem, files.cert);
    const signingKey = await loadCaKeyFor(cert, files.cert, keyPem, files.key);
    if (!cert.verify(cert.publicKey)) throw new Error(`${files.cert}: not self-signed`);
    return { signingCertPem: certPem, signingKey, intermediatesPem: [], rootCertPem: certPem, source: `self-signed root in ${files.dir}` };
  }
  if (certPem !== undefined || keyPem !== undefined) {
    const [present, missing] = certPem !== undefined ? [files.cert, files.key] : [files.key, files.cert];
    throw new Error(`${present} exists but ${missing} does not: restore it or remove both to create a new root`);
  }

  const keys = await generateKeyPair("ecdsa-p256");
  const now = Date.now();
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    name: `O=${options.trustDomain}, CN=Halyard mesh root CA`,
    keys,
    signingAlgorithm: signatureAlgorithm(keys.privateKey),
    serialNumber: randomSerialNumber(),
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + ROOT_VALIDITY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const rootPem = root.toString("pem") + "\n";
  parseCertificate(rootPem, "generated root"); // node:crypto must accept what we hand out
  await mkdir(files.dir, { recursive: true, mode: 0o700 });
  await writeFile(files.key, await exportPrivateKeyPem(keys.privateKey), { mode: 0o600, flag: "wx" });
  await chmod(files.key, 0o600); // in case a umask widened it
  await writeFile(files.cert, rootPem, { flag: "wx" });
  options.log?.(`ca: created a self-signed root CA in ${files.dir} (valid until ${new X509Certificate(rootPem).validTo})`);
  return { signingCertPem: rootPem, signingKey: keys.privateKey, intermediatesPem: [], rootCertPem: rootPem, source: `self-signed root in ${files.dir}` };
}
