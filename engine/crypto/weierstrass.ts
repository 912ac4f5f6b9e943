// Short Weierstrass curves y^2 = x^3 - 3x + b over a prime field (the NIST P-curves), with
// points in Jacobian coordinates (X/Z^2, Y/Z^3) whose coordinates stay in Montgomery form.
// Only what verification needs: doubling, addition, and u1*G + u2*Q (Shamir's trick).
import { Limbs, Montgomery, bitLength, copyLimbs, isZero, limbsFromHex, testBit } from "./bigint";

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

export class WeierstrassCurve {
  readonly len: i32;
  /** Byte length of field elements and scalars (32 for P-256, 48 for P-384). */
  readonly bytes: i32;
  readonly fp: Montgomery;
  readonly fn: Montgomery;
  /** Curve constant b in Montgomery form. */
  readonly b: Limbs;
  readonly g: JacobianPoint;
  // Scratch field elements for the point formulas.
  private t0: Limbs; private t1: Limbs; private t2: Limbs; private t3: Limbs;
  private t4: Limbs; private t5: Limbs; private t6: Limbs; private t7: Limbs;

  constructor(len: i32, bytes: i32, pHex: string, nHex: string, bHex: string, gxHex: string, gyHex: string) {
    this.len = len;
    this.bytes = bytes;
    const fp = new Montgomery(limbsFromHex(pHex, len));
    this.fp = fp;
    this.fn = new Montgomery(limbsFromHex(nHex, len));
    const b = new StaticArray<u32>(len);
    fp.toMont(b, limbsFromHex(bHex, len));
    this.b = b;
    const g = new JacobianPoint(len);
    fp.toMont(g.x, limbsFromHex(gxHex, len));
    fp.toMont(g.y, limbsFromHex(gyHex, len));
    copyLimbs(g.z, fp.one);
    this.g = g;
    this.t0 = new StaticArray<u32>(len); this.t1 = new StaticArray<u32>(len);
    this.t2 = new StaticArray<u32>(len); this.t3 = new StaticArray<u32>(len);
    this.t4 = new StaticArray<u32>(len); this.t5 = new StaticArray<u32>(len);
    this.t6 = new StaticArray<u32>(len); this.t7 = new StaticArray<u32>(len);
  }

  /** Whether affine (x, y), in Montgomery form, satisfies y^2 = x^3 - 3x + b. */
  isOnCurve(x: Limbs, y: Limbs): bool {
    const fp = this.fp, lhs = this.t0, rhs = this.t1, t = this.t2;
    fp.sqr(lhs, y);
    fp.sqr(rhs, x);
    fp.mul(rhs, rhs, x);
    fp.add(t, x, x);
    fp.add(t, t, x);
    fp.sub(rhs, rhs, t);
    fp.add(rhs, rhs, this.b);
    return compareEq(lhs, rhs);
  }

  /** out = 2p (dbl-2001-b, a = -3). out may alias p. */
  double(out: JacobianPoint, p: JacobianPoint): void {
    if (p.isInfinity()) { setPoint(out, p); return; }
    const fp = this.fp;
    const delta = this.t0, gamma = this.t1, beta = this.t2, alpha = this.t3, t = this.t4, u = this.t5;
    fp.sqr(delta, p.z);
    fp.sqr(gamma, p.y);
    fp.mul(beta, p.x, gamma);
    fp.sub(t, p.x, delta);
    fp.add(u, p.x, delta);
    fp.mul(alpha, t, u);
    fp.add(t, alpha, alpha);
    fp.add(alpha, alpha, t); // alpha = 3 (x - delta)(x + delta)
    // Z3 = (Y + Z)^2 - gamma - delta (before X and Y are overwritten)
    fp.add(t, p.y, p.z);
    fp.sqr(t, t);
    fp.sub(t, t, gamma);
    fp.sub(out.z, t, delta);
    // X3 = alpha^2 - 8 beta
    fp.add(beta, beta, beta);
    fp.add(beta, beta, beta); // 4 beta
    fp.sqr(t, alpha);
    fp.add(u, beta, beta);
    fp.sub(out.x, t, u);
    // Y3 = alpha (4 beta - X3) - 8 gamma^2
    fp.sub(t, beta, out.x);
    fp.mul(t, alpha, t);
    fp.sqr(gamma, gamma);
    fp.add(gamma, gamma, gamma);
    fp.add(gamma, gamma, gamma);
    fp.add(gamma, gamma, gamma);
    fp.sub(out.y, t, gamma);
  }

  /** out = p + q (add-2007-bl), handling infinity and p == q. out may alias p or q. */
  add(out: JacobianPoint, p: JacobianPoint, q: JacobianPoint): void {
    if (p.isInfinity()) { setPoint(out, q); return; }
    if (q.isInfinity()) { setPoint(out, p); return; }
    const fp = this.fp;
    const z1z1 = this.t0, z2z2 = this.t1, u1 = this.t2, u2 = this.t3, s1 = this.t4, s2 = this.t5;
    const h = this.t6, r = this.t7;
    fp.sqr(z1z1, p.z);
    fp.sqr(z2z2, q.z);
    fp.mul(u1, p.x, z2z2);
    fp.mul(u2, q.x, z1z1);
    fp.mul(s1, p.y, q.z);
    fp.mul(s1, s1, z2z2);
    fp.mul(s2, q.y, p.z);
    fp.mul(s2, s2, z1z1);
    fp.sub(h, u2, u1);
    fp.sub(r, s2, s1);
    if (isZero(h)) {
      if (isZero(r)) { this.double(out, p); return; }
      setInfinity(out);
      return;
    }
    fp.add(r, r, r);
    // Z3 = ((Z1 + Z2)^2 - Z1Z1 - Z2Z2) H, computed first since out may alias p or q.
    fp.add(s2, p.z, q.z);
    fp.sqr(s2, s2);
    fp.sub(s2, s2, z1z1);
    fp.sub(s2, s2, z2z2);
    fp.mul(out.z, s2, h);
    const i = z1z1, j = z2z2, v = u2;
    fp.add(i, h, h);
    fp.sqr(i, i); // I = (2H)^2
    fp.mul(j, h, i); // J = H I
    fp.mul(v, u1, i); // V = U1 I
    // X3 = r^2 - J - 2V
    fp.sqr(u1, r);
    fp.sub(u1, u1, j);
    fp.sub(u1, u1, v);
    fp.sub(out.x, u1, v);
    // Y3 = r (V - X3) - 2 S1 J
    fp.sub(v, v, out.x);
    fp.mul(v, r, v);
    fp.mul(s1, s1, j);
    fp.add(s1, s1, s1);
    fp.sub(out.y, v, s1);
  }

  /** out = u1*G + u2*Q for plain scalars u1, u2 (Shamir's trick: one shared doubling chain). */
  mulAdd(out: JacobianPoint, u1: Limbs, q: JacobianPoint, u2: Limbs): void {
    const gq = new JacobianPoint(this.len);
    this.add(gq, this.g, q);
    const acc = new JacobianPoint(this.len);
    const top = max(bitLength(u1), bitLength(u2));
    for (let i = top - 1; i >= 0; i--) {
      this.double(acc, acc);
      const b1 = testBit(u1, i), b2 = testBit(u2, i);
      if (b1 && b2) this.add(acc, acc, gq);
      else if (b1) this.add(acc, acc, this.g);
      else if (b2) this.add(acc, acc, q);
    }
    setPoint(out, acc);
  }

  /** Affine x of a finite point, as a plain integer < p. */
  affineX(out: Limbs, p: JacobianPoint): void {
    const fp = this.fp, zi = this.t0;
    fp.invPrime(zi, p.z);
    fp.sqr(zi, zi);
    fp.mul(out, p.x, zi);
    fp.fromMont(out, out);
  }
}

function compareEq(a: Limbs, b: Limbs): bool {
  let diff: u32 = 0;
  for (let i = 0, n = a.length; i < n; i++) diff |= unchecked(a[i]) ^ unchecked(b[i]);
  return diff == 0;
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
