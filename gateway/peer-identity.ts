// What a verified mTLS peer certificate tells the filters, in Envoy's terms: the connection.* attributes
// (mtls, uri_san_peer_certificate, dns_san_peer_certificate, subject_peer_certificate, uri_san_local_certificate)
// and source.principal — Envoy's authenticated principal, the peer's first URI SAN as written
// (spiffe://<td>/ns/<ns>/sa/<sa>), which is what halyard.authz compares `principals` / `namespaces` with
// (engine/authz/CONFIG.md). Portable: the runtime extracts the certificate (peer-certificate-node.ts).
import type { StreamInfo } from "../wasm/host/index.js";

/** A client certificate the listener verified against its trusted CA. */
export interface PeerCertificate {
  /** URI SANs in certificate order (a SPIFFE SVID has exactly one). */
  uriSans: string[];
  dnsSans: string[];
  /** RFC 2253 form, as Envoy prints it ("CN=foo,O=bar"); "" for an SVID's empty subject. */
  subject: string;
  /** Lower-case hex SHA-256 of the certificate's DER (XFCC's Hash). */
  sha256: string;
  /** The leaf as PEM (XFCC's Cert, when configured). */
  pem: string;
  /** Leaf first, then the rest of the chain the client sent (XFCC's Chain). */
  chainPem: string[];
  /** Upper-case hex serial number. */
  serialNumber: string;
}

/** The TLS side of a downstream connection. */
export interface DownstreamTls {
  serverName?: string;
  version?: string;
  /** Set only when the client presented a certificate that verified (mTLS). */
  peer?: PeerCertificate;
  /** The first URI SAN of the certificate this listener served (XFCC's By). */
  localUriSan?: string;
}

/** StreamInfo.connection + source.principal from the connection's TLS state. */
export function peerConnectionInfo(tls: DownstreamTls | undefined): { connection: NonNullable<StreamInfo["connection"]>; principal?: string } {
  const connection: NonNullable<StreamInfo["connection"]> = { mtls: tls?.peer !== undefined };
  if (tls?.serverName) connection.requestedServerName = tls.serverName;
  if (tls?.version) connection.tlsVersion = tls.version;
  if (tls?.localUriSan) connection.uriSanLocalCertificate = tls.localUriSan;
  const peer = tls?.peer;
  if (!peer) return { connection };
  if (peer.uriSans.length > 0) connection.uriSanPeerCertificate = peer.uriSans[0];
  if (peer.dnsSans.length > 0) connection.dnsSanPeerCertificate = peer.dnsSans[0];
  connection.subjectPeerCertificate = peer.subject;
  return peer.uriSans.length > 0 ? { connection, principal: peer.uriSans[0] } : { connection };
}
