// The workload certificate as SDS resources, the way istio-agent serves them to Envoy: envoy.extensions.
// transport_sockets.tls.v3.Secret `default` (tls_certificate: chain and key, inline bytes) and `ROOTCA`
// (validation_context.trusted_ca, inline bytes). Portable.
import { create } from "@bufbuild/protobuf";
import { anyPack, type Any } from "@bufbuild/protobuf/wkt";
import { SecretSchema, type Secret } from "../../gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import type { WorkloadCertificate } from "./manager.js";
import { ROOT_CA_SECRET, WORKLOAD_CERT_SECRET } from "./workload-secrets.js";

export const SDS_SECRET_NAMES = [WORKLOAD_CERT_SECRET, ROOT_CA_SECRET] as const;

const inline = (pem: string) => ({ specifier: { case: "inlineBytes" as const, value: new TextEncoder().encode(pem) } });

/** The Secret named `name` from `cert`, or undefined for a name the agent does not serve. */
export function sdsSecret(name: string, cert: WorkloadCertificate): Secret | undefined {
  if (name === WORKLOAD_CERT_SECRET) {
    return create(SecretSchema, { name, type: { case: "tlsCertificate", value: { certificateChain: inline(cert.certificateChain), privateKey: inline(cert.privateKey) } } });
  }
  if (name === ROOT_CA_SECRET) return create(SecretSchema, { name, type: { case: "validationContext", value: { trustedCa: inline(cert.rootCert) } } });
  return undefined;
}

/** The named secrets packed as Any (unknown names left out), in the order asked. */
export function packedSecrets(names: readonly string[], cert: WorkloadCertificate): Any[] {
  return names.flatMap((n) => {
    const s = sdsSecret(n, cert);
    return s ? [anyPack(SecretSchema, s)] : [];
  });
}
