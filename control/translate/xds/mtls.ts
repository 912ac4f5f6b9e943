// Mesh mTLS in Envoy's terms, as Istio builds it.
//
// Inbound: each workload port's chain, per PeerAuthentication mode: STRICT → one chain matching transport
// protocol "tls" that terminates mTLS (plaintext finds no chain and is refused); PERMISSIVE → that chain plus a
// plaintext one matching "raw_buffer" (tls_inspector tells them apart); DISABLE → plaintext only.
// The workload certificate and the mesh root come over SDS, as Istio names them: `default` (the workload's
// certificate and key) and `ROOTCA` (the mesh CA to validate peers against); on the ADS stream, or, for a proxy
// whose bootstrap has the agent's Unix socket (`halyard bootstrap --sds-socket`, node metadata
// HALYARD_SDS_CLUSTER), from that static cluster as Istio's bootstrap does (`sds-grpc`).
//
// Outbound: a DestinationRule's ClientTLSSettings → the cluster's UpstreamTlsContext. ISTIO_MUTUAL presents
// `default`, validates the server against `ROOTCA` and its SPIFFE ids (the destination's service accounts), with
// SNI `outbound_.<port>_.<subset>_.<host>`. Without any TLS setting, auto-mTLS: the cluster gets a
// transport_socket_match on endpoint metadata `envoy.transport_socket_match: {tlsMode: istio}`, which the EDS
// side sets for endpoints that run a sidecar (label `security.istio.io/tlsMode: istio`, or Halyard's own marker
// label `halyard.io/sidecar: "true"`); every other endpoint falls back to the cluster's (plaintext) socket.
// SIMPLE / MUTUAL: `credentialName` (SDS secret; CA `<credentialName>-cacert`) or file paths (caCertificates,
// clientCertificate, privateKey).
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { anyIs, anyPack, anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import type { Cluster_TransportSocketMatchSchema } from "../../../gen/envoy/config/cluster/v3/cluster_pb.js";
import type { TransportSocketSchema } from "../../../gen/envoy/config/core/v3/base_pb.js";
import type { FilterChainSchema } from "../../../gen/envoy/config/listener/v3/listener_components_pb.js";
import {
  HttpConnectionManager_ForwardClientCertDetails,
  HttpConnectionManager_SetCurrentClientCertDetailsSchema,
  HttpConnectionManagerSchema,
} from "../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { SubjectAltNameMatcher_SanType } from "../../../gen/envoy/extensions/transport_sockets/tls/v3/common_pb.js";
import { DownstreamTlsContextSchema, UpstreamTlsContextSchema } from "../../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import type { ClientTLSSettings } from "../../config/types.js";
import type { ServiceEndpoint } from "../../registry/types.js";
import { modeForPort, type PeerAuthenticationResult, type PeerMode } from "../peer-authentication.js";
import { ApiConfigSource_ApiType, ApiVersion } from "../../../gen/envoy/config/core/v3/config_source_pb.js";
import { adsConfigSource, durationFromMs, packed, TranslateError } from "./common.js";
import { caSecretName, TLS_TRANSPORT_SOCKET } from "./tls.js";

type TransportSocketInit = MessageInitShape<typeof TransportSocketSchema>;
type FilterChainInit = MessageInitShape<typeof FilterChainSchema>;
type TransportSocketMatchInit = MessageInitShape<typeof Cluster_TransportSocketMatchSchema>;

/** Istio's SDS secret names for the workload certificate and the mesh root. */
export const WORKLOAD_CERT_SECRET = "default";
export const ROOT_CA_SECRET = "ROOTCA";
export const DEFAULT_TRUST_DOMAIN = "cluster.local";

/** Endpoint metadata namespace Envoy reads transport_socket_matches from, and Istio's key in it. */
export const TRANSPORT_SOCKET_MATCH_METADATA = "envoy.transport_socket_match";
export const TLS_MODE_LABEL = "security.istio.io/tlsMode";
export const HALYARD_SIDECAR_LABEL = "halyard.io/sidecar";
export const AUTO_MTLS_MATCH_NAME = "tlsMode-istio";

export const INBOUND_MTLS_ALPN = ["istio-peer-exchange", "h2", "http/1.1"];
export const OUTBOUND_MTLS_ALPN = ["istio-peer-exchange", "istio"];

/**
 * Where a proxy gets `default` / `ROOTCA`: the ADS stream, or the static cluster to its agent's SDS socket (gRPC,
 * no initial fetch timeout: Envoy waits for the certificate rather than serving without it, as Istio configures).
 */
export function meshSdsConfigSource(sdsCluster?: string) {
  if (!sdsCluster) return adsConfigSource();
  return {
    configSourceSpecifier: {
      case: "apiConfigSource" as const,
      value: {
        apiType: ApiConfigSource_ApiType.GRPC,
        transportApiVersion: ApiVersion.V3,
        setNodeOnFirstMessageOnly: true,
        grpcServices: [{ targetSpecifier: { case: "envoyGrpc" as const, value: { clusterName: sdsCluster } } }],
      },
    },
    initialFetchTimeout: durationFromMs(0),
    resourceApiVersion: ApiVersion.V3,
  };
}

const sds = (name: string, sdsCluster?: string) => ({ name, sdsConfig: meshSdsConfigSource(sdsCluster) });

const socket = (schema: typeof DownstreamTlsContextSchema | typeof UpstreamTlsContextSchema, init: object): TransportSocketInit => ({
  name: TLS_TRANSPORT_SOCKET,
  configType: { case: "typedConfig", value: packed(schema as typeof UpstreamTlsContextSchema, init as MessageInitShape<typeof UpstreamTlsContextSchema>) },
});

/** `istio` when the endpoint runs a sidecar (Istio's tlsMode label, or Halyard's marker); undefined otherwise. */
export function endpointTlsMode(e: Pick<ServiceEndpoint, "labels">): "istio" | undefined {
  const mode = e.labels[TLS_MODE_LABEL];
  if (mode !== undefined) return mode === "istio" ? "istio" : undefined;
  return e.labels[HALYARD_SIDECAR_LABEL] === "true" ? "istio" : undefined;
}

/** The `filter_metadata` entry EDS puts on a sidecar endpoint (undefined for others). */
export function endpointTlsMetadata(e: Pick<ServiceEndpoint, "labels">): Record<string, { tlsMode: string }> | undefined {
  return endpointTlsMode(e) ? { [TRANSPORT_SOCKET_MATCH_METADATA]: { tlsMode: "istio" } } : undefined;
}

// ---- inbound ----

/** The mesh mTLS a sidecar terminates: client certificate required, validated against ROOTCA. */
export function inboundMtlsTransportSocket(sdsCluster?: string): TransportSocketInit {
  return socket(DownstreamTlsContextSchema, {
    requireClientCertificate: true,
    commonTlsContext: {
      tlsCertificateSdsSecretConfigs: [sds(WORKLOAD_CERT_SECRET, sdsCluster)],
      validationContextType: { case: "combinedValidationContext", value: { defaultValidationContext: {}, validationContextSdsSecretConfig: sds(ROOT_CA_SECRET, sdsCluster) } },
      alpnProtocols: INBOUND_MTLS_ALPN,
    },
  });
}

/** One inbound port's plaintext chain, before mTLS is applied. */
export interface InboundChain {
  name: string;
  destinationPort: number;
  filters: NonNullable<Exclude<FilterChainInit, { $typeName: string }>["filters"]>;
}

/**
 * x-forwarded-client-cert on a sidecar's inbound HCM: the peer's certificate details replace whatever the client
 * sent (SANITIZE_SET with subject, URI and DNS), and plaintext requests lose the header. Istio's own sidecars use
 * APPEND_FORWARD, which passes a client's own XFCC on to the app behind the peer's element; a workload behind
 * Halyard never has a trusted proxy in front of the sidecar, so nothing a client sends is kept.
 */
export const INBOUND_XFCC = {
  forwardClientCertDetails: HttpConnectionManager_ForwardClientCertDetails.SANITIZE_SET,
  setCurrentClientCertDetails: { subject: true, uri: true, dns: true },
} as const;

/** The chain's http_connection_manager (a packed Any) with INBOUND_XFCC set; other filters unchanged. */
function withInboundXfcc(filters: InboundChain["filters"]): InboundChain["filters"] {
  return filters.map((f) => {
    const any = f.configType?.case === "typedConfig" ? (f.configType.value as Any) : undefined;
    if (!any || !anyIs(any, HttpConnectionManagerSchema)) return f;
    const hcm = anyUnpack(any, HttpConnectionManagerSchema)!;
    hcm.forwardClientCertDetails = INBOUND_XFCC.forwardClientCertDetails;
    hcm.setCurrentClientCertDetails = create(HttpConnectionManager_SetCurrentClientCertDetailsSchema, INBOUND_XFCC.setCurrentClientCertDetails);
    return { ...f, configType: { case: "typedConfig" as const, value: anyPack(HttpConnectionManagerSchema, hcm) } };
  });
}

/** The filter chains one inbound port gets for its mode; the mTLS chain is named `<name>-mtls`. */
export function inboundMtlsChains(chain: InboundChain, mode: PeerMode, sdsCluster?: string): FilterChainInit[] {
  const { name, destinationPort } = chain;
  const filters = withInboundXfcc(chain.filters);
  const mtls: FilterChainInit = { name: `${name}-mtls`, filterChainMatch: { destinationPort, transportProtocol: "tls" }, transportSocket: inboundMtlsTransportSocket(sdsCluster), filters };
  if (mode === "STRICT") return [mtls];
  if (mode === "DISABLE") return [{ name, filterChainMatch: { destinationPort }, filters }];
  return [mtls, { name, filterChainMatch: { destinationPort, transportProtocol: "raw_buffer" }, filters }];
}

/** The mTLS mode of each inbound (target) port a sidecar serves. */
export type InboundModes = Readonly<Record<number, PeerMode>>;

/** The modes of `ports` under a resolved PeerAuthentication. */
export function inboundModes(result: PeerAuthenticationResult, ports: readonly number[]): InboundModes {
  return Object.fromEntries(ports.map((p) => [p, modeForPort(result, p).mode]));
}

/** Whether any of these modes needs the tls_inspector listener filter. */
export const needsTlsInspector = (modes: Iterable<PeerMode>) => [...modes].some((m) => m !== "DISABLE");

// ---- outbound ----

/** Istio's SNI for mesh mTLS: `outbound_.<port>_.<subset>_.<host>`. */
export function istioMutualSni(port: number, subset: string, host: string): string {
  return `outbound_.${port}_.${subset}_.${host}`;
}

export function spiffeUri(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/** The SPIFFE ids of the service accounts behind a service's endpoints, sorted, without duplicates. */
export function destinationSpiffeIds(endpoints: readonly Pick<ServiceEndpoint, "serviceAccount">[], namespace: string, trustDomain = DEFAULT_TRUST_DOMAIN): string[] {
  const ids = new Set<string>();
  for (const e of endpoints) if (e.serviceAccount) ids.add(e.serviceAccount.startsWith("spiffe://") ? e.serviceAccount : spiffeUri(trustDomain, namespace, e.serviceAccount));
  return [...ids].sort();
}

// A SPIFFE id is a URI SAN; any other name may be the certificate's DNS or URI SAN, so both are matched (as Istio does).
const sanMatchers = (sans: readonly string[]) =>
  sans.flatMap((san) => {
    const matcher = { matchPattern: { case: "exact" as const, value: san } };
    const types = san.startsWith("spiffe://") ? [SubjectAltNameMatcher_SanType.URI] : [SubjectAltNameMatcher_SanType.DNS, SubjectAltNameMatcher_SanType.URI];
    return types.map((sanType) => ({ sanType, matcher }));
  });

export interface UpstreamTlsTarget {
  host: string;
  port: number;
  subset: string;
  /** Expected server identities for ISTIO_MUTUAL when the DestinationRule names none (the destination's SPIFFE ids). */
  spiffeIds: readonly string[];
  /** The proxy's SDS cluster for `default` / `ROOTCA` (ProxyContext.sdsCluster); undefined: ADS. */
  sdsCluster?: string;
}

function istioMutual(tls: ClientTLSSettings | undefined, target: UpstreamTlsTarget): TransportSocketInit {
  const sans = tls?.subjectAltNames?.length ? tls.subjectAltNames : target.spiffeIds;
  return socket(UpstreamTlsContextSchema, {
    sni: tls?.sni ?? istioMutualSni(target.port, target.subset, target.host),
    commonTlsContext: {
      tlsCertificateSdsSecretConfigs: [sds(WORKLOAD_CERT_SECRET, target.sdsCluster)],
      validationContextType: {
        case: "combinedValidationContext",
        value: { defaultValidationContext: { matchTypedSubjectAltNames: sanMatchers(sans) }, validationContextSdsSecretConfig: sds(ROOT_CA_SECRET, target.sdsCluster) },
      },
      alpnProtocols: OUTBOUND_MTLS_ALPN,
    },
  });
}

const file = (path: string) => ({ specifier: { case: "filename" as const, value: path } });

function optionalString(tls: ClientTLSSettings, field: string, where: string): string | undefined {
  const v = tls[field];
  if (v === undefined || v === "") return undefined;
  if (typeof v !== "string") throw new TranslateError(`${where}.tls.${field}: expected a file path string`);
  return v;
}

/** SIMPLE / MUTUAL: certificates by SDS secret (`credentialName`) or by file path. */
function simpleOrMutual(tls: ClientTLSSettings, mode: "SIMPLE" | "MUTUAL", host: string, where: string): TransportSocketInit {
  const credential = tls.credentialName;
  const ca = optionalString(tls, "caCertificates", where);
  const cert = optionalString(tls, "clientCertificate", where);
  const key = optionalString(tls, "privateKey", where);
  if (credential && (cert || key || ca)) throw new TranslateError(`${where}.tls: give either credentialName or caCertificates/clientCertificate/privateKey, not both`);
  if (mode === "MUTUAL" && !credential && !(cert && key)) throw new TranslateError(`${where}.tls: MUTUAL needs credentialName or both clientCertificate and privateKey`);
  if (!credential && (cert === undefined) !== (key === undefined)) throw new TranslateError(`${where}.tls: clientCertificate and privateKey go together`);
  const sans = tls.subjectAltNames ?? [];
  const validation = credential
    ? {
        case: "combinedValidationContext" as const,
        value: { defaultValidationContext: { matchTypedSubjectAltNames: sanMatchers(sans) }, validationContextSdsSecretConfig: sds(caSecretName(credential)) },
      }
    : ca || sans.length
      ? { case: "validationContext" as const, value: { ...(ca ? { trustedCa: file(ca) } : {}), matchTypedSubjectAltNames: sanMatchers(sans) } }
      : undefined;
  const certificates =
    mode === "MUTUAL" || cert
      ? credential
        ? { tlsCertificateSdsSecretConfigs: [sds(credential)] }
        : { tlsCertificates: [{ certificateChain: file(cert!), privateKey: file(key!) }] }
      : {};
  return socket(UpstreamTlsContextSchema, {
    sni: tls.sni ?? (host.startsWith("*") ? "" : host),
    commonTlsContext: { ...certificates, ...(validation ? { validationContextType: validation } : {}) },
  });
}

export interface ClusterTls {
  transportSocket?: TransportSocketInit;
  transportSocketMatches?: TransportSocketMatchInit[];
}

/**
 * A cluster's upstream TLS from its merged traffic policy's `tls`. No setting + `autoMtls` (the destination has
 * sidecar endpoints): ISTIO_MUTUAL for those endpoints only, through a transport_socket_match.
 */
export function clusterTls(tls: ClientTLSSettings | undefined, target: UpstreamTlsTarget, autoMtls: boolean, where: string): ClusterTls {
  if (!tls) {
    if (!autoMtls) return {};
    return { transportSocketMatches: [{ name: AUTO_MTLS_MATCH_NAME, match: { tlsMode: "istio" }, transportSocket: istioMutual(undefined, target) }] };
  }
  // A `tls` block without a mode is DISABLE (the proto's zero value): an explicit opt-out of auto-mTLS.
  const mode = tls.mode ?? "DISABLE";
  switch (mode) {
    case "DISABLE":
      return {};
    case "ISTIO_MUTUAL":
      return { transportSocket: istioMutual(tls, target) };
    case "SIMPLE":
    case "MUTUAL":
      return { transportSocket: simpleOrMutual(tls, mode, target.host, where) };
    default:
      throw new TranslateError(`${where}.tls.mode: "${String(mode)}" is not one of DISABLE, SIMPLE, MUTUAL, ISTIO_MUTUAL`);
  }
}
