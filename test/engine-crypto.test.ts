// engine/crypto against published vectors and, differentially, against node:crypto.
import { createHash, createHmac, generateKeyPairSync, randomBytes, sign, constants, type KeyObject } from "node:crypto";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { loadAS, type ASInstance } from "./helpers/as.js";
import { bytesIO, initialize, type BytesIO } from "./helpers/as-bytes.js";

const SHA256 = 0, SHA384 = 1, SHA512 = 2;
const HASH_NAMES = ["sha256", "sha384", "sha512"];
const hex = (b: Uint8Array | null) => (b ? Buffer.from(b).toString("hex") : null);
const unhex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));
const b64u = (s: string) => new Uint8Array(Buffer.from(s, "base64url"));
const ascii = (s: string) => new TextEncoder().encode(s);

let as: ASInstance;
let io: BytesIO;
beforeAll(async () => {
  as = initialize(await loadAS("test/fixtures/as/crypto.ts"));
  io = bytesIO(as);
}, 120_000);
afterEach(() => io.release());

const digest = (alg: number, data: Uint8Array, chunk = 0) => hex(io.read(as.exports.hashDigest(alg, io.buf(data), chunk)));
const mac = (alg: number, key: Uint8Array, msg: Uint8Array) => hex(io.read(as.exports.hmacDigest(alg, io.buf(key), io.buf(msg))));

describe("SHA-2 (FIPS 180-4 examples)", () => {
  const abc = ascii("abc");
  const two448 = ascii("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq");
  const two896 = ascii("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu");

  it("SHA-256", () => {
    expect(digest(SHA256, abc)).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(digest(SHA256, two448)).toBe("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    expect(digest(SHA256, new Uint8Array(0))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(hex(io.read(as.exports.hashRepeated(SHA256, io.buf("a"), 1_000_000))))
      .toBe("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  });

  it("SHA-384", () => {
    expect(digest(SHA384, abc)).toBe("cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7");
    expect(digest(SHA384, two896)).toBe("09330c33f71147e83d192fc782cd1b4753111b173b3b05d22fa08086e3b0f712fcc7c71a557e2db966c3e9fa91746039");
    expect(hex(io.read(as.exports.hashRepeated(SHA384, io.buf("a"), 1_000_000))))
      .toBe("9d0e1809716474cb086e834e310a4a1ced149e9c00f248527972cec5704c2a5b07b8b3dc38ecc4ebae97ddd87f3d8985");
  });

  it("SHA-512", () => {
    expect(digest(SHA512, abc)).toBe("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
    expect(digest(SHA512, two896)).toBe("8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909");
    expect(hex(io.read(as.exports.hashRepeated(SHA512, io.buf("a"), 1_000_000))))
      .toBe("e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b");
  });

  it("matches node:crypto for every length around the block boundaries, one-shot and incremental", () => {
    for (let len = 0; len <= 300; len++) {
      const data = randomBytes(len);
      for (const alg of [SHA256, SHA384, SHA512]) {
        const want = createHash(HASH_NAMES[alg]).update(data).digest("hex");
        expect(digest(alg, data)).toBe(want);
        expect(digest(alg, data, 1 + (len % 67))).toBe(want);
      }
      io.release();
    }
  });
});

describe("HMAC (RFC 4231)", () => {
  const cases: Array<{ key: Uint8Array; data: Uint8Array; sha256: string; sha384?: string; sha512?: string }> = [
    {
      key: new Uint8Array(20).fill(0x0b), data: ascii("Hi There"),
      sha256: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
      sha384: "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
      sha512: "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
    },
    {
      key: ascii("Jefe"), data: ascii("what do ya want for nothing?"),
      sha256: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
      sha384: "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
      sha512: "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
    },
    {
      key: new Uint8Array(20).fill(0xaa), data: new Uint8Array(50).fill(0xdd),
      sha256: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
    },
    {
      key: new Uint8Array(131).fill(0xaa), data: ascii("Test Using Larger Than Block-Size Key - Hash Key First"),
      sha256: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    },
    {
      key: new Uint8Array(131).fill(0xaa),
      data: ascii("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."),
      sha256: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    },
  ];

  it("published vectors", () => {
    for (const c of cases) {
      expect(mac(SHA256, c.key, c.data)).toBe(c.sha256);
      if (c.sha384) expect(mac(SHA384, c.key, c.data)).toBe(c.sha384);
      if (c.sha512) expect(mac(SHA512, c.key, c.data)).toBe(c.sha512);
    }
  });

  it("matches node:crypto for random keys (including longer than a block) and messages", () => {
    for (let i = 0; i < 60; i++) {
      const key = randomBytes(i * 3), msg = randomBytes((i * 37) % 300);
      for (const alg of [SHA256, SHA384, SHA512]) {
        expect(mac(alg, key, msg)).toBe(createHmac(HASH_NAMES[alg], key).update(msg).digest("hex"));
      }
      io.release();
    }
  });

  it("RFC 7515 A.1 and RFC 7520 4.4 HS256 signatures", () => {
    const a1Key = b64u("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
    const a1Input = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
    expect(mac(SHA256, a1Key, ascii(a1Input))).toBe(hex(b64u("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")));
    const r7520Key = b64u("hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg");
    const r7520Input = "eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9." +
      "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4";
    expect(mac(SHA256, r7520Key, ascii(r7520Input))).toBe(hex(b64u("s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0")));
  });

  it("constant-time comparison", () => {
    const a = randomBytes(32);
    expect(as.exports.ctEqual(io.buf(a), io.buf(Uint8Array.from(a)))).toBe(1);
    const b = Uint8Array.from(a); b[31] ^= 1;
    expect(as.exports.ctEqual(io.buf(a), io.buf(b))).toBe(0);
    expect(as.exports.ctEqual(io.buf(a), io.buf(a.subarray(0, 31)))).toBe(0);
    expect(as.exports.ctEqual(io.buf(new Uint8Array(0)), io.buf(new Uint8Array(0)))).toBe(1);
  });
});

describe("base64url", () => {
  const decode = (s: string) => io.read(as.exports.b64Decode(io.buf(s)));
  const encode = (b: Uint8Array) => io.readText(as.exports.b64Encode(io.buf(b)));

  it("round-trips every length against Buffer", () => {
    for (let len = 0; len < 70; len++) {
      const data = randomBytes(len);
      const text = Buffer.from(data).toString("base64url");
      expect(encode(data)).toBe(text);
      expect(hex(decode(text))).toBe(hex(data));
      const padded = text + "=".repeat((4 - (text.length % 4)) % 4);
      expect(hex(decode(padded))).toBe(hex(data));
      io.release();
    }
  });

  it("rejects invalid characters, impossible lengths, misplaced padding and non-zero trailing bits", () => {
    for (const bad of ["A", "AAAAA", "QQ=", "Q===", "====", "QQ==QQ", "QU+D", "QU/D", "QU D", "QUJD\n", "QR", "QUJ", "QUJD=", "Q\u00e9", "=QQQ"]) {
      expect(decode(bad), bad).toBeNull();
    }
    expect(hex(decode(""))).toBe("");
    expect(hex(decode("QQ"))).toBe("41");
    expect(hex(decode("QUI"))).toBe("4142");
    expect(hex(decode("-_-_"))).toBe("fbffbf");
  });
});

// --- public-key algorithms -------------------------------------------------------------------

function rsaJwk(key: KeyObject) {
  const jwk = key.export({ format: "jwk" }) as { n: string; e: string };
  return { n: b64u(jwk.n), e: b64u(jwk.e) };
}

function rsaVerify(pub: { n: Uint8Array; e: Uint8Array }, alg: number, pss: boolean, salt: number, msg: Uint8Array, sig: Uint8Array): number {
  return as.exports.rsaVerify(io.buf(pub.n), io.buf(pub.e), alg, pss ? 1 : 0, salt, io.buf(msg), io.buf(sig));
}

describe("RSA", () => {
  it("RFC 7515 A.2 RS256", () => {
    const n = b64u("ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ");
    const input = ascii("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ");
    const sig = b64u("cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw");
    const pub = { n, e: b64u("AQAB") };
    expect(rsaVerify(pub, SHA256, false, 0, input, sig)).toBe(1);
    expect(rsaVerify(pub, SHA384, false, 0, input, sig)).toBe(0);
    expect(rsaVerify(pub, SHA256, true, 32, input, sig)).toBe(0);
    const tampered = Uint8Array.from(input); tampered[10] ^= 1;
    expect(rsaVerify(pub, SHA256, false, 0, tampered, sig)).toBe(0);
  });

  for (const bits of [2048, 3072, 4096]) {
    it(`matches node:crypto for ${bits}-bit keys: PKCS#1 v1.5 and PSS, every hash`, () => {
      const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: bits });
      const pub = rsaJwk(publicKey);
      for (let round = 0; round < 3; round++) {
        for (const alg of [SHA256, SHA384, SHA512]) {
          const msg = randomBytes(round * 50 + 1);
          const hLen = [32, 48, 64][alg];
          const pkcs = sign(HASH_NAMES[alg], msg, privateKey);
          expect(rsaVerify(pub, alg, false, 0, msg, pkcs)).toBe(1);
          const pss = sign(HASH_NAMES[alg], msg, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: hLen });
          expect(rsaVerify(pub, alg, true, hLen, msg, pss)).toBe(1);
          expect(rsaVerify(pub, alg, true, -1, msg, pss)).toBe(1);
          expect(rsaVerify(pub, alg, false, 0, msg, pss)).toBe(0); // wrong padding
          const bad = Uint8Array.from(pkcs); bad[bad.length - 1 - round] ^= 0x10;
          expect(rsaVerify(pub, alg, false, 0, msg, bad)).toBe(0);
          const badPss = Uint8Array.from(pss); badPss[round] ^= 0x01;
          expect(rsaVerify(pub, alg, true, hLen, msg, badPss)).toBe(0);
          const otherMsg = Uint8Array.from(msg); otherMsg[0] ^= 0x80;
          expect(rsaVerify(pub, alg, false, 0, otherMsg, pkcs)).toBe(0);
          expect(rsaVerify(pub, alg, true, hLen, otherMsg, pss)).toBe(0);
          io.release();
        }
      }
    });
  }

  // 2057 bits: modBits - 1 is a multiple of 8, so the encoded message is one byte shorter than k.
  for (const bits of [2056, 2057]) {
    it(`PSS with any salt length (RFC 8017 verification) and the exact-salt check, ${bits}-bit modulus`, () => {
      const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: bits });
      const pub = rsaJwk(publicKey);
      for (const salt of [0, 1, 20, 32, 64, 100]) {
        const msg = randomBytes(40);
        const sig = sign("sha256", msg, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: salt });
        expect(rsaVerify(pub, SHA256, true, -1, msg, sig)).toBe(1);
        expect(rsaVerify(pub, SHA256, true, salt, msg, sig)).toBe(1);
        expect(rsaVerify(pub, SHA256, true, salt + 1, msg, sig)).toBe(0);
        const pkcs = sign("sha512", msg, privateKey);
        expect(rsaVerify(pub, SHA512, false, 0, msg, pkcs)).toBe(1);
        io.release();
      }
    });
  }

  it("rejects unusable keys and malformed signatures without trapping", () => {
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const pub = rsaJwk(publicKey);
    const msg = randomBytes(10);
    const sig = sign("sha256", msg, privateKey);
    const small = rsaJwk(generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey);
    expect(rsaVerify(small, SHA256, false, 0, msg, sig)).toBe(-1);
    expect(rsaVerify({ n: pub.n, e: new Uint8Array([1]) }, SHA256, false, 0, msg, sig)).toBe(-1);
    expect(rsaVerify({ n: pub.n, e: new Uint8Array([0, 1, 0, 0]) }, SHA256, false, 0, msg, sig)).toBe(-1); // even
    expect(rsaVerify({ n: pub.n, e: new Uint8Array(0) }, SHA256, false, 0, msg, sig)).toBe(-1);
    const even = Uint8Array.from(pub.n); even[even.length - 1] &= 0xfe;
    expect(rsaVerify({ n: even, e: pub.e }, SHA256, false, 0, msg, sig)).toBe(-1);
    expect(rsaVerify({ n: new Uint8Array(0), e: pub.e }, SHA256, false, 0, msg, sig)).toBe(-1);
    for (const s of [new Uint8Array(0), sig.subarray(1), new Uint8Array(256), new Uint8Array(256).fill(0xff), Uint8Array.from(pub.n), new Uint8Array(257)]) {
      expect(rsaVerify(pub, SHA256, false, 0, msg, s)).toBe(0);
      expect(rsaVerify(pub, SHA256, true, 32, msg, s)).toBe(0);
      expect(rsaVerify(pub, SHA256, true, -1, msg, s)).toBe(0);
    }
  });
});

function ecJwk(key: KeyObject) {
  const jwk = key.export({ format: "jwk" }) as { x: string; y: string };
  return { x: b64u(jwk.x), y: b64u(jwk.y) };
}

const ecVerify = (curve: number, pub: { x: Uint8Array; y: Uint8Array }, msg: Uint8Array, sig: Uint8Array): number =>
  as.exports.ecVerify(curve, io.buf(pub.x), io.buf(pub.y), io.buf(msg), io.buf(sig));

describe("ECDSA", () => {
  it("RFC 7515 A.3 ES256", () => {
    const pub = { x: b64u("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"), y: b64u("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0") };
    const input = ascii("eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ");
    const sig = b64u("DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q");
    expect(ecVerify(0, pub, input, sig)).toBe(1);
    const bad = Uint8Array.from(sig); bad[40] ^= 4;
    expect(ecVerify(0, pub, input, bad)).toBe(0);
  });

  for (const [curve, name, hash, size] of [[0, "P-256", "sha256", 32], [1, "P-384", "sha384", 48]] as const) {
    it(`matches node:crypto on ${name} for random keys and messages`, () => {
      for (let k = 0; k < 6; k++) {
        const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: name });
        const pub = ecJwk(publicKey);
        for (let m = 0; m < 4; m++) {
          const msg = randomBytes(k * 13 + m * 7);
          const sig = sign(hash, msg, { key: privateKey, dsaEncoding: "ieee-p1363" });
          expect(ecVerify(curve, pub, msg, sig)).toBe(1);
          const bad = Uint8Array.from(sig); bad[(k * 7 + m) % sig.length] ^= 1 << m;
          expect(ecVerify(curve, pub, msg, bad)).toBe(0);
          const otherMsg = Uint8Array.from([...msg, 0]);
          expect(ecVerify(curve, pub, otherMsg, sig)).toBe(0);
          io.release();
        }
      }
    });

    it(`${name}: rejects off-curve keys, out-of-range r/s and wrong lengths without trapping`, () => {
      const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: name });
      const pub = ecJwk(publicKey);
      const msg = randomBytes(20);
      const sig = sign(hash, msg, { key: privateKey, dsaEncoding: "ieee-p1363" });
      const offY = Uint8Array.from(pub.y); offY[size - 1] ^= 1;
      expect(ecVerify(curve, { x: pub.x, y: offY }, msg, sig)).toBe(-1);
      expect(ecVerify(curve, { x: new Uint8Array(size), y: new Uint8Array(size) }, msg, sig)).toBe(-1);
      expect(ecVerify(curve, { x: new Uint8Array(size).fill(0xff), y: pub.y }, msg, sig)).toBe(-1);
      expect(ecVerify(curve, { x: pub.x.subarray(1), y: pub.y }, msg, sig)).toBe(-1);
      expect(ecVerify(curve, { x: pub.x, y: new Uint8Array(0) }, msg, sig)).toBe(-1);
      const order = curve === 0
        ? unhex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")
        : unhex("ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973");
      const zero = new Uint8Array(size);
      const withR = (r: Uint8Array) => Uint8Array.from([...r, ...sig.subarray(size)]);
      const withS = (s: Uint8Array) => Uint8Array.from([...sig.subarray(0, size), ...s]);
      for (const bad of [withR(zero), withS(zero), withR(order), withS(order), new Uint8Array(2 * size), new Uint8Array(2 * size).fill(0xff), sig.subarray(1), new Uint8Array(0), Uint8Array.from([...sig, 0])]) {
        expect(ecVerify(curve, pub, msg, bad)).toBe(0);
      }
      // r + n aliasing: s' = n - s is also valid for ECDSA; both must verify (no malleability check in JWS).
      const sNeg = (BigInt("0x" + hex(order)) - BigInt("0x" + hex(sig.subarray(size)))).toString(16).padStart(size * 2, "0");
      expect(ecVerify(curve, pub, msg, withS(unhex(sNeg)))).toBe(1);
    });
  }
});

describe("Ed25519", () => {
  const edVerify = (pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): number =>
    as.exports.edVerify(io.buf(pub), io.buf(msg), io.buf(sig));

  it("RFC 8032 section 7.1 tests 1-3", () => {
    const vectors = [
      ["d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"],
      ["3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"],
      ["fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"],
    ];
    for (const [pub, msg, sig] of vectors) {
      expect(edVerify(unhex(pub), unhex(msg), unhex(sig))).toBe(1);
      const bad = unhex(sig); bad[0] ^= 1;
      expect(edVerify(unhex(pub), unhex(msg), bad)).toBe(0);
      expect(edVerify(unhex(pub), Uint8Array.from([...unhex(msg), 1]), unhex(sig))).toBe(0);
    }
  });

  it("RFC 8037 A.4/A.5 EdDSA JWS", () => {
    const pub = b64u("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
    const input = ascii("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc");
    const sig = b64u("hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg");
    expect(edVerify(pub, input, sig)).toBe(1);
  });

  it("matches node:crypto for random keys and messages", () => {
    for (let k = 0; k < 12; k++) {
      const { publicKey, privateKey } = generateKeyPairSync("ed25519");
      const pub = b64u((publicKey.export({ format: "jwk" }) as { x: string }).x);
      const msg = randomBytes(k * 23);
      const sig = sign(null, msg, privateKey);
      expect(edVerify(pub, msg, sig)).toBe(1);
      const bad = Uint8Array.from(sig); bad[k * 5] ^= 0x20;
      expect(edVerify(pub, msg, bad)).toBe(0);
      io.release();
    }
  });

  it("rejects S >= L, non-canonical encodings, bad lengths, without trapping", () => {
    const pub = unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    const sig = unhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
    const msg = new Uint8Array(0);
    // S + L: same point equation, but non-canonical S must be rejected.
    const L = (1n << 252n) + 27742317777372353535851937790883648493n;
    const sLE = (v: bigint) => { const out = new Uint8Array(32); for (let i = 0; i < 32; i++) { out[i] = Number(v & 0xffn); v >>= 8n; } return out; };
    const s = BigInt("0x" + Buffer.from(sig.subarray(32)).reverse().toString("hex"));
    expect(edVerify(pub, msg, Uint8Array.from([...sig.subarray(0, 32), ...sLE(s + L)]))).toBe(0);
    expect(edVerify(pub, msg, Uint8Array.from([...sig.subarray(0, 32), ...sLE(L)]))).toBe(0);
    // Non-canonical y (>= p) for the key and for R.
    const p = (1n << 255n) - 19n;
    expect(edVerify(sLE(p + 1n), msg, sig)).toBe(0);
    expect(edVerify(pub, msg, Uint8Array.from([...sLE(p + 1n), ...sig.subarray(32)]))).toBe(0);
    // x = 0 with the sign bit set (y = 1 is the identity, whose x is 0).
    const negZero = sLE(1n); negZero[31] |= 0x80;
    expect(edVerify(negZero, msg, sig)).toBe(0);
    // A y with no square root for x (y = 2 is not on the curve).
    expect(edVerify(sLE(2n), msg, sig)).toBe(0);
    for (const bad of [new Uint8Array(0), sig.subarray(1), Uint8Array.from([...sig, 0]), new Uint8Array(64), new Uint8Array(64).fill(0xff)]) {
      expect(edVerify(pub, msg, bad)).toBe(0);
    }
    expect(edVerify(pub.subarray(1), msg, sig)).toBe(0);
    expect(edVerify(new Uint8Array(32), msg, sig)).toBe(0);
  });
});

describe("no input traps", () => {
  it("arbitrary bytes as keys and signatures are rejected, never trap", () => {
    fc.assert(fc.property(
      fc.uint8Array({ maxLength: 600 }), fc.uint8Array({ maxLength: 600 }), fc.uint8Array({ maxLength: 100 }), fc.integer({ min: 0, max: 2 }),
      (a, b, msg, alg) => {
        try {
          expect([-1, 0]).toContain(rsaVerify({ n: a, e: new Uint8Array([1, 0, 1]) }, alg, false, 0, msg, b));
          expect([-1, 0]).toContain(rsaVerify({ n: a, e: new Uint8Array([1, 0, 1]) }, alg, true, -1, msg, b));
          expect([-1, 0]).toContain(ecVerify(alg & 1, { x: a.subarray(0, 32 + 16 * (alg & 1)), y: a.subarray(48) }, msg, b));
          expect(as.exports.edVerify(io.buf(a.subarray(0, 32)), io.buf(msg), io.buf(b.subarray(0, 64)))).toBe(0);
          expect(as.exports.b64Decode(io.buf(a)) === 0 || true).toBe(true);
        } finally {
          io.release();
        }
      }), { numRuns: 300 });
  });
});
