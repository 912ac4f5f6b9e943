// A token that passed verification, with everything the filter writes for it prepared once: the
// identity properties for halyard.authz, the payload header and the claim headers. A cache hit
// reuses all of it, so the repeated-token path does no JSON or string work.
import { JsonWriter } from "../../engine/json/index";
import { Jwt } from "../../engine/jwt/index";
import { claimHeaderValue } from "./claims";
import { ProviderConfig } from "./config";

export class VerifiedToken {
  /** Cache bookkeeping (TokenCache). */
  prev: VerifiedToken | null = null;
  next: VerifiedToken | null = null;

  nbf: u64 = 0;
  exp: u64 = 0;
  /** `<iss>/<sub>`, Istio's request principal. */
  principal: string = "";
  principalBytes: ArrayBuffer = new ArrayBuffer(0);
  /** The raw payload JSON as the issuer signed it (halyard.jwt.payload). */
  payload: ArrayBuffer = new ArrayBuffer(0);
  /** JSON array of the `aud` strings. */
  audiencesJson: ArrayBuffer = new ArrayBuffer(0);
  /** `azp` when it is a string, else null. */
  presenter: ArrayBuffer | null = null;
  /** The token's own base64url payload segment (output_payload_to_header). */
  payloadSegment: string = "";
  /** output_claim_to_headers that have a value for this token, as parallel lists. */
  claimHeaderNames: string[] = [];
  claimHeaderValues: string[] = [];

  constructor(public hash: u64, public location: i32, public token: Uint8Array, public provider: ProviderConfig, jwt: Jwt) {
    this.nbf = jwt.nbf;
    this.exp = jwt.exp;
    this.principal = jwt.iss + "/" + jwt.sub;
    this.principalBytes = String.UTF8.encode(this.principal);
    this.payload = jwt.payload.slice().buffer;
    const w = new JsonWriter();
    w.beginArray();
    for (let i = 0; i < jwt.audiences.length; i++) w.string(jwt.audiences[i]);
    w.endArray();
    this.audiencesJson = String.UTF8.encode(w.toString());
    const azp = jwt.claims.get("azp");
    if (azp !== null && azp.isString()) this.presenter = String.UTF8.encode(azp.stringValue);
    this.payloadSegment = payloadSegment(token);
    const claims = provider.outputClaimToHeaders;
    for (let i = 0; i < claims.length; i++) {
      const value = claimHeaderValue(jwt.claims, claims[i].claimPath);
      if (value.length == 0) continue;
      this.claimHeaderNames.push(claims[i].header);
      this.claimHeaderValues.push(value);
    }
  }
}

/** The text between the first and second '.' of a compact JWS (parsing already checked there are two). */
function payloadSegment(token: Uint8Array): string {
  let a = -1, b = -1;
  for (let i = 0; i < token.length; i++) {
    if (unchecked(token[i]) != 0x2e) continue;
    if (a < 0) a = i;
    else { b = i; break; }
  }
  if (b < 0) return "";
  return String.UTF8.decodeUnsafe(token.dataStart + <usize>(a + 1), <usize>(b - a - 1));
}
