// Verifies one extracted token the way Envoy's jwt_authn authenticator does for Istio: parse, pick
// the provider by the token's `iss` among those reading this location, then time window,
// audiences and signature (engine/jwt). Verified tokens go to the cache; a hit re-checks only time.
import { JwtStatus, Jwt, audiencesAllowed, parseJwt, verifySignature } from "../../engine/jwt/index";
import { JwtFilterConfig, ProviderConfig } from "./config";
import { FoundToken } from "./extract";
import { TokenCache, tokenHash } from "./cache";
import { VerifiedToken } from "./verified";

export class AuthResult {
  constructor(public status: JwtStatus, public verified: VerifiedToken | null, public cacheHit: bool) {}
}

/** Envoy's time constraint check (jwt_verify_lib verifyTimeConstraint). */
export function timeStatus(nbf: u64, exp: u64, skew: u64, now: u64): JwtStatus {
  if (now + skew < nbf) return JwtStatus.JwtNotYetValid;
  if (exp != 0 && now > exp + skew) return JwtStatus.JwtExpired;
  return JwtStatus.Ok;
}

/** Everything after parsing and issuer selection, in Envoy's order. */
function verifyParsed(jwt: Jwt, provider: ProviderConfig, now: u64): JwtStatus {
  const p = provider.engine;
  const t = timeStatus(jwt.nbf, jwt.exp, p.clockSkewSeconds, now);
  if (t != JwtStatus.Ok) return t;
  if (!audiencesAllowed(p.audiences, jwt.audiences)) return JwtStatus.JwtAudienceNotAllowed;
  if (p.jwks.keys.length == 0) return JwtStatus.JwksNoValidKeys;
  return verifySignature(jwt, p.jwks);
}

export class Authenticator {
  readonly cache: TokenCache;

  constructor(public readonly config: JwtFilterConfig, cacheCapacity: i32) {
    this.cache = new TokenCache(cacheCapacity);
  }

  /** `now` in Unix seconds. JwtMissed means an empty token: the caller treats it as no token. */
  authenticate(found: FoundToken, now: u64): AuthResult {
    const token = found.token;
    const location = found.location;
    const hash = tokenHash(token, location.index);
    const hit = this.cache.lookup(hash, location.index, token);
    if (hit !== null) {
      const status = timeStatus(hit.nbf, hit.exp, hit.provider.engine.clockSkewSeconds, now);
      if (status == JwtStatus.JwtExpired) this.cache.remove(hit);
      return new AuthResult(status, status == JwtStatus.Ok ? hit : null, true);
    }
    const parsed = parseJwt(token);
    if (parsed.status != JwtStatus.Ok) return new AuthResult(parsed.status, null, false);
    const jwt = parsed.jwt!;
    const providers = this.config.providers;
    const candidates = location.providers;
    let failure: i32 = -1;
    for (let i = 0; i < candidates.length; i++) {
      const provider = providers[candidates[i]];
      if (provider.issuer != jwt.iss) continue;
      const status = verifyParsed(jwt, provider, now);
      if (status == JwtStatus.Ok) {
        const verified = new VerifiedToken(hash, location.index, token, provider, jwt);
        this.cache.insert(verified);
        return new AuthResult(JwtStatus.Ok, verified, false);
      }
      // Several RequestAuthentications may name the same issuer: any one may accept the token;
      // when none does, the first one's reason is reported.
      if (failure < 0) failure = status;
    }
    return new AuthResult(failure < 0 ? JwtStatus.JwtUnknownIssuer : <JwtStatus>failure, null, false);
  }
}
