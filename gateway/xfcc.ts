// x-forwarded-client-cert as Envoy's HCM handles it (forward_client_cert_details + set_current_client_cert_details).
// Without a verified client certificate the header is removed (every mode but ALWAYS_FORWARD_ONLY), so a client on
// a plain or one-way TLS connection can never hand the app an identity. On mTLS: SANITIZE removes it, FORWARD_ONLY
// keeps it, SANITIZE_SET replaces it and APPEND_FORWARD appends to it the current element:
// By=<our URI SAN>;Hash=<sha256 of the peer DER>;Cert="…";Subject="…";URI=…;DNS=…;Chain="…" (configured fields only,
// in Envoy's order). Portable.
import type { HeaderMap } from "../wasm/host/index.js";
import type { DownstreamTls, PeerCertificate } from "./peer-identity.js";

export const XFCC = "x-forwarded-client-cert";

export type ForwardClientCertMode = "SANITIZE" | "FORWARD_ONLY" | "APPEND_FORWARD" | "SANITIZE_SET" | "ALWAYS_FORWARD_ONLY";

export interface ClientCertDetails {
  subject?: boolean;
  uri?: boolean;
  dns?: boolean;
  cert?: boolean;
  chain?: boolean;
}

export interface ForwardClientCertConfig {
  mode: ForwardClientCertMode;
  /** Used by APPEND_FORWARD and SANITIZE_SET only. */
  details: ClientCertDetails;
}

/** Envoy's default: SANITIZE. */
export const DEFAULT_FORWARD_CLIENT_CERT: ForwardClientCertConfig = { mode: "SANITIZE", details: {} };

/** Rewrites the request's XFCC header in place for this connection. */
export function applyForwardClientCert(headers: HeaderMap, cfg: ForwardClientCertConfig, tls: DownstreamTls | undefined): void {
  if (cfg.mode === "ALWAYS_FORWARD_ONLY") return;
  const peer = tls?.peer;
  if (!peer || cfg.mode === "SANITIZE") return removeAll(headers);
  if (cfg.mode === "FORWARD_ONLY") return;
  const current = currentElement(peer, tls!.localUriSan, cfg.details);
  const previous = cfg.mode === "APPEND_FORWARD" ? joined(headers) : undefined;
  removeAll(headers);
  headers.push([XFCC, previous ? `${previous},${current}` : current]);
}

function currentElement(peer: PeerCertificate, localUriSan: string | undefined, d: ClientCertDetails): string {
  const parts: string[] = [];
  if (localUriSan) parts.push(`By=${localUriSan}`);
  parts.push(`Hash=${peer.sha256}`);
  if (d.cert) parts.push(`Cert="${encodeURIComponent(peer.pem)}"`);
  // The RFC 2253 subject already escapes '"' and '\\'; Envoy quotes it as it is.
  if (d.subject) parts.push(`Subject="${peer.subject}"`);
  // The URI key is there even when the certificate has no URI SAN, as in Envoy.
  if (d.uri) parts.push(...(peer.uriSans.length > 0 ? peer.uriSans.map((u) => `URI=${u}`) : ["URI="]));
  if (d.dns) parts.push(...peer.dnsSans.map((n) => `DNS=${n}`));
  if (d.chain) parts.push(`Chain="${encodeURIComponent(peer.chainPem.join(""))}"`);
  return parts.join(";");
}

function joined(headers: HeaderMap): string | undefined {
  const values = headers.filter(([k]) => k === XFCC).map(([, v]) => v);
  return values.length > 0 ? values.join(",") : undefined;
}

function removeAll(headers: HeaderMap): void {
  for (let i = headers.length - 1; i >= 0; i--) if (headers[i]![0] === XFCC) headers.splice(i, 1);
}
