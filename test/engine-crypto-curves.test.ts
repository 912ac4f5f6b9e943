// The curve arithmetic under engine/crypto's ECDSA and Ed25519 (fields, wNAF recoding, the
// double-scalar multiplications and their edge cases) against a plain BigInt reference.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { loadAS, type ASInstance } from "./helpers/as.js";
import { bytesIO, initialize, type BytesIO } from "./helpers/as-bytes.js";

let as: ASInstance;
let io: BytesIO;
beforeAll(async () => {
  as = initialize(await loadAS("test/fixtures/as/crypto.ts"));
  io = bytesIO(as);
}, 120_000);
afterEach(() => io.release());

// --- BigInt reference ---------------------------------------------------------------------------

const mod = (a: bigint, m: bigint) => ((a % m) + m) % m;
function powMod(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b = mod(b, m);
  for (; e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) r = (r * b) % m;
  return r;
}
const invMod = (a: bigint, m: bigint) => powMod(a, m - 2n, m); // m prime

const toLE = (v: bigint, size: number) => { const out = new Uint8Array(size); for (let i = 0; i < size; i++, v >>= 8n) out[i] = Number(v & 0xffn); return out; };
const toBE = (v: bigint, size: number) => toLE(v, size).reverse();
const fromLE = (b: Uint8Array) => b.reduceRight((acc, x) => (acc << 8n) | BigInt(x), 0n);
const fromBE = (b: Uint8Array) => b.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
const b64u = (s: string) => new Uint8Array(Buffer.from(s, "base64url"));

interface Weierstrass { name: "P-256" | "P-384"; id: number; size: number; p: bigint; n: bigint; b: bigint; g: Pt; hash: string }
type Pt = { x: bigint; y: bigint } | null;

const P256: Weierstrass = {
  name: "P-256", id: 0, size: 32, hash: "sha256",
  p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
  n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
  g: { x: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n, y: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n },
};
const P384: Weierstrass = {
  name: "P-384", id: 1, size: 48, hash: "sha384",
  p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
  n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
  g: { x: 0xaa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7n, y: 0x3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5fn },
};

function wAdd(c: Weierstrass, P: Pt, Q: Pt): Pt {
  if (!P) return Q;
  if (!Q) return P;
  const p = c.p;
  let l: bigint;
  if (P.x === Q.x) {
    if (mod(P.y + Q.y, p) === 0n) return null;
    l = mod((3n * P.x * P.x - 3n) * invMod(2n * P.y, p), p);
  } else {
    l = mod((Q.y - P.y) * invMod(Q.x - P.x, p), p);
  }
  const x = mod(l * l - P.x - Q.x, p);
  return { x, y: mod(l * (P.x - x) - P.y, p) };
}
function wMul(c: Weierstrass, k: bigint, P: Pt): Pt {
  let acc: Pt = null;
  for (let i = BigInt(k.toString(2).length) - 1n; i >= 0n; i--) {
    acc = wAdd(c, acc, acc);
    if ((k >> i) & 1n) acc = wAdd(c, acc, P);
  }
  return acc;
}
const wNeg = (c: Weierstrass, P: Pt): Pt => (P ? { x: P.x, y: mod(-P.y, c.p) } : null);

const ED_P = (1n << 255n) - 19n;
const ED_L = (1n << 252n) + 27742317777372353535851937790883648493n;
const ED_D = mod(-121665n * invMod(121666n, ED_P), ED_P);
const SQRT_M1 = powMod(2n, (ED_P - 1n) / 4n, ED_P);
type EdPt = { x: bigint; y: bigint };
function edAdd(P: EdPt, Q: EdPt): EdPt {
  const t = mod(ED_D * P.x * Q.x * P.y * Q.y, ED_P);
  return {
    x: mod((P.x * Q.y + P.y * Q.x) * invMod(1n + t, ED_P), ED_P),
    y: mod((P.y * Q.y + P.x * Q.x) * invMod(1n - t, ED_P), ED_P),
  };
}
function edMul(k: bigint, P: EdPt): EdPt {
  let acc: EdPt = { x: 0n, y: 1n };
  for (let i = BigInt(Math.max(1, k.toString(2).length)) - 1n; i >= 0n; i--) {
    acc = edAdd(acc, acc);
    if ((k >> i) & 1n) acc = edAdd(acc, P);
  }
  return acc;
}
const edEncode = (P: EdPt) => { const out = toLE(P.y, 32); out[31] |= Number(P.x & 1n) << 7; return out; };
function edDecode(b: Uint8Array): EdPt {
  const y = fromLE(b) & ((1n << 255n) - 1n);
  const u = mod(y * y - 1n, ED_P), v = mod(ED_D * y * y + 1n, ED_P);
  let x = mod(u * powMod(v, ED_P - 2n, ED_P), ED_P);
  x = powMod(x, (ED_P + 3n) / 8n, ED_P);
  if (mod(x * x - mod(u * invMod(v, ED_P), ED_P), ED_P) !== 0n) x = mod(x * SQRT_M1, ED_P);
  if (Number(x & 1n) !== b[31] >> 7) x = mod(-x, ED_P);
  return { x, y };
}
const ED_B = edDecode(new Uint8Array([0x58, ...new Array(31).fill(0x66)]));

// --- fields -------------------------------------------------------------------------------------

const FIELDS = [
  { id: 0, name: "P-256", p: P256.p, size: 32 },
  { id: 1, name: "P-384", p: P384.p, size: 48 },
  { id: 2, name: "2^255 - 19", p: ED_P, size: 32 },
];

describe("prime fields against BigInt", () => {
  for (const f of FIELDS) {
    const bits = BigInt(f.p.toString(2).length);
    // Values that stress the reductions: the extremes, single words, all-ones runs below p.
    const special = [0n, 1n, 2n, 19n, 38n, f.p - 1n, f.p - 2n, (f.p - 1n) / 2n, f.p >> 1n, (1n << 32n) - 1n, 1n << (bits - 1n),
      (1n << (bits - 1n)) - 1n, (1n << 224n) - 1n, f.p - (1n << 96n), mod(1n << 255n, f.p), mod((1n << bits) - 1n, f.p)];
    const element = fc.oneof(fc.bigInt({ min: 0n, max: f.p - 1n }), fc.constantFrom(...special));
    const op = (code: number, a: bigint, b: bigint) => {
      const out = io.read(as.exports.fieldOp(f.id, code, io.buf(toLE(a, f.size)), io.buf(toLE(b, f.size))));
      return out === null ? null : fromLE(out);
    };

    it(`${f.name}: mul, sqr, add, sub and inv are fully reduced and match`, () => {
      fc.assert(fc.property(element, element, (a, b) => {
        try {
          expect(op(0, a, b)).toBe((a * b) % f.p);
          expect(op(1, a, 0n)).toBe((a * a) % f.p);
          expect(op(2, a, b)).toBe((a + b) % f.p);
          expect(op(3, a, b)).toBe(mod(a - b, f.p));
          expect(op(4, a, 0n)).toBe(a === 0n ? null : invMod(a, f.p));
        } finally {
          io.release();
        }
      }), { numRuns: 400 });
    });

    it(`${f.name}: every pair of special values`, () => {
      for (const a of special) {
        for (const b of special) {
          expect(op(0, a, b)).toBe((a * b) % f.p);
          expect(op(2, a, b)).toBe((a + b) % f.p);
          expect(op(3, a, b)).toBe(mod(a - b, f.p));
        }
        io.release();
      }
    });
  }
});

// --- wNAF ---------------------------------------------------------------------------------------

describe("wNAF recoding", () => {
  it("digits are odd, bounded, spaced, and sum to the slice", () => {
    fc.assert(fc.property(
      fc.bigInt({ min: 0n, max: (1n << 384n) - 1n }), fc.integer({ min: 0, max: 320 }), fc.integer({ min: 1, max: 96 }), fc.integer({ min: 2, max: 8 }),
      (k, start, width, w) => {
        try {
          const digits = new Int8Array(io.read(as.exports.wnafDigits(io.buf(toLE(k, 48)), start, width, w))!.buffer);
          expect(digits.length).toBe(width + 1);
          let sum = 0n, lastNonZero = -w;
          digits.forEach((d, i) => {
            if (d === 0) return;
            expect(Math.abs(d) % 2).toBe(1);
            expect(Math.abs(d)).toBeLessThan(1 << (w - 1));
            expect(i - lastNonZero).toBeGreaterThanOrEqual(w);
            lastNonZero = i;
            sum += BigInt(d) << BigInt(i);
          });
          expect(sum).toBe((k >> BigInt(start)) & ((1n << BigInt(width)) - 1n));
        } finally {
          io.release();
        }
      }), { numRuns: 500 });
  });
});

// --- u1*G + u2*Q --------------------------------------------------------------------------------

function ecPoint(key: KeyObject) {
  const jwk = key.export({ format: "jwk" }) as { x: string; y: string };
  return { x: fromBE(b64u(jwk.x)), y: fromBE(b64u(jwk.y)) };
}

for (const c of [P256, P384]) {
  describe(`${c.name}: u1*G + u2*Q`, () => {
    const mulAdd = (u1: bigint, q: Pt, u2: bigint): Pt | "bad key" => {
      const out = io.read(as.exports.ecMulAdd(c.id, io.buf(toBE(u1, c.size)), io.buf(toBE(q!.x, c.size)), io.buf(toBE(q!.y, c.size)), io.buf(toBE(u2, c.size))));
      if (out === null) return "bad key";
      return out.length === 0 ? null : { x: fromBE(out.subarray(0, c.size)), y: fromBE(out.subarray(c.size)) };
    };
    const expected = (u1: bigint, q: Pt, u2: bigint) => wAdd(c, wMul(c, u1, c.g), wMul(c, u2, q));
    const top = (1n << BigInt(8 * c.size)) - 1n;

    it("matches the reference for random keys and scalars, including scalars above n", () => {
      for (let i = 0; i < 4; i++) {
        const q = ecPoint(generateKeyPairSync("ec", { namedCurve: c.name }).publicKey);
        for (const [u1, u2] of [[fromBE(randomBytes(c.size)) % c.n, fromBE(randomBytes(c.size)) % c.n], [fromBE(randomBytes(c.size)), top - BigInt(i)]]) {
          expect(mulAdd(u1, q, u2)).toEqual(expected(u1, q, u2));
        }
        io.release();
      }
    });

    it("zero scalars, cancellations to infinity and coinciding points", () => {
      const q = ecPoint(generateKeyPairSync("ec", { namedCurve: c.name }).publicKey);
      const u = fromBE(randomBytes(c.size)) % c.n;
      const cases: Array<[bigint, Pt, bigint]> = [
        [0n, q, u], // u1 = 0: only the key's tables
        [u, q, 0n], // u2 = 0: only G's tables
        [0n, q, 0n], // both zero: infinity
        [1n, c.g, c.n - 1n], // G - G: infinity at the last addition
        [u, c.g, c.n - u], // cancels overall
        [u, c.g, u], // Q = G: the same table entries meet, so additions turn into doublings
        [5n, c.g, 5n],
        [u, wNeg(c, c.g), u], // Q = -G: every pair of additions cancels to infinity mid-chain
        [c.n - 1n, q, c.n - 1n],
        [c.n, q, 1n], // u1 = n: u1*G is infinity
      ];
      for (const [u1, point, u2] of cases) expect(mulAdd(u1, point, u2)).toEqual(expected(u1, point, u2));
    });

    it("verification takes x(R) mod n: a signature whose R has x >= n verifies with r = x - n", () => {
      // R = (x, y) with n <= x < p, then the key Q = r^-1 (s R - e G) so that u1 G + u2 Q = R.
      let R: Pt = null;
      for (let x = c.n + 1n; R === null; x++) {
        const rhs = mod(x ** 3n - 3n * x + c.b, c.p);
        const y = powMod(rhs, (c.p + 1n) / 4n, c.p); // p = 3 (mod 4)
        if ((y * y) % c.p === rhs) R = { x, y };
      }
      const r = R.x - c.n;
      const msg = randomBytes(30);
      const e = fromBE(new Uint8Array(createHash(c.hash).update(msg).digest()));
      const s = fromBE(randomBytes(c.size)) % c.n || 1n;
      const Q = wMul(c, invMod(r, c.n), wAdd(c, wMul(c, s, R), wNeg(c, wMul(c, mod(e, c.n), c.g))))!;
      const verify = (rr: bigint, ss: bigint) => as.exports.ecVerify(c.id, io.buf(toBE(Q.x, c.size)), io.buf(toBE(Q.y, c.size)), io.buf(msg),
        io.buf(Uint8Array.from([...toBE(rr, c.size), ...toBE(ss, c.size)])));
      expect(verify(r, s)).toBe(1);
      expect(verify(r + 1n, s)).toBe(0);
      expect(verify(r, s + 1n)).toBe(0);
    });
  });
}

// --- s1*B + s2*P on edwards25519 ----------------------------------------------------------------

describe("Ed25519: s1*B + s2*P", () => {
  const mulAdd = (s1: bigint, s2: bigint, pub: Uint8Array) =>
    io.read(as.exports.edMulAdd(io.buf(toLE(s1, 32)), io.buf(toLE(s2, 32)), io.buf(pub)));
  const expected = (s1: bigint, s2: bigint, P: EdPt) => edEncode(edAdd(edMul(s1, ED_B), edMul(s2, P)));
  const top = (1n << 256n) - 1n;

  it("matches the reference for random keys and scalars up to 2^256 - 1", () => {
    for (let i = 0; i < 4; i++) {
      const pub = b64u((generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" }) as { x: string }).x);
      const P = edDecode(pub);
      for (const [s1, s2] of [[fromLE(randomBytes(32)) % ED_L, fromLE(randomBytes(32)) % ED_L], [top - BigInt(i), fromLE(randomBytes(32))]]) {
        expect(mulAdd(s1, s2, pub)).toEqual(expected(s1, s2, P));
      }
      io.release();
    }
  });

  it("zero scalars, cancellation to the identity, and small-order points", () => {
    const identity = edEncode({ x: 0n, y: 1n });
    const bEnc = edEncode(ED_B);
    const negB = Uint8Array.from(bEnc); negB[31] ^= 0x80;
    const u = fromLE(randomBytes(32)) % ED_L;
    expect(mulAdd(0n, 0n, bEnc)).toEqual(identity);
    expect(mulAdd(u, 0n, bEnc)).toEqual(expected(u, 0n, ED_B));
    expect(mulAdd(0n, u, bEnc)).toEqual(expected(0n, u, ED_B));
    expect(mulAdd(u, ED_L - u, bEnc)).toEqual(identity);
    expect(mulAdd(u, u, negB)).toEqual(identity); // P = -B: every pair of additions cancels
    expect(mulAdd(u, u, bEnc)).toEqual(expected(2n * u, 0n, ED_B));
    // (0, -1) has order 2 and (sqrt(-1)... ) order 4: their tables repeat the identity.
    const order2 = toLE(ED_P - 1n, 32);
    const order4 = edEncode({ x: SQRT_M1, y: 0n });
    for (const pub of [order2, order4]) {
      const P = edDecode(pub);
      for (const s2 of [1n, 2n, 3n, u, top]) expect(mulAdd(u, s2, pub)).toEqual(expected(u, s2, P));
    }
  });

  it("prepared keys stay correct when more keys are used than the cache holds", () => {
    const keys = Array.from({ length: 11 }, () => generateKeyPairSync("ed25519"));
    const pubs = keys.map((k) => b64u((k.publicKey.export({ format: "jwk" }) as { x: string }).x));
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < keys.length; i++) {
        const j = (i * (round + 2)) % keys.length;
        const msg = randomBytes(17 + i);
        const sig = sign(null, msg, keys[j].privateKey);
        expect(as.exports.edVerify(io.buf(pubs[j]), io.buf(msg), io.buf(sig))).toBe(1);
        expect(as.exports.edVerify(io.buf(pubs[(j + 1) % keys.length]), io.buf(msg), io.buf(sig))).toBe(0);
        io.release();
      }
    }
  });
});
