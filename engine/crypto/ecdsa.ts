// ECDSA verification (FIPS 186-5) on P-256 and P-384, with JWS signatures as raw r || s.
import { Limbs, Montgomery, addInto, compare, isZero, limbsFromBytesBE } from "./bigint";
import { JacobianPoint, Q_WINDOW, SplitTables, WeierstrassCurve } from "./weierstrass";
import { P256Field, P384Field } from "./nist-fields";
import { invertMod } from "./modinv";
import { HashAlg, newHasher } from "./hash";

export enum EcCurveId { P256 = 0, P384 = 1 }

let p256: WeierstrassCurve<P256Field> | null = null;
let p384: WeierstrassCurve<P384Field> | null = null;

/** The P-256 curve, built (with its table of multiples of G) on first use. */
export function p256Curve(): WeierstrassCurve<P256Field> {
  let c = p256;
  if (c == null) {
    c = new WeierstrassCurve<P256Field>(new P256Field(), 32,
      "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
      "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b",
      "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296",
      "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5");
    p256 = c;
  }
  return c;
}

export function p384Curve(): WeierstrassCurve<P384Field> {
  let c = p384;
  if (c == null) {
    c = new WeierstrassCurve<P384Field>(new P384Field(), 48,
      "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973",
      "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef",
      "aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7",
      "3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f");
    p384 = c;
  }
  return c;
}

let n256: Montgomery | null = null;
let n384: Montgomery | null = null;

/** Montgomery arithmetic modulo the group order (for u1 = e/s, u2 = r/s). */
function orderArithmetic(id: EcCurveId): Montgomery {
  if (id == EcCurveId.P384) {
    let m = n384;
    if (m == null) { m = new Montgomery(p384Curve().n); n384 = m; }
    return m;
  }
  let m = n256;
  if (m == null) { m = new Montgomery(p256Curve().n); n256 = m; }
  return m;
}

export class EcPublicKey {
  /** Tables of multiples of the point for the wNAF multiplication, built on first verification. */
  private tables: SplitTables | null = null;

  private constructor(public readonly curveId: EcCurveId, public readonly x: Limbs, public readonly y: Limbs) {}

  /**
   * Key from JWK x/y (big-endian, exactly the field size); null unless both coordinates are below p
   * and the point lies on the curve (prime-order curves: that also puts it in the right group).
   */
  static fromCoordinates(id: EcCurveId, x: Uint8Array, y: Uint8Array): EcPublicKey | null {
    return id == EcCurveId.P384
      ? keyOn<P384Field>(p384Curve(), id, x, y)
      : keyOn<P256Field>(p256Curve(), id, x, y);
  }

  /** The key's tables of multiples on `curve` (its own curve), computed once. */
  multiples<F>(curve: WeierstrassCurve<F>): SplitTables {
    let t = this.tables;
    if (t == null) {
      t = curve.splitTables(this.x, this.y, Q_WINDOW);
      this.tables = t;
    }
    return t;
  }

  /** @internal */
  static create(id: EcCurveId, x: Limbs, y: Limbs): EcPublicKey { return new EcPublicKey(id, x, y); }
}

function keyOn<F>(curve: WeierstrassCurve<F>, id: EcCurveId, x: Uint8Array, y: Uint8Array): EcPublicKey | null {
  const size = curve.bytes;
  if (x.length != size || y.length != size) return null;
  const xl = limbsFromBytesBE(x, 0, size, curve.len);
  const yl = limbsFromBytesBE(y, 0, size, curve.len);
  if (xl == null || yl == null) return null;
  if (compare(xl, curve.p) >= 0 || compare(yl, curve.p) >= 0) return null;
  if (!curve.isOnCurve(xl, yl)) return null;
  return EcPublicKey.create(id, xl, yl);
}

/** The hash each JWS ECDSA algorithm pairs with its curve (ES256: SHA-256, ES384: SHA-384). */
export function ecdsaHashFor(id: EcCurveId): HashAlg {
  return id == EcCurveId.P384 ? HashAlg.SHA384 : HashAlg.SHA256;
}

/** Scalar in [1, n-1] from `size` big-endian bytes at sig[offset..], or null. */
function scalarInRange(n: Limbs, size: i32, sig: Uint8Array, offset: i32): Limbs | null {
  const v = limbsFromBytesBE(sig, offset, size, n.length);
  if (v == null || isZero(v) || compare(v, n) >= 0) return null;
  return v;
}

/** Verifies a raw r || s signature over `len` message bytes at `ptr`, hashing with the curve's hash. */
export function ecdsaVerifyRange(key: EcPublicKey, ptr: usize, len: i32, sig: Uint8Array): bool {
  return key.curveId == EcCurveId.P384
    ? verifyOn<P384Field>(p384Curve(), key, ptr, len, sig)
    : verifyOn<P256Field>(p256Curve(), key, ptr, len, sig);
}

function verifyOn<F>(curve: WeierstrassCurve<F>, key: EcPublicKey, ptr: usize, len: i32, sig: Uint8Array): bool {
  const size = curve.bytes, n = curve.n;
  if (sig.length != 2 * size) return false;
  const r = scalarInRange(n, size, sig, 0);
  const s = scalarInRange(n, size, sig, size);
  if (r == null || s == null) return false;
  const hash = newHasher(ecdsaHashFor(key.curveId)).updateRange(ptr, len).finish();
  // The hash is exactly the order's bit length for both curves, so no truncation; e may exceed n,
  // which the Montgomery product below reduces.
  const e = limbsFromBytesBE(hash, 0, hash.length, curve.len)!;
  const w = new StaticArray<u32>(curve.len);
  invertMod(w, s, n); // n is prime and 0 < s < n
  // u1 = e w, u2 = r w (mod n): each Montgomery product leaves a factor R^-1, cancelled by R^2.
  const fn = orderArithmetic(key.curveId);
  const u1 = new StaticArray<u32>(curve.len);
  const u2 = new StaticArray<u32>(curve.len);
  fn.mul(u1, e, w);
  fn.mul(u1, u1, fn.rr);
  fn.mul(u2, r, w);
  fn.mul(u2, u2, fn.rr);
  const p = new JacobianPoint(curve.len);
  curve.mulAdd(p, u1, key.multiples<F>(curve), u2);
  if (p.isInfinity()) return false;
  // Accept iff x(P) mod n == r. x < p < 2n, so x is r or r + n (the latter only when below p).
  if (curve.affineXEquals(p, r)) return true;
  const rn = new StaticArray<u32>(curve.len);
  if (addInto(rn, r, n) != 0 || compare(rn, curve.p) >= 0) return false;
  return curve.affineXEquals(p, rn);
}

export function ecdsaVerify(key: EcPublicKey, message: Uint8Array, sig: Uint8Array): bool {
  return ecdsaVerifyRange(key, message.dataStart, message.length, sig);
}
