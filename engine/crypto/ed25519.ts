// Ed25519 signature verification (RFC 8032 section 5.1.7), cofactorless: accept iff
// encode([S]B - [k]A) equals the signature's R bytes, with S < L and A a canonical encoding.
// R needs no decoding: an encoding computed from a point is always canonical and on the curve,
// so it can only equal R's bytes when those are a valid encoding of that very point.
import { compare, limbsFromBytesLE } from "./bigint";
import { EdPoint, KEY_WINDOW, NielsTables, edwards25519 } from "./edwards25519";
import { Sha512 } from "./sha512";
import { constantTimeEqual, sliceBytes } from "./bytes";

export const ED25519_PUBLIC_KEY_LENGTH: i32 = 32;
export const ED25519_SIGNATURE_LENGTH: i32 = 64;

/** A decoded public key: its bytes and the tables of multiples of -A for the verification equation. */
class PreparedKey {
  constructor(public readonly bytes: Uint8Array, public readonly negTables: NielsTables) {}
}

// JWKS keep OKP keys as bytes, so decoded keys are remembered here (a few, replaced in turn).
const KEY_CACHE_SIZE = 8;
const keyCache = new StaticArray<PreparedKey | null>(KEY_CACHE_SIZE);
let nextSlot = 0;

function sameBytes(a: Uint8Array, b: Uint8Array): bool {
  if (a.length != b.length) return false;
  return memory.compare(a.dataStart, b.dataStart, <usize>a.length) == 0;
}

/** The prepared key for 32 public-key bytes, or null when they are not a valid encoding. */
function preparedKey(publicKey: Uint8Array): PreparedKey | null {
  for (let i = 0; i < KEY_CACHE_SIZE; i++) {
    const k = unchecked(keyCache[i]);
    if (k != null && sameBytes(k.bytes, publicKey)) return k;
  }
  const ed = edwards25519();
  const a = new EdPoint();
  if (!ed.decode(a, publicKey, 0)) return null;
  const negA = new EdPoint();
  ed.negate(negA, a);
  const key = new PreparedKey(sliceBytes(publicKey, 0, 32), ed.splitTables(negA, KEY_WINDOW));
  unchecked(keyCache[nextSlot] = key);
  nextSlot = (nextSlot + 1) % KEY_CACHE_SIZE;
  return key;
}

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
  const key = preparedKey(publicKey);
  if (key == null) return false;
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
  const check = new EdPoint();
  ed.mulAdd(check, s, k, key.negTables);
  return constantTimeEqual(ed.encode(check), sliceBytes(sig, 0, 32));
}

export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, sig: Uint8Array): bool {
  return ed25519VerifyRange(publicKey, message.dataStart, message.length, sig);
}
