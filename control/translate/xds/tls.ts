// TLS transport sockets. Certificates are never inlined: they are SDS secrets named after the Kubernetes secret
// (`credentialName`, and `<credentialName>-cacert` for the CA, Istio's convention), fetched over ADS.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { TransportSocketSchema } from "../../../gen/envoy/config/core/v3/base_pb.js";
import { DownstreamTlsContextSchema, UpstreamTlsContextSchema } from "../../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import type { ClientTLSSettings, ServerTLSSettings } from "../../config/types.js";
import { adsConfigSource, packed, TranslateError } from "./common.js";

type TransportSocketInit = MessageInitShape<typeof TransportSocketSchema>;

export const TLS_TRANSPORT_SOCKET = "envoy.transport_sockets.tls";

const sds = (name: string) => ({ name, sdsConfig: adsConfigSource() });

/** The CA secret Istio pairs with a credential. */
export const caSecretName = (credentialName: string) => `${credentialName}-cacert`;

/**
 * A DestinationRule's client TLS: SIMPLE (server verified against `<credentialName>-cacert` when a credential is
 * named) or MUTUAL (client certificate `credentialName` too). DISABLE and unset give plain text; ISTIO_MUTUAL needs
 * the mesh CA, which Halyard does not run.
 */
export function upstreamTransportSocket(tls: ClientTLSSettings | undefined, host: string, where: string): TransportSocketInit | undefined {
  const mode = tls?.mode ?? "DISABLE";
  if (mode === "DISABLE") return undefined;
  if (mode === "ISTIO_MUTUAL") throw new TranslateError(`${where}.tls.mode: ISTIO_MUTUAL needs the Istio CA, which halyard does not provide (use SIMPLE or MUTUAL with credentialName)`);
  const credential = tls!.credentialName;
  if (mode === "MUTUAL" && !credential) throw new TranslateError(`${where}.tls.credentialName: MUTUAL needs a credentialName (halyard does not read certificate files)`);
  const context = {
    sni: tls!.sni ?? (host.startsWith("*") ? "" : host),
    commonTlsContext: {
      ...(mode === "MUTUAL" ? { tlsCertificateSdsSecretConfigs: [sds(credential!)] } : {}),
      ...(credential ? { validationContextType: { case: "validationContextSdsSecretConfig" as const, value: sds(caSecretName(credential)) } } : {}),
    },
  };
  return { name: TLS_TRANSPORT_SOCKET, configType: { case: "typedConfig", value: packed(UpstreamTlsContextSchema, context) } };
}

/** An HTTPS Gateway server's TLS (SIMPLE, MUTUAL or OPTIONAL_MUTUAL with credentialName); undefined for passthrough modes. */
export function downstreamTransportSocket(tls: ServerTLSSettings | undefined, where: string): TransportSocketInit | undefined {
  const mode = tls?.mode ?? "SIMPLE";
  if (mode !== "SIMPLE" && mode !== "MUTUAL" && mode !== "OPTIONAL_MUTUAL") return undefined;
  const credential = tls?.credentialName;
  if (!credential) throw new TranslateError(`${where}.tls.credentialName: required for ${mode} (halyard serves certificates over SDS only)`);
  const mutual = mode !== "SIMPLE";
  const context = {
    commonTlsContext: {
      tlsCertificateSdsSecretConfigs: [sds(credential)],
      alpnProtocols: ["h2", "http/1.1"],
      ...(mutual ? { validationContextType: { case: "validationContextSdsSecretConfig" as const, value: sds(caSecretName(credential)) } } : {}),
    },
    ...(mode === "MUTUAL" ? { requireClientCertificate: true } : {}),
  };
  return { name: TLS_TRANSPORT_SOCKET, configType: { case: "typedConfig", value: packed(DownstreamTlsContextSchema, context) } };
}
