// The JWS algorithms the engine verifies (RFC 7518 section 3, RFC 8037 for EdDSA), and which key
// each one may be used with. Anything else, "none" included, is "not supported".
import { HashAlg } from "../crypto/hash";
import { EcCurveId } from "../crypto/ecdsa";

export enum JwsAlg { RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA, HS256, HS384, HS512 }

export enum KeyFamily { RSA, EC, OKP, Oct }

/** The algorithm named `name`, or -1 when it is not implemented. */
export function parseJwsAlg(name: string): i32 {
  if (name == "RS256") return JwsAlg.RS256;
  if (name == "RS384") return JwsAlg.RS384;
  if (name == "RS512") return JwsAlg.RS512;
  if (name == "PS256") return JwsAlg.PS256;
  if (name == "PS384") return JwsAlg.PS384;
  if (name == "PS512") return JwsAlg.PS512;
  if (name == "ES256") return JwsAlg.ES256;
  if (name == "ES384") return JwsAlg.ES384;
  if (name == "EdDSA") return JwsAlg.EdDSA;
  if (name == "HS256") return JwsAlg.HS256;
  if (name == "HS384") return JwsAlg.HS384;
  if (name == "HS512") return JwsAlg.HS512;
  return -1;
}

export function jwsAlgName(alg: JwsAlg): string {
  switch (alg) {
    case JwsAlg.RS256: return "RS256";
    case JwsAlg.RS384: return "RS384";
    case JwsAlg.RS512: return "RS512";
    case JwsAlg.PS256: return "PS256";
    case JwsAlg.PS384: return "PS384";
    case JwsAlg.PS512: return "PS512";
    case JwsAlg.ES256: return "ES256";
    case JwsAlg.ES384: return "ES384";
    case JwsAlg.EdDSA: return "EdDSA";
    case JwsAlg.HS256: return "HS256";
    case JwsAlg.HS384: return "HS384";
    default: return "HS512";
  }
}

export function keyFamilyOf(alg: JwsAlg): KeyFamily {
  if (alg <= JwsAlg.PS512) return KeyFamily.RSA;
  if (alg <= JwsAlg.ES384) return KeyFamily.EC;
  if (alg == JwsAlg.EdDSA) return KeyFamily.OKP;
  return KeyFamily.Oct;
}

export function hashOf(alg: JwsAlg): HashAlg {
  switch (alg) {
    case JwsAlg.RS384: case JwsAlg.PS384: case JwsAlg.ES384: case JwsAlg.HS384: return HashAlg.SHA384;
    case JwsAlg.RS512: case JwsAlg.PS512: case JwsAlg.HS512: return HashAlg.SHA512;
    default: return HashAlg.SHA256;
  }
}

/** The curve an ES* algorithm requires. */
export function curveOf(alg: JwsAlg): EcCurveId {
  return alg == JwsAlg.ES384 ? EcCurveId.P384 : EcCurveId.P256;
}
