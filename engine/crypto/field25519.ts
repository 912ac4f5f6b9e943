// The field of Curve25519, p = 2^255 - 19: elements as 8 little-endian 32-bit limbs, always fully
// reduced (< p). Products fold the high half back with 2^256 = 38 (mod p).
import { Limbs, limbsFromHex } from "./bigint";
import { addMod8, mul8, sqr8, subMod8 } from "./fixed-width";
import { invertMod } from "./modinv";

const WIDE: usize = memory.data(64);

@inline function ptr(a: Limbs): usize { return changetype<usize>(a); }

/** out = t mod p for the 16-word t. */
function reduce25519(out: usize, t: usize): void {
  // lo + 38 hi, word by word; each column is below 2^32 + 38 * 2^32 + carry.
  let acc: u64 = 0;
  for (let i: usize = 0; i < 32; i += 4) {
    acc += <u64>load<u32>(t + i) + 38 * <u64>load<u32>(t + i + 32);
    store<u32>(t + i, <u32>acc);
    acc >>= 32;
  }
  // The carry (< 39) is worth 38 each again; at most one more carry can follow.
  while (acc != 0) {
    acc *= 38;
    for (let i: usize = 0; i < 32 && acc != 0; i += 4) {
      acc += <u64>load<u32>(t + i);
      store<u32>(t + i, <u32>acc);
      acc >>= 32;
    }
  }
  // Now t < 2^256 = 2p + 38: fold bit 255 (worth 19), then subtract p once if still >= p.
  let w7 = load<u32>(t + 28);
  acc = <u64>(w7 >> 31) * 19;
  store<u32>(t + 28, w7 & 0x7fffffff);
  for (let i: usize = 0; i < 32 && acc != 0; i += 4) {
    acc += <u64>load<u32>(t + i);
    store<u32>(t + i, <u32>acc);
    acc >>= 32;
  }
  // t < 2^255 + 19; t >= p exactly when t + 19 reaches 2^255.
  let c: u64 = 19;
  for (let i: usize = 0; i < 28; i += 4) c = (c + <u64>load<u32>(t + i)) >> 32;
  const geP = ((c + <u64>load<u32>(t + 28)) >> 31) != 0;
  if (geP) {
    // t - p = t + 19 - 2^255
    c = 19;
    for (let i: usize = 0; i < 32; i += 4) {
      c += <u64>load<u32>(t + i);
      store<u32>(out + i, <u32>c);
      c >>= 32;
    }
    store<u32>(out + 28, load<u32>(out + 28) & 0x7fffffff);
  } else {
    memory.copy(out, t, 32);
  }
}

export class Field25519 {
  readonly len: i32 = 8;
  readonly p: Limbs = limbsFromHex("7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed", 8);

  mul(out: Limbs, a: Limbs, b: Limbs): void { mul8(WIDE, ptr(a), ptr(b)); reduce25519(ptr(out), WIDE); }
  sqr(out: Limbs, a: Limbs): void { sqr8(WIDE, ptr(a)); reduce25519(ptr(out), WIDE); }
  add(out: Limbs, a: Limbs, b: Limbs): void { addMod8(ptr(out), ptr(a), ptr(b), ptr(this.p)); }
  sub(out: Limbs, a: Limbs, b: Limbs): void { subMod8(ptr(out), ptr(a), ptr(b), ptr(this.p)); }
  inv(out: Limbs, a: Limbs): bool { return invertMod(out, a, this.p); }
}
