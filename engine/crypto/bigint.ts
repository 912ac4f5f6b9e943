// Fixed-width unsigned integers as little-endian 32-bit limbs (StaticArray<u32>), with the few
// operations RSA and the elliptic curves need. Products are taken in u64.

export type Limbs = StaticArray<u32>;

@inline function limbPtr(a: Limbs): usize { return changetype<usize>(a); }

/** Big-endian bytes [offset, offset+length) of `src` into `len` limbs; null if the value needs more. */
export function limbsFromBytesBE(src: Uint8Array, offset: i32, length: i32, len: i32): Limbs | null {
  if (offset < 0 || length < 0 || offset + length > src.length) return null;
  const out = new StaticArray<u32>(len);
  const p = src.dataStart + <usize>offset;
  for (let i = 0; i < length; i++) {
    const b = <u32>load<u8>(p + <usize>(length - 1 - i)); // i-th least significant byte
    if (b == 0) continue;
    const limb = i >> 2;
    if (limb >= len) return null;
    unchecked(out[limb] |= b << ((<u32>i & 3) << 3));
  }
  return out;
}

/** Little-endian bytes into `len` limbs; null if the value needs more. */
export function limbsFromBytesLE(src: Uint8Array, offset: i32, length: i32, len: i32): Limbs | null {
  if (offset < 0 || length < 0 || offset + length > src.length) return null;
  const out = new StaticArray<u32>(len);
  const p = src.dataStart + <usize>offset;
  for (let i = 0; i < length; i++) {
    const b = <u32>load<u8>(p + <usize>i);
    if (b == 0) continue;
    const limb = i >> 2;
    if (limb >= len) return null;
    unchecked(out[limb] |= b << ((<u32>i & 3) << 3));
  }
  return out;
}

/** Writes `a` as exactly `byteLen` big-endian bytes at out[outOffset..]; higher bytes are dropped. */
export function limbsToBytesBE(a: Limbs, out: Uint8Array, outOffset: i32, byteLen: i32): void {
  const p = out.dataStart + <usize>outOffset;
  const n = a.length;
  for (let i = 0; i < byteLen; i++) {
    const limb = i >> 2;
    const b = limb < n ? <u8>(unchecked(a[limb]) >> ((<u32>i & 3) << 3)) : <u8>0;
    store<u8>(p + <usize>(byteLen - 1 - i), b);
  }
}

export function limbsToBytesLE(a: Limbs, out: Uint8Array, outOffset: i32, byteLen: i32): void {
  const p = out.dataStart + <usize>outOffset;
  const n = a.length;
  for (let i = 0; i < byteLen; i++) {
    const limb = i >> 2;
    store<u8>(p + <usize>i, limb < n ? <u8>(unchecked(a[limb]) >> ((<u32>i & 3) << 3)) : <u8>0);
  }
}

/** -1, 0 or 1 for a < b, a == b, a > b (same width). */
export function compare(a: Limbs, b: Limbs): i32 {
  for (let i = a.length - 1; i >= 0; i--) {
    const x = unchecked(a[i]), y = unchecked(b[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

export function isZero(a: Limbs): bool {
  let acc: u32 = 0;
  for (let i = 0, n = a.length; i < n; i++) acc |= unchecked(a[i]);
  return acc == 0;
}

export function equals(a: Limbs, b: Limbs): bool {
  return compare(a, b) == 0;
}

export function bitLength(a: Limbs): i32 {
  for (let i = a.length - 1; i >= 0; i--) {
    const x = unchecked(a[i]);
    if (x != 0) return (i << 5) + 32 - <i32>clz<u32>(x);
  }
  return 0;
}

@inline export function testBit(a: Limbs, bit: i32): bool {
  return ((unchecked(a[bit >> 5]) >> (<u32>bit & 31)) & 1) != 0;
}

export function copyLimbs(dst: Limbs, src: Limbs): void {
  memory.copy(limbPtr(dst), limbPtr(src), <usize>dst.length << 2);
}

export function setSmall(dst: Limbs, v: u32): void {
  memory.fill(limbPtr(dst), 0, <usize>dst.length << 2);
  unchecked(dst[0] = v);
}

/** out = a - b over the full width; returns the borrow (1 if a < b). out may alias a or b. */
export function subInto(out: Limbs, a: Limbs, b: Limbs): u32 {
  let borrow: i64 = 0;
  for (let i = 0, n = out.length; i < n; i++) {
    const d = <i64>unchecked(a[i]) - <i64>unchecked(b[i]) + borrow;
    unchecked(out[i] = <u32>d);
    borrow = d >> 32; // 0 or -1
  }
  return <u32>(-borrow);
}

/** out = a + b over the full width; returns the carry. out may alias a or b. */
export function addInto(out: Limbs, a: Limbs, b: Limbs): u32 {
  let carry: u64 = 0;
  for (let i = 0, n = out.length; i < n; i++) {
    const s = <u64>unchecked(a[i]) + <u64>unchecked(b[i]) + carry;
    unchecked(out[i] = <u32>s);
    carry = s >> 32;
  }
  return <u32>carry;
}

/** -n^-1 mod 2^32 for odd n0 (Newton iteration: each step doubles the correct low bits). */
function negInverse32(n0: u32): u32 {
  let x: u32 = n0; // correct to 3 bits for odd n0
  x *= 2 - n0 * x;
  x *= 2 - n0 * x;
  x *= 2 - n0 * x;
  x *= 2 - n0 * x;
  return 0 - x;
}

/**
 * Montgomery arithmetic modulo an odd n of `len` limbs, R = 2^(32*len).
 * mul() needs one operand < n and the other < R; results are fully reduced (< n).
 * Every method allows the output to alias its inputs.
 */
export class Montgomery {
  readonly len: i32;
  readonly n: Limbs;
  readonly n0inv: u32;
  /** R mod n: 1 in Montgomery form. */
  readonly one: Limbs;
  /** R^2 mod n: converts into Montgomery form. */
  readonly rr: Limbs;
  private t: Limbs;
  private wide: Limbs;
  private plainOne: Limbs;

  /** `n` must be odd with a non-zero top limb; callers validate (see isUsableModulus). */
  constructor(n: Limbs) {
    const len = n.length;
    this.len = len;
    this.n = n;
    this.n0inv = negInverse32(unchecked(n[0]));
    this.t = new StaticArray<u32>(len + 2);
    this.wide = new StaticArray<u32>(2 * len + 1);
    const plainOne = new StaticArray<u32>(len);
    unchecked(plainOne[0] = 1);
    this.plainOne = plainOne;
    this.one = new StaticArray<u32>(len);
    this.rr = new StaticArray<u32>(len);
    this.computeConstants();
  }

  static isUsableModulus(n: Limbs): bool {
    const len = n.length;
    return len > 0 && (unchecked(n[0]) & 1) == 1 && unchecked(n[len - 1]) != 0 && !(len == 1 && unchecked(n[0]) == 1);
  }

  private computeConstants(): void {
    const len = this.len;
    const one = this.one;
    // R mod n by doubling 2^(bits-1) (which is < n) up to 2^(32*len).
    const bits = bitLength(this.n);
    memory.fill(limbPtr(one), 0, <usize>len << 2);
    unchecked(one[(bits - 1) >> 5] = <u32>1 << (<u32>(bits - 1) & 31));
    for (let i = bits - 1; i < (len << 5); i++) this.doubleMod(one);
    // R^2 = (R * 2^j)^(2^q) in Montgomery form, where 32*len = j * 2^q with j odd.
    let j = len << 5, q = 0;
    while ((j & 1) == 0) { j >>= 1; q++; }
    const rr = this.rr;
    copyLimbs(rr, one);
    for (let i = 0; i < j; i++) this.doubleMod(rr);
    for (let i = 0; i < q; i++) this.sqr(rr, rr);
  }

  /** a = 2a mod n for a < n. */
  private doubleMod(a: Limbs): void {
    const carry = addInto(a, a, a);
    if (carry != 0 || compare(a, this.n) >= 0) subInto(a, a, this.n);
  }

  /** out = a * b / R mod n. */
  mul(out: Limbs, a: Limbs, b: Limbs): void {
    const len = this.len;
    const t = limbPtr(this.t), ap = limbPtr(a), bp = limbPtr(b), np = limbPtr(this.n);
    const n0inv = this.n0inv;
    memory.fill(t, 0, <usize>(len + 1) << 2);
    const lenBytes = <usize>len << 2;
    for (let i: usize = 0; i < lenBytes; i += 4) {
      const bi = <u64>load<u32>(bp + i);
      // Word 0 of t + a*bi picks m so that word 0 of t + a*bi + m*n vanishes.
      let x: u64 = <u64>load<u32>(t) + <u64>load<u32>(ap) * bi;
      let c1 = x >> 32;
      const m32: u32 = <u32>x * n0inv;
      const m = <u64>m32;
      let y: u64 = (x & 0xffffffff) + m * <u64>load<u32>(np);
      let c2 = y >> 32;
      for (let j: usize = 4; j < lenBytes; j += 4) {
        x = <u64>load<u32>(t + j) + <u64>load<u32>(ap + j) * bi + c1;
        c1 = x >> 32;
        y = (x & 0xffffffff) + m * <u64>load<u32>(np + j) + c2;
        c2 = y >> 32;
        store<u32>(t + j - 4, <u32>y);
      }
      x = <u64>load<u32>(t + lenBytes) + c1 + c2;
      store<u32>(t + lenBytes - 4, <u32>x);
      store<u32>(t + lenBytes, <u32>(x >> 32));
    }
    this.finalSubtract(out);
  }

  /**
   * out = a^2 / R mod n for a < n. Squares in full first (each cross product once, then doubled),
   * then reduces: 1.5 len^2 word products instead of mul()'s 2 len^2.
   */
  sqr(out: Limbs, a: Limbs): void {
    const len = this.len;
    const lenBytes = <usize>len << 2;
    const p = limbPtr(this.wide), ap = limbPtr(a);
    memory.fill(p, 0, lenBytes << 1);
    // Cross products a_i * a_j for i < j.
    for (let i: usize = 0; i < lenBytes; i += 4) {
      const ai = <u64>load<u32>(ap + i);
      let rowCarry: u64 = 0;
      for (let j = i + 4; j < lenBytes; j += 4) {
        const acc = <u64>load<u32>(p + i + j) + ai * <u64>load<u32>(ap + j) + rowCarry;
        store<u32>(p + i + j, <u32>acc);
        rowCarry = acc >> 32;
      }
      store<u32>(p + i + lenBytes, <u32>rowCarry);
    }
    // Double them and add the squares a_i^2 on the diagonal.
    let diagCarry: u64 = 0;
    let shiftIn: u32 = 0;
    for (let i: usize = 0; i < lenBytes; i += 4) {
      const sq = <u64>load<u32>(ap + i) * <u64>load<u32>(ap + i);
      const lo = load<u32>(p + (i << 1)), hi = load<u32>(p + (i << 1) + 4);
      const lo2 = (lo << 1) | shiftIn, hi2 = (hi << 1) | (lo >> 31);
      shiftIn = hi >> 31;
      const low = <u64>lo2 + (sq & 0xffffffff) + diagCarry;
      store<u32>(p + (i << 1), <u32>low);
      const high = <u64>hi2 + (sq >> 32) + (low >> 32);
      store<u32>(p + (i << 1) + 4, <u32>high);
      diagCarry = high >> 32;
    }
    // a < n < R, so a^2 < R^2 and nothing is left in diagCarry or shiftIn.
    this.reduceWide(out);
  }

  /**
   * Montgomery reduction of the 2*len-word value in `wide` into out (REDC). Rows go in pairs: the
   * second row's multiplier is known once the first row has settled its second word, so both
   * rows share one pass over memory with two carry chains.
   */
  private reduceWide(out: Limbs): void {
    const len = this.len;
    const lenBytes = <usize>len << 2;
    const p = limbPtr(this.wide), np = limbPtr(this.n);
    const n0inv = this.n0inv;
    const n0 = <u64>load<u32>(np);
    let top: u64 = 0; // carry into word i + len + 1 (pairs) or i + len (single row) from earlier rows
    let i: usize = 0;
    for (; i + 4 < lenBytes; i += 8) {
      const row = p + i;
      // Typed locals: inside <u64>(...) asc would widen the operands and skip the 32-bit wrap.
      const m0w: u32 = load<u32>(row) * n0inv;
      const m0 = <u64>m0w;
      let x: u64 = <u64>load<u32>(row) + m0 * n0;
      let c0 = x >> 32;
      x = <u64>load<u32>(row + 4) + m0 * <u64>load<u32>(np + 4) + c0;
      c0 = x >> 32;
      const w1 = <u32>x;
      const m1w: u32 = w1 * n0inv;
      const m1 = <u64>m1w;
      let y: u64 = <u64>w1 + m1 * n0;
      let c1 = y >> 32;
      let nPrev = <u64>load<u32>(np + 4);
      for (let j: usize = 8; j < lenBytes; j += 4) {
        const nj = <u64>load<u32>(np + j);
        x = <u64>load<u32>(row + j) + m0 * nj + c0;
        c0 = x >> 32;
        y = (x & 0xffffffff) + m1 * nPrev + c1;
        c1 = y >> 32;
        store<u32>(row + j, <u32>y);
        nPrev = nj;
      }
      x = <u64>load<u32>(row + lenBytes) + c0 + top;
      y = (x & 0xffffffff) + m1 * nPrev + c1;
      store<u32>(row + lenBytes, <u32>y);
      const z = <u64>load<u32>(row + lenBytes + 4) + (x >> 32) + (y >> 32);
      store<u32>(row + lenBytes + 4, <u32>z);
      top = z >> 32;
    }
    if (i < lenBytes) {
      // Odd limb count: one last single row.
      const row = p + i;
      const mw: u32 = load<u32>(row) * n0inv;
      const m = <u64>mw;
      let carry: u64 = 0;
      for (let j: usize = 0; j < lenBytes; j += 4) {
        const acc = <u64>load<u32>(row + j) + m * <u64>load<u32>(np + j) + carry;
        store<u32>(row + j, <u32>acc);
        carry = acc >> 32;
      }
      const last = <u64>load<u32>(row + lenBytes) + carry + top;
      store<u32>(row + lenBytes, <u32>last);
      top = last >> 32;
    }
    // Result (< 2n) is words [len, 2len) plus `top` above them; move it to t for finalSubtract.
    const t = limbPtr(this.t);
    memory.copy(t, p + lenBytes, lenBytes);
    store<u32>(t + lenBytes, <u32>top);
    this.finalSubtract(out);
  }

  /** Copies t (len+1 words, < 2n) into out, subtracting n once if needed. */
  @inline private finalSubtract(out: Limbs): void {
    const len = this.len;
    const t = limbPtr(this.t), np = limbPtr(this.n), op = limbPtr(out);
    let ge = load<u32>(t + (<usize>len << 2)) != 0;
    if (!ge) {
      ge = true; // equal counts as >=
      for (let i = len - 1; i >= 0; i--) {
        const x = load<u32>(t + (<usize>i << 2)), y = load<u32>(np + (<usize>i << 2));
        if (x != y) { ge = x > y; break; }
      }
    }
    if (ge) {
      let borrow: i64 = 0;
      for (let i: usize = 0, e = <usize>len << 2; i < e; i += 4) {
        const d = <i64>load<u32>(t + i) - <i64>load<u32>(np + i) + borrow;
        store<u32>(op + i, <u32>d);
        borrow = d >> 32;
      }
    } else {
      memory.copy(op, t, <usize>len << 2);
    }
  }

  /** out = a + b mod n for a, b < n. */
  add(out: Limbs, a: Limbs, b: Limbs): void {
    const carry = addInto(out, a, b);
    if (carry != 0 || compare(out, this.n) >= 0) subInto(out, out, this.n);
  }

  /** out = a - b mod n for a, b < n. */
  sub(out: Limbs, a: Limbs, b: Limbs): void {
    if (subInto(out, a, b) != 0) addInto(out, out, this.n);
  }

  /** out = -a mod n for a < n. */
  neg(out: Limbs, a: Limbs): void {
    if (isZero(a)) { copyLimbs(out, a); return; }
    subInto(out, this.n, a);
  }

  /** Montgomery form of a (a < R). */
  toMont(out: Limbs, a: Limbs): void {
    this.mul(out, a, this.rr);
  }

  /** Plain value of a Montgomery-form a. */
  fromMont(out: Limbs, a: Limbs): void {
    this.mul(out, a, this.plainOne);
  }

  /** out = base^exp in Montgomery form (base in Montgomery form), exponent as plain limbs. */
  pow(out: Limbs, base: Limbs, exp: Limbs): void {
    const acc = new StaticArray<u32>(this.len);
    copyLimbs(acc, this.one);
    const b = new StaticArray<u32>(this.len);
    copyLimbs(b, base);
    for (let i = bitLength(exp) - 1; i >= 0; i--) {
      this.sqr(acc, acc);
      if (testBit(exp, i)) this.mul(acc, acc, b);
    }
    copyLimbs(out, acc);
  }

  /** Inverse by Fermat (n must be prime); a in Montgomery form, a != 0. */
  invPrime(out: Limbs, a: Limbs): void {
    const e = new StaticArray<u32>(this.len);
    copyLimbs(e, this.n);
    unchecked(e[0] -= 2); // n is odd and > 2, so no borrow
    this.pow(out, a, e);
  }
}

/** Limbs (width `len`) from a big-endian hex constant; for curve parameters written in source. */
export function limbsFromHex(hex: string, len: i32): Limbs {
  const out = new StaticArray<u32>(len);
  const n = hex.length;
  for (let i = 0; i < n; i++) {
    const c = hex.charCodeAt(n - 1 - i);
    const v: u32 = c >= 97 ? c - 87 : c >= 65 ? c - 55 : c - 48;
    const limb = i >> 3;
    if (limb < len) unchecked(out[limb] |= v << ((<u32>i & 7) << 2));
  }
  return out;
}
