// Short Weierstrass curves y^2 = x^3 - 3x + b over a prime field (the NIST P-curves), generic over
// the field class (P256Field or P384Field: same methods, so calls are direct after monomorphisation).
// Points in Jacobian coordinates (X/Z^2, Y/Z^3) with plain, fully reduced coordinates. Only what
// verification needs: u1*G + u2*Q by interleaved wNAF over precomputed affine odd multiples
// with mixed additions. Both points are long-lived (G fixed, Q a configured key), so each gets
// tables for SPLIT slices of the scalar: multiples of P, 2^k P, 2^2k P, ... (k = bits / SPLIT).
// The doubling chain then only spans one slice (64 doublings for P-256 instead of 256).
import { Limbs, copyLimbs, equals, isZero, limbsFromHex } from "./bigint";
import { recodeWnaf } from "./wnaf";

export class JacobianPoint {
  x: Limbs;
  y: Limbs;
  z: Limbs; // zero for the point at infinity
  constructor(len: i32) {
    this.x = new StaticArray<u32>(len);
    this.y = new StaticArray<u32>(len);
    this.z = new StaticArray<u32>(len);
  }
  isInfinity(): bool { return isZero(this.z); }
}

/** A finite affine point with its negated y, as stored in the precomputed tables. */
export class AffinePoint {
  x: Limbs;
  y: Limbs;
  negY: Limbs;
  constructor(len: i32) {
    this.x = new StaticArray<u32>(len);
    this.y = new StaticArray<u32>(len);
    this.negY = new StaticArray<u32>(len);
  }
}

/** Per scalar slice j (of k bits each), the affine odd multiples of 2^(j k) P. */
export type SplitTables = StaticArray<StaticArray<AffinePoint>>;

/** Scalar slices, each with its own tables (so the doubling chain covers bits / SPLIT). */
const SPLIT: i32 = 4;
/** wNAF width for G's tables (2^(w-2) = 64 points per slice, built once per curve). */
const G_WINDOW: i32 = 8;
/** wNAF width for a public key's tables (8 points per slice, built once per key). */
export const Q_WINDOW: i32 = 5;

/** F is the field class (P256Field or P384Field); generics are monomorphised, so field calls are direct. */
export class WeierstrassCurve<F> {
  readonly len: i32;
  /** Byte length of field elements and scalars (32 for P-256, 48 for P-384). */
  readonly bytes: i32;
  readonly f: F;
  /** The field prime. */
  readonly p: Limbs;
  /** Group order n (prime, below p). */
  readonly n: Limbs;
  readonly b: Limbs;
  readonly g: AffinePoint;
  /** G's tables for width G_WINDOW. */
  gTables: SplitTables;
  /** Bits per scalar slice. */
  private sliceBits: i32;
  private one: Limbs;
  private zero: Limbs;
  private naf1: StaticArray<i8>;
  private naf2: StaticArray<i8>;
  // Scratch field elements for the point formulas.
  private t0: Limbs; private t1: Limbs; private t2: Limbs; private t3: Limbs;
  private t4: Limbs; private t5: Limbs; private t6: Limbs; private t7: Limbs;

  constructor(f: F, bytes: i32, nHex: string, bHex: string, gxHex: string, gyHex: string) {
    const len: i32 = f.len;
    const one = new StaticArray<u32>(len);
    unchecked(one[0] = 1);
    const g = new AffinePoint(len);
    copyLimbs(g.x, limbsFromHex(gxHex, len));
    copyLimbs(g.y, limbsFromHex(gyHex, len));
    this.f = f;
    this.p = f.p;
    this.len = len;
    this.bytes = bytes;
    this.n = limbsFromHex(nHex, len);
    this.b = limbsFromHex(bHex, len);
    this.one = one;
    this.zero = new StaticArray<u32>(len);
    this.g = g;
    this.gTables = new StaticArray<StaticArray<AffinePoint>>(0);
    const sliceBits = 32 * len / SPLIT;
    this.sliceBits = sliceBits;
    this.naf1 = new StaticArray<i8>(SPLIT * (sliceBits + 1));
    this.naf2 = new StaticArray<i8>(SPLIT * (sliceBits + 1));
    this.t0 = new StaticArray<u32>(len); this.t1 = new StaticArray<u32>(len);
    this.t2 = new StaticArray<u32>(len); this.t3 = new StaticArray<u32>(len);
    this.t4 = new StaticArray<u32>(len); this.t5 = new StaticArray<u32>(len);
    this.t6 = new StaticArray<u32>(len); this.t7 = new StaticArray<u32>(len);
    this.gTables = this.splitTables(g.x, g.y, G_WINDOW);
  }

  /** Whether affine (x, y) satisfies y^2 = x^3 - 3x + b. */
  isOnCurve(x: Limbs, y: Limbs): bool {
    const f = this.f, lhs = this.t0, rhs = this.t1, t = this.t2;
    f.sqr(lhs, y);
    f.sqr(rhs, x);
    f.mul(rhs, rhs, x);
    f.add(t, x, x);
    f.add(t, t, x);
    f.sub(rhs, rhs, t);
    f.add(rhs, rhs, this.b);
    return equals(lhs, rhs);
  }

  /** out = 2p (dbl-2001-b, a = -3: 3M + 5S). out may alias p. */
  double(out: JacobianPoint, p: JacobianPoint): void {
    if (p.isInfinity()) { setPoint(out, p); return; }
    const f = this.f;
    const delta = this.t0, gamma = this.t1, beta = this.t2, alpha = this.t3, t = this.t4, u = this.t5;
    f.sqr(delta, p.z);
    f.sqr(gamma, p.y);
    f.mul(beta, p.x, gamma);
    f.sub(t, p.x, delta);
    f.add(u, p.x, delta);
    f.mul(alpha, t, u);
    f.add(t, alpha, alpha);
    f.add(alpha, alpha, t); // alpha = 3 (x - delta)(x + delta)
    // Z3 = (Y + Z)^2 - gamma - delta (before X and Y are overwritten)
    f.add(t, p.y, p.z);
    f.sqr(t, t);
    f.sub(t, t, gamma);
    f.sub(out.z, t, delta);
    // X3 = alpha^2 - 8 beta
    f.add(beta, beta, beta);
    f.add(beta, beta, beta); // 4 beta
    f.sqr(t, alpha);
    f.add(u, beta, beta);
    f.sub(out.x, t, u);
    // Y3 = alpha (4 beta - X3) - 8 gamma^2
    f.sub(t, beta, out.x);
    f.mul(t, alpha, t);
    f.sqr(gamma, gamma);
    f.add(gamma, gamma, gamma);
    f.add(gamma, gamma, gamma);
    f.add(gamma, gamma, gamma);
    f.sub(out.y, t, gamma);
  }

  /** out = p + q (add-2007-bl: 11M + 5S), handling infinity and p == q. out may alias p or q. */
  add(out: JacobianPoint, p: JacobianPoint, q: JacobianPoint): void {
    if (p.isInfinity()) { setPoint(out, q); return; }
    if (q.isInfinity()) { setPoint(out, p); return; }
    const f = this.f;
    const z1z1 = this.t0, z2z2 = this.t1, u1 = this.t2, u2 = this.t3, s1 = this.t4, s2 = this.t5;
    const h = this.t6, r = this.t7;
    f.sqr(z1z1, p.z);
    f.sqr(z2z2, q.z);
    f.mul(u1, p.x, z2z2);
    f.mul(u2, q.x, z1z1);
    f.mul(s1, p.y, q.z);
    f.mul(s1, s1, z2z2);
    f.mul(s2, q.y, p.z);
    f.mul(s2, s2, z1z1);
    f.sub(h, u2, u1);
    f.sub(r, s2, s1);
    if (isZero(h)) {
      if (isZero(r)) { this.double(out, p); return; }
      setInfinity(out);
      return;
    }
    f.add(r, r, r);
    // Z3 = ((Z1 + Z2)^2 - Z1Z1 - Z2Z2) H, computed first since out may alias p or q.
    f.add(s2, p.z, q.z);
    f.sqr(s2, s2);
    f.sub(s2, s2, z1z1);
    f.sub(s2, s2, z2z2);
    f.mul(out.z, s2, h);
    const i = z1z1, j = z2z2, v = u2;
    f.add(i, h, h);
    f.sqr(i, i); // I = (2H)^2
    f.mul(j, h, i); // J = H I
    f.mul(v, u1, i); // V = U1 I
    // X3 = r^2 - J - 2V
    f.sqr(u1, r);
    f.sub(u1, u1, j);
    f.sub(u1, u1, v);
    f.sub(out.x, u1, v);
    // Y3 = r (V - X3) - 2 S1 J
    f.sub(v, v, out.x);
    f.mul(v, r, v);
    f.mul(s1, s1, j);
    f.add(s1, s1, s1);
    f.sub(out.y, v, s1);
  }

  /**
   * out = p + q or p - q for affine q (madd-2007-bl: 7M + 4S), handling infinity, p == +-q.
   * out may alias p.
   */
  addAffine(out: JacobianPoint, p: JacobianPoint, q: AffinePoint, negate: bool): void {
    const qy = negate ? q.negY : q.y;
    if (p.isInfinity()) {
      copyLimbs(out.x, q.x);
      copyLimbs(out.y, qy);
      copyLimbs(out.z, this.one);
      return;
    }
    const f = this.f;
    const z1z1 = this.t0, u2 = this.t1, s2 = this.t2, h = this.t3, r = this.t4, hh = this.t5, j = this.t6, v = this.t7;
    f.sqr(z1z1, p.z);
    f.mul(u2, q.x, z1z1);
    f.mul(s2, qy, p.z);
    f.mul(s2, s2, z1z1);
    f.sub(h, u2, p.x);
    f.sub(r, s2, p.y);
    if (isZero(h)) {
      if (isZero(r)) { this.double(out, p); return; }
      setInfinity(out);
      return;
    }
    f.add(r, r, r);
    f.sqr(hh, h);
    const i = u2, z3 = s2;
    f.add(i, hh, hh);
    f.add(i, i, i); // I = 4 HH
    f.mul(j, h, i); // J = H I
    f.mul(v, p.x, i); // V = X1 I
    // Z3 = (Z1 + H)^2 - Z1Z1 - HH
    f.add(z3, p.z, h);
    f.sqr(z3, z3);
    f.sub(z3, z3, z1z1);
    f.sub(out.z, z3, hh);
    // Y1 J (doubled below) before Y is overwritten.
    const y1j = z1z1;
    f.mul(y1j, p.y, j);
    // X3 = r^2 - J - 2V
    const x3 = hh;
    f.sqr(x3, r);
    f.sub(x3, x3, j);
    f.sub(x3, x3, v);
    f.sub(out.x, x3, v);
    // Y3 = r (V - X3) - 2 Y1 J
    f.sub(v, v, out.x);
    f.mul(v, r, v);
    f.add(y1j, y1j, y1j);
    f.sub(out.y, v, y1j);
  }

  /**
   * For finite affine P = (x, y): per slice j, the affine odd multiples Q, 3Q, ...,
   * (2^(w-1) - 1)Q of Q = 2^(j * sliceBits) P. All are finite (multiples below the prime order).
   */
  splitTables(x: Limbs, y: Limbs, w: i32): SplitTables {
    const len = this.len, count = 1 << (w - 2);
    const jac = new StaticArray<JacobianPoint>(SPLIT * count);
    const base = new JacobianPoint(len);
    copyLimbs(base.x, x);
    copyLimbs(base.y, y);
    copyLimbs(base.z, this.one);
    const twice = new JacobianPoint(len);
    for (let j = 0; j < SPLIT; j++) {
      const first = new JacobianPoint(len);
      setPoint(first, base);
      unchecked(jac[j * count] = first);
      this.double(twice, base);
      for (let i = 1; i < count; i++) {
        const next = new JacobianPoint(len);
        this.add(next, unchecked(jac[j * count + i - 1]), twice);
        unchecked(jac[j * count + i] = next);
      }
      if (j + 1 < SPLIT) for (let i = 0; i < this.sliceBits; i++) this.double(base, base);
    }
    const affine = this.toAffine(jac);
    const tables = new StaticArray<StaticArray<AffinePoint>>(SPLIT);
    for (let j = 0; j < SPLIT; j++) {
      const table = new StaticArray<AffinePoint>(count);
      for (let i = 0; i < count; i++) unchecked(table[i] = affine[j * count + i]);
      unchecked(tables[j] = table);
    }
    return tables;
  }

  /**
   * Affine forms of finite Jacobian points with one inversion (Montgomery's trick): invert the
   * product of all Z, then peel each Z^-1 off with two multiplications per point.
   */
  private toAffine(points: StaticArray<JacobianPoint>): StaticArray<AffinePoint> {
    const f = this.f, len = this.len, count = points.length;
    const prefix = new StaticArray<Limbs>(count);
    let acc = new StaticArray<u32>(len);
    copyLimbs(acc, unchecked(points[0]).z);
    unchecked(prefix[0] = acc);
    for (let i = 1; i < count; i++) {
      const next = new StaticArray<u32>(len);
      f.mul(next, acc, unchecked(points[i]).z);
      unchecked(prefix[i] = next);
      acc = next;
    }
    const inv = new StaticArray<u32>(len);
    f.inv(inv, acc); // points are finite, so the product is non-zero
    const out = new StaticArray<AffinePoint>(count);
    const zi = this.t6, zi2 = this.t7;
    for (let i = count - 1; i >= 0; i--) {
      const pt = unchecked(points[i]);
      if (i > 0) {
        f.mul(zi, inv, unchecked(prefix[i - 1]));
        f.mul(inv, inv, pt.z);
      } else {
        copyLimbs(zi, inv);
      }
      const a = new AffinePoint(len);
      f.sqr(zi2, zi);
      f.mul(a.x, pt.x, zi2);
      f.mul(zi2, zi2, zi);
      f.mul(a.y, pt.y, zi2);
      f.sub(a.negY, this.zero, a.y);
      unchecked(out[i] = a);
    }
    return out;
  }

  /**
   * out = u1*G + u2*Q for plain scalars u1, u2 (any values below 2^(32 len)), where qTables are
   * Q's tables for width Q_WINDOW: one doubling chain over a slice, additions from all tables.
   */
  mulAdd(out: JacobianPoint, u1: Limbs, qTables: SplitTables, u2: Limbs): void {
    const naf1 = this.naf1, naf2 = this.naf2, gTables = this.gTables;
    const bits = this.sliceBits, stride = bits + 1;
    let top = 0;
    for (let j = 0; j < SPLIT; j++) {
      top = max(top, recodeWnaf(naf1, j * stride, u1, j * bits, bits, G_WINDOW));
      top = max(top, recodeWnaf(naf2, j * stride, u2, j * bits, bits, Q_WINDOW));
    }
    setInfinity(out);
    for (let i = top - 1; i >= 0; i--) {
      this.double(out, out);
      for (let j = 0, at = i; j < SPLIT; j++, at += stride) {
        const d1 = <i32>unchecked(naf1[at]);
        if (d1 != 0) this.addAffine(out, out, unchecked(unchecked(gTables[j])[abs(d1) >> 1]), d1 < 0);
        const d2 = <i32>unchecked(naf2[at]);
        if (d2 != 0) this.addAffine(out, out, unchecked(unchecked(qTables[j])[abs(d2) >> 1]), d2 < 0);
      }
    }
  }

  /** Whether the affine x of finite p is x0, i.e. X = x0 Z^2 (no inversion). x0 < p. */
  affineXEquals(p: JacobianPoint, x0: Limbs): bool {
    const f = this.f, zz = this.t0;
    f.sqr(zz, p.z);
    f.mul(zz, zz, x0);
    return equals(zz, p.x);
  }

  /** Affine coordinates of finite p (for tests and tools; verification avoids the inversion). */
  toAffinePoint(x: Limbs, y: Limbs, p: JacobianPoint): void {
    const f = this.f, zi = this.t0, t = this.t1;
    f.inv(zi, p.z);
    f.sqr(t, zi);
    f.mul(x, p.x, t);
    f.mul(t, t, zi);
    f.mul(y, p.y, t);
  }
}

function setPoint(out: JacobianPoint, p: JacobianPoint): void {
  if (out === p) return;
  copyLimbs(out.x, p.x);
  copyLimbs(out.y, p.y);
  copyLimbs(out.z, p.z);
}

function setInfinity(out: JacobianPoint): void {
  memory.fill(changetype<usize>(out.z), 0, <usize>out.z.length << 2);
}
