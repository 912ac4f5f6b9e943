// TLS transport sockets. Certificates are never inlined: they are SDS secrets named after the Kubernetes secret
// (`credentialName`, and `<credentialName>-cacert` for the CA, Istio's convention), fetched over ADS.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { TransportSocketSchema } from "../../../gen/envoy/config/core/v3/base_pb.js";
import { DownstreamTlsContextSchema } from "../../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import type { ServerTLSSettings } from "../../config/types.js";
import { adsConfigSource, packed, TranslateError } from "./common.js";

type TransportSocketInit = MessageInitShape<typeof TransportSocketSchema>;

export const TLS_TRANSPORT_SOCKET = "envoy.transport_sockets.tls";

const sds = (name: string) => ({ name, sdsConfig: adsConfigSource() });

/** The CA secret Istio pairs with a credential. */
export const caSecretName = (credentialName: string) => `${credentialName}-cacert`;

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
