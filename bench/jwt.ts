// JWT verification cost per token: engine/jwt inside wasm vs jose on Node (WebCrypto), same run,
// same tokens, keys prepared once on both sides. Reports medians of several batches (µs/token).
// Not part of `npm test`. Targets: RS256 in wasm <= 1.5x jose; ES256 and EdDSA <= 2x jose.
//
//   npx esbuild bench/jwt.ts --bundle --platform=node --format=esm --packages=external --outfile=node_modules/.cache/jwt-bench.mjs
//   node node_modules/.cache/jwt-bench.mjs [--runs 9] [--tokens 300] [--algs RS256,ES256,ES384,EdDSA]
import { SignJWT, exportJWK, generateKeyPair, importJWK, jwtVerify, type JWK } from "jose";
import { compileAS } from "../test/helpers/as.js";

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ""), process.argv[i + 1]);
const runs = Number(args.get("runs") ?? 9);
const tokensPerRun = Number(args.get("tokens") ?? 300);
const ALGS = ["RS256", "ES256", "ES384", "EdDSA"] as const;
type Alg = (typeof ALGS)[number];
const algs = (args.get("algs") ?? ALGS.join(",")).split(",") as Alg[];
for (const a of algs) if (!ALGS.includes(a)) throw new Error(`--algs: unknown algorithm ${a} (expected ${ALGS.join(", ")})`);

const ISSUER = "https://issuer.example.com";
const AUDIENCE = "halyard-api";
const now = Math.floor(Date.now() / 1000);

interface Wasm {
  ex: any;
  memory: WebAssembly.Memory;
}

async function loadWasm(): Promise<Wasm> {
  const bytes = await compileAS("test/fixtures/as/jwt.ts", ["--optimizeLevel", "3", "--noAssert"]);
  const instance = await WebAssembly.instantiate(await WebAssembly.compile(bytes as BufferSource), {
    env: { abort: () => { throw new Error("wasm abort"); }, trace: () => {}, seed: () => Date.now() },
  });
  const ex: any = instance.exports;
  ex._initialize?.();
  return { ex, memory: ex.memory };
}

function pinnedBuffer(w: Wasm, data: Uint8Array): number {
  const ptr = w.ex.__new(data.length, 1) >>> 0;
  new Uint8Array(w.memory.buffer, ptr, data.length).set(data);
  return w.ex.__pin(ptr) >>> 0;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function benchAlg(w: Wasm, alg: Alg): Promise<{ wasmCall: number; wasmLoop: number; jose: number }> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: "k1", alg, use: "sig" };
  const token = await new SignJWT({ sub: "alice", scope: "read write" })
    .setProtectedHeader({ alg, kid: "k1", typ: "JWT" })
    .setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt(now).setExpirationTime(now + 3600)
    .sign(privateKey);
  const enc = new TextEncoder();

  // wasm: configure the provider once (the JWKS is parsed and the key prepared here).
  const bufs = [enc.encode(JSON.stringify({ keys: [jwk] })), enc.encode(ISSUER), enc.encode(AUDIENCE)].map((b) => pinnedBuffer(w, b));
  const status = w.ex.configure(bufs[0], bufs[1], bufs[2], -1);
  bufs.forEach((p) => w.ex.__unpin(p));
  if (status !== 0) throw new Error(`wasm configure failed: ${status}`);
  const tokenBytes = enc.encode(token);
  if (w.ex.verify(pinnedBuffer(w, tokenBytes), now) !== 0) throw new Error("wasm rejected the token");

  // jose: the key imported once, as a long-lived verifier would keep it.
  const key = await importJWK(jwk, alg);
  await jwtVerify(token, key, { issuer: ISSUER, audience: AUDIENCE });

  const wasmCall: number[] = [], wasmLoop: number[] = [], jose: number[] = [];
  for (let r = 0; r < runs; r++) {
    // Per token: copy the token into wasm memory, verify, release (what a host call costs).
    let t0 = performance.now();
    for (let i = 0; i < tokensPerRun; i++) {
      const ptr = pinnedBuffer(w, tokenBytes);
      if (w.ex.verify(ptr, now) !== 0) throw new Error("wasm rejected the token");
      w.ex.__unpin(ptr);
    }
    wasmCall.push(((performance.now() - t0) * 1000) / tokensPerRun);

    const ptr = pinnedBuffer(w, tokenBytes);
    t0 = performance.now();
    if (w.ex.verifyRepeated(ptr, now, tokensPerRun) !== 0) throw new Error("wasm rejected the token");
    wasmLoop.push(((performance.now() - t0) * 1000) / tokensPerRun);
    w.ex.__unpin(ptr);

    t0 = performance.now();
    for (let i = 0; i < tokensPerRun; i++) await jwtVerify(token, key, { issuer: ISSUER, audience: AUDIENCE });
    jose.push(((performance.now() - t0) * 1000) / tokensPerRun);
  }
  return { wasmCall: median(wasmCall), wasmLoop: median(wasmLoop), jose: median(jose) };
}

const w = await loadWasm();
console.log(`node ${process.version}, ${runs} runs x ${tokensPerRun} tokens, medians in µs/token`);
for (const alg of algs) {
  const r = await benchAlg(w, alg);
  console.log(
    `${alg}: wasm ${r.wasmCall.toFixed(1)} µs (in-wasm loop ${r.wasmLoop.toFixed(1)} µs), jose ${r.jose.toFixed(1)} µs, ` +
      `ratio wasm/jose ${(r.wasmCall / r.jose).toFixed(2)}x`,
  );
}
