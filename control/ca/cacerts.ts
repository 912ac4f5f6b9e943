// A plugged-in CA in Istio's `cacerts` layout: ca-cert.pem + ca-key.pem sign, cert-chain.pem links ca-cert.pem to
// root-cert.pem. Issued chains then carry the intermediates: leaf, ca-cert, ..., root.
import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { loadCaKeyFor, type SigningAuthority } from "./authority.js";
import { parseCertificate, parseCertificates } from "./pem.js";

export const CACERTS_FILES = ["ca-cert.pem", "ca-key.pem", "root-cert.pem", "cert-chain.pem"] as const;

async function readCacertsFile(dir: string, name: string): Promise<string> {
  const path = join(dir, name);
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`cacerts ${dir}: ${code === "ENOENT" ? `${name} is missing` : `${name}: ${(e as Error).message}`}`);
  }
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

/** Loads and checks a cacerts directory. Throws a one-line error naming the file. */
export async function loadPluggedInCa(dir: string): Promise<SigningAuthority> {
  const [caCertText, caKeyText, rootText, chainText] = await Promise.all(CACERTS_FILES.map((f) => readCacertsFile(dir, f)));
  const where = (name: string) => join(dir, name);
  const caCert = parseCertificate(caCertText!, where("ca-cert.pem"));
  const root = parseCertificate(rootText!, where("root-cert.pem"));
  if (!root.ca || !issuedBy(root, root)) throw new Error(`${where("root-cert.pem")}: not a self-signed CA certificate`);
  const signingKey = await loadCaKeyFor(caCert, where("ca-cert.pem"), caKeyText!, where("ca-key.pem"));

  // cert-chain.pem is usually ca-cert.pem followed by any intermediates, sometimes ending in the root: normalise it
  // to "signing certificate first, root excluded".
  const chain = parseCertificates(chainText!, where("cert-chain.pem")).filter((c) => c.fingerprint256 !== root.fingerprint256);
  if (chain.length === 0 || chain[0]!.fingerprint256 !== caCert.fingerprint256) chain.unshift(caCert);
  for (let i = 0; i < chain.length; i++) {
    if (i > 0 && issuedBy(chain[i]!, chain[i]!)) {
      throw new Error(`cacerts ${dir}: certificate ${i + 1} of cert-chain.pem (${chain[i]!.subject.replace(/\n/g, ", ")}) is a root other than root-cert.pem`);
    }
    const issuer = chain[i + 1] ?? root;
    if (!issuedBy(chain[i]!, issuer)) {
      const what = i === 0 ? "ca-cert.pem" : `certificate ${i + 1} of cert-chain.pem`;
      throw new Error(`cacerts ${dir}: ${what} (${chain[i]!.subject.replace(/\n/g, ", ")}) is not signed by ${issuer === root ? "root-cert.pem" : `the next certificate in cert-chain.pem`}`);
    }
  }
  return {
    signingCertPem: chain[0]!.toString(),
    signingKey,
    intermediatesPem: chain.map((c) => c.toString()),
    rootCertPem: root.toString(),
    source: `cacerts ${dir}`,
  };
}
