// Mesh CA signing rate: certificates per second from ECDSA P-256 and RSA-2048 CSRs through the real certificate API
// (istio.v1.auth.IstioCertificateService/CreateCertificate over gRPC+TLS on 127.0.0.1, bearer token re-read from a
// file per call, as gateway/identity's CA client does), one at a time and with N in flight; plus the same CSRs
// signed in process (CSR parse + signature check + SVID issue with the CA's ECDSA P-256 root) to show what the
// transport costs. CSRs are made once up front; key generation is not timed. Medians of several runs. Not part of
// `npm test`.
//
//   npx esbuild bench/ca.ts --bundle --platform=node --format=esm --packages=external --outfile=node_modules/.cache/ca-bench.mjs
//   node node_modules/.cache/ca-bench.mjs [--runs 7] [--csrs 200] [--concurrency 8]
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCsr } from "../control/ca/csr.js";
import { generateKeyPair, type KeyType } from "../control/ca/keys.js";
import { openMeshCa } from "../control/ca/open.js";
import { startCaServer } from "../control/ca/server.js";
import { loadOrCreateTokenKeys, mintServiceAccountToken, TokenVerifier } from "../control/ca/token.js";
import { createCaClient } from "../gateway/identity/ca-client.js";

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1]!);
const runs = Number(args.get("runs") ?? 7);
const csrCount = Number(args.get("csrs") ?? 200);
const concurrency = Number(args.get("concurrency") ?? 8);

const account = { namespace: "default", serviceAccount: "bench" };
const stateDir = mkdtempSync(join(tmpdir(), "halyard-ca-bench-"));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** certs/s signing every CSR with `sign`, one at a time and with `concurrency` in flight. */
async function rates(csrs: string[], sign: (csr: string) => Promise<unknown>): Promise<{ sequential: number; parallel: number }> {
  const sequential: number[] = [];
  const parallel: number[] = [];
  for (let r = 0; r < runs; r++) {
    let t0 = performance.now();
    for (const csr of csrs) await sign(csr);
    sequential.push((csrs.length * 1000) / (performance.now() - t0));
    t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < csrs.length) await sign(csrs[next++]!);
      }),
    );
    parallel.push((csrs.length * 1000) / (performance.now() - t0));
  }
  return { sequential: median(sequential), parallel: median(parallel) };
}

try {
  const ca = await openMeshCa({ stateDir });
  const server = await startCaServer({ ca, tokenVerifier: await TokenVerifier.fromStateDir(stateDir), host: "127.0.0.1", port: 0, log: () => {} });
  const tokenFile = join(stateDir, "token");
  writeFileSync(tokenFile, await mintServiceAccountToken(await loadOrCreateTokenKeys(stateDir), account));
  const client = createCaClient({ address: `127.0.0.1:${server.port}`, rootPem: ca.rootCertPem, tokenFile });
  const identity = ca.spiffeIdOf(account);
  await client.sign(await createCsr(await generateKeyPair(), { uris: [identity] }), 0); // connect and warm up
  try {
    for (const keyType of ["ecdsa-p256", "rsa-2048"] as KeyType[]) {
      const csrs: string[] = [];
      for (let i = 0; i < csrCount; i++) csrs.push(await createCsr(await generateKeyPair(keyType), { uris: [identity] }));
      const grpc = await rates(csrs, (csr) => client.sign(csr, 0));
      const local = await rates(csrs, (csr) => ca.signCsr(csr, account));
      const line = (what: string, r: { sequential: number; parallel: number }) =>
        `${keyType.padEnd(10)} ${what.padEnd(10)} ${r.sequential.toFixed(0).padStart(6)} certs/s sequential (${(1000 / r.sequential).toFixed(2)} ms/cert), ` +
        `${r.parallel.toFixed(0).padStart(6)} certs/s with ${concurrency} in flight`;
      console.log(line("gRPC API", grpc));
      console.log(line("in process", local));
    }
    console.log(`(median of ${runs} runs x ${csrCount} CSRs each)`);
  } finally {
    client.close();
    await server.close();
  }
} finally {
  rmSync(stateDir, { recursive: true, force: true });
}
