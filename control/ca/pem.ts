// PEM certificate bundles: splitting, parsing with node:crypto, and a one-line reason when a file is not one.
import { X509Certificate } from "node:crypto";

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export function splitPemCertificates(text: string): string[] {
  return (text.match(CERT_BLOCK) ?? []).map((block) => `${block}\n`);
}

/** Every certificate in a PEM bundle; throws naming `where` when there is none or one does not parse. */
export function parseCertificates(text: string, where: string): X509Certificate[] {
  const blocks = splitPemCertificates(text);
  if (blocks.length === 0) throw new Error(`${where}: no PEM certificate found`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw new Error(`${where}: certificate ${i + 1} is not a valid X.509 certificate`);
    }
  });
}

export function parseCertificate(text: string, where: string): X509Certificate {
  const certs = parseCertificates(text, where);
  if (certs.length !== 1) throw new Error(`${where}: expected one certificate, found ${certs.length}`);
  return certs[0]!;
}
