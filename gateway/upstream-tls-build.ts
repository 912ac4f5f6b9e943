// A cluster's transport_socket and transport_socket_matches as the gateway's UpstreamTlsConfig: Envoy's
// UpstreamTlsContext with certificates from files or SDS secrets (read here through the SecretSource, so a missing
// one is a config error / NACK and not a failed handshake later), a trusted CA (validation_context,
// validation_context_sds_secret_config or combined_validation_context), SAN matchers, SNI, ALPN and TLS versions.
// What the rule table (bootstrap/supported.ts) lets through is either built here or refused with a one-line reason.
// Portable.
import type { JsonObject, JsonValue as ProtoJsonValue } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import type { Cluster } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import type { TransportSocket } from "../gen/envoy/config/core/v3/base_pb.js";
import {
  SubjectAltNameMatcher_SanType,
  TlsParameters_TlsProtocol,
  type CertificateValidationContext,
  type TlsParameters,
} from "../gen/envoy/extensions/transport_sockets/tls/v3/common_pb.js";
import { UpstreamTlsContextSchema } from "../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import type { StringMatcher } from "../gen/envoy/type/matcher/v3/string_pb.js";
import type { FieldPath } from "./bootstrap/errors.js";
import { fromSource, readDataSource, TLS_TRANSPORT_SOCKET, type SecretSource } from "./bootstrap/listener-tls.js";
import type { JsonValue, SanMatcherConfig, TlsVersion, TransportSocketMatchConfig, UpstreamTlsConfig } from "./bootstrap/types.js";

export const RAW_BUFFER_TRANSPORT_SOCKET = "envoy.transport_sockets.raw_buffer";

type Fail = (path: FieldPath, message: string) => never;

/** Envoy's client defaults for TLS_AUTO: TLS 1.2 minimum and maximum. */
const DEFAULT_VERSION: TlsVersion = "TLSv1.2";
const VERSIONS: Record<number, TlsVersion | undefined> = {
  [TlsParameters_TlsProtocol.TLSv1_0]: "TLSv1",
  [TlsParameters_TlsProtocol.TLSv1_1]: "TLSv1.1",
  [TlsParameters_TlsProtocol.TLSv1_2]: "TLSv1.2",
  [TlsParameters_TlsProtocol.TLSv1_3]: "TLSv1.3",
};
const VERSION_ORDER: TlsVersion[] = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

const SAN_TYPES: Partial<Record<SubjectAltNameMatcher_SanType, SanMatcherConfig["sanType"]>> = {
  [SubjectAltNameMatcher_SanType.DNS]: "DNS",
  [SubjectAltNameMatcher_SanType.URI]: "URI",
  [SubjectAltNameMatcher_SanType.IP_ADDRESS]: "IP_ADDRESS",
  [SubjectAltNameMatcher_SanType.EMAIL]: "EMAIL",
};

export interface ClusterTransportSockets {
  tls?: UpstreamTlsConfig;
  transportSocketMatches?: TransportSocketMatchConfig[];
}

/** The cluster's transport sockets; {} for a plain-text cluster. */
export function clusterTransportSockets(c: Cluster, path: FieldPath, secrets: SecretSource | undefined, fail: Fail): ClusterTransportSockets {
  const out: ClusterTransportSockets = {};
  if (c.transportSocket) {
    const tls = transportSocket(c.transportSocket, [...path, "transport_socket"], secrets, fail);
    if (tls) out.tls = tls;
  }
  if (c.transportSocketMatches.length > 0) {
    const names = new Set<string>();
    out.transportSocketMatches = c.transportSocketMatches.map((m, i) => {
      const p = [...path, "transport_socket_matches", i];
      if (!m.name) fail([...p, "name"], "must not be empty");
      if (names.has(m.name)) fail([...p, "name"], `duplicate transport socket match "${m.name}"`);
      names.add(m.name);
      if (!m.transportSocket) fail([...p, "transport_socket"], "is required");
      const tls = transportSocket(m.transportSocket, [...p, "transport_socket"], secrets, fail);
      return { name: m.name, match: toJsonRecord(m.match ?? {}), ...(tls ? { tls } : {}) };
    });
  }
  return out;
}

/** undefined: raw_buffer (plain text). */
function transportSocket(ts: TransportSocket, path: FieldPath, secrets: SecretSource | undefined, fail: Fail): UpstreamTlsConfig | undefined {
  if (ts.name === RAW_BUFFER_TRANSPORT_SOCKET && ts.configType.case === undefined) return undefined;
  if (ts.name && ts.name !== TLS_TRANSPORT_SOCKET) {
    fail([...path, "name"], `"${ts.name}" is not supported by halyard gateway (supported: ${TLS_TRANSPORT_SOCKET}, ${RAW_BUFFER_TRANSPORT_SOCKET} without typed_config)`);
  }
  if (ts.configType.case !== "typedConfig") fail(path, "typed_config (an UpstreamTlsContext) is required");
  const ctx = anyUnpack(ts.configType.value, UpstreamTlsContextSchema);
  if (!ctx) fail([...path, "typed_config"], "expected an envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext");
  const tp = [...path, "typed_config"];
  if (!secrets) fail(tp, "upstream TLS needs certificate files and secrets (halyard gateway reads them; this runtime cannot)");
  if (ctx.sni.length > 255) fail([...tp, "sni"], "is longer than 255 characters");
  const cp = [...tp, "common_tls_context"];
  const common = ctx.commonTlsContext;
  const out: UpstreamTlsConfig = { sni: ctx.sni, alpn: [...(common?.alpnProtocols ?? [])], sans: [], ...versions(common?.tlsParams, [...cp, "tls_params"], fail) };
  if (!common) return out;

  const certs = common.tlsCertificates.length + common.tlsCertificateSdsSecretConfigs.length;
  if (certs > 1) fail(cp, `at most one client certificate is supported by halyard gateway (tls_certificates or tls_certificate_sds_secret_configs), found ${certs}`);
  if (common.tlsCertificates.length === 1) {
    const c = common.tlsCertificates[0]!;
    const p = [...cp, "tls_certificates", 0];
    out.certificate = { certificateChain: readDataSource(c.certificateChain, [...p, "certificate_chain"], secrets, fail), privateKey: readDataSource(c.privateKey, [...p, "private_key"], secrets, fail) };
  } else if (common.tlsCertificateSdsSecretConfigs.length === 1) {
    const name = common.tlsCertificateSdsSecretConfigs[0]!.name;
    const p = [...cp, "tls_certificate_sds_secret_configs", 0, "name"];
    if (!name) fail(p, "must not be empty");
    out.certificate = { ...fromSource(() => secrets.tlsCertificate(name), p, fail), sds: name };
  }

  const v = common.validationContextType;
  let validation: CertificateValidationContext | undefined;
  let vp: FieldPath = cp;
  if (v.case === "validationContext") {
    validation = v.value;
    vp = [...cp, "validation_context"];
    if (validation.trustedCa) out.trustedCa = { pem: readDataSource(validation.trustedCa, [...vp, "trusted_ca"], secrets, fail) };
  } else if (v.case === "validationContextSdsSecretConfig") {
    out.trustedCa = sdsCa(v.value.name, [...cp, "validation_context_sds_secret_config", "name"], secrets, fail);
  } else if (v.case === "combinedValidationContext") {
    const combined = v.value;
    const p = [...cp, "combined_validation_context"];
    if (!combined.validationContextSdsSecretConfig) fail([...p, "validation_context_sds_secret_config"], "is required");
    validation = combined.defaultValidationContext;
    vp = [...p, "default_validation_context"];
    // As Envoy merges the secret into the default context: the secret's CA is the one in force.
    out.trustedCa = sdsCa(combined.validationContextSdsSecretConfig.name, [...p, "validation_context_sds_secret_config", "name"], secrets, fail);
  } else if (v.case !== undefined) {
    fail(cp, `${v.case} is not supported by halyard gateway (use validation_context, validation_context_sds_secret_config or combined_validation_context)`);
  }
  if (validation) out.sans = sanMatchers(validation, vp, fail);
  if (out.sans.length > 0 && !out.trustedCa) {
    fail([...vp, "trusted_ca"], "is required with subject alt name matchers (SAN checks of an unverified certificate prove nothing)");
  }
  return out;
}

function versions(params: TlsParameters | undefined, path: FieldPath, fail: Fail): { minVersion: TlsVersion; maxVersion: TlsVersion } {
  const pick = (v: TlsParameters_TlsProtocol | undefined, field: string): TlsVersion | undefined => {
    if (v === undefined || v === TlsParameters_TlsProtocol.TLS_AUTO) return undefined;
    return VERSIONS[v] ?? fail([...path, field], `${String(v)} is not a TLS version`);
  };
  const min = pick(params?.tlsMinimumProtocolVersion, "tls_minimum_protocol_version");
  const max = pick(params?.tlsMaximumProtocolVersion, "tls_maximum_protocol_version");
  const order = (x: TlsVersion) => VERSION_ORDER.indexOf(x);
  const minVersion = min ?? (max && order(max) < order(DEFAULT_VERSION) ? max : DEFAULT_VERSION);
  const maxVersion = max ?? (min && order(min) > order(DEFAULT_VERSION) ? min : DEFAULT_VERSION);
  if (order(minVersion) > order(maxVersion)) fail([...path, "tls_minimum_protocol_version"], `${minVersion} is above the maximum ${maxVersion}`);
  return { minVersion, maxVersion };
}

function sanMatchers(v: CertificateValidationContext, path: FieldPath, fail: Fail): SanMatcherConfig[] {
  const typed = v.matchTypedSubjectAltNames.map((m, i) => {
    const p = [...path, "match_typed_subject_alt_names", i];
    const sanType = SAN_TYPES[m.sanType];
    if (!sanType) fail([...p, "san_type"], `${SubjectAltNameMatcher_SanType[m.sanType] ?? m.sanType} is not supported by halyard gateway (supported: DNS, URI, IP_ADDRESS, EMAIL)`);
    if (!m.matcher) fail([...p, "matcher"], "is required");
    return { sanType, ...stringMatcher(m.matcher, [...p, "matcher"], fail) };
  });
  const plain = v.matchSubjectAltNames.map((m, i) => ({ sanType: "ANY" as const, ...stringMatcher(m, [...path, "match_subject_alt_names", i], fail) }));
  return [...typed, ...plain];
}

function stringMatcher(m: StringMatcher, path: FieldPath, fail: Fail): Omit<SanMatcherConfig, "sanType"> {
  const p = m.matchPattern;
  if (p.case !== "exact" && p.case !== "prefix" && p.case !== "suffix" && p.case !== "contains") {
    fail(path, `${p.case === undefined ? "a match pattern" : p.case} is not supported by halyard gateway for SAN matching (supported: exact, prefix, suffix, contains)`);
  }
  if (p.case !== "exact" && p.value === "") fail([...path, p.case], "must not be empty");
  return { kind: p.case, value: p.value, ignoreCase: m.ignoreCase };
}

function sdsCa(name: string, path: FieldPath, secrets: SecretSource, fail: Fail): { pem: string; sds: string } {
  if (!name) fail(path, "must not be empty");
  return { pem: fromSource(() => secrets.trustedCa(name), path, fail), sds: name };
}


function toJsonRecord(o: JsonObject): Record<string, JsonValue> {
  return o as Record<string, ProtoJsonValue> as Record<string, JsonValue>;
}

const SOCKET_MATCH_METADATA = "envoy.transport_socket_match";

/** An endpoint's and its locality's `envoy.transport_socket_match` metadata; undefined when neither has any. */
export function endpointSocketMatch(
  endpoint: { filterMetadata: { [key: string]: JsonObject } } | undefined,
  locality: { filterMetadata: { [key: string]: JsonObject } } | undefined,
): { endpoint?: Record<string, JsonValue>; locality?: Record<string, JsonValue> } | undefined {
  const e = endpoint?.filterMetadata[SOCKET_MATCH_METADATA];
  const l = locality?.filterMetadata[SOCKET_MATCH_METADATA];
  if (!e && !l) return undefined;
  return { ...(e ? { endpoint: toJsonRecord(e) } : {}), ...(l ? { locality: toJsonRecord(l) } : {}) };
}
