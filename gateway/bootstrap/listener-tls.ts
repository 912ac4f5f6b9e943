// A listener's filter chains as TLS termination: each chain with a DownstreamTlsContext transport socket serves its
// certificate to the SNI names of its filter_chain_match (Envoy's server_names: exact, or "*.suffix"); a chain
// without one is the plain-text chain. Certificates come from files named in the bootstrap (tls_certificates with
// filename) or from SDS secrets by name (Istio's credentialName), both through a SecretSource supplied by the
// embedder, and are read here so that a missing one is a config error (a NACK over xDS), not a failed handshake.
// Portable.
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import type { DataSource } from "../../gen/envoy/config/core/v3/base_pb.js";
import type { Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { DownstreamTlsContextSchema, type DownstreamTlsContext } from "../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import type { FieldPath } from "./errors.js";
import type { ListenerTlsConfig, TlsChainConfig } from "./types.js";

/** Where TLS material comes from; each method throws an Error whose message is a one-line reason. */
export interface SecretSource {
  /** PEM text of a file named in the bootstrap (relative names resolved against the bootstrap's directory). */
  readFile(name: string): string;
  /** An SDS secret's certificate chain and private key. */
  tlsCertificate(name: string): { certificateChain: string; privateKey: string };
  /** An SDS validation secret's CA bundle (Istio's `<credentialName>-cacert`). */
  trustedCa(name: string): string;
  /**
   * Calls `onChange` after the named secret changed (a rotated workload certificate, a new root); consumers then
   * re-read it. Returns an unsubscribe. Sources whose secrets never change leave it out.
   */
  watch?(name: string, onChange: () => void): () => void;
}

export const TLS_TRANSPORT_SOCKET = "envoy.transport_sockets.tls";
/** The ALPN protocols the gateway speaks. */
const ALPN = new Set(["h2", "http/1.1"]);
/**
 * Listed by Istio's inbound mTLS chains for its TCP metadata exchange filter. The gateway runs no such filter (peer
 * identity comes from the certificate); it is offered last, after what the gateway speaks, because a sidecar's
 * ISTIO_MUTUAL upstream offers only `istio-peer-exchange, istio` and Node's TLS server refuses a handshake whose
 * ALPN lists do not meet (BoringSSL in Envoy just proceeds without ALPN). Negotiated, it means HTTP/1.1.
 */
const ACCEPTED_NOT_OFFERED = new Set(["istio-peer-exchange"]);

type Fail = (path: FieldPath, message: string) => never;

/** The listener's TLS chains, or undefined when every chain is plain text. */
export function listenerTls(l: Listener, path: FieldPath, secrets: SecretSource | undefined, fail: Fail): ListenerTlsConfig | undefined {
  const chains: TlsChainConfig[] = [];
  let plaintext = false;
  const bySni = new Map<string, string>();
  l.filterChains.forEach((chain, i) => {
    const p = [...path, "filter_chains", i];
    const match = chain.filterChainMatch;
    const ts = chain.transportSocket;
    const name = chain.name || `filter_chains[${i}]`;
    if (match?.transportProtocol && match.transportProtocol !== (ts ? "tls" : "raw_buffer")) {
      fail([...p, "filter_chain_match", "transport_protocol"], ts ? `must be "tls" for a chain with a TLS transport socket` : `"${match.transportProtocol}" needs a TLS transport socket on the chain`);
    }
    if (!ts) {
      if (match?.serverNames.length) fail([...p, "filter_chain_match", "server_names"], "SNI matching needs a TLS transport socket on the chain");
      if (plaintext) fail(p, "a second plain-text filter chain: chains must differ in server_names or transport socket");
      plaintext = true;
      return;
    }
    const serverNames = (match?.serverNames ?? []).map((n) => n.toLowerCase());
    for (const [j, n] of serverNames.entries()) {
      if (!n || (n.includes("*") && !/^\*\.[^*]+$/.test(n))) fail([...p, "filter_chain_match", "server_names", j], `"${n}" is not a server name or "*.suffix" wildcard`);
    }
    for (const key of serverNames.length ? serverNames : [""]) {
      const other = bySni.get(key);
      if (other !== undefined) {
        fail([...p, "filter_chain_match"], `${key ? `server name "${key}"` : "no server_names"} is already matched by ${other}: filter chains must not overlap`);
      }
      bySni.set(key, name);
    }
    chains.push({ name, serverNames, ...tlsContext(ts, [...p, "transport_socket"], secrets, fail) });
  });
  return chains.length > 0 ? { chains, plaintext, ...(secrets ? { secrets } : {}) } : undefined;
}

function tlsContext(
  ts: NonNullable<Listener["filterChains"][number]["transportSocket"]>,
  path: FieldPath,
  secrets: SecretSource | undefined,
  fail: Fail,
): Omit<TlsChainConfig, "name" | "serverNames"> {
  if (ts.name && ts.name !== TLS_TRANSPORT_SOCKET) fail([...path, "name"], `"${ts.name}" is not supported by halyard gateway (supported: ${TLS_TRANSPORT_SOCKET})`);
  if (ts.configType.case !== "typedConfig") fail(path, "typed_config (a DownstreamTlsContext) is required");
  const ctx: DownstreamTlsContext | undefined = anyUnpack(ts.configType.value, DownstreamTlsContextSchema);
  if (!ctx) fail([...path, "typed_config"], "expected an envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext");
  const p = [...path, "typed_config", "common_tls_context"];
  const common = ctx.commonTlsContext;
  if (!common) fail(p, "is required (a certificate to serve)");
  if (!secrets) fail(path, "TLS listeners need certificate files (halyard gateway reads them; this runtime cannot)");
  // Fields the table admits for upstream TLS (clusters) that a listener does not implement.
  if (common.tlsParams) fail([...p, "tls_params"], "is not supported on listeners by halyard gateway");
  const v0 = common.validationContextType;
  const validation = v0.case === "validationContext" ? v0.value : v0.case === "combinedValidationContext" ? v0.value.defaultValidationContext : undefined;
  if (validation && (validation.matchTypedSubjectAltNames.length > 0 || validation.matchSubjectAltNames.length > 0)) {
    fail([...p, v0.case === "validationContext" ? "validation_context" : "combined_validation_context"], "subject alt name matching of client certificates is not supported by halyard gateway");
  }
  common.alpnProtocols.forEach((a, i) => {
    if (!ALPN.has(a) && !ACCEPTED_NOT_OFFERED.has(a)) fail([...p, "alpn_protocols", i], `"${a}" is not supported by halyard gateway (supported: h2, http/1.1, istio-peer-exchange)`);
  });
  const alpnProtocols = [...common.alpnProtocols.filter((a) => ALPN.has(a)), ...common.alpnProtocols.filter((a) => ACCEPTED_NOT_OFFERED.has(a))];
  if (common.alpnProtocols.length > 0 && !alpnProtocols.some((a) => ALPN.has(a))) fail([...p, "alpn_protocols"], "lists no protocol halyard gateway speaks (h2, http/1.1)");

  const certs = common.tlsCertificates.length + common.tlsCertificateSdsSecretConfigs.length;
  if (certs !== 1) fail(p, `exactly one certificate is supported by halyard gateway (tls_certificates or tls_certificate_sds_secret_configs), found ${certs}`);
  let certificateChain: string;
  let privateKey: string;
  let certificateSecret: string | undefined;
  if (common.tlsCertificates.length === 1) {
    const c = common.tlsCertificates[0]!;
    const cp = [...p, "tls_certificates", 0];
    certificateChain = readDataSource(c.certificateChain, [...cp, "certificate_chain"], secrets, fail);
    privateKey = readDataSource(c.privateKey, [...cp, "private_key"], secrets, fail);
  } else {
    const sds = common.tlsCertificateSdsSecretConfigs[0]!;
    const sp = [...p, "tls_certificate_sds_secret_configs", 0];
    if (!sds.name) fail([...sp, "name"], "must not be empty");
    ({ certificateChain, privateKey } = fromSource(() => secrets.tlsCertificate(sds.name), [...sp, "name"], fail));
    certificateSecret = sds.name;
  }

  let trustedCa: string | undefined;
  let trustedCaSecret: string | undefined;
  const v = common.validationContextType;
  if (v.case === "validationContext") {
    trustedCa = readDataSource(v.value.trustedCa, [...p, "validation_context", "trusted_ca"], secrets, fail);
  } else if (v.case === "validationContextSdsSecretConfig") {
    const name = v.value.name;
    const vp = [...p, "validation_context_sds_secret_config", "name"];
    if (!name) fail(vp, "must not be empty");
    trustedCa = fromSource(() => secrets.trustedCa(name), vp, fail);
    trustedCaSecret = name;
  } else if (v.case === "combinedValidationContext") {
    // Istio's form: an SDS validation secret plus a default context, which may add nothing the gateway would ignore.
    const cp = [...p, "combined_validation_context"];
    const dflt = v.value.defaultValidationContext;
    if (dflt?.trustedCa) fail([...cp, "default_validation_context", "trusted_ca"], "is not supported together with validation_context_sds_secret_config by halyard gateway");
    const name = v.value.validationContextSdsSecretConfig?.name;
    if (!name) fail([...cp, "validation_context_sds_secret_config", "name"], "must not be empty");
    trustedCa = fromSource(() => secrets.trustedCa(name), [...cp, "validation_context_sds_secret_config", "name"], fail);
    trustedCaSecret = name;
  } else if (v.case !== undefined) {
    fail(p, `${v.case} is not supported by halyard gateway (use validation_context, validation_context_sds_secret_config or combined_validation_context)`);
  }
  const requireClientCertificate = ctx.requireClientCertificate === true;
  if (requireClientCertificate && trustedCa === undefined) {
    fail([...path, "typed_config", "require_client_certificate"], "needs a validation context (trusted CA) to verify client certificates against");
  }
  return {
    certificateChain,
    privateKey,
    ...(trustedCa !== undefined ? { trustedCa } : {}),
    requireClientCertificate,
    ...(alpnProtocols.length > 0 ? { alpnProtocols } : {}),
    ...(certificateSecret !== undefined ? { certificateSecret } : {}),
    ...(trustedCaSecret !== undefined ? { trustedCaSecret } : {}),
  };
}

export function readDataSource(d: DataSource | undefined, path: FieldPath, secrets: SecretSource, fail: Fail): string {
  if (!d || d.specifier.case !== "filename" || !d.specifier.value) fail(path, "filename is required");
  const file = d.specifier.value;
  return fromSource(() => secrets.readFile(file), [...path, "filename"], fail);
}

export function fromSource<T>(read: () => T, path: FieldPath, fail: Fail): T {
  try {
    return read();
  } catch (e) {
    return fail(path, e instanceof Error ? e.message : String(e));
  }
}
