// Mesh CA signing rate: certificates per second from ECDSA P-256 and RSA-2048 CSRs (CSR parse + signature check +
// SVID issue with the CA's ECDSA P-256 root), one at a time and with N in flight (WebCrypto runs on libuv's pool).
// CSRs are made once up front. Reports medians of several runs. Not part of `npm test`.
//
//   npx esbuild bench/ca.ts --bundle --platform=node --format=esm --packages=external --outfile=node_modules/.cache/ca-bench.mjs
//   node node_modules/.cache/ca-bench.mjs [--runs 7] [--csrs 200] [--concurrency 8]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCsr } from "../control/ca/csr.js";
import { generateKeyPair, type KeyType } from "../control/ca/keys.js";
import { openMeshCa } from "../control/ca/open.js";

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1]!);
const runs = Number(args.get("runs") ?? 7);
const csrCount = Number(args.get("csrs") ?? 200);
const concurrency = Number(args.get("concurrency") ?? 8);

const account = { namespace: "default", serviceAccount: "bench" };
const stateDir = mkdtempSync(join(tmpdir(), "halyard-ca-bench-"));
try {
  const ca = await openMeshCa({ stateDir });
  const identity = ca.spiffeIdOf(account);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

  for (const keyType of ["ecdsa-p256", "rsa-2048"] as KeyType[]) {
    const csrs: string[] = [];
    for (let i = 0; i < csrCount; i++) csrs.push(await createCsr(await generateKeyPair(keyType), { uris: [identity] }));
    const sequential: number[] = [];
    const parallel: number[] = [];
    for (let r = 0; r < runs; r++) {
      let t0 = performance.now();
      for (const csr of csrs) await ca.signCsr(csr, account);
      sequential.push((csrs.length * 1000) / (performance.now() - t0));

      t0 = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < csrs.length) await ca.signCsr(csrs[next++]!, account);
        }),
      );
      parallel.push((csrs.length * 1000) / (performance.now() - t0));
    }
    console.log(
      `${keyType.padEnd(10)} CSRs: ${median(sequential).toFixed(0).padStart(6)} certs/s sequential, ` +
        `${median(parallel).toFixed(0).padStart(6)} certs/s with ${concurrency} in flight ` +
        `(median of ${runs} runs x ${csrCount} CSRs, ${(1000 / median(sequential)).toFixed(2)} ms/cert)`,
    );
  }
} finally {
  rmSync(stateDir, { recursive: true, force: true });
}
