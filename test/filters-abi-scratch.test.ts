// filters/abi/scratch.ts: hostcall arguments encoded into reused buffers must be byte for byte what the per-call
// String.UTF8.encode / toString gave (WTF-8 for lone surrogates, growth past the initial capacity, reuse after a
// longer value), since the route filter's decision headers and properties now go through it.
import { beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { loadAS, type ASInstance } from "./helpers/as.js";

let as: ASInstance;
beforeAll(async () => {
  as = await loadAS("test/fixtures/as/utf8-scratch.ts");
}, 120_000);

const encodes = (s: string) => as.exports.encodesLikeUtf8(as.newString(s)) === 1;
const decimal = (n: bigint) => as.getString(as.exports.decimal(n) >>> 0);

describe("Utf8Scratch.encode", () => {
  it("matches String.UTF8.encode for empty, ASCII, multi-byte, astral and lone-surrogate strings", () => {
    for (const s of ["", "x", "5xx,connect-failure", "outbound|8080|v1|payment-service.production.svc.cluster.local", "é€", "😀", "\ud800", "a\udc00b"]) {
      expect(encodes(s), JSON.stringify(s)).toBe(true);
    }
  });

  it("grows past its initial capacity and stays right for shorter values afterwards", () => {
    expect(encodes("€".repeat(5000))).toBe(true);
    expect(encodes("ab")).toBe(true);
    expect(encodes("x".repeat(300))).toBe(true);
  });

  it("matches String.UTF8.encode for any UTF-16 string", () => {
    const units = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 400 }).map((a) => String.fromCharCode(...a));
    fc.assert(fc.property(units, (s) => encodes(s)), { numRuns: 300 });
  });
});

describe("Utf8Scratch.encodeI64", () => {
  it("writes the decimal form n.toString() gives, at the edges", () => {
    for (const n of [0n, 1n, 9n, 10n, 99n, 100n, 2000n, 30000n, -1n, -10n, 9223372036854775807n, -9223372036854775808n]) {
      expect(decimal(n)).toBe(n.toString());
      expect(decimal(n)).toBe(as.getString(as.exports.toStringI64(n) >>> 0));
    }
  });

  it("writes the decimal form of any i64", () => {
    fc.assert(fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (n) => decimal(n) === n.toString()), { numRuns: 500 });
  });
});
