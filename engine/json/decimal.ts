// Exact decimal -> double conversion for the numbers Clinger's fast path cannot take (long
// mantissas, large exponents). Big-integer long division, rounded half-to-even; slow but correct,
// and only reached by unusual inputs. (The runtime's parseFloat is off by orders of magnitude on
// some inputs, so it is not used.)

/** Significant digits kept; any further non-zero digit is folded into one sticky digit. */
const MAX_DIGITS = 800;

/** Arbitrary-precision unsigned integer, little-endian 32-bit limbs, no leading zero limbs. */
class Big {
  limbs: u32[] = [];

  static fromSmall(v: u32): Big {
    const b = new Big();
    if (v) b.limbs.push(v);
    return b;
  }

  isZero(): bool {
    return this.limbs.length == 0;
  }

  /** this = this * m + add */
  mulAdd(m: u32, add: u32): void {
    const limbs = this.limbs;
    let carry = <u64>add;
    for (let i = 0, n = limbs.length; i < n; i++) {
      const t = <u64>unchecked(limbs[i]) * <u64>m + carry;
      unchecked((limbs[i] = <u32>t));
      carry = t >> 32;
    }
    if (carry) limbs.push(<u32>carry);
  }

  mulPow10(e: i32): void {
    while (e >= 9) {
      this.mulAdd(1000000000, 0);
      e -= 9;
    }
    let m: u32 = 1;
    while (e-- > 0) m *= 10;
    if (m > 1) this.mulAdd(m, 0);
  }

  bitLength(): i32 {
    const n = this.limbs.length;
    if (n == 0) return 0;
    return (n - 1) * 32 + 32 - <i32>clz(unchecked(this.limbs[n - 1]));
  }

  shl(bits: i32): void {
    if (bits <= 0 || this.isZero()) return;
    const words = bits >> 5;
    const rem = bits & 31;
    const limbs = this.limbs;
    if (rem) {
      let carry: u32 = 0;
      for (let i = 0, n = limbs.length; i < n; i++) {
        const v = unchecked(limbs[i]);
        unchecked((limbs[i] = (v << rem) | carry));
        carry = v >> (32 - rem);
      }
      if (carry) limbs.push(carry);
    }
    if (words) {
      const n = limbs.length;
      limbs.length = n + words;
      for (let i = n - 1; i >= 0; i--) unchecked((limbs[i + words] = limbs[i]));
      for (let i = 0; i < words; i++) unchecked((limbs[i] = 0));
    }
  }

  cmp(o: Big): i32 {
    const a = this.limbs;
    const b = o.limbs;
    if (a.length != b.length) return a.length < b.length ? -1 : 1;
    for (let i = a.length - 1; i >= 0; i--) {
      const x = unchecked(a[i]);
      const y = unchecked(b[i]);
      if (x != y) return x < y ? -1 : 1;
    }
    return 0;
  }

  /** this -= o, requires this >= o. */
  sub(o: Big): void {
    const a = this.limbs;
    const b = o.limbs;
    let borrow: i64 = 0;
    for (let i = 0, n = a.length; i < n; i++) {
      let t = <i64>unchecked(a[i]) - borrow - (i < b.length ? <i64>unchecked(b[i]) : 0);
      if (t < 0) {
        t += <i64>0x100000000;
        borrow = 1;
      } else {
        borrow = 0;
      }
      unchecked((a[i] = <u32>t));
    }
    let n = a.length;
    while (n > 0 && unchecked(a[n - 1]) == 0) n--;
    a.length = n;
  }
}

/**
 * Converts a validated JSON number token (bytes [start, end) at base) to the nearest double.
 * The token grammar has already been checked by the parser.
 */
export function decimalToDouble(base: usize, start: i32, end: i32): f64 {
  let p = start;
  let negative = false;
  if (load<u8>(base + <usize>p) == 0x2d) {
    negative = true;
    p++;
  }
  const digits = new Big();
  let count = 0; // significant digits taken
  let exp10: i64 = 0;
  let sticky = false;
  let seenDot = false;
  for (; p < end; p++) {
    const c = <u32>load<u8>(base + <usize>p);
    if (c == 0x2e) {
      seenDot = true;
      continue;
    }
    if (c - 0x30 > 9) break; // 'e' / 'E'
    if (seenDot) exp10--;
    if (count == 0 && c == 0x30) continue; // leading zeros
    if (count < MAX_DIGITS) {
      digits.mulAdd(10, c - 0x30);
      count++;
    } else {
      exp10++;
      if (c != 0x30) sticky = true;
    }
  }
  if (p < end) {
    p++; // 'e'
    let expNegative = false;
    const s = <u32>load<u8>(base + <usize>p);
    if (s == 0x2b || s == 0x2d) {
      expNegative = s == 0x2d;
      p++;
    }
    let e: i64 = 0;
    for (; p < end; p++) if (e < 1000000) e = e * 10 + <i64>(load<u8>(base + <usize>p) - 0x30);
    exp10 += expNegative ? -e : e;
  }
  if (sticky) {
    // Dropped digits only matter as "a bit more than what was kept".
    digits.mulAdd(10, 1);
    exp10--;
  }
  const sign: f64 = negative ? -1 : 1;
  if (digits.isZero()) return sign * 0.0;
  // value = digits * 10^exp10 lies in [10^(k-1), 10^k)
  const k = <i64>(count + (sticky ? 1 : 0)) + exp10;
  if (k > 310) return sign * Infinity;
  if (k < -324) return sign * 0.0;

  const num = digits;
  const den = Big.fromSmall(1);
  if (exp10 > 0) num.mulPow10(<i32>exp10);
  else den.mulPow10(<i32>-exp10);
  // Normalize so that den <= num < 2*den; then value = (num/den) * 2^e2.
  let e2 = num.bitLength() - den.bitLength();
  if (e2 > 0) den.shl(e2);
  else num.shl(-e2);
  if (num.cmp(den) < 0) {
    num.shl(1);
    e2--;
  }
  if (e2 > 1023) return sign * Infinity;
  // Mantissa bits available at this exponent: 53 for normals, fewer for subnormals.
  const bits = e2 >= -1022 ? 53 : e2 + 1075;
  if (bits < 0) return sign * 0.0;
  let m: u64 = 0;
  for (let i = 0; i < bits; i++) {
    m <<= 1;
    if (num.cmp(den) >= 0) {
      num.sub(den);
      m |= 1;
    }
    num.shl(1);
  }
  const roundBit = num.cmp(den) >= 0;
  if (roundBit) num.sub(den);
  const rest = !num.isZero();
  if (roundBit && (rest || (m & 1))) m++;
  let raw: u64;
  if (bits == 53) {
    if (m == (<u64>1 << 53)) {
      m >>= 1;
      e2++;
      if (e2 > 1023) return sign * Infinity;
    }
    raw = (<u64>(e2 + 1023) << 52) | (m & ((<u64>1 << 52) - 1));
  } else {
    // Subnormal: m counts units of 2^-1074; a carry into bit 52 yields the smallest normal.
    raw = m;
  }
  return sign * reinterpret<f64>(raw);
}
