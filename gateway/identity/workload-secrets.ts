// The workload-identity SecretSource: SDS `default` (the workload's certificate chain and key) and `ROOTCA` (the
// mesh root) from the rotating workload certificate; every other name, and bootstrap files, from `fallback` (the
// --secrets-dir source). `watch` fires for `default` on each rotation and for `ROOTCA` when the root changed.
// Portable: it only reads the manager.
import type { SecretSource } from "../bootstrap/listener-tls.js";
import type { WorkloadCertificate } from "./manager.js";

export const WORKLOAD_CERT_SECRET = "default";
export const ROOT_CA_SECRET = "ROOTCA";

/** The part of WorkloadCertificateManager a secret source needs. */
export interface WorkloadCertificateSource {
  current(): WorkloadCertificate;
  onRotate(listener: (cert: WorkloadCertificate, previous: WorkloadCertificate | undefined) => void): () => void;
}

export function workloadSecrets(manager: WorkloadCertificateSource, fallback?: SecretSource): SecretSource {
  const noFallback = (name: string): never => {
    throw new Error(`SDS secret "${name}": not known (the workload identity serves "${WORKLOAD_CERT_SECRET}" and "${ROOT_CA_SECRET}"; give --secrets-dir for others)`);
  };
  return {
    readFile: (name) => (fallback ? fallback.readFile(name) : noFallback(name)),
    tlsCertificate(name) {
      if (name === WORKLOAD_CERT_SECRET) {
        const c = manager.current();
        return { certificateChain: c.certificateChain, privateKey: c.privateKey };
      }
      if (name === ROOT_CA_SECRET) throw new Error(`SDS secret "${name}": is the mesh root, not a certificate and key`);
      return fallback ? fallback.tlsCertificate(name) : noFallback(name);
    },
    trustedCa(name) {
      if (name === ROOT_CA_SECRET) return manager.current().rootCert;
      if (name === WORKLOAD_CERT_SECRET) throw new Error(`SDS secret "${name}": is the workload certificate, not a CA bundle (use "${ROOT_CA_SECRET}")`);
      return fallback ? fallback.trustedCa(name) : noFallback(name);
    },
    watch(name, onChange) {
      if (name === WORKLOAD_CERT_SECRET) return manager.onRotate(() => onChange());
      if (name === ROOT_CA_SECRET) return manager.onRotate((cert, previous) => (previous?.rootCert !== cert.rootCert ? onChange() : undefined));
      return fallback?.watch ? fallback.watch(name, onChange) : () => {};
    },
  };
}
