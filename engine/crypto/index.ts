// Public surface of the crypto engine: hashes, HMAC, base64url, RSA, ECDSA and Ed25519 verification.
export { Hasher } from "./hasher";
export { Sha256, sha256 } from "./sha256";
export { Sha512, sha512, sha384 } from "./sha512";
export { HashAlg, newHasher, hashLength, digest } from "./hash";
export { hmac, hmacRange, hmacSha256, hmacSha384, hmacSha512 } from "./hmac";
export { constantTimeEqual } from "./bytes";
export { base64urlDecode, base64urlDecodeBytes, base64urlDecodeSlice, base64urlEncode } from "./base64url";
export { RsaPublicKey, rsaPkcs1Verify, rsaPkcs1VerifyRange, rsaPssVerify, rsaPssVerifyRange, PSS_SALT_ANY } from "./rsa";
export { EcCurveId, EcPublicKey, ecdsaVerify, ecdsaVerifyRange, ecdsaHashFor } from "./ecdsa";
export { ed25519Verify, ed25519VerifyRange, ed25519IsValidPublicKey, ED25519_PUBLIC_KEY_LENGTH, ED25519_SIGNATURE_LENGTH } from "./ed25519";
