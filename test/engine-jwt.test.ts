// engine/jwt: tokens minted with jose for every algorithm, the RFC examples, Envoy's statuses,
// algorithm-confusion attempts and a property test that arbitrary input is always rejected.
import { createHmac, randomBytes } from "node:crypto";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { SignJWT, exportJWK, generateKeyPair, type JWK } from "jose";
import { loadAS, type ASInstance } from "./helpers/as.js";
import { bytesIO, initialize, type BytesIO } from "./helpers/as-bytes.js";

const ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA", "HS256", "HS384", "HS512"] as const;
type Alg = (typeof ALGS)[number];
const ISSUER = "https://issuer.example.com";
const AUDIENCE = "halyard-api";
const NOW = 1_750_000_000;

const b64u = (b: Uint8Array | string) => Buffer.from(b).toString("base64url");
const json64 = (v: unknown) => b64u(JSON.stringify(v));

let as: ASInstance;
let io: BytesIO;
beforeAll(async () => {
  as = initialize(await loadAS("test/fixtures/as/jwt.ts"));
  io = bytesIO(as);
}, 120_000);
afterEach(() => io.release());

const text = (status: number) => io.readText(as.exports.statusText(status))!;

/** Configures the provider; returns the JWKS status text. */
function configure(jwks: unknown, issuer = ISSUER, audiences: string[] = [AUDIENCE], clockSkew = -1): string {
  const doc = typeof jwks === "string" ? jwks : JSON.stringify(jwks);
  const status = as.exports.configure(io.buf(doc), io.buf(issuer), io.buf(audiences.join(",")), clockSkew);
  io.release();
  return text(status);
}

function verify(token: string, now = NOW): string {
  const status = as.exports.verify(io.buf(token), now);
  io.release();
  return text(status);
}

interface KeyMaterial { alg: Alg; kid: string; privateKey: CryptoKey | Uint8Array; publicJwk: JWK }

async function makeKey(alg: Alg, kid = `${alg.toLowerCase()}-key`): Promise<KeyMaterial> {
  if (alg.startsWith("HS")) {
    const secret = new Uint8Array(randomBytes(64));
    return { alg, kid, privateKey: secret, publicJwk: { kty: "oct", k: b64u(secret), kid, alg } };
  }
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

async function mint(key: KeyMaterial, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> {
  const t = new SignJWT({ sub: "alice", ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "JWT", ...header })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(NOW - 10)
    .setExpirationTime(NOW + 3600);
  if (claims.iss !== undefined) t.setIssuer(claims.iss as string);
  if (claims.aud !== undefined) t.setAudience(claims.aud as string | string[]);
  if (claims.exp !== undefined) t.setExpirationTime(claims.exp as number);
  if (claims.nbf !== undefined) t.setNotBefore(claims.nbf as number);
  return t.sign(key.privateKey);
}

/** Flips one bit of a decoded segment and re-encodes it (stays valid base64url). */
function tamperSegment(token: string, index: number, byte = 5): string {
  const parts = token.split(".");
  const raw = Buffer.from(parts[index], "base64url");
  raw[Math.min(byte, raw.length - 1)] ^= 0x01;
  parts[index] = raw.toString("base64url");
  return parts.join(".");
}

const keys = new Map<Alg, KeyMaterial>();
beforeAll(async () => {
  for (const alg of ALGS) keys.set(alg, await makeKey(alg));
}, 120_000);

describe("tokens minted with jose, per algorithm", () => {
  for (const alg of ALGS) {
    it(`${alg}: valid, time window, audience, issuer, kid and tampering`, async () => {
      const key = keys.get(alg)!;
      const other = await makeKey(alg, "other");
      expect(configure({ keys: [other.publicJwk, key.publicJwk] })).toBe("OK");

      const good = await mint(key, { role: "admin" });
      expect(verify(good)).toBe("OK");
      expect(io.readText(as.exports.lastIssuer())).toBe(ISSUER);
      expect(io.readText(as.exports.lastSubject())).toBe("alice");
      expect(io.readText(as.exports.lastAudiences())).toBe(AUDIENCE);
      expect(JSON.parse(io.readText(as.exports.lastPayload())!)).toMatchObject({ sub: "alice", role: "admin", iss: ISSUER, exp: NOW + 3600 });

      expect(verify(await mint(key, { exp: NOW - 120 }))).toBe("Jwt is expired");
      expect(verify(await mint(key, { exp: NOW - 30 }))).toBe("OK"); // inside the 60 s skew
      expect(verify(await mint(key, { nbf: NOW + 120 }))).toBe("Jwt not yet valid");
      expect(verify(await mint(key, { nbf: NOW + 30 }))).toBe("OK");
      expect(verify(await mint(key, { aud: "someone-else" }))).toBe("Audiences in Jwt are not allowed");
      expect(verify(await mint(key, { aud: ["someone-else", AUDIENCE] }))).toBe("OK");
      expect(verify(await mint(key, { iss: "https://evil.example.com" }))).toBe("Jwt issuer is not configured");
      expect(verify(await mint({ ...key, kid: "unknown" }))).toBe("Jwks doesn't have key to match kid or alg from Jwt");
      // Without kid every fitting key is tried, as in Envoy.
      expect(verify(await mint({ ...key, kid: undefined as unknown as string }, {}, { kid: undefined }))).toBe("OK");
      // Signed by another key that carries the right kid.
      expect(verify(await mint({ ...other, kid: key.kid }))).toBe("Jwt verification fails");

      const [h, p, s] = good.split(".");
      const tamperedPayload = b64u(Buffer.from(p, "base64url").toString().replace('"alice"', '"alicf"'));
      expect(verify(`${h}.${tamperedPayload}.${s}`)).toBe("Jwt verification fails");
      expect(verify(tamperSegment(good, 2))).toBe("Jwt verification fails");
      expect(verify(tamperSegment(good, 2, 0))).toBe("Jwt verification fails");
      expect(verify(`${h}.${json64({ iss: ISSUER, sub: "mallory", aud: AUDIENCE })}.${good.split(".")[2]}`)).toBe("Jwt verification fails");
      expect(verify(`${h}.${p}.${b64u(new Uint8Array(alg === "EdDSA" ? 63 : 10))}`))
        .toBe(alg === "EdDSA" ? "Jwt ED25519 signature is wrong length" : "Jwt verification fails");
    });
  }

  it("audience matching ignores http(s):// and a trailing slash, like Envoy", async () => {
    const key = keys.get("ES256")!;
    configure({ keys: [key.publicJwk] }, ISSUER, ["https://api.example.com/"]);
    expect(verify(await mint(key, { aud: "api.example.com" }))).toBe("OK");
    expect(verify(await mint(key, { aud: "http://api.example.com" }))).toBe("OK");
    expect(verify(await mint(key, { aud: "api.example.org" }))).toBe("Audiences in Jwt are not allowed");
    configure({ keys: [key.publicJwk] }, ISSUER, []);
    expect(verify(await mint(key, { aud: "anything" }))).toBe("OK");
  });

  it("a custom clock skew applies to exp and nbf", async () => {
    const key = keys.get("HS256")!;
    configure({ keys: [key.publicJwk] }, ISSUER, [AUDIENCE], 0);
    expect(verify(await mint(key, { exp: NOW - 1 }))).toBe("Jwt is expired");
    expect(verify(await mint(key, { exp: NOW }))).toBe("OK");
    expect(verify(await mint(key, { nbf: NOW + 1 }))).toBe("Jwt not yet valid");
  });
});

describe("algorithm confusion and unsupported algorithms", () => {
  it("alg none is not supported, with or without a signature", () => {
    configure({ keys: [keys.get("RS256")!.publicJwk] });
    const payload = json64({ iss: ISSUER, sub: "mallory", aud: AUDIENCE });
    expect(verify(`${json64({ alg: "none" })}.${payload}.`)).toBe("Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections");
    expect(verify(`${json64({ alg: "none" })}.${payload}.${b64u("x")}`)).toBe("Jwt header [alg] is not supported");
    expect(verify(`${json64({ alg: "None" })}.${payload}.${b64u("x")}`)).toBe("Jwt header [alg] is not supported");
    expect(verify(`${json64({ alg: "ES512" })}.${payload}.${b64u("x")}`)).toBe("Jwt header [alg] is not supported");
  });

  it("HS256 signed with the RSA public key's bytes is never checked against the RSA key", async () => {
    const rsa = keys.get("RS256")!;
    const { kid, alg: _alg, use: _use, ...bareJwk } = rsa.publicJwk;
    const payload = json64({ iss: ISSUER, sub: "mallory", aud: AUDIENCE, exp: NOW + 100 });
    const forge = (secret: Uint8Array | string, headerKid?: string) => {
      const header = json64(headerKid ? { alg: "HS256", kid: headerKid } : { alg: "HS256" });
      const sig = createHmac("sha256", secret).update(`${header}.${payload}`).digest();
      return `${header}.${payload}.${b64u(sig)}`;
    };
    const n = Buffer.from(rsa.publicJwk.n!, "base64url");
    const jwkText = JSON.stringify(bareJwk);
    for (const jwks of [{ keys: [rsa.publicJwk] }, { keys: [bareJwk] }, { keys: [{ ...bareJwk, kid }] }]) {
      configure(jwks);
      for (const secret of [n, jwkText, rsa.publicJwk.n!]) {
        expect(verify(forge(secret, kid))).toBe("Jwks doesn't have key to match kid or alg from Jwt");
        expect(verify(forge(secret))).toBe("Jwks doesn't have key to match kid or alg from Jwt");
      }
    }
  });

  it("a key's alg, use and curve restrict it", async () => {
    const es256 = keys.get("ES256")!, es384 = keys.get("ES384")!, ps256 = keys.get("PS256")!;
    // An ES384 token can't use a P-256 key, even without alg on the key.
    const { alg: _a, ...p256NoAlg } = es256.publicJwk;
    configure({ keys: [{ ...p256NoAlg, kid: es384.kid }] });
    expect(verify(await mint(es384))).toBe("Jwks doesn't have key to match kid or alg from Jwt");
    // An RSA key marked RS256 is not used for a PS256 token.
    configure({ keys: [{ ...ps256.publicJwk, alg: "RS256" }] });
    expect(verify(await mint(ps256))).toBe("Jwks doesn't have key to match kid or alg from Jwt");
    // Without alg the same key serves PS256.
    const { alg: _b, ...psNoAlg } = ps256.publicJwk;
    configure({ keys: [psNoAlg] });
    expect(verify(await mint(ps256))).toBe("OK");
    // Encryption keys are never used to verify.
    configure({ keys: [{ ...psNoAlg, use: "enc" }] });
    expect(verify(await mint(ps256))).toBe("Jwks doesn't have key to match kid or alg from Jwt");
  });
});

describe("RFC examples through the JWT path", () => {
  const rfcToken = (header: string, sig: string) =>
    `${header}.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.${sig}`;
  const before = 1300819380 - 100;

  it("RFC 7515 A.1 HS256, A.2 RS256, A.3 ES256 (A.4 ES512 is out of scope: P-521 is not implemented)", () => {
    configure({ keys: [{ kty: "oct", k: "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow" }] }, "joe", []);
    const a1 = rfcToken("eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    expect(verify(a1, before)).toBe("OK");
    expect(verify(a1, 1300819380 + 61)).toBe("Jwt is expired");
    expect(JSON.parse(io.readText(as.exports.lastPayload())!)["http://example.com/is_root"]).toBe(true);

    configure({ keys: [{ kty: "RSA", e: "AQAB", n: "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ" }] }, "joe", []);
    expect(verify(rfcToken("eyJhbGciOiJSUzI1NiJ9", "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"), before)).toBe("OK");

    configure({ keys: [{ kty: "EC", crv: "P-256", x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0" }] }, "joe", []);
    expect(verify(rfcToken("eyJhbGciOiJFUzI1NiJ9", "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"), before)).toBe("OK");
  });

  it("RFC 8037 A.4 EdDSA: the signature verifies, but its payload is not a JWT claims set", () => {
    configure({ keys: [{ kty: "OKP", crv: "Ed25519", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" }] }, "", []);
    expect(verify("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"))
      .toBe("Jwt payload is an invalid JSON");
  });
});

describe("token format and claim types", () => {
  const header = json64({ alg: "HS256" });
  const claims = (c: unknown) => `${header}.${json64(c)}.${b64u("sig")}`;
  beforeAll(() => configure({ keys: [keys.get("HS256")!.publicJwk] }, "", []));

  it("Envoy's statuses for malformed tokens", () => {
    configure({ keys: [keys.get("HS256")!.publicJwk] }, "", []);
    expect(verify("")).toBe("Jwt is missing");
    for (const bad of ["abc", "a.b", "a.b.c.d", ".b.c", "a..c", "a.b.", "..", "..."]) {
      expect(verify(bad), bad).toBe("Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections");
    }
    expect(verify(`a*b.${json64({})}.${b64u("s")}`)).toBe("Jwt header is an invalid Base64url encoded");
    expect(verify(`${b64u("{not json")}.${json64({})}.${b64u("s")}`)).toBe("Jwt header is an invalid JSON");
    expect(verify(`${json64([1])}.${json64({})}.${b64u("s")}`)).toBe("Jwt header is an invalid JSON");
    expect(verify(`${json64({ typ: "JWT" })}.${json64({})}.${b64u("s")}`)).toBe("Jwt header [alg] field is required and must be a string");
    expect(verify(`${json64({ alg: 256 })}.${json64({})}.${b64u("s")}`)).toBe("Jwt header [alg] field is required and must be a string");
    expect(verify(`${json64({ alg: "HS256", kid: 1 })}.${json64({})}.${b64u("s")}`)).toBe("Jwt header [kid] field is not a string");
    expect(verify(`${header}.a*b.${b64u("s")}`)).toBe("Jwt payload is an invalid Base64url encoded");
    expect(verify(`${header}.${b64u("[]")}.${b64u("s")}`)).toBe("Jwt payload is an invalid JSON");
    expect(verify(`${header}.${b64u('{"a":1,"a":2}')}.${b64u("s")}`)).toBe("Jwt payload is an invalid JSON");
    expect(verify(`${header}.${json64({})}.s*g`)).toBe("Jwt signature is an invalid Base64url encoded");
  });

  it("claim types", () => {
    configure({ keys: [keys.get("HS256")!.publicJwk] }, "", []);
    expect(verify(claims({ iss: 1 }))).toBe("Jwt payload [iss] field is not a string");
    expect(verify(claims({ sub: {} }))).toBe("Jwt payload [sub] field is not a string");
    expect(verify(claims({ iat: "now" }))).toBe("Jwt payload [iat] field is not an integer");
    expect(verify(claims({ iat: -1 }))).toBe("Jwt payload [iat] field is not a positive 64 bit integer");
    expect(verify(claims({ nbf: true }))).toBe("Jwt payload [nbf] field is not an integer");
    expect(verify(claims({ nbf: 1e30 }))).toBe("Jwt payload [nbf] field is not a positive 64 bit integer");
    expect(verify(claims({ exp: null }))).toBe("Jwt payload [exp] field is not an integer");
    expect(verify(claims({ exp: -5 }))).toBe("Jwt payload [exp] field is not a positive 64 bit integer");
    expect(verify(claims({ jti: 7 }))).toBe("Jwt payload [jti] field is not a string");
    expect(verify(claims({ aud: 7 }))).toBe("Jwt payload [aud] field is not a string or string list");
    expect(verify(claims({ aud: ["a", 7] }))).toBe("Jwt payload [aud] field is not a string or string list");
    expect(verify(claims({ aud: ["a"], exp: NOW + 10 }))).toBe("Jwt verification fails");
  });
});

describe("JWKS parsing", () => {
  const describeJwks = () => io.readText(as.exports.jwksDescribe());

  it("document-level errors", () => {
    expect(configure("{")).toBe("Jwks is an invalid JSON");
    expect(describeJwks()).toMatch(/^jwks: Jwks is an invalid JSON: .+ at byte \d+$/);
    expect(configure("[]")).toBe("Jwks is an invalid JSON");
    expect(configure({})).toBe("Jwks does not have [keys] field");
    expect(configure({ keys: {} })).toBe("[keys] in Jwks is not an array");
    expect(configure({ keys: [] })).toBe("Jwks doesn't have any valid public key");
    expect(configure({ keys: [1, "x"] })).toBe("Jwks doesn't have any valid public key");
  });

  it("per-key errors name the key; one good key keeps the set usable", () => {
    const rsa = keys.get("RS256")!.publicJwk, ec = keys.get("ES256")!.publicJwk;
    const cases: Array<[unknown, string]> = [
      [{ n: rsa.n, e: rsa.e }, "[kty] is missing in [keys]"],
      [{ kty: 1 }, "[kty] is bad in [keys]"],
      [{ kty: "XYZ" }, "[kty] is not supported in [keys]"],
      [{ kty: "RSA", e: "AQAB" }, "[n] field is missing for a RSA key"],
      [{ kty: "RSA", n: 5, e: "AQAB" }, "[n] field is not string for a RSA key"],
      [{ kty: "RSA", n: rsa.n }, "[e] field is missing for a RSA key"],
      [{ kty: "RSA", n: rsa.n, e: "AQAB", alg: "ES256" }, "[alg] is not started with [RS] or [PS] for an RSA key"],
      [{ kty: "RSA", n: "a*b", e: "AQAB" }, "Jwks RSA [n] or [e] field is missing or has a parse error"],
      [{ kty: "RSA", n: b64u(randomBytes(64)), e: "AQAB" }, "Jwks RSA [n] or [e] field is missing or has a parse error"],
      [{ kty: "EC", crv: "P-256", y: ec.y }, "[x] field is missing for an EC key"],
      [{ kty: "EC", crv: "P-256", x: ec.x }, "[y] field is missing for an EC key"],
      [{ kty: "EC", crv: 256, x: ec.x, y: ec.y }, "[crv] field is not string for an EC key"],
      [{ kty: "EC", crv: "P-384", alg: "ES256", x: ec.x, y: ec.y }, "[crv] field specified is not compatible with [alg] for an EC key"],
      [{ kty: "EC", crv: "P-521", x: ec.x, y: ec.y }, "[crv] or [alg] field is not supported for an EC key"],
      [{ kty: "EC", crv: "P-256", x: "***", y: ec.y }, "Jwks EC [x] or [y] field is an invalid Base64."],
      [{ kty: "EC", crv: "P-256", x: ec.y, y: ec.x }, "Jwks EC [x] and [y] fields have a parse error."],
      [{ kty: "EC", alg: "RS256", x: ec.x, y: ec.y }, "[alg] is not started with [ES] for an EC key"],
      [{ kty: "oct" }, "[k] field is missing for an HMAC key"],
      [{ kty: "oct", k: "" }, "Jwks Oct key is an invalid Base64"],
      [{ kty: "oct", k: "AAAA", alg: "RS256" }, "[alg] does not start with [HS] for an HMAC key"],
      [{ kty: "OKP", x: b64u(new Uint8Array(32)) }, "[crv] field is missing for an OKP key"],
      [{ kty: "OKP", crv: "X25519", x: b64u(new Uint8Array(32)) }, "[crv] field is not supported for an OKP key"],
      [{ kty: "OKP", crv: "Ed25519", x: b64u(new Uint8Array(31)) }, "Jwks OKP [x] field is wrong length."],
      [{ kty: "OKP", crv: "Ed25519", x: "#" }, "Jwks OKP [x] field is an invalid Base64."],
      [{ kty: "OKP", crv: "Ed25519", alg: "ES256", x: b64u(new Uint8Array(32)) }, "[alg] is not [EdDSA] for an OKP key"],
      [{ kty: "RSA", n: rsa.n, e: "AQAB", alg: 256 }, "[alg] field is not a string in [keys]"],
      [{ kty: "RSA", n: rsa.n, e: "AQAB", kid: 1 }, "[kid] field is not a string in [keys]"],
    ];
    for (const [jwk, message] of cases) {
      expect(configure({ keys: [{ kid: "bad", ...(jwk as object) }] }), JSON.stringify(jwk)).toBe(message);
      expect(describeJwks()).toContain(message);
      expect(configure({ keys: [{ kid: "bad", ...(jwk as object) }, rsa] })).toBe("OK");
      expect(as.exports.jwksKeyCount()).toBe(1);
      expect(as.exports.jwksErrorCount()).toBe(1);
      expect(io.readText(as.exports.jwksErrorAt(0))).toMatch(/^keys\[0\]( \(kid "bad"\))?: /);
    }
  });
});

describe("no input traps", () => {
  it("arbitrary strings as tokens are rejected and never trap", async () => {
    configure({ keys: ALGS.map((a) => keys.get(a)!.publicJwk) }, "", []);
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => {
      expect(verify(s)).not.toBe("OK");
    }), { numRuns: 400 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const status = as.exports.verify(io.buf(bytes), NOW);
      io.release();
      expect(text(status)).not.toBe("OK");
    }), { numRuns: 300 });
  });

  it("arbitrary three-part tokens (valid base64url, JSON or not) are rejected and never trap", () => {
    configure({ keys: ALGS.map((a) => keys.get(a)!.publicJwk) }, "", []);
    const segment = fc.oneof(
      fc.uint8Array({ maxLength: 120 }).map((b) => b64u(b)),
      fc.jsonValue().map((v) => json64(v)),
      fc.constantFrom(...ALGS, "none", "ES512").map((alg) => json64({ alg, kid: "x" })),
      fc.record({ alg: fc.constantFrom(...ALGS), kid: fc.string() }).map((h) => json64(h)),
    );
    fc.assert(fc.property(segment, segment, fc.uint8Array({ maxLength: 600 }), (h, p, sig) => {
      expect(verify(`${h}.${p}.${b64u(sig)}`)).not.toBe("OK");
    }), { numRuns: 500 });
  });
});
