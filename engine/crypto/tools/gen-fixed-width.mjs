// Writes ../fixed-width.ts: straight-line (unrolled) arithmetic on 8- and 12-limb integers for the
// prime fields of P-256, P-384 and Curve25519. Loops over limbs cost about three times as much in
// wasm (loads, index arithmetic, no register reuse), hence generated code.
//
//   node engine/crypto/tools/gen-fixed-width.mjs
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const range = (n) => [...Array(n).keys()];

// Product scanning (Comba): each column sums 32-bit halves of its products in two u64
// accumulators, so nothing overflows and no carry is tested per product.
function mul(n) {
  const lines = [`/** t[0..${2 * n}) = a * b for ${n}-limb a, b (t must not overlap them). */`, `export function mul${n}(t: usize, a: usize, b: usize): void {`];
  for (const i of range(n)) lines.push(`  const a${i} = <u64>load<u32>(a, ${4 * i}), b${i} = <u64>load<u32>(b, ${4 * i});`);
  lines.push(`  let lo: u64 = 0, hi: u64 = 0, p: u64;`);
  for (let k = 0; k < 2 * n - 1; k++) {
    if (k > 0) lines.push(`  lo = hi + (lo >> 32); hi = 0;`);
    for (let i = Math.max(0, k - n + 1); i <= Math.min(k, n - 1); i++) {
      lines.push(`  p = a${i} * b${k - i}; lo += p & 0xffffffff; hi += p >> 32;`);
    }
    lines.push(`  store<u32>(t, <u32>lo, ${4 * k});`);
  }
  lines.push(`  store<u32>(t, <u32>(hi + (lo >> 32)), ${4 * (2 * n - 1)});`, `}`);
  return lines.join("\n");
}

// Squaring: each cross product once, doubled per column, plus the diagonal squares.
function sqr(n) {
  const lines = [`/** t[0..${2 * n}) = a * a for ${n}-limb a (t must not overlap it). */`, `export function sqr${n}(t: usize, a: usize): void {`];
  for (const i of range(n)) lines.push(`  const a${i} = <u64>load<u32>(a, ${4 * i});`);
  lines.push(`  let lo: u64 = 0, hi: u64 = 0, cl: u64, ch: u64, p: u64;`);
  for (let k = 0; k < 2 * n - 1; k++) {
    if (k > 0) lines.push(`  lo = hi + (lo >> 32); hi = 0;`);
    const pairs = [];
    for (let i = Math.max(0, k - n + 1); i < k - i; i++) pairs.push([i, k - i]);
    if (pairs.length > 0) {
      lines.push(`  cl = 0; ch = 0;`);
      for (const [i, j] of pairs) lines.push(`  p = a${i} * a${j}; cl += p & 0xffffffff; ch += p >> 32;`);
      lines.push(`  lo += cl << 1; hi += ch << 1;`);
    }
    if (k % 2 === 0) lines.push(`  p = a${k / 2} * a${k / 2}; lo += p & 0xffffffff; hi += p >> 32;`);
    lines.push(`  store<u32>(t, <u32>lo, ${4 * k});`);
  }
  lines.push(`  store<u32>(t, <u32>(hi + (lo >> 32)), ${4 * (2 * n - 1)});`, `}`);
  return lines.join("\n");
}

// (a + b) mod p for a, b < p: add, subtract p on trial, keep whichever is in range.
function addMod(n) {
  const lines = [`/** out = (a + b) mod p for ${n}-limb a, b < p; out may alias a or b. */`, `export function addMod${n}(out: usize, a: usize, b: usize, p: usize): void {`];
  lines.push(`  let c: u64 = 0, d: i64 = 0;`);
  for (const i of range(n)) lines.push(`  c += <u64>load<u32>(a, ${4 * i}) + <u64>load<u32>(b, ${4 * i}); const s${i} = <u32>c; c >>= 32;`);
  for (const i of range(n)) lines.push(`  d += <i64>s${i} - <i64>load<u32>(p, ${4 * i}); const d${i} = <u32>d; d >>= 32;`);
  lines.push(`  // Keep the difference unless it borrowed past the carry out of the sum.`, `  const useSum = c + <u64>d != 0;`);
  for (const i of range(n)) lines.push(`  store<u32>(out, select<u32>(s${i}, d${i}, useSum), ${4 * i});`);
  lines.push(`}`);
  return lines.join("\n");
}

// (a - b) mod p for a, b < p: subtract, add p back under a mask when it borrowed.
function subMod(n) {
  const lines = [`/** out = (a - b) mod p for ${n}-limb a, b < p; out may alias a or b. */`, `export function subMod${n}(out: usize, a: usize, b: usize, p: usize): void {`];
  lines.push(`  let d: i64 = 0;`);
  for (const i of range(n)) lines.push(`  d += <i64>load<u32>(a, ${4 * i}) - <i64>load<u32>(b, ${4 * i}); const d${i} = <u32>d; d >>= 32;`);
  lines.push(`  const mask = <u32>d; // all ones when a < b`, `  let c: u64 = 0;`);
  for (const i of range(n)) lines.push(`  c += <u64>d${i} + <u64>(load<u32>(p, ${4 * i}) & mask); store<u32>(out, <u32>c, ${4 * i}); c >>= 32;`);
  lines.push(`}`);
  return lines.join("\n");
}

// NIST fast reduction (FIPS 186-4 appendix D.2): the 2n-word product is a signed sum of n-word
// vectors built from its words (rows as in the standard, most significant word first; -1 is a
// zero word). Columns are summed in i64, carries propagated, then the small signed excess above
// 2^(32n) is folded back with 2^(32n) mod p (a sparse +-1 word pattern) until none is left, and
// p is subtracted once if needed (2^(32n) < 2p for both primes).
function solinas(name, n, rows, fold, pWords) {
  const lines = [`/** out = t mod p for the ${2 * n}-word t (any value); out is fully reduced. */`, `export function ${name}(out: usize, t: usize): void {`];
  for (let i = 0; i < 2 * n; i++) lines.push(`  const c${i} = <i64>load<u32>(t, ${4 * i});`);
  lines.push(`  let acc: i64 = 0;`);
  for (let j = 0; j < n; j++) {
    const coef = new Map();
    for (const [k, row] of rows) {
      const src = row[n - 1 - j];
      if (src >= 0) coef.set(src, (coef.get(src) ?? 0) + k);
    }
    const terms = [...coef].filter(([, k]) => k !== 0).sort((x, y) => x[0] - y[0])
      .map(([src, k]) => (k === 1 ? ` + c${src}` : k === -1 ? ` - c${src}` : k > 0 ? ` + ${k} * c${src}` : ` - ${-k} * c${src}`));
    const expr = terms.join("").replace(/^ \+ /, "").replace(/^ - /, "-");
    lines.push(`  acc += ${expr};`, `  let w${j} = <u32>acc; acc >>= 32;`);
  }
  lines.push(`  while (acc != 0) {`, `    const k = acc;`, `    acc = 0;`);
  for (let j = 0; j < n; j++) {
    const f = fold[j] ?? 0;
    lines.push(`    acc += <i64>w${j}${f === 1 ? " + k" : f === -1 ? " - k" : ""}; w${j} = <u32>acc; acc >>= 32;`);
  }
  lines.push(`  }`, `  let d: i64 = 0;`);
  for (let j = 0; j < n; j++) lines.push(`  d += <i64>w${j} - ${pWords[j]}; const d${j} = <u32>d; d >>= 32;`);
  lines.push(`  const below = d != 0; // w < p`);
  for (let j = 0; j < n; j++) lines.push(`  store<u32>(out, select<u32>(w${j}, d${j}, below), ${4 * j});`);
  lines.push(`}`);
  return lines.join("\n");
}

const words = (hex, n) => range(n).map((i) => "0x" + hex.slice(hex.length - 8 * (i + 1), hex.length - 8 * i));

// P-256 (D.2.3): t + 2 s2 + 2 s3 + s4 + s5 - s6 - s7 - s8 - s9; 2^256 = 2^224 - 2^192 - 2^96 + 1 mod p.
const P256 = solinas("reduceP256", 8, [
  [1, [7, 6, 5, 4, 3, 2, 1, 0]],
  [2, [15, 14, 13, 12, 11, -1, -1, -1]],
  [2, [-1, 15, 14, 13, 12, -1, -1, -1]],
  [1, [15, 14, -1, -1, -1, 10, 9, 8]],
  [1, [8, 13, 15, 14, 13, 11, 10, 9]],
  [-1, [10, 8, -1, -1, -1, 13, 12, 11]],
  [-1, [11, 9, -1, -1, 15, 14, 13, 12]],
  [-1, [12, -1, 10, 9, 8, 15, 14, 13]],
  [-1, [13, -1, 11, 10, 9, -1, 15, 14]],
], { 0: 1, 3: -1, 6: -1, 7: 1 }, words("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff", 8));

// P-384 (D.2.4): t + 2 s1 + s2 + s3 + s4 + s5 + s6 - d1 - d2 - d3; 2^384 = 2^128 + 2^96 - 2^32 + 1 mod p.
const P384 = solinas("reduceP384", 12, [
  [1, [11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]],
  [2, [-1, -1, -1, -1, -1, 23, 22, 21, -1, -1, -1, -1]],
  [1, [23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12]],
  [1, [20, 19, 18, 17, 16, 15, 14, 13, 12, 23, 22, 21]],
  [1, [19, 18, 17, 16, 15, 14, 13, 12, 20, -1, 23, -1]],
  [1, [-1, -1, -1, -1, 23, 22, 21, 20, -1, -1, -1, -1]],
  [1, [-1, -1, -1, -1, -1, -1, 23, 22, 21, -1, -1, 20]],
  [-1, [22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 23]],
  [-1, [-1, -1, -1, -1, -1, -1, -1, 23, 22, 21, 20, -1]],
  [-1, [-1, -1, -1, -1, -1, -1, -1, 23, 23, -1, -1, -1]],
], { 0: 1, 1: -1, 3: 1, 4: 1 }, words("fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff", 12));

const header = `// Generated by engine/crypto/tools/gen-fixed-width.mjs; edit the generator, not this file.
// Straight-line arithmetic on little-endian 32-bit limbs at raw addresses, for fixed widths:
// wide products (2n limbs out) and modular add/sub for a modulus p of the same width.
`;
const parts = [8, 12].flatMap((n) => [mul(n), sqr(n), addMod(n), subMod(n)]).concat([P256, P384]);
const out = join(dirname(fileURLToPath(import.meta.url)), "..", "fixed-width.ts");
writeFileSync(out, header + "\n" + parts.join("\n\n") + "\n");
console.log(`wrote ${out}`);
