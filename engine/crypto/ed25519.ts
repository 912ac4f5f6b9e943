// Ed25519 signature verification (RFC 8032 section 5.1.7), cofactorless: accept iff
// encode([S]B - [k]A) equals the signature's R bytes, with S < L and A, R canonical encodings.
import { compare, limbsFromBytesLE } from "./bigint";
import { EdPoint, edwards25519 } from "./edwards25519";
import { Sha512 } from "./sha512";
import { constantTimeEqual, sliceBytes } from "./bytes";

export const ED25519_PUBLIC_KEY_LENGTH: i32 = 32;
export const ED25519_SIGNATURE_LENGTH: i32 = 64;

/** Whether 32 bytes are a valid (canonical, on-curve) Ed25519 public key encoding. */
export function ed25519IsValidPublicKey(publicKey: Uint8Array): bool {
  if (publicKey.length != 32) return false;
  return edwards25519().decode(new EdPoint(), publicKey, 0);
}

/** Verifies `len` message bytes at raw address `ptr`. */
export function ed25519VerifyRange(publicKey: Uint8Array, ptr: usize, len: i32, sig: Uint8Array): bool {
  if (publicKey.length != 32 || sig.length != 64) return false;
  const ed = edwards25519();
  const s = limbsFromBytesLE(sig, 32, 32, 8)!;
  if (compare(s, ed.fl.n) >= 0) return false;
  const a = new EdPoint();
  if (!ed.decode(a, publicKey, 0)) return false;
  const r = new EdPoint();
  if (!ed.decode(r, sig, 0)) return false;
  // k = SHA-512(R || A || M) mod L, reduced as lo + hi * 2^256 with Montgomery products.
  const h = new Sha512(false);
  h.updateRange(sig.dataStart, 32).update(publicKey).updateRange(ptr, len);
  const digest = h.finish();
  const fl = ed.fl;
  const lo = limbsFromBytesLE(digest, 0, 32, 8)!;
  const hi = limbsFromBytesLE(digest, 32, 32, 8)!;
  fl.mul(lo, lo, fl.rr); // lo * R mod L
  fl.fromMont(lo, lo); // lo mod L
  fl.mul(hi, hi, fl.rr); // hi * 2^256 mod L
  const k = lo;
  fl.add(k, lo, hi);
  const negA = new EdPoint();
  ed.negate(negA, a);
  const check = new EdPoint();
  ed.mulAdd(check, s, ed.base, k, negA);
  return constantTimeEqual(ed.encode(check), sliceBytes(sig, 0, 32));
}

export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, sig: Uint8Array): bool {
  return ed25519VerifyRange(publicKey, message.dataStart, message.length, sig);
}
