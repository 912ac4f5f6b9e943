// The workload's certificate, kept fresh: a key pair generated here (ECDSA P-256, or RSA-2048; the private key never
// leaves the process), a CSR for the workload's SPIFFE ID sent to the CA, and a renewal at half the certificate's
// remaining lifetime at issue (Istio's SECRET_GRACE_PERIOD_RATIO 0.5) give or take a few seconds of jitter, with a
// new key each time. A failed renewal is retried with exponential back-off while the current certificate is still
// served (also after it expired: consumers keep what they have rather than nothing). Rotation listeners hear each
// new certificate. Node-only (node:crypto to check what the CA returned).
import { createPrivateKey, X509Certificate } from "node:crypto";
import { createCsr } from "../../control/ca/csr.js";
import { exportPrivateKeyPem, generateKeyPair, type KeyType } from "../../control/ca/keys.js";
import { splitPemCertificates } from "../../control/ca/pem.js";
import type { CertificateSigner } from "./ca-client.js";
import { CaRequestError } from "./ca-client.js";

export const GRACE_PERIOD_RATIO = 0.5;
const DEFAULT_MAX_JITTER_MS = 5_000;
const DEFAULT_RETRY = { baseMs: 1_000, maxMs: 30_000 };

export interface WorkloadCertificate {
  spiffeId: string;
  /** PEM, leaf first, then any intermediates: what a TLS endpoint presents (the root is not sent). */
  certificateChain: string;
  privateKey: string;
  /** PEM of the mesh root the chain ends at (the last certificate the CA returned). */
  rootCert: string;
  /** Upper-case hex, as node:crypto prints it. */
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  /** When the manager asks for the next one. */
  renewAt: Date;
  /** 1 for the first certificate, +1 per rotation. */
  version: number;
}

export interface WorkloadCertificateManagerOptions {
  signer: CertificateSigner;
  /** spiffe://<trust domain>/ns/<ns>/sa/<sa>: the one URI SAN the CSR asks for. */
  spiffeId: string;
  /** Default ecdsa-p256. */
  keyType?: KeyType;
  /** Requested validity; undefined: the CA's default (halyard serve --workload-cert-ttl). */
  ttlMs?: number;
  /** Fraction of the lifetime after which to renew. Default 0.5. */
  graceRatio?: number;
  /** Renewal jitter, ± this much, at most a tenth of the lifetime. Default 5 s. */
  maxJitterMs?: number;
  /** Back-off between failed attempts. Default 1 s doubling to 30 s. */
  retry?: { baseMs: number; maxMs: number };
  log?: (line: string) => void;
  /** For tests: [0, 1). Default Math.random. */
  random?: () => number;
}

type RotationListener = (cert: WorkloadCertificate, previous: WorkloadCertificate | undefined) => void;

export class WorkloadCertificateManager {
  readonly spiffeId: string;
  private cert: WorkloadCertificate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private failures = 0;
  private readonly listeners = new Set<RotationListener>();
  private readonly errorListeners = new Set<(message: string) => void>();
  private readonly log: (line: string) => void;

  constructor(private readonly options: WorkloadCertificateManagerOptions) {
    this.spiffeId = options.spiffeId;
    this.log = options.log ?? (() => {});
  }

  /** Obtains the first certificate (one attempt; throws a one-line error) and schedules its renewal. */
  async start(): Promise<WorkloadCertificate> {
    const cert = await this.obtain();
    this.install(cert);
    return cert;
  }

  /** The certificate now served; throws before start() succeeded. */
  current(): WorkloadCertificate {
    if (!this.cert) throw new Error(`no workload certificate for ${this.spiffeId} yet`);
    return this.cert;
  }

  /** Calls `listener` after each rotation; returns an unsubscribe. */
  onRotate(listener: RotationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Hears failed renewals (one line each); the manager retries on its own. */
  onError(listener: (message: string) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  /** Renews now (what the timer does); resolves with the new certificate. */
  async rotate(): Promise<WorkloadCertificate> {
    const cert = await this.obtain();
    if (!this.closed) this.install(cert);
    return cert;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.options.signer.close();
  }

  private async obtain(): Promise<WorkloadCertificate> {
    const keys = await generateKeyPair(this.options.keyType ?? "ecdsa-p256");
    const csr = await createCsr(keys, { uris: [this.spiffeId] });
    const ttlSeconds = this.options.ttlMs === undefined ? 0 : Math.max(1, Math.round(this.options.ttlMs / 1000));
    const chain = await this.options.signer.sign(csr, ttlSeconds);
    const privateKey = await exportPrivateKeyPem(keys.privateKey);
    return this.check(chain, privateKey);
  }

  /** What the CA returned, checked: our key, our identity, a chain ending at a root. */
  private check(chain: string[], privateKey: string): WorkloadCertificate {
    const pems = chain.flatMap((c) => splitPemCertificates(c));
    if (pems.length < 2) throw new CaRequestError(`the CA returned ${pems.length} certificate(s), expected a leaf and its root`);
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(pems[0]!);
    } catch {
      throw new CaRequestError("the CA returned a leaf certificate that does not parse");
    }
    if (!leaf.checkPrivateKey(createPrivateKey(privateKey))) throw new CaRequestError("the CA returned a certificate for another key");
    const sans = (leaf.subjectAltName ?? "").split(", ");
    if (!sans.includes(`URI:${this.spiffeId}`)) throw new CaRequestError(`the CA returned a certificate for ${leaf.subjectAltName ?? "no name"}, not ${this.spiffeId}`);
    const receivedAt = Date.now();
    const notAfter = new Date(leaf.validTo);
    const lifetime = Math.max(0, notAfter.getTime() - receivedAt);
    const ratio = this.options.graceRatio ?? GRACE_PERIOD_RATIO;
    const jitterMax = Math.min(this.options.maxJitterMs ?? DEFAULT_MAX_JITTER_MS, lifetime / 10);
    const jitter = ((this.options.random ?? Math.random)() * 2 - 1) * jitterMax;
    return {
      spiffeId: this.spiffeId,
      certificateChain: pems.slice(0, -1).join(""),
      privateKey,
      rootCert: pems.at(-1)!,
      serialNumber: leaf.serialNumber,
      notBefore: new Date(leaf.validFrom),
      notAfter,
      renewAt: new Date(receivedAt + lifetime * ratio + jitter),
      version: (this.cert?.version ?? 0) + 1,
    };
  }

  private install(cert: WorkloadCertificate): void {
    const previous = this.cert;
    this.cert = cert;
    this.failures = 0;
    this.schedule(Math.max(0, cert.renewAt.getTime() - Date.now()));
    if (previous) this.log(`identity: rotated ${this.spiffeId} (serial ${cert.serialNumber}, expires ${cert.notAfter.toISOString()}, next renewal ${cert.renewAt.toISOString()})`);
    else this.log(`identity: certificate for ${this.spiffeId} (serial ${cert.serialNumber}, expires ${cert.notAfter.toISOString()}, renewal ${cert.renewAt.toISOString()})`);
    for (const l of this.listeners) {
      try {
        l(cert, previous);
      } catch (e) {
        this.log(`identity: a rotation listener failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    if (this.closed) return;
    this.timer = setTimeout(() => void this.renew(), Math.min(ms, 2 ** 31 - 1));
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    try {
      await this.rotate();
    } catch (e) {
      if (this.closed) return;
      const retry = this.options.retry ?? DEFAULT_RETRY;
      const delay = Math.min(retry.maxMs, retry.baseMs * 2 ** this.failures++);
      const expired = this.cert && this.cert.notAfter.getTime() <= Date.now();
      const message = `identity: renewing ${this.spiffeId} failed (${e instanceof Error ? e.message : String(e)}); retrying in ${delay} ms${expired ? " (the current certificate has expired)" : ""}`;
      this.log(message);
      for (const l of this.errorListeners) l(message);
      this.schedule(delay);
    }
  }
}
