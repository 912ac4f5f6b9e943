// JWKS parsing (RFC 7517) into ready-to-verify keys: RSA (n, e), EC (P-256/P-384 x, y), OKP
// (Ed25519 x) and oct (k). Key material is decoded and validated once, here, so verification does
// no parsing. Like Envoy, keys that fail are skipped and the set is usable while one key is valid;
// each failure is kept with the key's position so configuration errors can be reported precisely.
import { JsonKind, JsonValue, parseJsonView } from "../json/index";
import { base64urlDecode } from "../crypto/base64url";
import { RsaPublicKey } from "../crypto/rsa";
import { EcCurveId, EcPublicKey } from "../crypto/ecdsa";
import { JwtStatus, jwtStatusText } from "./status";
import { KeyFamily } from "./alg";

export class Jwk {
  kty: string = "";
  family: KeyFamily = KeyFamily.RSA;
  kid: string = "";
  /** Empty when the key does not restrict its algorithm. */
  alg: string = "";
  use: string = "";
  crv: string = "";
  rsa: RsaPublicKey | null = null;
  ec: EcPublicKey | null = null;
  /** Ed25519 public key bytes (32). */
  okp: Uint8Array | null = null;
  /** HMAC secret. */
  secret: Uint8Array | null = null;
}

export class JwkError {
  constructor(public index: i32, public kid: string, public status: JwtStatus) {}

  /** One line naming the key, e.g. `keys[1] (kid "a"): [n] field is missing for a RSA key`. */
  describe(): string {
    const kid = this.kid.length > 0 ? " (kid \"" + this.kid + "\")" : "";
    return "keys[" + this.index.toString() + "]" + kid + ": " + jwtStatusText(this.status);
  }
}

export class Jwks {
  keys: Jwk[] = [];
  /** Ok when at least one key is usable; otherwise why not (first key error, as Envoy reports). */
  status: JwtStatus = JwtStatus.Ok;
  /** Keys that were skipped, in document order. */
  errors: JwkError[] = [];
  /** For a failed parse of the document itself: what the JSON parser said. */
  detail: string = "";

  /** One-line description of why the set is unusable ("" when usable). */
  describe(): string {
    if (this.status == JwtStatus.Ok) return "";
    if (this.errors.length > 0) return "jwks " + this.errors[0].describe();
    return this.detail.length > 0 ? "jwks: " + jwtStatusText(this.status) + ": " + this.detail : "jwks: " + jwtStatusText(this.status);
  }
}

export function parseJwks(json: Uint8Array): Jwks {
  const jwks = new Jwks();
  const parsed = parseJsonView(json);
  const root = parsed.value;
  if (root == null || root.kind != JsonKind.Object) {
    jwks.status = JwtStatus.JwksParseError;
    jwks.detail = root == null ? parsed.describe() : "the document is not an object";
    return jwks;
  }
  const keys = root.get("keys");
  if (keys == null) { jwks.status = JwtStatus.JwksNoKeys; return jwks; }
  if (keys.kind != JsonKind.Array) { jwks.status = JwtStatus.JwksBadKeys; return jwks; }
  for (let i = 0, n = keys.length; i < n; i++) {
    const item = keys.at(i)!;
    if (item.kind != JsonKind.Object) continue; // Envoy skips non-object entries silently
    const jwk = new Jwk();
    const status = extractJwk(item, jwk);
    if (status == JwtStatus.Ok) jwks.keys.push(jwk);
    else jwks.errors.push(new JwkError(i, jwk.kid, status));
  }
  if (jwks.keys.length == 0) {
    jwks.status = jwks.errors.length > 0 ? jwks.errors[0].status : JwtStatus.JwksNoValidKeys;
  }
  return jwks;
}

// Envoy's StructUtils outcome for a string member.
const FOUND = 0, MISSING = 1, WRONG_TYPE = 2;
let foundString: string = "";

function getString(obj: JsonValue, key: string): i32 {
  foundString = "";
  const v = obj.get(key);
  if (v == null) return MISSING;
  if (v.kind != JsonKind.String) return WRONG_TYPE;
  foundString = v.stringValue;
  return FOUND;
}

function extractJwk(obj: JsonValue, jwk: Jwk): JwtStatus {
  if (getString(obj, "kid") == WRONG_TYPE) return JwtStatus.JwksKeyBadKid;
  jwk.kid = foundString;
  const kty = getString(obj, "kty");
  if (kty == MISSING) return JwtStatus.JwksMissingKty;
  if (kty == WRONG_TYPE) return JwtStatus.JwksBadKty;
  jwk.kty = foundString;
  if (getString(obj, "alg") == WRONG_TYPE) return JwtStatus.JwksKeyBadAlg;
  jwk.alg = foundString;
  if (getString(obj, "use") == WRONG_TYPE) return JwtStatus.JwksKeyBadUse;
  jwk.use = foundString;
  if (jwk.kty == "RSA") return extractRsa(obj, jwk);
  if (jwk.kty == "EC") return extractEc(obj, jwk);
  if (jwk.kty == "oct") return extractOct(obj, jwk);
  if (jwk.kty == "OKP") return extractOkp(obj, jwk);
  return JwtStatus.JwksNotImplementedKty;
}

function extractRsa(obj: JsonValue, jwk: Jwk): JwtStatus {
  jwk.family = KeyFamily.RSA;
  const alg = jwk.alg;
  if (alg.length > 0 && !alg.startsWith("RS") && !alg.startsWith("PS")) return JwtStatus.JwksRSAKeyBadAlg;
  let code = getString(obj, "n");
  if (code == MISSING) return JwtStatus.JwksRSAKeyMissingN;
  if (code == WRONG_TYPE) return JwtStatus.JwksRSAKeyBadN;
  const n = base64urlDecode(foundString);
  code = getString(obj, "e");
  if (code == MISSING) return JwtStatus.JwksRSAKeyMissingE;
  if (code == WRONG_TYPE) return JwtStatus.JwksRSAKeyBadE;
  const e = base64urlDecode(foundString);
  if (n == null || e == null) return JwtStatus.JwksRsaParseError;
  const key = RsaPublicKey.fromBytes(n, e);
  if (key == null) return JwtStatus.JwksRsaParseError;
  jwk.rsa = key;
  return JwtStatus.Ok;
}

function extractEc(obj: JsonValue, jwk: Jwk): JwtStatus {
  jwk.family = KeyFamily.EC;
  const alg = jwk.alg;
  if (alg.length > 0 && !alg.startsWith("ES")) return JwtStatus.JwksECKeyBadAlg;
  const crvCode = getString(obj, "crv");
  if (crvCode == WRONG_TYPE) return JwtStatus.JwksECKeyBadCrv;
  let crv = foundString;
  if (alg.length > 0 && crv.length > 0) {
    const compatible = (alg == "ES256" && crv == "P-256") || (alg == "ES384" && crv == "P-384") || (alg == "ES512" && crv == "P-521");
    if (!compatible) return JwtStatus.JwksECKeyAlgNotCompatibleWithCrv;
  }
  if (alg.length == 0 && crv.length == 0) crv = "P-256"; // Envoy's default
  let curve: EcCurveId;
  if (alg == "ES256" || crv == "P-256") curve = EcCurveId.P256;
  else if (alg == "ES384" || crv == "P-384") curve = EcCurveId.P384;
  else return JwtStatus.JwksECKeyAlgOrCrvUnsupported; // P-521 / ES512 are not implemented
  jwk.crv = curve == EcCurveId.P256 ? "P-256" : "P-384";
  let code = getString(obj, "x");
  if (code == MISSING) return JwtStatus.JwksECKeyMissingX;
  if (code == WRONG_TYPE) return JwtStatus.JwksECKeyBadX;
  const x = base64urlDecode(foundString);
  code = getString(obj, "y");
  if (code == MISSING) return JwtStatus.JwksECKeyMissingY;
  if (code == WRONG_TYPE) return JwtStatus.JwksECKeyBadY;
  const y = base64urlDecode(foundString);
  if (x == null || y == null) return JwtStatus.JwksEcXorYBadBase64;
  const key = EcPublicKey.fromCoordinates(curve, x, y);
  if (key == null) return JwtStatus.JwksEcParseError;
  jwk.ec = key;
  return JwtStatus.Ok;
}

function extractOct(obj: JsonValue, jwk: Jwk): JwtStatus {
  jwk.family = KeyFamily.Oct;
  const alg = jwk.alg;
  if (alg.length > 0 && alg != "HS256" && alg != "HS384" && alg != "HS512") return JwtStatus.JwksHMACKeyBadAlg;
  const code = getString(obj, "k");
  if (code == MISSING) return JwtStatus.JwksHMACKeyMissingK;
  if (code == WRONG_TYPE) return JwtStatus.JwksHMACKeyBadK;
  const k = base64urlDecode(foundString);
  if (k == null || k.length == 0) return JwtStatus.JwksOctBadBase64;
  jwk.secret = k;
  return JwtStatus.Ok;
}

function extractOkp(obj: JsonValue, jwk: Jwk): JwtStatus {
  jwk.family = KeyFamily.OKP;
  const alg = jwk.alg;
  if (alg.length > 0 && alg != "EdDSA") return JwtStatus.JwksOKPKeyBadAlg;
  const crvCode = getString(obj, "crv");
  if (crvCode == MISSING) return JwtStatus.JwksOKPKeyMissingCrv;
  if (crvCode == WRONG_TYPE) return JwtStatus.JwksOKPKeyBadCrv;
  jwk.crv = foundString;
  if (jwk.crv != "Ed25519") return JwtStatus.JwksOKPKeyCrvUnsupported;
  const code = getString(obj, "x");
  if (code == MISSING) return JwtStatus.JwksOKPKeyMissingX;
  if (code == WRONG_TYPE) return JwtStatus.JwksOKPKeyBadX;
  const x = base64urlDecode(foundString);
  if (x == null) return JwtStatus.JwksOKPXBadBase64;
  if (x.length != 32) return JwtStatus.JwksOKPXWrongLength;
  jwk.okp = x;
  return JwtStatus.Ok;
}
