// Control plane at scale: one `halyard serve` child process on 127.0.0.1 watching a generated mesh (1 000 services
// in 20 namespaces by default), 2 000 simulated sidecars on ADS (delta by default, or `--protocol sotw`;
// CDS/EDS/LDS/RDS, every response ACKed), then one VirtualService's weights edited on disk. Reports the initial full sync, the
// convergence of the edit (file written → last proxy ACKed the new RDS version: the edited virtual host's scoped
// RouteConfiguration, which every sidecar follows through its listener's scoped_routes), the control plane's RSS
// and CPU time (/proc), and the bytes it sent. Every wait is bounded; the run ends by itself. Not part of npm test.
//
//   node scripts/build.js ts       # dist/ (the serve child runs bin/halyard.js)
//   npx esbuild bench/control-plane/run.ts --bundle --platform=node --format=esm --packages=external \
//     --outfile=node_modules/.cache/halyard-bench/control-plane.mjs --log-level=warning
//   node node_modules/.cache/halyard-bench/control-plane.mjs [--services 1000] [--namespaces 20] [--proxies 2000]
//     [--protocol delta|sotw]
//     [--timeout 300] [--serve-node-flags "--cpu-prof --cpu-prof-dir=/tmp/prof"] [--serve-log /tmp/serve.log]
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CDS, EDS, LDS, MeshLoad, RDS, XDS_TYPES, type Sidecar, type XdsProtocol } from "./ads-load.js";
import { meshProxies, setWeights, writeMeshConfig, type MeshShape } from "./mesh-config.js";
import { sampleProcess, type ProcSample } from "./proc.js";

interface Args {
  services: number;
  namespaces: number;
  proxies: number;
  protocol: XdsProtocol;
  timeoutMs: number;
  serveNodeFlags: string[];
  /** Where the serve child's stdout/stderr go in full (e.g. with --serve-node-flags --trace-gc). */
  serveLog: string | undefined;
  keep: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const named = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) fail(`unexpected argument ${JSON.stringify(a)}`);
    if (a === "--keep") flags.add("keep");
    else {
      const v = argv[++i];
      if (v === undefined) fail(`${a} needs a value`);
      named.set(a.slice(2), v);
    }
  }
  const int = (name: string, dflt: number, min: number) => {
    const raw = named.get(name);
    if (raw === undefined) return dflt;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) fail(`--${name}: ${JSON.stringify(raw)} is not an integer >= ${min}`);
    return n;
  };
  for (const k of named.keys()) if (!["services", "namespaces", "proxies", "protocol", "timeout", "serve-node-flags", "serve-log"].includes(k)) fail(`unknown option --${k}`);
  const services = int("services", 1000, 1);
  const proxies = int("proxies", services * 2, 1);
  if (proxies > services * 2) fail(`--proxies: at most 2 per service (${services * 2})`);
  const protocol = named.get("protocol") ?? "delta";
  if (protocol !== "delta" && protocol !== "sotw") fail(`--protocol: ${JSON.stringify(protocol)} is not delta or sotw`);
  return {
    services,
    namespaces: int("namespaces", 20, 1),
    proxies,
    protocol,
    timeoutMs: int("timeout", 300, 1) * 1000,
    serveNodeFlags: (named.get("serve-node-flags") ?? "").split(/\s+/).filter(Boolean),
    serveLog: named.get("serve-log"),
    keep: flags.has("keep"),
  };
}

function fail(message: string): never {
  process.stderr.write(`bench control-plane: ${message}\n`);
  process.exit(2);
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
const ms = (t: number) => `${t.toFixed(0)} ms`;

/** Starts `halyard serve` and resolves with its xDS port once it prints it. */
function startServe(args: Args, configDir: string, stateDir: string, log: string[]): Promise<{ child: ChildProcess; port: number }> {
  const bin = join(root, "bin/halyard.js");
  if (!existsSync(join(root, "dist/control/cli/main.js"))) fail("dist/ is missing: run `node scripts/build.js ts` first");
  const child = spawn(
    process.execPath,
    [...args.serveNodeFlags, bin, "serve", "-f", configDir, "--host", "127.0.0.1", "--xds-port", "0", "--http-port", "0", "--ca-port", "0", "--state-dir", stateDir],
    { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
  );
  const full = args.serveLog ? createWriteStream(args.serveLog) : undefined;
  const keep = (chunk: Buffer) => {
    full?.write(chunk);
    for (const line of chunk.toString().split("\n")) if (line) log.push(line);
    if (log.length > 200) log.splice(0, log.length - 200);
  };
  child.stderr!.on("data", keep);
  return new Promise((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`halyard serve printed no xDS port within ${args.timeoutMs} ms`)), args.timeoutMs);
    child.stdout!.on("data", (chunk: Buffer) => {
      keep(chunk);
      const m = /xds grpc on 127\.0\.0\.1:(\d+)/.exec(chunk.toString());
      if (m) {
        clearTimeout(timer);
        resolvePort({ child, port: Number(m[1]) });
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`halyard serve exited with ${code}: ${log.slice(-5).join(" | ")}`));
    });
  });
}

function lastAck(sidecars: readonly Sidecar[], types: readonly string[]): number {
  let last = 0;
  for (const s of sidecars) for (const t of types) last = Math.max(last, s.progress.get(t)!.ackedAt);
  return last;
}

/** Waits until no response has arrived for `quietMs` (pushes still in flight would blur the next phase). */
async function quiesce(load: MeshLoad, quietMs: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let bytes = load.bytesReceived;
  let since = Date.now();
  while (Date.now() - since < quietMs) {
    if (Date.now() > deadline) throw new Error(`responses kept arriving for ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
    if (load.bytesReceived !== bytes) (bytes = load.bytesReceived), (since = Date.now());
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const shape: MeshShape = { services: args.services, namespaces: args.namespaces };
  const work = mkdtempSync(join(tmpdir(), "halyard-cp-bench-"));
  const configDir = join(work, "config");
  const services = writeMeshConfig(configDir, shape);
  const proxies = meshProxies(shape).slice(0, args.proxies);
  const serveLog: string[] = [];
  let child: ChildProcess | undefined;
  let load: MeshLoad | undefined;
  const cleanup = () => {
    load?.close();
    if (child && child.exitCode === null) child.kill("SIGKILL");
    if (!args.keep) rmSync(work, { recursive: true, force: true });
  };
  process.on("exit", cleanup);
  const hardStop = setTimeout(() => {
    process.stderr.write("bench control-plane: overall time limit reached\n");
    process.exit(1);
  }, args.timeoutMs * 4);
  hardStop.unref();

  try {
    const t0 = performance.now();
    const started = await startServe(args, configDir, join(work, "state"), serveLog);
    child = started.child;
    const startupMs = performance.now() - t0;
    const pid = child.pid!;
    const atStart = sampleProcess(pid);

    // Initial full sync: every proxy has ACKed CDS, EDS, LDS and RDS.
    const tConnect = performance.now();
    load = new MeshLoad({ port: started.port, proxies, protocol: args.protocol });
    const progress = setInterval(() => {
      const p = sampleProcess(pid);
      process.stderr.write(`  … ${load!.sidecars.filter((s) => s.synced).length}/${proxies.length} synced, ${mb(load!.bytesReceived)} received, serve rss ${mb(p.rss)} cpu ${ms(p.cpuMs)}\n`);
    }, 10_000);
    try {
      await load.waitAll((s) => s.synced, args.timeoutMs, "initial sync");
    } finally {
      clearInterval(progress);
    }
    const syncMs = lastAck(load.sidecars, XDS_TYPES) - tConnect;
    await quiesce(load, 1000, args.timeoutMs);
    const afterSync = sampleProcess(pid);
    const syncBytes = load.bytesReceived;

    // The edit: one VirtualService's weights; every sidecar follows that virtual host's scope over RDS.
    const before = new Map(load.sidecars.map((s) => [s, s.progress.get(RDS)!.ackedVersion]));
    const countsBefore = (t: string) => load!.sidecars.reduce((n, s) => n + s.progress.get(t)!.responses, 0);
    const typeResponsesBefore = new Map(XDS_TYPES.map((t) => [t, countsBefore(t)]));
    const target = services[Math.floor(services.length / 2)]!;
    const responsesBefore = load.sidecars.reduce((n, s) => n + [...s.progress.values()].reduce((m, p) => m + p.responses, 0), 0);
    const loadBeforeEdit = sampleProcess(process.pid);
    const tEdit = performance.now();
    setWeights(target, [50, 50]);
    await load.waitAll((s) => s.progress.get(RDS)!.ackedVersion !== before.get(s), args.timeoutMs, "convergence");
    const convergeMs = lastAck(load.sidecars, [RDS]) - tEdit;
    const ackTimes = load.sidecars.map((s) => s.progress.get(RDS)!.ackedAt - tEdit).sort((a, b) => a - b);
    const editAcks = `${ms(ackTimes[0]!)} / ${ms(ackTimes[Math.floor(ackTimes.length / 2)]!)} / ${ms(ackTimes.at(-1)!)}`;
    const loadCpuMs = sampleProcess(process.pid).cpuMs - loadBeforeEdit.cpuMs;
    await quiesce(load, 1000, args.timeoutMs);
    const afterEdit = sampleProcess(pid);
    const editBytes = load.bytesReceived - syncBytes;
    const editResponses = load.sidecars.reduce((n, s) => n + [...s.progress.values()].reduce((m, p) => m + p.responses, 0), 0) - responsesBefore;
    const byType = [CDS, EDS, LDS, RDS].map((t) => `${t.split(".").pop()} ${countsBefore(t) - typeResponsesBefore.get(t)!}`).join(", ");
    const rdsResources = load.sidecars.reduce((n, s) => n + s.progress.get(RDS)!.lastResources, 0);

    report({ args, startupMs, syncMs, convergeMs, atStart, afterSync, afterEdit, syncBytes, editBytes, editResponses, byType, rdsResources, editAcks, loadCpuMs, changed: target.file });
    clearTimeout(hardStop);
  } catch (e) {
    process.stderr.write(`bench control-plane: ${e instanceof Error ? e.message : String(e)}\n`);
    if (child?.pid && child.exitCode === null) {
      const s = sampleProcess(child.pid);
      process.stderr.write(`serve at failure: rss ${mb(s.rss)}, peak ${mb(s.peakRss)}, cpu ${ms(s.cpuMs)}\n`);
    }
    if (load) {
      process.stderr.write(`proxies synced: ${load.sidecars.filter((s) => s.synced).length}/${load.sidecars.length}, bytes received ${mb(load.bytesReceived)}\n`);
      for (const s of load.sidecars.filter((x) => !x.synced).slice(0, 5)) process.stderr.write(`  not synced: ${s.describe()}\n`);
    }
    process.stderr.write(serveLog.slice(-10).map((l) => `serve: ${l}\n`).join(""));
    process.exitCode = 1;
  } finally {
    if (child && child.exitCode === null) {
      child.kill("SIGTERM");
      // --cpu-prof writes its profile on a clean exit; a serve too busy to handle SIGTERM is killed.
      const exited = await new Promise<boolean>((r) => {
        const t = setTimeout(() => r(false), 10_000);
        child!.once("exit", () => (clearTimeout(t), r(true)));
      });
      if (!exited) child.kill("SIGKILL");
    }
    load?.close();
    load = undefined;
  }
  process.exit();
}

interface Figures {
  args: Args;
  startupMs: number;
  syncMs: number;
  convergeMs: number;
  atStart: ProcSample;
  afterSync: ProcSample;
  afterEdit: ProcSample;
  syncBytes: number;
  editBytes: number;
  editResponses: number;
  /** Responses per type for the edit. */
  byType: string;
  /** Resources in the last RDS response, summed over proxies. */
  rdsResources: number;
  /** First / median / last proxy's ACK of the edit, after the file was written. */
  editAcks: string;
  /** The load generator's own CPU time until the last ACK (it shares the machine with the serve). */
  loadCpuMs: number;
  changed: string;
}

function report(f: Figures): void {
  const rows: [string, string][] = [
    ["services / namespaces / proxies / protocol", `${f.args.services} / ${f.args.namespaces} / ${f.args.proxies} / ${f.args.protocol}`],
    ["serve startup (config load, until the xDS port is printed)", ms(f.startupMs)],
    ["initial full sync (streams opened → last CDS/EDS/LDS/RDS ACK)", ms(f.syncMs)],
    ["  bytes sent for it", mb(f.syncBytes)],
    ["  serve CPU time for it", ms(f.afterSync.cpuMs - f.atStart.cpuMs)],
    ["convergence (VirtualService file written → last proxy ACKed the new RDS version)", ms(f.convergeMs)],
    ["  responses / bytes sent for it", `${f.editResponses} / ${mb(f.editBytes)}`],
    ["  responses by type / resources in the RDS ones", `${f.byType} / ${f.rdsResources}`],
    ["  first / median / last proxy ACK", f.editAcks],
    ["  load generator CPU time until the last ACK", ms(f.loadCpuMs)],
    ["  serve CPU time for it", ms(f.afterEdit.cpuMs - f.afterSync.cpuMs)],
    ["serve RSS after sync / after the edit", `${mb(f.afterSync.rss)} / ${mb(f.afterEdit.rss)}`],
    ["serve peak RSS (VmHWM)", mb(f.afterEdit.peakRss)],
    ["serve CPU time in total", ms(f.afterEdit.cpuMs)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(`${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n")}\n`);
}

await main();
