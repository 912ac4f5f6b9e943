// Verifies a compact JWT against one provider (issuer, audiences, JWKS) the way Envoy's jwt_authn
// authenticator does: parse, issuer, time window (with clock skew), audiences, then signature.
// Key choice: a key is a candidate only if its kid fits (either side may omit kid), its alg (if
// any) equals the token's, its use (if any) is "sig", and its type and curve fit the token's alg.
// So an RSA public key can never serve as an HMAC secret, and "none" is never accepted.
import { hmacRange } from "../crypto/hmac";
import { constantTimeEqual } from "../crypto/bytes";
import { rsaPkcs1VerifyRange, rsaPssVerifyRange } from "../crypto/rsa";
import { ecdsaVerifyRange } from "../crypto/ecdsa";
import { ed25519VerifyRange } from "../crypto/ed25519";
import { hashLength } from "../crypto/hash";
import { JwsAlg, KeyFamily, curveOf, hashOf, keyFamilyOf } from "./alg";
import { Jwk, Jwks } from "./jwks";
import { Jwt, parseJwt } from "./jwt";
import { JwtStatus, jwtStatusText } from "./status";
import { audiencesAllowed } from "./audience";

export const DEFAULT_CLOCK_SKEW_SECONDS: u64 = 60;

/** One RequestAuthentication jwtRules entry, reduced to what verification needs. */
export class JwtProvider {
  /** Required `iss`; empty accepts any issuer (Envoy's behaviour for a provider without one). */
  issuer: string = "";
  /** Accepted audiences; empty accepts any. */
  audiences: string[] = [];
  jwks: Jwks = new Jwks();
  clockSkewSeconds: u64 = DEFAULT_CLOCK_SKEW_SECONDS;
}

export class JwtResult {
  status: JwtStatus = JwtStatus.Ok;
  /** The parsed token when parsing succeeded (also on later failures, for logging). */
  jwt: Jwt | null = null;

  get ok(): bool { return this.status == JwtStatus.Ok; }
  /** Envoy's text for the status, e.g. "Jwt is expired". */
  get message(): string { return jwtStatusText(this.status); }
  get issuer(): string { const j = this.jwt; return j ? j.iss : ""; }
  get subject(): string { const j = this.jwt; return j ? j.sub : ""; }
  get audiences(): string[] { const j = this.jwt; return j ? j.audiences : []; }
  /** Raw payload JSON (UTF-8 bytes) for claim extraction. */
  get payload(): Uint8Array { const j = this.jwt; return j ? j.payload : new Uint8Array(0); }
}

/** Full verification of `token` (UTF-8 bytes of the compact JWS) at `now` (Unix seconds). */
export function verifyJwt(token: Uint8Array, provider: JwtProvider, now: u64): JwtResult {
  const result = new JwtResult();
  const parsed = parseJwt(token);
  result.jwt = parsed.jwt;
  if (parsed.status != JwtStatus.Ok) return done(result, parsed.status);
  const jwt = parsed.jwt!;
  if (provider.issuer.length > 0 && jwt.iss != provider.issuer) return done(result, JwtStatus.JwtUnknownIssuer);
  const skew = provider.clockSkewSeconds;
  if (now + skew < jwt.nbf) return done(result, JwtStatus.JwtNotYetValid);
  if (jwt.exp != 0 && now > jwt.exp + skew) return done(result, JwtStatus.JwtExpired);
  if (!audiencesAllowed(provider.audiences, jwt.audiences)) return done(result, JwtStatus.JwtAudienceNotAllowed);
  if (provider.jwks.keys.length == 0) {
    return done(result, provider.jwks.status != JwtStatus.Ok ? provider.jwks.status : JwtStatus.JwksNoValidKeys);
  }
  return done(result, verifySignature(jwt, provider.jwks));
}

function done(result: JwtResult, status: JwtStatus): JwtResult {
  result.status = status;
  return result;
}

/** Whether `jwk` may verify a token with this alg/kid (kid, alg, use, key type and curve). */
export function keyFits(jwk: Jwk, jwt: Jwt): bool {
  if (jwt.kid.length > 0 && jwk.kid.length > 0 && jwk.kid != jwt.kid) return false;
  if (jwk.alg.length > 0 && jwk.alg != jwt.alg) return false;
  if (jwk.use.length > 0 && jwk.use != "sig") return false;
  const alg = <JwsAlg>jwt.algId;
  if (jwk.family != keyFamilyOf(alg)) return false;
  if (jwk.family == KeyFamily.EC) return jwk.ec!.curveId == curveOf(alg);
  return true;
}

/** Signature check against every fitting key, as Envoy's verifyJwtWithoutTimeChecking. */
export function verifySignature(jwt: Jwt, jwks: Jwks): JwtStatus {
  const alg = <JwsAlg>jwt.algId;
  if (alg == JwsAlg.EdDSA && jwt.signature.length != 64) {
    // Envoy reports this before trying keys, but only when some key fits; keep that order.
    for (let i = 0; i < jwks.keys.length; i++) {
      if (keyFits(jwks.keys[i], jwt)) return JwtStatus.JwtEd25519SignatureWrongLength;
    }
    return JwtStatus.JwksKidAlgMismatch;
  }
  let matched = false;
  for (let i = 0; i < jwks.keys.length; i++) {
    const jwk = jwks.keys[i];
    if (!keyFits(jwk, jwt)) continue;
    matched = true;
    if (verifyWithKey(jwk, alg, jwt)) return JwtStatus.Ok;
  }
  return matched ? JwtStatus.JwtVerificationFail : JwtStatus.JwksKidAlgMismatch;
}

function verifyWithKey(jwk: Jwk, alg: JwsAlg, jwt: Jwt): bool {
  const ptr = jwt.token.dataStart;
  const len = jwt.signingInputLength;
  const sig = jwt.signature;
  const hash = hashOf(alg);
  switch (alg) {
    case JwsAlg.RS256: case JwsAlg.RS384: case JwsAlg.RS512:
      return rsaPkcs1VerifyRange(jwk.rsa!, hash, ptr, len, sig);
    case JwsAlg.PS256: case JwsAlg.PS384: case JwsAlg.PS512:
      // JWA (RFC 7518 section 3.5): the salt is as long as the hash.
      return rsaPssVerifyRange(jwk.rsa!, hash, ptr, len, sig, hashLength(hash));
    case JwsAlg.ES256: case JwsAlg.ES384:
      return ecdsaVerifyRange(jwk.ec!, ptr, len, sig);
    case JwsAlg.EdDSA:
      return ed25519VerifyRange(jwk.okp!, ptr, len, sig);
    default: {
      const mac = hmacRange(hash, jwk.secret!, ptr, len);
      return constantTimeEqual(mac, sig);
    }
  }
}

