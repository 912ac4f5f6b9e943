// Modular inverse for an odd modulus by the binary extended Euclidean algorithm: shifts and
// subtractions on plain limbs, cheaper in wasm than a Fermat exponentiation with generic products.
import { Limbs } from "./bigint";

/**
 * out = a^-1 mod m for a < m and odd m of the same width; false (out untouched) when a is not
 * invertible (zero, or sharing a factor with m). out may alias a.
 */
export function invertMod(out: Limbs, a: Limbs, m: Limbs): bool {
  const n = m.length;
  const u = new StaticArray<u32>(n), v = new StaticArray<u32>(n);
  const x1 = new StaticArray<u32>(n), x2 = new StaticArray<u32>(n);
  memory.copy(changetype<usize>(u), changetype<usize>(a), <usize>n << 2);
  memory.copy(changetype<usize>(v), changetype<usize>(m), <usize>n << 2);
  unchecked(x1[0] = 1);
  const up = changetype<usize>(u), vp = changetype<usize>(v), x1p = changetype<usize>(x1), x2p = changetype<usize>(x2), mp = changetype<usize>(m);
  // Invariants: x1 * a = u and x2 * a = v (mod m), x1, x2 < m; gcd(u, v) = gcd(a, m).
  while (true) {
    if (isZeroAt(up, n) || isZeroAt(vp, n)) return false;
    while ((load<u32>(up) & 1) == 0) { shiftRight1(up, n, 0); halveMod(x1p, mp, n); }
    while ((load<u32>(vp) & 1) == 0) { shiftRight1(vp, n, 0); halveMod(x2p, mp, n); }
    if (isOneAt(up, n)) { memory.copy(changetype<usize>(out), x1p, <usize>n << 2); return true; }
    if (isOneAt(vp, n)) { memory.copy(changetype<usize>(out), x2p, <usize>n << 2); return true; }
    if (geAt(up, vp, n)) {
      subAt(up, up, vp, n);
      subModAt(x1p, x1p, x2p, mp, n);
    } else {
      subAt(vp, vp, up, n);
      subModAt(x2p, x2p, x1p, mp, n);
    }
  }
}

function isZeroAt(p: usize, n: i32): bool {
  let acc: u32 = 0;
  for (let i = 0; i < n; i++) acc |= load<u32>(p + (<usize>i << 2));
  return acc == 0;
}

function isOneAt(p: usize, n: i32): bool {
  let acc: u32 = load<u32>(p) ^ 1;
  for (let i = 1; i < n; i++) acc |= load<u32>(p + (<usize>i << 2));
  return acc == 0;
}

function geAt(a: usize, b: usize, n: i32): bool {
  for (let i = n - 1; i >= 0; i--) {
    const x = load<u32>(a + (<usize>i << 2)), y = load<u32>(b + (<usize>i << 2));
    if (x != y) return x > y;
  }
  return true;
}

/** p = (p >> 1) with `top` shifted into the highest bit. */
function shiftRight1(p: usize, n: i32, top: u32): void {
  let carry = top;
  for (let i = n - 1; i >= 0; i--) {
    const q = p + (<usize>i << 2);
    const w = load<u32>(q);
    store<u32>(q, (w >> 1) | (carry << 31));
    carry = w & 1;
  }
}

/** x = x / 2 mod m for x < m: x is halved directly when even, else x + m (even) is. */
function halveMod(x: usize, m: usize, n: i32): void {
  let top: u32 = 0;
  if ((load<u32>(x) & 1) != 0) {
    let c: u64 = 0;
    for (let i = 0; i < n; i++) {
      const q = x + (<usize>i << 2);
      c += <u64>load<u32>(q) + <u64>load<u32>(m + (<usize>i << 2));
      store<u32>(q, <u32>c);
      c >>= 32;
    }
    top = <u32>c;
  }
  shiftRight1(x, n, top);
}

function subAt(out: usize, a: usize, b: usize, n: i32): u32 {
  let d: i64 = 0;
  for (let i = 0; i < n; i++) {
    const off = <usize>i << 2;
    d += <i64>load<u32>(a + off) - <i64>load<u32>(b + off);
    store<u32>(out + off, <u32>d);
    d >>= 32;
  }
  return <u32>d; // all ones when a < b
}

function subModAt(out: usize, a: usize, b: usize, m: usize, n: i32): void {
  const mask = subAt(out, a, b, n);
  if (mask == 0) return;
  let c: u64 = 0;
  for (let i = 0; i < n; i++) {
    const off = <usize>i << 2;
    c += <u64>load<u32>(out + off) + <u64>load<u32>(m + off);
    store<u32>(out + off, <u32>c);
    c >>= 32;
  }
}
