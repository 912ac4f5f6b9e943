// PKCS#10 certificate signing requests: parsing and signature checking for the CA (only the public key is used;
// the names are read just to refuse requests for someone else), and creation for workloads and tests.
import { CaError } from "./errors.js";
import { signatureAlgorithm } from "./keys.js";
import { x509 } from "./x509.js";

const SUBJECT_ALT_NAME = "2.5.29.17";
const PEM_CSR = /^-----BEGIN (NEW )?CERTIFICATE REQUEST-----\r?\n[A-Za-z0-9+/=\r\n]+-----END (NEW )?CERTIFICATE REQUEST-----\s*$/;

export interface VerifiedCsr {
  publicKey: x509.PublicKey;
  /** Every subjectAltName the CSR asks for, as "URI:…", "DNS:…", "IP:…", "email:…". */
  names: string[];
}

const NAME_PREFIX: Record<string, string> = { url: "URI", dns: "DNS", ip: "IP", email: "email", dn: "DirName", guid: "GUID", upn: "UPN", id: "RID" };

/** Parses and verifies a PEM CSR. Throws CaError("invalid-argument") with a one-line reason. */
export async function verifyCsr(pem: string): Promise<VerifiedCsr> {
  if (typeof pem !== "string" || pem.trim() === "") throw new CaError("invalid-argument", "CSR is empty");
  if (!PEM_CSR.test(pem.trim())) throw new CaError("invalid-argument", "CSR is not a PEM \"CERTIFICATE REQUEST\" block");
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(pem.trim());
  } catch (e) {
    throw new CaError("invalid-argument", `CSR is not a valid PKCS#10 request: ${oneLine(e)}`);
  }
  let valid = false;
  try {
    valid = await csr.verify();
  } catch (e) {
    throw new CaError("invalid-argument", `CSR signature cannot be checked: ${oneLine(e)}`);
  }
  if (!valid) throw new CaError("invalid-argument", "CSR signature does not verify with its own public key");
  let names: string[] = [];
  try {
    const san = csr.getExtension(SUBJECT_ALT_NAME) as x509.SubjectAlternativeNameExtension | null;
    names = san ? san.names.items.map((n) => `${NAME_PREFIX[n.type] ?? n.type}:${n.value}`) : [];
  } catch (e) {
    throw new CaError("invalid-argument", `CSR subjectAltName cannot be read: ${oneLine(e)}`);
  }
  return { publicKey: csr.publicKey, names };
}

export interface CsrOptions {
  /** URI SANs to request (a workload asks for its SPIFFE ID). */
  uris?: string[];
  dnsNames?: string[];
  /** Subject DN, e.g. "O=cluster.local". Default empty. */
  subject?: string;
}

/** A PEM CSR signed by `keys`, as a workload agent would send. */
export async function createCsr(keys: CryptoKeyPair, options: CsrOptions = {}): Promise<string> {
  const names = [...(options.uris ?? []).map((value) => ({ type: "url" as const, value })), ...(options.dnsNames ?? []).map((value) => ({ type: "dns" as const, value }))];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: options.subject ?? "",
    keys,
    signingAlgorithm: signatureAlgorithm(keys.privateKey),
    extensions: names.length ? [new x509.SubjectAlternativeNameExtension(names)] : [],
  });
  return csr.toString("pem") + "\n";
}

function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0]!;
}
