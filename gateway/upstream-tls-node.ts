// Node TLS client options for an UpstreamTlsConfig, and the material behind them. Files are the PEM read when the
// config was built; a secret named by SDS is read from the transport's SecretSource when a context first connects
// (else the PEM read at build time), and again after the source reports it changed (`watch`): from then on new
// connections use the new material. Each (context, material version) has its own key, so the transports keep one
// pool per (endpoint, key) and retire a pool once its key is superseded. Node-only.
import type { ConnectionOptions, PeerCertificate } from "node:tls";
import type { SecretSource } from "./bootstrap/listener-tls.js";
import type { UpstreamTlsConfig } from "./bootstrap/types.js";
import { UpstreamError } from "./upstream.js";
import { parseSubjectAltName, sanMismatchMessage, sansMatch } from "./upstream-tls.js";

/** The workload-identity contract's optional member: fires after the named secret changed; returns an unsubscribe. */
export interface WatchableSecretSource extends SecretSource {
  watch?(name: string, onChange: () => void): () => void;
}

export interface UpstreamTlsConnection {
  /** The TLS context and the version of its material: connections are pooled per (endpoint, key). */
  key: string;
  /** The TLS context alone: a pool whose key differs from the current one for the same context is superseded. */
  contextKey: string;
  options: ConnectionOptions;
}

interface Material {
  certificate?: { certificateChain: string; privateKey: string };
  trustedCa?: string;
}

export class UpstreamTlsContexts {
  private readonly ids = new Map<string, string>();
  private readonly idOf = new WeakMap<UpstreamTlsConfig, string>();
  /** Secret name -> times it changed since it was first used. */
  private readonly versions = new Map<string, number>();
  private readonly unsubscribe = new Map<string, () => void>();
  private readonly connections = new Map<string, UpstreamTlsConnection>();

  constructor(private readonly secrets?: WatchableSecretSource) {}

  /** Options for a new connection; throws UpstreamError (connect_failure) when changed material cannot be read. */
  connection(tls: UpstreamTlsConfig, http2: boolean): UpstreamTlsConnection {
    const contextKey = `${this.contextId(tls)}${http2 ? "h2" : ""}`;
    for (const name of [tls.certificate?.sds, tls.trustedCa?.sds]) if (name !== undefined) this.watch(name);
    const key = `${contextKey}@${this.version(tls.certificate?.sds)}.${this.version(tls.trustedCa?.sds)}`;
    let conn = this.connections.get(key);
    if (!conn) {
      conn = { key, contextKey, options: clientOptions(tls, this.material(tls), http2) };
      for (const [k, c] of this.connections) if (c.contextKey === contextKey) this.connections.delete(k);
      this.connections.set(key, conn);
    }
    return conn;
  }

  close(): void {
    for (const off of this.unsubscribe.values()) off();
    this.unsubscribe.clear();
    this.connections.clear();
  }

  private contextId(tls: UpstreamTlsConfig): string {
    let id = this.idOf.get(tls);
    if (id === undefined) {
      const json = JSON.stringify(tls);
      id = this.ids.get(json);
      if (id === undefined) {
        id = `tls${this.ids.size + 1}`;
        this.ids.set(json, id);
      }
      this.idOf.set(tls, id);
    }
    return id;
  }

  private version(name: string | undefined): number {
    return name === undefined ? 0 : (this.versions.get(name) ?? 0);
  }

  private watch(name: string): void {
    if (this.unsubscribe.has(name) || !this.secrets?.watch) return;
    this.unsubscribe.set(
      name,
      this.secrets.watch(name, () => this.versions.set(name, this.version(name) + 1)),
    );
  }

  private material(tls: UpstreamTlsConfig): Material {
    const out: Material = {};
    const cert = tls.certificate;
    if (cert) {
      out.certificate = cert.sds !== undefined && this.secrets ? this.read(cert.sds, (s, n) => s.tlsCertificate(n)) : cert;
    }
    const ca = tls.trustedCa;
    if (ca) out.trustedCa = ca.sds !== undefined && this.secrets ? this.read(ca.sds, (s, n) => s.trustedCa(n)) : ca.pem;
    return out;
  }

  private read<T>(name: string, get: (s: SecretSource, name: string) => T): T {
    try {
      return get(this.secrets!, name);
    } catch (e) {
      throw new UpstreamError("connect_failure", `upstream TLS: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

/**
 * What the transports offer by ALPN: the configured list plus the protocol the cluster speaks (h2 for HTTP/2, also
 * when nothing is configured; http/1.1 added to a non-empty list), as Istio's ALPN override does for its "istio"
 * markers. A server that knows none of the offered names may refuse the handshake (Node and OpenSSL servers send
 * no_application_protocol), so the real protocol is always among them.
 */
export function offeredAlpn(alpn: readonly string[], http2: boolean): string[] {
  if (http2) return alpn.includes("h2") ? [...alpn] : ["h2", ...alpn];
  return alpn.length === 0 || alpn.includes("http/1.1") ? [...alpn] : [...alpn, "http/1.1"];
}

/** Envoy's "TLS_error:" transport failure reason, from a handshake or verification error. */
export function tlsFailureReason(e: Error): string {
  return `TLS_error: ${e.message.split("\n")[0]}`;
}

function clientOptions(tls: UpstreamTlsConfig, m: Material, http2: boolean): ConnectionOptions {
  const alpn = offeredAlpn(tls.alpn, http2);
  const verify = m.trustedCa !== undefined;
  return {
    // "" sends no SNI (the https agent would otherwise take it from the Host header).
    servername: tls.sni,
    minVersion: tls.minVersion,
    maxVersion: tls.maxVersion,
    ...(alpn.length > 0 ? { ALPNProtocols: alpn } : {}),
    ...(m.certificate ? { cert: m.certificate.certificateChain, key: m.certificate.privateKey } : {}),
    // Without a validation context Envoy does not verify the server's certificate; with one it verifies the chain
    // and the SAN matchers, and never the host name.
    ...(verify ? { ca: m.trustedCa } : {}),
    rejectUnauthorized: verify,
    checkServerIdentity: (_host: string, cert: PeerCertificate) => {
      if (tls.sans.length === 0) return undefined;
      const sans = parseSubjectAltName(cert.subjectaltname);
      return sansMatch(sans, tls.sans) ? undefined : new Error(sanMismatchMessage(sans, tls.sans));
    },
  };
}
