// A TLS connection's certificates as peer-identity.ts describes them, read with node:crypto. Node-only.
import { X509Certificate } from "node:crypto";
import type { TLSSocket } from "node:tls";
import type { PeerCertificate } from "./peer-identity.js";

/** The client certificate of a connection (call only once it is verified), or undefined when there is none. */
export function peerCertificate(tls: TLSSocket): PeerCertificate | undefined {
  const leaf = tls.getPeerX509Certificate();
  if (!leaf) return undefined;
  const sans = subjectAltNames(leaf.subjectAltName);
  const chainPem = [leaf.toString()];
  // getPeerCertificate(true) walks issuerCertificate links up to a self-issued one.
  let link = tls.getPeerCertificate(true)?.issuerCertificate;
  const seen = new Set<string>([leaf.fingerprint256]);
  while (link && link.raw && !seen.has(link.fingerprint256)) {
    seen.add(link.fingerprint256);
    chainPem.push(new X509Certificate(link.raw).toString());
    link = link.issuerCertificate;
  }
  return {
    uriSans: sans.uri,
    dnsSans: sans.dns,
    subject: rfc2253(leaf.subject),
    sha256: leaf.fingerprint256.replace(/:/g, "").toLowerCase(),
    pem: leaf.toString(),
    chainPem,
    serialNumber: leaf.serialNumber.toUpperCase(),
  };
}

/** The first URI SAN of a PEM certificate (the leaf when it is a chain), or undefined. */
export function firstUriSan(pem: string): string | undefined {
  try {
    return subjectAltNames(new X509Certificate(pem).subjectAltName).uri[0];
  } catch {
    return undefined;
  }
}

// Node prints SANs as `URI:a, DNS:b`, JSON-quoting a value that contains a comma or quote.
function subjectAltNames(text: string | undefined): { uri: string[]; dns: string[] } {
  const out = { uri: [] as string[], dns: [] as string[] };
  if (!text) return out;
  const entry = /([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;
  for (let m = entry.exec(text); m; m = entry.exec(text)) {
    const value = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!;
    if (m[1] === "URI") out.uri.push(value);
    else if (m[1] === "DNS") out.dns.push(value);
    if (m[0].length === 0) entry.lastIndex++;
  }
  return out;
}

// Node gives the subject one attribute per line (values already escaped as RFC 2253 wants), most general first;
// RFC 2253 lists the most specific first.
function rfc2253(subject: string | undefined): string {
  if (!subject) return "";
  return subject
    .split("\n")
    .filter((l) => l !== "")
    .reverse()
    .join(",");
}
