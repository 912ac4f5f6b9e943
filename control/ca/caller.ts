// Who is asking the certificate service: the SPIFFE identity of a client certificate that chains to the mesh root
// (TLS has already checked the chain), else the service account of a bearer token in `authorization` metadata.
import type { ServerUnaryCall } from "@grpc/grpc-js";
import { CaError } from "./errors.js";
import { parseSpiffeId, type ServiceAccount } from "./identity.js";
import type { TokenVerifier } from "./token.js";
import { x509 } from "./x509.js";

export interface AuthenticatedCaller {
  account: ServiceAccount;
  via: "client certificate" | "token";
}

/** The SPIFFE ID URI SANs of a DER certificate. */
function uriSans(der: Buffer): string[] {
  const san = new x509.X509Certificate(new Uint8Array(der)).getExtension(x509.SubjectAlternativeNameExtension);
  return san ? san.names.items.filter((n) => n.type === "url").map((n) => n.value) : [];
}

function fromClientCertificate(call: ServerUnaryCall<unknown, unknown>, trustDomain: string): ServiceAccount | string {
  const peer = call.getAuthContext()?.sslPeerCertificate;
  if (!peer?.raw) return "no client certificate issued by the mesh CA";
  let uris: string[];
  try {
    uris = uriSans(peer.raw);
  } catch {
    return "client certificate subjectAltName cannot be read";
  }
  if (uris.length !== 1) return `client certificate has ${uris.length} URI SANs, an X.509-SVID has exactly one`;
  return parseSpiffeId(uris[0]!, trustDomain) ?? `client certificate names ${uris[0]}, not a spiffe://${trustDomain}/ns/<ns>/sa/<sa> identity`;
}

function bearerToken(call: ServerUnaryCall<unknown, unknown>): string | undefined {
  for (const value of call.metadata.get("authorization")) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(String(value));
    if (m) return m[1];
  }
  return undefined;
}

/** Throws CaError("unauthenticated") saying what was wrong with each credential tried. */
export async function authenticateCaller(call: ServerUnaryCall<unknown, unknown>, trustDomain: string, tokens: TokenVerifier): Promise<AuthenticatedCaller> {
  const fromCert = fromClientCertificate(call, trustDomain);
  if (typeof fromCert !== "string") return { account: fromCert, via: "client certificate" };
  const token = bearerToken(call);
  if (token !== undefined) return { account: await tokens.verify(token), via: "token" };
  const hasHeader = call.metadata.get("authorization").length > 0;
  throw new CaError(
    "unauthenticated",
    `${fromCert}, and ${hasHeader ? "the authorization metadata is not \"Bearer <token>\"" : "no bearer token in the authorization metadata"}`,
  );
}
