// engine/jwt — JWT verification with Istio RequestAuthentication / Envoy jwt_authn semantics.
//
//   parseJwks(json: Uint8Array): Jwks            keys decoded once; .status, .errors, .describe()
//   verifyJwt(token: Uint8Array, provider: JwtProvider, now: u64): JwtResult
//     JwtProvider { issuer, audiences, jwks, clockSkewSeconds = 60 }
//     JwtResult { status, ok, message (Envoy's text), issuer, subject, audiences, payload, jwt }
//   parseJwt(token): JwtParseResult              compact JWS + registered claims, no signature check
//   jwtStatusText(status): string                Envoy jwt_verify_lib status strings
export { JwtStatus, jwtStatusText } from "./status";
export { JwsAlg, KeyFamily, parseJwsAlg, jwsAlgName } from "./alg";
export { Jwt, JwtParseResult, parseJwt } from "./jwt";
export { Jwk, JwkError, Jwks, parseJwks } from "./jwks";
export { sanitizeAudience, audiencesAllowed } from "./audience";
export { JwtProvider, JwtResult, DEFAULT_CLOCK_SKEW_SECONDS, verifyJwt, verifySignature, keyFits } from "./verify";
