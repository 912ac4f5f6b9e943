// The twisted Edwards curve of Ed25519 (-x^2 + y^2 = 1 + d x^2 y^2 over p = 2^255 - 19), points in
// extended coordinates (X:Y:Z:T) with x = X/Z, y = Y/Z, xy = T/Z, plain fully reduced coordinates.
// Encoding and decoding follow RFC 8032 section 5.1.2-5.1.3, rejecting non-canonical inputs.
// Multiplication for verification: s1*B + s2*P by interleaved wNAF over precomputed affine odd
// multiples in "Niels" form (y+x, y-x, 2dxy). Both points are long-lived (B fixed, P from a
// configured key), so each gets tables for SPLIT 64-bit slices of the scalar: multiples of P,
// 2^64 P, 2^128 P, 2^192 P; the doubling chain then spans 64 bits instead of 253.
import { Limbs, Montgomery, compare, copyLimbs, equals, isZero, limbsFromBytesLE, limbsFromHex, limbsToBytesLE } from "./bigint";
import { Field25519 } from "./field25519";
import { recodeWnaf } from "./wnaf";

export class EdPoint {
  x: Limbs = new StaticArray<u32>(8);
  y: Limbs = new StaticArray<u32>(8);
  z: Limbs = new StaticArray<u32>(8);
  t: Limbs = new StaticArray<u32>(8);
}

/** An affine point as (y + x, y - x, 2d x y), for 7-multiplication mixed additions. */
export class NielsPoint {
  yPlusX: Limbs = new StaticArray<u32>(8);
  yMinusX: Limbs = new StaticArray<u32>(8);
  xy2d: Limbs = new StaticArray<u32>(8);
}

/** Tables of odd multiples of P, 2^64 P, 2^128 P, 2^192 P. */
export type NielsTables = StaticArray<StaticArray<NielsPoint>>;

const SPLIT: i32 = 4;
const SLICE_BITS: i32 = 256 / SPLIT;
/** wNAF width for the base point's tables (64 points per slice, built once). */
const B_WINDOW: i32 = 8;
/** wNAF width for a public key's tables (8 points per slice, built once per key). */
export const KEY_WINDOW: i32 = 5;

export class Edwards25519 {
  readonly f: Field25519 = new Field25519();
  /** Group order L (of the base point). */
  readonly fl: Montgomery;
  private d: Limbs = limbsFromHex("52036cee2b6ffe738cc740797779e89800700a4d4141d8ab75eb4dca135978a3", 8);
  private d2: Limbs = limbsFromHex("2406d9dc56dffce7198e80f2eef3d13000e0149a8283b156ebd69b9426b2f159", 8);
  private sqrtM1: Limbs = limbsFromHex("2b8324804fc1df0b2b4d00993dfbd7a72f431806ad2fe478c4ee1b274a0ea0b0", 8);
  private one: Limbs = limbsFromHex("1", 8);
  private zero: Limbs = new StaticArray<u32>(8);
  readonly base: EdPoint = new EdPoint();
  baseTables: NielsTables = new StaticArray<StaticArray<NielsPoint>>(0);
  private naf1: StaticArray<i8> = new StaticArray<i8>(SPLIT * (SLICE_BITS + 1));
  private naf2: StaticArray<i8> = new StaticArray<i8>(SPLIT * (SLICE_BITS + 1));
  private a: Limbs = new StaticArray<u32>(8); private b: Limbs = new StaticArray<u32>(8);
  private c: Limbs = new StaticArray<u32>(8); private e: Limbs = new StaticArray<u32>(8);
  private g: Limbs = new StaticArray<u32>(8); private h: Limbs = new StaticArray<u32>(8);
  private u: Limbs = new StaticArray<u32>(8); private v: Limbs = new StaticArray<u32>(8);

  constructor() {
    this.fl = new Montgomery(limbsFromHex("1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3ed", 8));
    // The base point is the encoding of y = 4/5 with x even.
    const enc = new Uint8Array(32);
    enc[0] = 0x58;
    for (let i = 1; i < 32; i++) enc[i] = 0x66;
    this.decode(this.base, enc, 0);
    this.baseTables = this.splitTables(this.base, B_WINDOW);
  }

  setIdentity(p: EdPoint): void {
    memory.fill(changetype<usize>(p.x), 0, 32);
    copyLimbs(p.y, this.one);
    copyLimbs(p.z, this.one);
    memory.fill(changetype<usize>(p.t), 0, 32);
  }

  /** Decodes 32 bytes at src[offset..] into p; false for non-canonical y, x = 0 with the sign set, or no square root. */
  decode(p: EdPoint, src: Uint8Array, offset: i32): bool {
    if (offset < 0 || offset + 32 > src.length) return false;
    const f = this.f;
    const sign = (<u32>unchecked(src[offset + 31]) >> 7) & 1;
    const y = limbsFromBytesLE(src, offset, 32, 8)!;
    unchecked(y[7] &= 0x7fffffff);
    if (compare(y, f.p) >= 0) return false;
    const x = p.x, u = this.u, v = this.a, t = this.b, w = this.c;
    f.sqr(u, y);
    f.mul(v, u, this.d);
    f.sub(u, u, this.one); // u = y^2 - 1
    f.add(v, v, this.one); // v = d y^2 + 1
    // x = u v^3 (u v^7)^((p-5)/8)
    f.sqr(t, v);
    f.mul(t, t, v); // v^3
    f.sqr(w, t);
    f.mul(w, w, v); // v^7
    f.mul(w, w, u);
    this.pow22523(w, w);
    f.mul(x, u, t);
    f.mul(x, x, w);
    // Check v x^2 against u and -u.
    f.sqr(t, x);
    f.mul(t, t, v);
    if (!equals(t, u)) {
      f.sub(w, this.zero, u);
      if (!equals(t, w)) return false;
      f.mul(x, x, this.sqrtM1);
    }
    if (isZero(x)) {
      if (sign == 1) return false;
    } else if ((unchecked(x[0]) & 1) != sign) {
      f.sub(x, this.zero, x);
    }
    copyLimbs(p.y, y);
    copyLimbs(p.z, this.one);
    f.mul(p.t, x, y);
    return true;
  }

  /** out = z^((p-5)/8) = z^(2^252 - 3), by the usual addition chain (250 squarings, 11 products). */
  private pow22523(out: Limbs, z: Limbs): void {
    const f = this.f;
    const t0 = new StaticArray<u32>(8), t1 = new StaticArray<u32>(8), t2 = new StaticArray<u32>(8);
    f.sqr(t0, z); // z^2
    sqrN(f, t1, t0, 2); // z^8
    f.mul(t1, z, t1); // z^9
    f.mul(t0, t0, t1); // z^11
    f.sqr(t0, t0); // z^22
    f.mul(t0, t1, t0); // z^(2^5 - 1)
    sqrN(f, t1, t0, 5);
    f.mul(t0, t1, t0); // z^(2^10 - 1)
    sqrN(f, t1, t0, 10);
    f.mul(t1, t1, t0); // z^(2^20 - 1)
    sqrN(f, t2, t1, 20);
    f.mul(t1, t2, t1); // z^(2^40 - 1)
    sqrN(f, t1, t1, 10);
    f.mul(t0, t1, t0); // z^(2^50 - 1)
    sqrN(f, t1, t0, 50);
    f.mul(t1, t1, t0); // z^(2^100 - 1)
    sqrN(f, t2, t1, 100);
    f.mul(t1, t2, t1); // z^(2^200 - 1)
    sqrN(f, t1, t1, 50);
    f.mul(t0, t1, t0); // z^(2^250 - 1)
    sqrN(f, t0, t0, 2);
    f.mul(out, t0, z); // z^(2^252 - 3)
  }

  /** Canonical 32-byte encoding of p. */
  encode(p: EdPoint): Uint8Array {
    const f = this.f, zi = this.a, x = this.b, y = this.c;
    f.inv(zi, p.z); // Z is never zero for points on the curve
    f.mul(x, p.x, zi);
    f.mul(y, p.y, zi);
    const out = new Uint8Array(32);
    limbsToBytesLE(y, out, 0, 32);
    unchecked(out[31] |= <u8>((unchecked(x[0]) & 1) << 7));
    return out;
  }

  /** out = -p. */
  negate(out: EdPoint, p: EdPoint): void {
    const f = this.f;
    f.sub(out.x, this.zero, p.x);
    copyLimbs(out.y, p.y);
    copyLimbs(out.z, p.z);
    f.sub(out.t, this.zero, p.t);
  }

  /** out = p + q (add-2008-hwcd-3; complete, so it also doubles and handles the identity). */
  add(out: EdPoint, p: EdPoint, q: EdPoint): void {
    const f = this.f, a = this.a, b = this.b, c = this.c, d = this.e, e = this.g, ff = this.h, g = this.u, t = this.v;
    f.sub(a, p.y, p.x);
    f.sub(t, q.y, q.x);
    f.mul(a, a, t);
    f.add(b, p.y, p.x);
    f.add(t, q.y, q.x);
    f.mul(b, b, t);
    f.mul(c, p.t, this.d2);
    f.mul(c, c, q.t);
    f.mul(d, p.z, q.z);
    f.add(d, d, d);
    f.sub(e, b, a);
    f.sub(ff, d, c);
    f.add(g, d, c);
    f.add(b, b, a); // H
    f.mul(out.x, e, ff);
    f.mul(out.y, g, b);
    f.mul(out.t, e, b);
    f.mul(out.z, ff, g);
  }

  /**
   * out = 2p (dbl-2008-hwcd with a = -1, all four intermediates negated, which leaves the result
   * unchanged). T is only computed when `withT`: doublings never read it, additions do.
   */
  double(out: EdPoint, p: EdPoint, withT: bool): void {
    const f = this.f, a = this.a, b = this.b, c = this.c, e = this.e, ff = this.g, g = this.h, h = this.u;
    f.sqr(a, p.x);
    f.sqr(b, p.y);
    f.sqr(c, p.z);
    f.add(c, c, c);
    f.add(h, a, b); // -H = A + B
    f.add(e, p.x, p.y);
    f.sqr(e, e);
    f.sub(e, h, e); // -E = A + B - (X + Y)^2
    f.sub(g, a, b); // -G = A - B
    f.add(ff, c, g); // -F = C - G
    f.mul(out.x, e, ff);
    f.mul(out.y, g, h);
    if (withT) f.mul(out.t, e, h);
    f.mul(out.z, ff, g);
  }

  /** out = p + q or p - q for a Niels-form q (7 products; T computed only when `withT`). out may alias p. */
  addNiels(out: EdPoint, p: EdPoint, q: NielsPoint, negate: bool, withT: bool): void {
    const f = this.f, a = this.a, b = this.b, c = this.c, d = this.e, e = this.g, ff = this.h, g = this.u;
    // -q = (-x, y): swaps y+x with y-x and negates 2dxy.
    f.sub(a, p.y, p.x);
    f.mul(a, a, negate ? q.yPlusX : q.yMinusX);
    f.add(b, p.y, p.x);
    f.mul(b, b, negate ? q.yMinusX : q.yPlusX);
    f.mul(c, p.t, q.xy2d);
    f.add(d, p.z, p.z);
    f.sub(e, b, a);
    f.add(b, b, a); // H
    if (negate) {
      f.add(ff, d, c);
      f.sub(g, d, c);
    } else {
      f.sub(ff, d, c);
      f.add(g, d, c);
    }
    f.mul(out.x, e, ff);
    f.mul(out.y, g, b);
    if (withT) f.mul(out.t, e, b);
    f.mul(out.z, ff, g);
  }

  /**
   * Per slice j, Niels forms of the odd multiples Q, 3Q, ..., (2^(w-1) - 1)Q of
   * Q = 2^(64 j) P, with one shared inversion.
   */
  splitTables(p: EdPoint, w: i32): NielsTables {
    const f = this.f, count = 1 << (w - 2), total = SPLIT * count;
    const points = new StaticArray<EdPoint>(total);
    const base = new EdPoint();
    copyPoint(base, p);
    const twice = new EdPoint();
    for (let j = 0; j < SPLIT; j++) {
      const first = new EdPoint();
      copyPoint(first, base);
      unchecked(points[j * count] = first);
      this.add(twice, base, base);
      for (let i = 1; i < count; i++) {
        const next = new EdPoint();
        this.add(next, unchecked(points[j * count + i - 1]), twice);
        unchecked(points[j * count + i] = next);
      }
      if (j + 1 < SPLIT) for (let i = 0; i < SLICE_BITS; i++) this.double(base, base, i + 1 == SLICE_BITS);
    }
    // Montgomery's trick: invert the product of all Z, then peel each Z^-1 off.
    const prefix = new StaticArray<Limbs>(total);
    let acc = new StaticArray<u32>(8);
    copyLimbs(acc, unchecked(points[0]).z);
    unchecked(prefix[0] = acc);
    for (let i = 1; i < total; i++) {
      const next = new StaticArray<u32>(8);
      f.mul(next, acc, unchecked(points[i]).z);
      unchecked(prefix[i] = next);
      acc = next;
    }
    const inv = new StaticArray<u32>(8);
    f.inv(inv, acc);
    const niels = new StaticArray<NielsPoint>(total);
    const zi = new StaticArray<u32>(8), x = new StaticArray<u32>(8), y = new StaticArray<u32>(8);
    for (let i = total - 1; i >= 0; i--) {
      const pt = unchecked(points[i]);
      if (i > 0) {
        f.mul(zi, inv, unchecked(prefix[i - 1]));
        f.mul(inv, inv, pt.z);
      } else {
        copyLimbs(zi, inv);
      }
      f.mul(x, pt.x, zi);
      f.mul(y, pt.y, zi);
      const n = new NielsPoint();
      f.add(n.yPlusX, y, x);
      f.sub(n.yMinusX, y, x);
      f.mul(n.xy2d, x, y);
      f.mul(n.xy2d, n.xy2d, this.d2);
      unchecked(niels[i] = n);
    }
    const tables = new StaticArray<StaticArray<NielsPoint>>(SPLIT);
    for (let j = 0; j < SPLIT; j++) {
      const table = new StaticArray<NielsPoint>(count);
      for (let i = 0; i < count; i++) unchecked(table[i] = niels[j * count + i]);
      unchecked(tables[j] = table);
    }
    return tables;
  }

  /**
   * out = s1*B + s2*P for scalars below 2^256, where pTables are P's tables for width KEY_WINDOW:
   * one doubling chain over a 64-bit slice, additions from all tables. out's T is left stale.
   */
  mulAdd(out: EdPoint, s1: Limbs, s2: Limbs, pTables: NielsTables): void {
    const naf1 = this.naf1, naf2 = this.naf2, bTables = this.baseTables;
    const stride = SLICE_BITS + 1;
    let top = 0;
    for (let j = 0; j < SPLIT; j++) {
      top = max(top, recodeWnaf(naf1, j * stride, s1, j * SLICE_BITS, SLICE_BITS, B_WINDOW));
      top = max(top, recodeWnaf(naf2, j * stride, s2, j * SLICE_BITS, SLICE_BITS, KEY_WINDOW));
    }
    this.setIdentity(out);
    for (let i = top - 1; i >= 0; i--) {
      // T is needed only by the additions at this position.
      let adds = 0;
      for (let j = 0, at = i; j < SPLIT; j++, at += stride) {
        if (unchecked(naf1[at]) != 0) adds++;
        if (unchecked(naf2[at]) != 0) adds++;
      }
      this.double(out, out, adds > 0);
      for (let j = 0, at = i; j < SPLIT; j++, at += stride) {
        const d1 = <i32>unchecked(naf1[at]);
        if (d1 != 0) this.addNiels(out, out, unchecked(unchecked(bTables[j])[abs(d1) >> 1]), d1 < 0, --adds > 0);
        const d2 = <i32>unchecked(naf2[at]);
        if (d2 != 0) this.addNiels(out, out, unchecked(unchecked(pTables[j])[abs(d2) >> 1]), d2 < 0, --adds > 0);
      }
    }
  }
}

function sqrN(f: Field25519, out: Limbs, a: Limbs, n: i32): void {
  f.sqr(out, a);
  for (let i = 1; i < n; i++) f.sqr(out, out);
}

function copyPoint(out: EdPoint, p: EdPoint): void {
  copyLimbs(out.x, p.x);
  copyLimbs(out.y, p.y);
  copyLimbs(out.z, p.z);
  copyLimbs(out.t, p.t);
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
