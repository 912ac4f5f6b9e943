// A signing authority: the certificate and key the CA signs with, and the chain up to the mesh root.
import { createPrivateKey, type X509Certificate } from "node:crypto";
import { importPrivateKeyPem } from "./keys.js";

export interface SigningAuthority {
  /** PEM of the certificate that signs workload certificates (the root itself when self-signed). */
  signingCertPem: string;
  signingKey: CryptoKey;
  /** PEM certificates between an issued leaf and the root, signing certificate first; empty when the root signs. */
  intermediatesPem: string[];
  rootCertPem: string;
  /** Where it came from, for logs: "self-signed root in <dir>" or "cacerts <dir>". */
  source: string;
}

/** Checks that `cert` may sign certificates and that `keyPem` is its key; returns the key. Throws one line. */
export async function loadCaKeyFor(cert: X509Certificate, certWhere: string, keyPem: string, keyWhere: string): Promise<CryptoKey> {
  if (!cert.ca) throw new Error(`${certWhere}: not a CA certificate (basicConstraints CA:TRUE is missing)`);
  if (Date.parse(cert.validTo) <= Date.now()) throw new Error(`${certWhere}: expired on ${new Date(cert.validTo).toISOString()}`);
  const key = await importPrivateKeyPem(keyPem, keyWhere);
  if (!cert.checkPrivateKey(createPrivateKey(keyPem))) throw new Error(`${keyWhere}: does not match the public key of ${certWhere}`);
  return key;
}
