// The twisted Edwards curve of Ed25519 (-x^2 + y^2 = 1 + d x^2 y^2 over p = 2^255 - 19), points in
// extended coordinates (X:Y:Z:T) with x = X/Z, y = Y/Z, xy = T/Z, coordinates in Montgomery form.
// Encoding and decoding follow RFC 8032 section 5.1.2-5.1.3, rejecting non-canonical inputs.
import { Limbs, Montgomery, bitLength, compare, copyLimbs, isZero, limbsFromBytesLE, limbsFromHex, limbsToBytesLE, setSmall, testBit } from "./bigint";

export class EdPoint {
  x: Limbs = new StaticArray<u32>(8);
  y: Limbs = new StaticArray<u32>(8);
  z: Limbs = new StaticArray<u32>(8);
  t: Limbs = new StaticArray<u32>(8);
}

export class Edwards25519 {
  readonly fp: Montgomery;
  /** Group order L (of the base point). */
  readonly fl: Montgomery;
  private d: Limbs = new StaticArray<u32>(8);
  private d2: Limbs = new StaticArray<u32>(8);
  private sqrtM1: Limbs = new StaticArray<u32>(8);
  private sqrtExp: Limbs;
  readonly base: EdPoint = new EdPoint();
  private a: Limbs = new StaticArray<u32>(8); private b: Limbs = new StaticArray<u32>(8);
  private c: Limbs = new StaticArray<u32>(8); private e: Limbs = new StaticArray<u32>(8);
  private f: Limbs = new StaticArray<u32>(8); private g: Limbs = new StaticArray<u32>(8);
  private h: Limbs = new StaticArray<u32>(8); private u: Limbs = new StaticArray<u32>(8);

  constructor() {
    this.fp = new Montgomery(limbsFromHex("7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed", 8));
    this.fl = new Montgomery(limbsFromHex("1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3ed", 8));
    this.sqrtExp = limbsFromHex("0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffd", 8); // (p-5)/8
    const fp = this.fp;
    // d = -121665 / 121666
    const num = new StaticArray<u32>(8), den = new StaticArray<u32>(8);
    setSmall(num, 121665);
    fp.toMont(num, num);
    fp.neg(num, num);
    setSmall(den, 121666);
    fp.toMont(den, den);
    fp.invPrime(den, den);
    fp.mul(this.d, num, den);
    fp.add(this.d2, this.d, this.d);
    // sqrt(-1) = 2^((p-1)/4)
    const two = new StaticArray<u32>(8);
    setSmall(two, 2);
    fp.toMont(two, two);
    fp.pow(this.sqrtM1, two, limbsFromHex("1ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffb", 8));
    // The base point is the encoding of y = 4/5 with x even.
    const enc = new Uint8Array(32);
    enc[0] = 0x58;
    for (let i = 1; i < 32; i++) enc[i] = 0x66;
    this.decode(this.base, enc, 0);
  }

  setIdentity(p: EdPoint): void {
    const fp = this.fp;
    setSmall(p.x, 0);
    copyLimbs(p.y, fp.one);
    copyLimbs(p.z, fp.one);
    setSmall(p.t, 0);
  }

  /** Decodes 32 bytes at src[offset..] into p; false for non-canonical y, x = 0 with the sign set, or no square root. */
  decode(p: EdPoint, src: Uint8Array, offset: i32): bool {
    if (offset < 0 || offset + 32 > src.length) return false;
    const fp = this.fp;
    const sign = (<u32>unchecked(src[offset + 31]) >> 7) & 1;
    const yPlain = limbsFromBytesLE(src, offset, 32, 8)!;
    unchecked(yPlain[7] &= 0x7fffffff);
    if (compare(yPlain, fp.n) >= 0) return false;
    const y = p.y, x = p.x, u = this.u, v = this.a, t = this.b, w = this.c;
    fp.toMont(y, yPlain);
    fp.sqr(u, y);
    fp.mul(v, u, this.d);
    fp.sub(u, u, fp.one); // u = y^2 - 1
    fp.add(v, v, fp.one); // v = d y^2 + 1
    // x = u v^3 (u v^7)^((p-5)/8)
    fp.sqr(t, v);
    fp.mul(t, t, v); // v^3
    fp.sqr(w, t);
    fp.mul(w, w, v); // v^7
    fp.mul(w, w, u);
    fp.pow(w, w, this.sqrtExp);
    fp.mul(x, u, t);
    fp.mul(x, x, w);
    // Check v x^2 against u and -u.
    fp.sqr(t, x);
    fp.mul(t, t, v);
    if (!isEqual(t, u)) {
      fp.neg(w, u);
      if (!isEqual(t, w)) return false;
      fp.mul(x, x, this.sqrtM1);
    }
    const xPlain = new StaticArray<u32>(8);
    fp.fromMont(xPlain, x);
    if (isZero(xPlain)) {
      if (sign == 1) return false;
    } else if ((unchecked(xPlain[0]) & 1) != sign) {
      fp.neg(x, x);
    }
    copyLimbs(p.z, fp.one);
    fp.mul(p.t, x, y);
    return true;
  }

  /** Canonical 32-byte encoding of p. */
  encode(p: EdPoint): Uint8Array {
    const fp = this.fp, zi = this.a, x = this.b, y = this.c;
    fp.invPrime(zi, p.z);
    fp.mul(x, p.x, zi);
    fp.mul(y, p.y, zi);
    fp.fromMont(x, x);
    fp.fromMont(y, y);
    const out = new Uint8Array(32);
    limbsToBytesLE(y, out, 0, 32);
    unchecked(out[31] |= <u8>((unchecked(x[0]) & 1) << 7));
    return out;
  }

  /** out = -p. */
  negate(out: EdPoint, p: EdPoint): void {
    const fp = this.fp;
    fp.neg(out.x, p.x);
    copyLimbs(out.y, p.y);
    copyLimbs(out.z, p.z);
    fp.neg(out.t, p.t);
  }

  /** out = p + q (add-2008-hwcd-3; complete, so it also doubles and handles the identity). */
  add(out: EdPoint, p: EdPoint, q: EdPoint): void {
    const fp = this.fp, a = this.a, b = this.b, c = this.c, d = this.e, e = this.f, f = this.g, g = this.h, t = this.u;
    fp.sub(a, p.y, p.x);
    fp.sub(t, q.y, q.x);
    fp.mul(a, a, t);
    fp.add(b, p.y, p.x);
    fp.add(t, q.y, q.x);
    fp.mul(b, b, t);
    fp.mul(c, p.t, this.d2);
    fp.mul(c, c, q.t);
    fp.mul(d, p.z, q.z);
    fp.add(d, d, d);
    fp.sub(e, b, a);
    fp.sub(f, d, c);
    fp.add(g, d, c);
    fp.add(b, b, a); // H
    fp.mul(out.x, e, f);
    fp.mul(out.y, g, b);
    fp.mul(out.t, e, b);
    fp.mul(out.z, f, g);
  }

  /** out = 2p (dbl-2008-hwcd with a = -1). */
  double(out: EdPoint, p: EdPoint): void {
    const fp = this.fp, a = this.a, b = this.b, c = this.c, e = this.e, f = this.f, g = this.g, h = this.h;
    fp.sqr(a, p.x);
    fp.sqr(b, p.y);
    fp.sqr(c, p.z);
    fp.add(c, c, c);
    fp.add(e, p.x, p.y);
    fp.sqr(e, e);
    fp.sub(e, e, a);
    fp.sub(e, e, b); // E = (X+Y)^2 - A - B
    fp.sub(g, b, a); // G = D + B with D = -A
    fp.sub(f, g, c); // F = G - C
    fp.neg(h, a);
    fp.sub(h, h, b); // H = D - B
    fp.mul(out.x, e, f);
    fp.mul(out.y, g, h);
    fp.mul(out.t, e, h);
    fp.mul(out.z, f, g);
  }

  /** out = s1*P + s2*Q for plain scalars (Shamir's trick). */
  mulAdd(out: EdPoint, s1: Limbs, p: EdPoint, s2: Limbs, q: EdPoint): void {
    const pq = new EdPoint();
    this.add(pq, p, q);
    const acc = new EdPoint();
    this.setIdentity(acc);
    for (let i = max(bitLength(s1), bitLength(s2)) - 1; i >= 0; i--) {
      this.double(acc, acc);
      const b1 = testBit(s1, i), b2 = testBit(s2, i);
      if (b1 && b2) this.add(acc, acc, pq);
      else if (b1) this.add(acc, acc, p);
      else if (b2) this.add(acc, acc, q);
    }
    out.x = acc.x; out.y = acc.y; out.z = acc.z; out.t = acc.t;
  }
}

function isEqual(a: Limbs, b: Limbs): bool {
  return compare(a, b) == 0;
}

let curve: Edwards25519 | null = null;

export function edwards25519(): Edwards25519 {
  let c = curve;
  if (c == null) {
    c = new Edwards25519();
    curve = c;
  }
  return c;
}
