// RSA signature verification (RFC 8017): RSASSA-PKCS1-v1_5 and RSASSA-PSS with MGF1.
// Public keys come from JWK n/e bytes; moduli of 2048..4096 bits and odd exponents below 2^32.
import { Limbs, Montgomery, bitLength, compare, limbsFromBytesBE, limbsToBytesBE } from "./bigint";
import { Hasher } from "./hasher";
import { HashAlg, hashLength, newHasher } from "./hash";
import { constantTimeEqual } from "./bytes";

export const RSA_MIN_BITS: i32 = 2048;
export const RSA_MAX_BITS: i32 = 4096;

// DER DigestInfo prefixes (RFC 8017 section 9.2, note 1) for SHA-256/384/512.
const DIGEST_INFO_SHA256: StaticArray<u8> = [0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20];
const DIGEST_INFO_SHA384: StaticArray<u8> = [0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30];
const DIGEST_INFO_SHA512: StaticArray<u8> = [0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40];

/** PSS salt length meaning "whatever the signature carries" (RFC 8017 verification). */
export const PSS_SALT_ANY: i32 = -1;

export class RsaPublicKey {
  readonly mont: Montgomery;
  /** Modulus length in bytes (k in RFC 8017) and bits. */
  readonly modulusBytes: i32;
  readonly modulusBits: i32;
  readonly exponent: u32;
  // Scratch for the public operation, reused to keep verification allocation-light.
  private x: Limbs;
  private acc: Limbs;

  private constructor(n: Limbs, exponent: u32) {
    const bits = bitLength(n);
    this.mont = new Montgomery(n);
    this.modulusBits = bits;
    this.modulusBytes = (bits + 7) >> 3;
    this.exponent = exponent;
    this.x = new StaticArray<u32>(n.length);
    this.acc = new StaticArray<u32>(n.length);
  }

  /** Key from big-endian modulus and exponent bytes (JWK n, e); null if unusable. */
  static fromBytes(n: Uint8Array, e: Uint8Array): RsaPublicKey | null {
    let start = 0;
    while (start < n.length && unchecked(n[start]) == 0) start++;
    const nBytes = n.length - start;
    if (nBytes < (RSA_MIN_BITS >> 3) || nBytes > (RSA_MAX_BITS >> 3)) return null;
    const limbs = (nBytes + 3) >> 2;
    const modulus = limbsFromBytesBE(n, start, nBytes, limbs);
    if (modulus == null) return null;
    const bits = bitLength(modulus);
    if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS || !Montgomery.isUsableModulus(modulus)) return null;
    let exp: u64 = 0;
    for (let i = 0; i < e.length; i++) {
      exp = (exp << 8) | <u64>unchecked(e[i]);
      if (exp > 0xffffffff) return null;
    }
    if (exp < 3 || (exp & 1) == 0) return null;
    return new RsaPublicKey(modulus, <u32>exp);
  }

  /** m = s^e mod n for s < n, written as modulusBytes big-endian bytes. */
  publicOperation(s: Limbs): Uint8Array {
    const mont = this.mont, x = this.x, acc = this.acc;
    mont.toMont(x, s);
    const e = this.exponent;
    let bit = 31 - <i32>clz<u32>(e);
    // acc = x covers the top bit of e; the remaining bits are square-and-multiply.
    memory.copy(changetype<usize>(acc), changetype<usize>(x), <usize>x.length << 2);
    for (bit--; bit >= 0; bit--) {
      mont.sqr(acc, acc);
      if (((e >> <u32>bit) & 1) != 0) mont.mul(acc, acc, x);
    }
    mont.fromMont(acc, acc);
    const out = new Uint8Array(this.modulusBytes);
    limbsToBytesBE(acc, out, 0, this.modulusBytes);
    return out;
  }

  /** The signature as an integer below n, or null when its length or value is out of range. */
  signatureRepresentative(sig: Uint8Array): Limbs | null {
    if (sig.length != this.modulusBytes) return null;
    const s = limbsFromBytesBE(sig, 0, sig.length, this.mont.len);
    if (s == null || compare(s, this.mont.n) >= 0) return null;
    return s;
  }
}

function digestInfoPrefix(alg: HashAlg): StaticArray<u8> {
  if (alg == HashAlg.SHA384) return DIGEST_INFO_SHA384;
  if (alg == HashAlg.SHA512) return DIGEST_INFO_SHA512;
  return DIGEST_INFO_SHA256;
}

/** RSASSA-PKCS1-v1_5 verification of `len` message bytes at `ptr` (RFC 8017 section 8.2.2). */
export function rsaPkcs1VerifyRange(key: RsaPublicKey, alg: HashAlg, ptr: usize, len: i32, sig: Uint8Array): bool {
  const s = key.signatureRepresentative(sig);
  if (s == null) return false;
  const em = key.publicOperation(s);
  // EM' = 0x00 0x01 PS(0xff...) 0x00 DigestInfo(hash)
  const k = key.modulusBytes;
  const prefix = digestInfoPrefix(alg);
  const hLen = hashLength(alg);
  const tLen = prefix.length + hLen;
  if (k < tLen + 11) return false;
  const expected = new Uint8Array(k);
  expected[1] = 0x01;
  const psEnd = k - tLen - 1;
  for (let i = 2; i < psEnd; i++) unchecked(expected[i] = 0xff);
  memory.copy(expected.dataStart + <usize>(psEnd + 1), changetype<usize>(prefix), <usize>prefix.length);
  newHasher(alg).updateRange(ptr, len).finishInto(expected, k - hLen);
  return constantTimeEqual(em, expected);
}

export function rsaPkcs1Verify(key: RsaPublicKey, alg: HashAlg, message: Uint8Array, sig: Uint8Array): bool {
  return rsaPkcs1VerifyRange(key, alg, message.dataStart, message.length, sig);
}

/** XORs MGF1(seed) into out[offset, offset+length) (RFC 8017 appendix B.2.1). */
function xorMgf1(h: Hasher, seed: Uint8Array, out: Uint8Array, offset: i32, length: i32): void {
  const hLen = h.digestLength;
  const block = new Uint8Array(hLen);
  const counter = new Uint8Array(4);
  for (let done = 0, c: u32 = 0; done < length; c++) {
    counter[0] = <u8>(c >> 24); counter[1] = <u8>(c >> 16); counter[2] = <u8>(c >> 8); counter[3] = <u8>c;
    h.reset().update(seed).update(counter).finishInto(block, 0);
    const take = min(hLen, length - done);
    for (let i = 0; i < take; i++) unchecked(out[offset + done + i] ^= block[i]);
    done += take;
  }
}

/**
 * RSASSA-PSS verification with MGF1 over the same hash (RFC 8017 section 8.1.2 / 9.1.2).
 * `saltLength` is the exact salt length required, or PSS_SALT_ANY to accept any.
 */
export function rsaPssVerifyRange(key: RsaPublicKey, alg: HashAlg, ptr: usize, len: i32, sig: Uint8Array, saltLength: i32): bool {
  const s = key.signatureRepresentative(sig);
  if (s == null) return false;
  const full = key.publicOperation(s);
  const emBits = key.modulusBits - 1;
  const emLen = (emBits + 7) >> 3;
  const skip = key.modulusBytes - emLen; // 0 or 1
  if (skip == 1 && unchecked(full[0]) != 0) return false;
  const h = newHasher(alg);
  const hLen = h.digestLength;
  if (emLen < hLen + (saltLength > 0 ? saltLength : 0) + 2) return false;
  if (unchecked(full[skip + emLen - 1]) != 0xbc) return false;
  const dbLen = emLen - hLen - 1;
  const db = new Uint8Array(dbLen);
  memory.copy(db.dataStart, full.dataStart + <usize>skip, <usize>dbLen);
  const hPrime = new Uint8Array(hLen);
  memory.copy(hPrime.dataStart, full.dataStart + <usize>(skip + dbLen), <usize>hLen);
  const zeroBits = 8 * emLen - emBits;
  if ((<u32>unchecked(db[0]) & ((0xff00 >> zeroBits) & 0xff)) != 0) return false;
  xorMgf1(h, hPrime, db, 0, dbLen);
  unchecked(db[0] = <u8>(<u32>unchecked(db[0]) & (<u32>0xff >> <u32>zeroBits)));
  let saltStart: i32;
  if (saltLength == PSS_SALT_ANY) {
    let p = 0;
    while (p < dbLen && unchecked(db[p]) == 0) p++;
    if (p == dbLen || unchecked(db[p]) != 0x01) return false;
    saltStart = p + 1;
  } else {
    if (saltLength < 0) return false;
    const psLen = dbLen - saltLength - 1;
    for (let i = 0; i < psLen; i++) if (unchecked(db[i]) != 0) return false;
    if (unchecked(db[psLen]) != 0x01) return false;
    saltStart = psLen + 1;
  }
  // H = Hash(0x00 * 8 || mHash || salt)
  const mHash = newHasher(alg).updateRange(ptr, len).finish();
  h.reset().update(new Uint8Array(8)).update(mHash).updateSlice(db, saltStart, dbLen);
  return constantTimeEqual(h.finish(), hPrime);
}

export function rsaPssVerify(key: RsaPublicKey, alg: HashAlg, message: Uint8Array, sig: Uint8Array, saltLength: i32): bool {
  return rsaPssVerifyRange(key, alg, message.dataStart, message.length, sig, saltLength);
}
