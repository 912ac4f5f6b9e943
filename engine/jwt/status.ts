// Verification outcomes, worded exactly as Envoy's jwt_authn reports them (source/common/jwt/
// status.cc), so responses and logs read the same as under Istio. A few JWKS statuses at the end
// have no Envoy counterpart; they name the field that is wrong.

export enum JwtStatus {
  Ok = 0,
  JwtMissed,
  JwtNotYetValid,
  JwtExpired,
  JwtBadFormat,
  JwtHeaderParseErrorBadBase64,
  JwtHeaderParseErrorBadJson,
  JwtHeaderBadAlg,
  JwtHeaderNotImplementedAlg,
  JwtHeaderBadKid,
  JwtPayloadParseErrorBadBase64,
  JwtEd25519SignatureWrongLength,
  JwtPayloadParseErrorBadJson,
  JwtPayloadParseErrorIssNotString,
  JwtPayloadParseErrorSubNotString,
  JwtPayloadParseErrorIatNotInteger,
  JwtPayloadParseErrorIatOutOfRange,
  JwtPayloadParseErrorNbfNotInteger,
  JwtPayloadParseErrorNbfOutOfRange,
  JwtPayloadParseErrorExpNotInteger,
  JwtPayloadParseErrorExpOutOfRange,
  JwtPayloadParseErrorJtiNotString,
  JwtPayloadParseErrorAudNotString,
  JwtSignatureParseErrorBadBase64,
  JwtUnknownIssuer,
  JwtAudienceNotAllowed,
  JwtVerificationFail,
  JwksParseError,
  JwksNoKeys,
  JwksBadKeys,
  JwksNoValidKeys,
  JwksKidAlgMismatch,
  JwksRsaParseError,
  JwksEcXorYBadBase64,
  JwksEcParseError,
  JwksOctBadBase64,
  JwksOKPXBadBase64,
  JwksOKPXWrongLength,
  JwksMissingKty,
  JwksBadKty,
  JwksNotImplementedKty,
  JwksRSAKeyBadAlg,
  JwksRSAKeyMissingN,
  JwksRSAKeyBadN,
  JwksRSAKeyMissingE,
  JwksRSAKeyBadE,
  JwksECKeyBadAlg,
  JwksECKeyBadCrv,
  JwksECKeyAlgOrCrvUnsupported,
  JwksECKeyAlgNotCompatibleWithCrv,
  JwksECKeyMissingX,
  JwksECKeyBadX,
  JwksECKeyMissingY,
  JwksECKeyBadY,
  JwksHMACKeyBadAlg,
  JwksHMACKeyMissingK,
  JwksHMACKeyBadK,
  JwksOKPKeyBadAlg,
  JwksOKPKeyMissingCrv,
  JwksOKPKeyBadCrv,
  JwksOKPKeyCrvUnsupported,
  JwksOKPKeyMissingX,
  JwksOKPKeyBadX,
  // Halyard additions (stricter than Envoy, which ignores these members when mistyped).
  JwksKeyBadKid,
  JwksKeyBadAlg,
  JwksKeyBadUse,
}

export function jwtStatusText(status: JwtStatus): string {
  switch (status) {
    case JwtStatus.Ok: return "OK";
    case JwtStatus.JwtMissed: return "Jwt is missing";
    case JwtStatus.JwtNotYetValid: return "Jwt not yet valid";
    case JwtStatus.JwtExpired: return "Jwt is expired";
    case JwtStatus.JwtBadFormat: return "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections";
    case JwtStatus.JwtHeaderParseErrorBadBase64: return "Jwt header is an invalid Base64url encoded";
    case JwtStatus.JwtHeaderParseErrorBadJson: return "Jwt header is an invalid JSON";
    case JwtStatus.JwtHeaderBadAlg: return "Jwt header [alg] field is required and must be a string";
    case JwtStatus.JwtHeaderNotImplementedAlg: return "Jwt header [alg] is not supported";
    case JwtStatus.JwtHeaderBadKid: return "Jwt header [kid] field is not a string";
    case JwtStatus.JwtPayloadParseErrorBadBase64: return "Jwt payload is an invalid Base64url encoded";
    case JwtStatus.JwtEd25519SignatureWrongLength: return "Jwt ED25519 signature is wrong length";
    case JwtStatus.JwtPayloadParseErrorBadJson: return "Jwt payload is an invalid JSON";
    case JwtStatus.JwtPayloadParseErrorIssNotString: return "Jwt payload [iss] field is not a string";
    case JwtStatus.JwtPayloadParseErrorSubNotString: return "Jwt payload [sub] field is not a string";
    case JwtStatus.JwtPayloadParseErrorIatNotInteger: return "Jwt payload [iat] field is not an integer";
    case JwtStatus.JwtPayloadParseErrorIatOutOfRange: return "Jwt payload [iat] field is not a positive 64 bit integer";
    case JwtStatus.JwtPayloadParseErrorNbfNotInteger: return "Jwt payload [nbf] field is not an integer";
    case JwtStatus.JwtPayloadParseErrorNbfOutOfRange: return "Jwt payload [nbf] field is not a positive 64 bit integer";
    case JwtStatus.JwtPayloadParseErrorExpNotInteger: return "Jwt payload [exp] field is not an integer";
    case JwtStatus.JwtPayloadParseErrorExpOutOfRange: return "Jwt payload [exp] field is not a positive 64 bit integer";
    case JwtStatus.JwtPayloadParseErrorJtiNotString: return "Jwt payload [jti] field is not a string";
    case JwtStatus.JwtPayloadParseErrorAudNotString: return "Jwt payload [aud] field is not a string or string list";
    case JwtStatus.JwtSignatureParseErrorBadBase64: return "Jwt signature is an invalid Base64url encoded";
    case JwtStatus.JwtUnknownIssuer: return "Jwt issuer is not configured";
    case JwtStatus.JwtAudienceNotAllowed: return "Audiences in Jwt are not allowed";
    case JwtStatus.JwtVerificationFail: return "Jwt verification fails";
    case JwtStatus.JwksParseError: return "Jwks is an invalid JSON";
    case JwtStatus.JwksNoKeys: return "Jwks does not have [keys] field";
    case JwtStatus.JwksBadKeys: return "[keys] in Jwks is not an array";
    case JwtStatus.JwksNoValidKeys: return "Jwks doesn't have any valid public key";
    case JwtStatus.JwksKidAlgMismatch: return "Jwks doesn't have key to match kid or alg from Jwt";
    case JwtStatus.JwksRsaParseError: return "Jwks RSA [n] or [e] field is missing or has a parse error";
    case JwtStatus.JwksEcXorYBadBase64: return "Jwks EC [x] or [y] field is an invalid Base64.";
    case JwtStatus.JwksEcParseError: return "Jwks EC [x] and [y] fields have a parse error.";
    case JwtStatus.JwksOctBadBase64: return "Jwks Oct key is an invalid Base64";
    case JwtStatus.JwksOKPXBadBase64: return "Jwks OKP [x] field is an invalid Base64.";
    case JwtStatus.JwksOKPXWrongLength: return "Jwks OKP [x] field is wrong length.";
    case JwtStatus.JwksMissingKty: return "[kty] is missing in [keys]";
    case JwtStatus.JwksBadKty: return "[kty] is bad in [keys]";
    case JwtStatus.JwksNotImplementedKty: return "[kty] is not supported in [keys]";
    case JwtStatus.JwksRSAKeyBadAlg: return "[alg] is not started with [RS] or [PS] for an RSA key";
    case JwtStatus.JwksRSAKeyMissingN: return "[n] field is missing for a RSA key";
    case JwtStatus.JwksRSAKeyBadN: return "[n] field is not string for a RSA key";
    case JwtStatus.JwksRSAKeyMissingE: return "[e] field is missing for a RSA key";
    case JwtStatus.JwksRSAKeyBadE: return "[e] field is not string for a RSA key";
    case JwtStatus.JwksECKeyBadAlg: return "[alg] is not started with [ES] for an EC key";
    case JwtStatus.JwksECKeyBadCrv: return "[crv] field is not string for an EC key";
    case JwtStatus.JwksECKeyAlgOrCrvUnsupported: return "[crv] or [alg] field is not supported for an EC key";
    case JwtStatus.JwksECKeyAlgNotCompatibleWithCrv: return "[crv] field specified is not compatible with [alg] for an EC key";
    case JwtStatus.JwksECKeyMissingX: return "[x] field is missing for an EC key";
    case JwtStatus.JwksECKeyBadX: return "[x] field is not string for an EC key";
    case JwtStatus.JwksECKeyMissingY: return "[y] field is missing for an EC key";
    case JwtStatus.JwksECKeyBadY: return "[y] field is not string for an EC key";
    case JwtStatus.JwksHMACKeyBadAlg: return "[alg] does not start with [HS] for an HMAC key";
    case JwtStatus.JwksHMACKeyMissingK: return "[k] field is missing for an HMAC key";
    case JwtStatus.JwksHMACKeyBadK: return "[k] field is not string for an HMAC key";
    case JwtStatus.JwksOKPKeyBadAlg: return "[alg] is not [EdDSA] for an OKP key";
    case JwtStatus.JwksOKPKeyMissingCrv: return "[crv] field is missing for an OKP key";
    case JwtStatus.JwksOKPKeyBadCrv: return "[crv] field is not string for an OKP key";
    case JwtStatus.JwksOKPKeyCrvUnsupported: return "[crv] field is not supported for an OKP key";
    case JwtStatus.JwksOKPKeyMissingX: return "[x] field is missing for an OKP key";
    case JwtStatus.JwksOKPKeyBadX: return "[x] field is not string for an OKP key";
    case JwtStatus.JwksKeyBadKid: return "[kid] field is not a string in [keys]";
    case JwtStatus.JwksKeyBadAlg: return "[alg] field is not a string in [keys]";
    case JwtStatus.JwksKeyBadUse: return "[use] field is not a string in [keys]";
  }
  return "Jwt verification fails";
}
