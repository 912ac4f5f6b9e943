// Compact JWS parsing (RFC 7515 section 7.1) and the registered claims Envoy reads (RFC 7519
// section 4.1), with Envoy jwt_verify_lib's checks and statuses.
import { JsonKind, JsonValue, parseJsonView } from "../json/index";
import { base64urlDecodeSlice } from "../crypto/base64url";
import { JwtStatus } from "./status";
import { parseJwsAlg } from "./alg";

export class Jwt {
  /** The token bytes; the signing input is token[0, signingInputLength). */
  token: Uint8Array = new Uint8Array(0);
  signingInputLength: i32 = 0;
  header: JsonValue = JsonValue.newNull();
  /** Raw payload JSON (UTF-8), as the issuer signed it. */
  payload: Uint8Array = new Uint8Array(0);
  claims: JsonValue = JsonValue.newNull();
  signature: Uint8Array = new Uint8Array(0);
  alg: string = "";
  /** The JwsAlg of `alg` (valid once parsing succeeded). */
  algId: i32 = -1;
  kid: string = "";
  typ: string = "";
  iss: string = "";
  sub: string = "";
  jti: string = "";
  audiences: string[] = [];
  iat: u64 = 0;
  nbf: u64 = 0;
  exp: u64 = 0;
}

export class JwtParseResult {
  constructor(public status: JwtStatus, public jwt: Jwt | null) {}
}

const DOT: u8 = 0x2e;

/** Parses a compact JWS; on failure the status says which part is wrong (never traps). */
export function parseJwt(token: Uint8Array): JwtParseResult {
  const n = token.length;
  if (n == 0) return new JwtParseResult(JwtStatus.JwtMissed, null);
  let dot1 = -1, dot2 = -1;
  for (let i = 0; i < n; i++) {
    if (unchecked(token[i]) != DOT) continue;
    if (dot1 < 0) dot1 = i;
    else if (dot2 < 0) dot2 = i;
    else return fail(JwtStatus.JwtBadFormat);
  }
  // Exactly two dots and three non-empty sections.
  if (dot2 < 0 || dot1 == 0 || dot2 == dot1 + 1 || dot2 == n - 1) return fail(JwtStatus.JwtBadFormat);

  const jwt = new Jwt();
  jwt.token = token;
  jwt.signingInputLength = dot2;

  const headerBytes = base64urlDecodeSlice(token, 0, dot1);
  if (headerBytes == null) return fail(JwtStatus.JwtHeaderParseErrorBadBase64);
  const header = parseJsonView(headerBytes).value;
  if (header == null || header.kind != JsonKind.Object) return fail(JwtStatus.JwtHeaderParseErrorBadJson);
  jwt.header = header;

  const alg = header.get("alg");
  if (alg == null || alg.kind != JsonKind.String) return fail(JwtStatus.JwtHeaderBadAlg);
  jwt.alg = alg.stringValue;
  jwt.algId = parseJwsAlg(jwt.alg);
  if (jwt.algId < 0) return fail(JwtStatus.JwtHeaderNotImplementedAlg);
  const kid = header.get("kid");
  if (kid != null) {
    if (kid.kind != JsonKind.String) return fail(JwtStatus.JwtHeaderBadKid);
    jwt.kid = kid.stringValue;
  }
  jwt.typ = header.getString("typ", "");

  const payloadBytes = base64urlDecodeSlice(token, dot1 + 1, dot2);
  if (payloadBytes == null) return fail(JwtStatus.JwtPayloadParseErrorBadBase64);
  jwt.payload = payloadBytes;
  const claims = parseJsonView(payloadBytes).value;
  if (claims == null || claims.kind != JsonKind.Object) return fail(JwtStatus.JwtPayloadParseErrorBadJson);
  jwt.claims = claims;
  const claimStatus = readClaims(jwt, claims);
  if (claimStatus != JwtStatus.Ok) return fail(claimStatus);

  const signature = base64urlDecodeSlice(token, dot2 + 1, n);
  if (signature == null) return fail(JwtStatus.JwtSignatureParseErrorBadBase64);
  jwt.signature = signature;
  return new JwtParseResult(JwtStatus.Ok, jwt);
}

function fail(status: JwtStatus): JwtParseResult {
  return new JwtParseResult(status, null);
}

function readClaims(jwt: Jwt, claims: JsonValue): JwtStatus {
  const iss = claims.get("iss");
  if (iss != null) {
    if (iss.kind != JsonKind.String) return JwtStatus.JwtPayloadParseErrorIssNotString;
    jwt.iss = iss.stringValue;
  }
  const sub = claims.get("sub");
  if (sub != null) {
    if (sub.kind != JsonKind.String) return JwtStatus.JwtPayloadParseErrorSubNotString;
    jwt.sub = sub.stringValue;
  }
  let st = readTime(claims.get("iat"), JwtStatus.JwtPayloadParseErrorIatNotInteger, JwtStatus.JwtPayloadParseErrorIatOutOfRange);
  if (st != JwtStatus.Ok) return st;
  jwt.iat = timeValue;
  st = readTime(claims.get("nbf"), JwtStatus.JwtPayloadParseErrorNbfNotInteger, JwtStatus.JwtPayloadParseErrorNbfOutOfRange);
  if (st != JwtStatus.Ok) return st;
  jwt.nbf = timeValue;
  st = readTime(claims.get("exp"), JwtStatus.JwtPayloadParseErrorExpNotInteger, JwtStatus.JwtPayloadParseErrorExpOutOfRange);
  if (st != JwtStatus.Ok) return st;
  jwt.exp = timeValue;
  const jti = claims.get("jti");
  if (jti != null) {
    if (jti.kind != JsonKind.String) return JwtStatus.JwtPayloadParseErrorJtiNotString;
    jwt.jti = jti.stringValue;
  }
  const aud = claims.get("aud");
  if (aud != null) {
    if (aud.kind == JsonKind.String) {
      jwt.audiences.push(aud.stringValue);
    } else if (aud.kind == JsonKind.Array) {
      for (let i = 0, len = aud.length; i < len; i++) {
        const item = aud.at(i)!;
        if (item.kind != JsonKind.String) return JwtStatus.JwtPayloadParseErrorAudNotString;
        jwt.audiences.push(item.stringValue);
      }
    } else {
      return JwtStatus.JwtPayloadParseErrorAudNotString;
    }
  }
  return JwtStatus.Ok;
}

// NumericDate result of readTime (AssemblyScript has no tuples; parsing is single-threaded).
let timeValue: u64 = 0;

/** A NumericDate claim as whole seconds (fractions truncated, as Envoy does); absent means 0. */
function readTime(v: JsonValue | null, notInteger: JwtStatus, outOfRange: JwtStatus): JwtStatus {
  timeValue = 0;
  if (v == null) return JwtStatus.Ok;
  if (v.kind != JsonKind.Number) return notInteger;
  const x = v.numberValue;
  if (!(x >= 0) || x >= 18446744073709551615.0) return outOfRange;
  timeValue = <u64>x;
  return JwtStatus.Ok;
}
