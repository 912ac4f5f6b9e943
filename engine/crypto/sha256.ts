// SHA-256 (FIPS 180-4), incremental and one-shot.
import { Hasher } from "./hasher";

const K256: StaticArray<u32> = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

export const SHA256_LENGTH: i32 = 32;
export const SHA256_BLOCK: i32 = 64;

export class Sha256 extends Hasher {
  private h: StaticArray<u32> = new StaticArray<u32>(8);
  private w: StaticArray<u32> = new StaticArray<u32>(64);
  private block: StaticArray<u8> = new StaticArray<u8>(64);
  private blockLen: i32 = 0;
  private total: u64 = 0;

  constructor() {
    super(32, 64);
    this.reset();
  }

  reset(): Hasher {
    const h = this.h;
    unchecked(h[0] = 0x6a09e667); unchecked(h[1] = 0xbb67ae85);
    unchecked(h[2] = 0x3c6ef372); unchecked(h[3] = 0xa54ff53a);
    unchecked(h[4] = 0x510e527f); unchecked(h[5] = 0x9b05688c);
    unchecked(h[6] = 0x1f83d9ab); unchecked(h[7] = 0x5be0cd19);
    this.blockLen = 0;
    this.total = 0;
    return this;
  }

  updateRange(ptr: usize, len: i32): Hasher {
    if (len <= 0) return this;
    this.total += <u64>len;
    const blockPtr = changetype<usize>(this.block);
    let off = 0;
    if (this.blockLen > 0) {
      const take = min(64 - this.blockLen, len);
      memory.copy(blockPtr + <usize>this.blockLen, ptr, <usize>take);
      this.blockLen += take;
      off = take;
      if (this.blockLen < 64) return this;
      this.compress(blockPtr);
      this.blockLen = 0;
    }
    while (len - off >= 64) {
      this.compress(ptr + <usize>off);
      off += 64;
    }
    if (off < len) {
      memory.copy(blockPtr, ptr + <usize>off, <usize>(len - off));
      this.blockLen = len - off;
    }
    return this;
  }

  finishInto(out: Uint8Array, outOffset: i32): void {
    const blockPtr = changetype<usize>(this.block);
    const bits = this.total << 3;
    store<u8>(blockPtr + <usize>this.blockLen, 0x80);
    this.blockLen++;
    if (this.blockLen > 56) {
      memory.fill(blockPtr + <usize>this.blockLen, 0, <usize>(64 - this.blockLen));
      this.compress(blockPtr);
      this.blockLen = 0;
    }
    memory.fill(blockPtr + <usize>this.blockLen, 0, <usize>(56 - this.blockLen));
    store<u64>(blockPtr + 56, bswap<u64>(bits));
    this.compress(blockPtr);
    const outPtr = out.dataStart + <usize>outOffset;
    for (let i = 0; i < 8; i++) store<u32>(outPtr + (<usize>i << 2), bswap<u32>(unchecked(this.h[i])));
  }

  private compress(p: usize): void {
    const w = changetype<usize>(this.w);
    for (let i = 0; i < 16; i++) store<u32>(w + (<usize>i << 2), bswap<u32>(load<u32>(p + (<usize>i << 2))));
    for (let i = 16; i < 64; i++) {
      const x = load<u32>(w + (<usize>(i - 15) << 2));
      const y = load<u32>(w + (<usize>(i - 2) << 2));
      const s0 = rotr<u32>(x, 7) ^ rotr<u32>(x, 18) ^ (x >>> 3);
      const s1 = rotr<u32>(y, 17) ^ rotr<u32>(y, 19) ^ (y >>> 10);
      store<u32>(w + (<usize>i << 2),
        load<u32>(w + (<usize>(i - 16) << 2)) + s0 + load<u32>(w + (<usize>(i - 7) << 2)) + s1);
    }
    const h = this.h;
    let a = unchecked(h[0]), b = unchecked(h[1]), c = unchecked(h[2]), d = unchecked(h[3]);
    let e = unchecked(h[4]), f = unchecked(h[5]), g = unchecked(h[6]), hh = unchecked(h[7]);
    const k = changetype<usize>(K256);
    for (let i = 0; i < 64; i++) {
      const S1 = rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25);
      const ch = (e & f) ^ (~e & g);
      const t1 = hh + S1 + ch + load<u32>(k + (<usize>i << 2)) + load<u32>(w + (<usize>i << 2));
      const S0 = rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22);
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = S0 + maj;
      hh = g; g = f; f = e; e = d + t1;
      d = c; c = b; b = a; a = t1 + t2;
    }
    unchecked(h[0] += a); unchecked(h[1] += b); unchecked(h[2] += c); unchecked(h[3] += d);
    unchecked(h[4] += e); unchecked(h[5] += f); unchecked(h[6] += g); unchecked(h[7] += hh);
  }
}

export function sha256(data: Uint8Array): Uint8Array {
  return new Sha256().update(data).finish();
}
