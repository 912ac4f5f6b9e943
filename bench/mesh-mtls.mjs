// Throughput A -> B through two sidecar gateways, mesh mTLS vs plain text, in the same run. `halyard serve` (real
// CLI) and two `halyard gateway` sidecar children (A's, B's) on 127.0.0.1 with identities from the serve's CA; this
// process is app A (a keep-alive node:http client with bounded concurrency, calling A's outbound listener with
// Host b.mesh.svc.cluster.local) and app B (node:http, 20-byte body). Rounds alternate the two modes by config
// edits: mTLS = PeerAuthentication STRICT (auto-mTLS upstream), plain = PeerAuthentication DISABLE + DestinationRule
// tls DISABLE. CPU of the two sidecars from /proc/<pid>/stat (utime + stime) over each round. Prints medians.
// PROBE=1 first prints single-hop figures (app B alone, B's inbound, A's outbound) at concurrency 1 and 16.
//
//   node scripts/build.js
//   node bench/mesh-mtls.mjs [--rounds 3] [--duration 5] [--concurrency 16]
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, Agent, request } from "node:http";
import { createServer as createNetServer } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { createCsr } = await import(join(root, "dist/control/ca/csr.js"));
const { generateKeyPair, exportPrivateKeyPem } = await import(join(root, "dist/control/ca/keys.js"));
const { certificateServiceDefinition } = await import(join(root, "dist/control/ca/service.js"));

const opts = { rounds: 3, duration: 5, concurrency: 16 };
for (let i = 2; i < process.argv.length; i += 2) opts[process.argv[i].replace(/^--/, "")] = Number(process.argv[i + 1]);
const NS = "mesh";
const hostOf = (n) => `${n}.${NS}.svc.cluster.local`;
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"]).stdout.toString().trim() || 100);

const freePort = () => new Promise((r) => { const s = createNetServer(); s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => r(p)); }); });

function child(args, label) {
  const c = spawn(process.execPath, [join(root, "bin/halyard.js"), ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  c.stdout.on("data", (d) => (out += d));
  c.stderr.on("data", (d) => (out += d));
  return {
    c, out: () => out,
    async waitFor(re, from = 0, ms = 20_000) {
      const end = Date.now() + ms;
      for (;;) {
        const m = re.exec(out.slice(from));
        if (m) return m;
        if (Date.now() > end || c.exitCode !== null) throw new Error(`${label}: no ${re}\n${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    stop: () => new Promise((r) => { if (c.exitCode !== null) return r(); c.once("exit", r); c.kill("SIGTERM"); }),
  };
}

function serviceYaml(name, inboundPort) {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: ${NS}}
spec:
  hosts: [${hostOf(name)}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: http, protocol: HTTP}]
  workloadSelector: {labels: {app: ${name}}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: ${name}-1, namespace: ${NS}}
spec:
  address: 127.0.0.1
  serviceAccount: ${name}
  ports: {http: ${inboundPort}}
  labels: {app: ${name}, halyard.io/sidecar: "true"}
`;
}
const peerAuth = (mode) => `apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: ${NS}}\nspec:\n  mtls: {mode: ${mode}}\n`;
const drDisable = `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: b, namespace: ${NS}}\nspec:\n  host: ${hostOf("b")}\n  trafficPolicy:\n    tls: {mode: DISABLE}\n`;

async function workloadSecrets(dir, caPort, rootPem, stateDir, sa) {
  const tok = spawnSync(process.execPath, [join(root, "bin/halyard.js"), "token", "create", "--sa", `${NS}/${sa}`, "--state-dir", stateDir]);
  if (tok.status !== 0) throw new Error(tok.stderr.toString());
  const keys = await generateKeyPair("ecdsa-p256");
  const csr = await createCsr(keys, { uris: [`spiffe://cluster.local/ns/${NS}/sa/${sa}`] });
  const Ctor = grpc.makeGenericClientConstructor(certificateServiceDefinition, "IstioCertificateService");
  const client = new Ctor(`127.0.0.1:${caPort}`, grpc.credentials.createSsl(Buffer.from(rootPem)), { "grpc.ssl_target_name_override": "istiod.istio-system.svc" });
  const md = new grpc.Metadata();
  md.set("authorization", `Bearer ${tok.stdout.toString().trim()}`);
  const chain = await new Promise((res, rej) => client.CreateCertificate({ csr }, md, (e, r) => (e ? rej(e) : res(r.certChain))));
  client.close();
  for (const d of ["default", "ROOTCA"]) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, "default", "tls.crt"), chain.filter((c) => c.trim() !== rootPem.trim()).join(""));
  writeFileSync(join(dir, "default", "tls.key"), await exportPrivateKeyPem(keys.privateKey));
  writeFileSync(join(dir, "ROOTCA", "ca.crt"), rootPem);
}

function cpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return (Number(rest[11]) + Number(rest[12])) / CLK_TCK; // utime, stime (fields 14, 15)
}

/** Bounded-concurrency keep-alive load for `seconds`: completed requests, failures. */
async function load(port, seconds, concurrency) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const end = Date.now() + seconds * 1000;
  let ok = 0, failed = 0;
  const one = () => new Promise((r) => {
    const req = request({ host: "127.0.0.1", port, path: "/", agent, headers: { host: hostOf("b") } }, (res) => {
      res.resume();
      res.on("end", () => { if (res.statusCode === 200) ok++; else failed++; r(); });
    });
    req.on("error", () => { failed++; r(); });
    req.end();
  });
  await Promise.all(Array.from({ length: concurrency }, async () => { while (Date.now() < end) await one(); }));
  agent.destroy();
  return { ok, failed };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dir = mkdtempSync(join(tmpdir(), "halyard-mesh-bench-"));
const configDir = join(dir, "config");
const stateDir = join(dir, "state");
mkdirSync(configDir);
const inA = await freePort(), inB = await freePort();
writeFileSync(join(configDir, "services.yaml"), `${serviceYaml("a", inA)}---\n${serviceYaml("b", inB)}`);
writeFileSync(join(configDir, "pa.yaml"), peerAuth("STRICT"));
const plane = child(["serve", "-f", configDir, "--host", "127.0.0.1", "--xds-port", "0", "--http-port", "0", "--ca-port", "0", "--state-dir", stateDir], "serve");
const xdsPort = Number((await plane.waitFor(/^xds grpc on 127\.0\.0\.1:(\d+)$/m))[1]);
const httpPort = Number((await plane.waitFor(/^http on http:\/\/127\.0\.0\.1:(\d+)/m))[1]);
const caPort = Number((await plane.waitFor(/^ca grpc\+tls on 127\.0\.0\.1:(\d+)/m))[1]);
const rootPem = await (await fetch(`http://127.0.0.1:${httpPort}/ca/root-cert.pem`)).text();
await workloadSecrets(join(dir, "sa"), caPort, rootPem, stateDir, "a");
await workloadSecrets(join(dir, "sb"), caPort, rootPem, stateDir, "b");

let lastXfcc;
const appB = createServer((req, res) => { lastXfcc = req.headers["x-forwarded-client-cert"]; res.end("01234567890123456789"); });
await new Promise((r) => appB.listen(0, "127.0.0.1", r));
const sidecar = (name, inbound, secrets) =>
  child(["gateway", "--xds", `127.0.0.1:${xdsPort}`, "--node", `sidecar~127.0.0.1~${name}-1.${NS}~${NS}.svc.cluster.local`, "--inbound-port", String(inbound), "--outbound-port", "0", "--app-port", String(name === "b" ? appB.address().port : 1), "--secrets-dir", secrets, "--access-log", "off"], `sidecar ${name}`);
const sa = sidecar("a", inA, join(dir, "sa"));
const sb = sidecar("b", inB, join(dir, "sb"));
const outA = Number((await sa.waitFor(/listener "virtualOutbound" on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
await sb.waitFor(/listener "virtualInbound" on/);

let current = "mtls";
async function setMode(mode) {
  if (mode === current) return;
  current = mode;
  const fa = sa.out().length, fb = sb.out().length;
  writeFileSync(join(configDir, "pa.yaml"), peerAuth(mode === "mtls" ? "STRICT" : "DISABLE"));
  if (mode === "plain") writeFileSync(join(configDir, "dr.yaml"), drDisable);
  else rmSync(join(configDir, "dr.yaml"), { force: true });
  await Promise.all([sa.waitFor(/configuration \d+ applied/, fa), sb.waitFor(/listener "virtualInbound" on/, fb)]);
  // The mode is in effect when a request shows it: B's sidecar forwards A's identity only over mTLS.
  for (let i = 0; i < 100; i++) {
    const r = await load(outA, 0.05, 1);
    if (r.ok > 0 && (mode === "mtls") === (typeof lastXfcc === "string" && lastXfcc.includes("/sa/a"))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`mode ${mode} not in effect`);
}

if (process.env.PROBE) {
  await setMode("plain");
  for (const [name, port] of [["app B", appB.address().port], ["B inbound", inB], ["A outbound", outA]]) {
    for (const c of [1, 16]) {
      const r = await load(port, 2, c);
      console.log(`probe ${name} c=${c}: ${(r.ok / 2).toFixed(0)} req/s, failed ${r.failed}`);
    }
  }
}
const results = { mtls: [], plain: [] };
for (let round = 0; round < opts.rounds; round++) {
  for (const mode of ["mtls", "plain"]) {
    await setMode(mode);
    await load(outA, 1, opts.concurrency); // warm-up
    const self0 = process.cpuUsage();
    const cpu0 = cpuSeconds(sa.c.pid) + cpuSeconds(sb.c.pid);
    const t0 = performance.now();
    const r = await load(outA, opts.duration, opts.concurrency);
    const secs = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(sa.c.pid) + cpuSeconds(sb.c.pid) - cpu0;
    const self = process.cpuUsage(self0);
    const clientCpu = (self.user + self.system) / 1e6 / secs;
    const rps = r.ok / secs;
    // CPU of both sidecars per 1 000 req/s: CPU-seconds per second of wall time, scaled to 1 000 req/s.
    const cpuPer1k = (cpu / secs) / (rps / 1000);
    results[mode].push({ rps, cpuPer1k, failed: r.failed });
    console.log(`round ${round + 1} ${mode.padEnd(5)} ${rps.toFixed(0).padStart(6)} req/s  sidecars CPU ${(cpu / secs * 100).toFixed(0)}%  ${(cpuPer1k * 100).toFixed(1)}% CPU per 1000 req/s  failed ${r.failed}  (client + app B CPU ${(clientCpu * 100).toFixed(0)}%, load avg ${loadavg()[0].toFixed(1)})`);
  }
}
console.log(`\nmedians of ${opts.rounds} rounds, ${opts.duration} s each, concurrency ${opts.concurrency}:`);
for (const mode of ["mtls", "plain"]) {
  const xs = results[mode];
  console.log(`${mode.padEnd(5)} ${median(xs.map((x) => x.rps)).toFixed(0)} req/s, ${(median(xs.map((x) => x.cpuPer1k)) * 100).toFixed(1)}% of a core per 1000 req/s (both sidecars), failed ${xs.reduce((s, x) => s + x.failed, 0)}`);
}
await Promise.all([sa.stop(), sb.stop()]);
await plane.stop();
appB.close();
rmSync(dir, { recursive: true, force: true });
