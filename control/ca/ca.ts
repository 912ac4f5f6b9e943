// The mesh CA: signs workload CSRs into SPIFFE X.509-SVIDs (one URI SAN spiffe://<td>/ns/<ns>/sa/<sa>, CA:false,
// digitalSignature (+keyEncipherment for RSA), serverAuth+clientAuth) and issues the control plane's own serving
// certificate. Who may ask for which identity is decided by the caller (the certificate service); the CA only
// refuses a CSR that names anything but the identity it is asked to certify.
import { X509Certificate } from "node:crypto";
import type { SigningAuthority } from "./authority.js";
import { verifyCsr } from "./csr.js";
import { formatDuration } from "./duration.js";
import { CaError } from "./errors.js";
import { DEFAULT_TRUST_DOMAIN, spiffeId, type ServiceAccount } from "./identity.js";
import { exportPrivateKeyPem, generateKeyPair, isRsaKey, signatureAlgorithm, type KeyType } from "./keys.js";
import { randomSerialNumber } from "./serial.js";
import { x509 } from "./x509.js";

export const DEFAULT_WORKLOAD_CERT_TTL_MS = 24 * 3_600_000;
export const MAX_WORKLOAD_CERT_TTL_MS = 90 * 24 * 3_600_000;
/** notBefore is set this far in the past so peers with slightly slow clocks accept a fresh certificate. */
export const BACKDATE_MS = 2 * 60_000;

export interface MeshCaOptions {
  trustDomain?: string;
  /** TTL when the request names none. Default 24 h. */
  workloadCertTtlMs?: number;
  /** Longer requests are refused, as istiod does. Default 90 days. */
  maxCertTtlMs?: number;
  log?: (line: string) => void;
}

export interface IssueOptions {
  uris?: string[];
  dnsNames?: string[];
  ipAddresses?: string[];
  ttlMs: number;
}

export interface IssuedKeyPair {
  /** Leaf first, root last. */
  certChainPem: string[];
  privateKeyPem: string;
}

/** Why the TTL options cannot work together, or undefined. */
export function ttlOptionsProblem(options: MeshCaOptions): string | undefined {
  const ttl = options.workloadCertTtlMs ?? DEFAULT_WORKLOAD_CERT_TTL_MS;
  const max = options.maxCertTtlMs ?? MAX_WORKLOAD_CERT_TTL_MS;
  if (!(ttl >= 1000)) return `workload certificate TTL must be at least 1s`;
  if (ttl > max) return `workload certificate TTL ${formatDuration(ttl)} is greater than the max allowed TTL ${formatDuration(max)}`;
  return undefined;
}

export class MeshCa {
  readonly trustDomain: string;
  readonly workloadCertTtlMs: number;
  readonly maxCertTtlMs: number;
  readonly rootCertPem: string;
  readonly source: string;
  private readonly signingCert: x509.X509Certificate;
  private readonly signingNotAfter: number;
  private readonly log: (line: string) => void;

  constructor(
    private readonly authority: SigningAuthority,
    options: MeshCaOptions = {},
  ) {
    this.trustDomain = options.trustDomain ?? DEFAULT_TRUST_DOMAIN;
    this.workloadCertTtlMs = options.workloadCertTtlMs ?? DEFAULT_WORKLOAD_CERT_TTL_MS;
    this.maxCertTtlMs = options.maxCertTtlMs ?? MAX_WORKLOAD_CERT_TTL_MS;
    const problem = ttlOptionsProblem(options);
    if (problem) throw new Error(problem);
    this.rootCertPem = authority.rootCertPem;
    this.source = authority.source;
    this.signingCert = new x509.X509Certificate(authority.signingCertPem);
    this.signingNotAfter = Date.parse(new X509Certificate(authority.signingCertPem).validTo);
    this.log = options.log ?? (() => {});
  }

  /** Everything after the leaf in an issued chain: intermediates (signing certificate first), then the root. */
  get chainAfterLeafPem(): string[] {
    return [...this.authority.intermediatesPem, this.authority.rootCertPem];
  }

  spiffeIdOf(account: ServiceAccount): string {
    return spiffeId(this.trustDomain, account);
  }

  /**
   * Signs `csrPem` for `caller`: the CSR's signature must verify and it may name no SAN but the caller's SPIFFE ID.
   * `requestedTtlSeconds` <= 0 means the default. Returns the chain, leaf first and root last.
   * Throws CaError (invalid-argument, permission-denied).
   */
  async signCsr(csrPem: string, caller: ServiceAccount, requestedTtlSeconds = 0): Promise<string[]> {
    const identity = this.spiffeIdOf(caller);
    const csr = await verifyCsr(csrPem);
    const foreign = csr.names.filter((n) => n !== `URI:${identity}`);
    if (foreign.length > 0) {
      this.log(`ca: refused a CSR from ${identity} naming ${foreign.join(", ")}`);
      throw new CaError("permission-denied", `CSR names ${foreign.join(", ")} but the caller is ${identity}: a workload may only obtain its own identity`);
    }
    const ttlMs = this.ttlFor(requestedTtlSeconds);
    const leaf = await this.issue(csr.publicKey, { uris: [identity], ttlMs });
    return [leaf, ...this.chainAfterLeafPem];
  }

  private ttlFor(requestedTtlSeconds: number): number {
    if (!Number.isFinite(requestedTtlSeconds) || requestedTtlSeconds <= 0) return this.workloadCertTtlMs;
    const ms = requestedTtlSeconds * 1000;
    if (ms > this.maxCertTtlMs) {
      throw new CaError("invalid-argument", `requested TTL ${formatDuration(ms)} is greater than the max allowed TTL ${formatDuration(this.maxCertTtlMs)}`);
    }
    return ms;
  }

  /** A leaf certificate (PEM) for `publicKey` with exactly the given names. */
  async issue(publicKey: x509.PublicKey | CryptoKey, options: IssueOptions): Promise<string> {
    const names = [
      ...(options.uris ?? []).map((value) => ({ type: "url" as const, value })),
      ...(options.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
      ...(options.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
    ];
    if (names.length === 0) throw new CaError("invalid-argument", "a certificate needs at least one subjectAltName");
    const usages = x509.KeyUsageFlags.digitalSignature | (isRsaKey(publicKey.algorithm) ? x509.KeyUsageFlags.keyEncipherment : 0);
    const now = Date.now();
    const notAfter = Math.min(now + options.ttlMs, this.signingNotAfter);
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(usages, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], false),
      // The subject is empty, so RFC 5280 wants the SAN extension critical.
      new x509.SubjectAlternativeNameExtension(names, true),
    ];
    const issuerKeyId = this.signingCert.getExtension(x509.SubjectKeyIdentifierExtension);
    if (issuerKeyId) extensions.push(new x509.AuthorityKeyIdentifierExtension(issuerKeyId.keyId));
    const cert = await x509.X509CertificateGenerator.create({
      subject: "",
      issuer: this.signingCert.subjectName,
      publicKey,
      signingKey: this.authority.signingKey,
      signingAlgorithm: signatureAlgorithm(this.authority.signingKey),
      serialNumber: randomSerialNumber(),
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(notAfter),
      extensions,
    });
    return cert.toString("pem") + "\n";
  }

  /** A key pair generated here and a certificate for it: the control plane's serving certificate. */
  async issueWithNewKey(options: IssueOptions & { keyType?: KeyType }): Promise<IssuedKeyPair> {
    const keys = await generateKeyPair(options.keyType ?? "ecdsa-p256");
    const leaf = await this.issue(keys.publicKey, options);
    return { certChainPem: [leaf, ...this.chainAfterLeafPem], privateKeyPem: await exportPrivateKeyPem(keys.privateKey) };
  }
}
