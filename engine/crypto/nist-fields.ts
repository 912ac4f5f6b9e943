// The base fields of P-256 and P-384 with their NIST fast reduction. Elements are plain integers
// (no Montgomery form) of 8 or 12 little-endian 32-bit limbs, always fully reduced, so equality
// is limb equality. Both classes have the same methods, so curve code is generic over them.
import { Limbs, limbsFromHex } from "./bigint";
import { addMod12, addMod8, mul12, mul8, reduceP256, reduceP384, sqr12, sqr8, subMod12, subMod8 } from "./fixed-width";
import { invertMod } from "./modinv";

// Scratch for double-width products (single-threaded: one product at a time).
const WIDE: usize = memory.data(96);

@inline function ptr(a: Limbs): usize { return changetype<usize>(a); }

export class P256Field {
  readonly len: i32 = 8;
  readonly p: Limbs = limbsFromHex("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff", 8);

  mul(out: Limbs, a: Limbs, b: Limbs): void { mul8(WIDE, ptr(a), ptr(b)); reduceP256(ptr(out), WIDE); }
  sqr(out: Limbs, a: Limbs): void { sqr8(WIDE, ptr(a)); reduceP256(ptr(out), WIDE); }
  add(out: Limbs, a: Limbs, b: Limbs): void { addMod8(ptr(out), ptr(a), ptr(b), ptr(this.p)); }
  sub(out: Limbs, a: Limbs, b: Limbs): void { subMod8(ptr(out), ptr(a), ptr(b), ptr(this.p)); }
  /** out = a^-1; false for a = 0. */
  inv(out: Limbs, a: Limbs): bool { return invertMod(out, a, this.p); }
}

export class P384Field {
  readonly len: i32 = 12;
  readonly p: Limbs = limbsFromHex("fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff", 12);

  mul(out: Limbs, a: Limbs, b: Limbs): void { mul12(WIDE, ptr(a), ptr(b)); reduceP384(ptr(out), WIDE); }
  sqr(out: Limbs, a: Limbs): void { sqr12(WIDE, ptr(a)); reduceP384(ptr(out), WIDE); }
  add(out: Limbs, a: Limbs, b: Limbs): void { addMod12(ptr(out), ptr(a), ptr(b), ptr(this.p)); }
  sub(out: Limbs, a: Limbs, b: Limbs): void { subMod12(ptr(out), ptr(a), ptr(b), ptr(this.p)); }
  inv(out: Limbs, a: Limbs): bool { return invertMod(out, a, this.p); }
}
