// ECDSA verification (FIPS 186-5) on P-256 and P-384, with JWS signatures as raw r || s.
import { Limbs, compare, isZero, limbsFromBytesBE, subInto } from "./bigint";
import { JacobianPoint, WeierstrassCurve } from "./weierstrass";
import { HashAlg, newHasher } from "./hash";

export enum EcCurveId { P256 = 0, P384 = 1 }

let p256: WeierstrassCurve | null = null;
let p384: WeierstrassCurve | null = null;

export function curveFor(id: EcCurveId): WeierstrassCurve {
  if (id == EcCurveId.P384) {
    let c = p384;
    if (c == null) {
      c = new WeierstrassCurve(12, 48,
        "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff",
        "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973",
        "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef",
        "aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7",
        "3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f");
      p384 = c;
    }
    return c;
  }
  let c = p256;
  if (c == null) {
    c = new WeierstrassCurve(8, 32,
      "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
      "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
      "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b",
      "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296",
      "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5");
    p256 = c;
  }
  return c;
}

export class EcPublicKey {
  private constructor(public readonly curveId: EcCurveId, public readonly point: JacobianPoint) {}

  /**
   * Key from JWK x/y (big-endian, exactly the field size); null unless both coordinates are below p
   * and the point lies on the curve (prime-order curves: that also puts it in the right group).
   */
  static fromCoordinates(id: EcCurveId, x: Uint8Array, y: Uint8Array): EcPublicKey | null {
    const curve = curveFor(id);
    const size = curve.bytes;
    if (x.length != size || y.length != size) return null;
    const xl = limbsFromBytesBE(x, 0, size, curve.len);
    const yl = limbsFromBytesBE(y, 0, size, curve.len);
    if (xl == null || yl == null) return null;
    const fp = curve.fp;
    if (compare(xl, fp.n) >= 0 || compare(yl, fp.n) >= 0) return null;
    const point = new JacobianPoint(curve.len);
    fp.toMont(point.x, xl);
    fp.toMont(point.y, yl);
    memory.copy(changetype<usize>(point.z), changetype<usize>(fp.one), <usize>curve.len << 2);
    if (!curve.isOnCurve(point.x, point.y)) return null;
    return new EcPublicKey(id, point);
  }
}

/** The hash each JWS ECDSA algorithm pairs with its curve (ES256: SHA-256, ES384: SHA-384). */
export function ecdsaHashFor(id: EcCurveId): HashAlg {
  return id == EcCurveId.P384 ? HashAlg.SHA384 : HashAlg.SHA256;
}

/** Scalar in [1, n-1] from `size` big-endian bytes at sig[offset..], or null. */
function scalarInRange(curve: WeierstrassCurve, sig: Uint8Array, offset: i32): Limbs | null {
  const v = limbsFromBytesBE(sig, offset, curve.bytes, curve.len);
  if (v == null || isZero(v) || compare(v, curve.fn.n) >= 0) return null;
  return v;
}

/** Verifies a raw r || s signature over `len` message bytes at `ptr`, hashing with the curve's hash. */
export function ecdsaVerifyRange(key: EcPublicKey, ptr: usize, len: i32, sig: Uint8Array): bool {
  const curve = curveFor(key.curveId);
  const size = curve.bytes;
  if (sig.length != 2 * size) return false;
  const r = scalarInRange(curve, sig, 0);
  const s = scalarInRange(curve, sig, size);
  if (r == null || s == null) return false;
  const hash = newHasher(ecdsaHashFor(key.curveId)).updateRange(ptr, len).finish();
  // The hash is exactly the order's bit length for both curves, so no truncation; e may exceed n,
  // which the Montgomery product below reduces.
  const e = limbsFromBytesBE(hash, 0, hash.length, curve.len)!;
  const fn = curve.fn;
  const w = new StaticArray<u32>(curve.len);
  fn.toMont(w, s);
  fn.invPrime(w, w); // s^-1 in Montgomery form
  const u1 = new StaticArray<u32>(curve.len);
  const u2 = new StaticArray<u32>(curve.len);
  fn.mul(u1, e, w); // e * s^-1 mod n (plain, since w carries the R factor)
  fn.mul(u2, r, w);
  const p = new JacobianPoint(curve.len);
  curve.mulAdd(p, u1, key.point, u2);
  if (p.isInfinity()) return false;
  const x = new StaticArray<u32>(curve.len);
  curve.affineX(x, p);
  if (compare(x, fn.n) >= 0) subInto(x, x, fn.n); // p < 2n for these curves
  return compare(x, r) == 0;
}

export function ecdsaVerify(key: EcPublicKey, message: Uint8Array, sig: Uint8Array): bool {
  return ecdsaVerifyRange(key, message.dataStart, message.length, sig);
}
