// Gateway throughput against references (issue #5, "Measure"), in one run on 127.0.0.1, all in front of the same
// node:http upstream process (20-byte body):
//   (a) the upstream direct, (b) nginx reverse proxy (one worker, keep-alive upstream), (c) a plain node:http proxy
//   with a keep-alive agent, (d) halyard gateway with no filters (static bootstrap), (e) the payments ingress:
//   `halyard serve -f examples/payments` (a copy with free ports) feeding `halyard gateway --xds` as the router node
//   labelled istio=ingressgateway, whose chain is halyard.fault + halyard.route; the request (Host
//   payments.example.com, GET /pay) takes the "stable" 90/10 v1/v2 route, the upstream answers on every WorkloadEntry
//   port. Extra column: the static gateway with one halyard.echo filter.
// Phase 1: wrk (-t1 -cN) drives each target in rotating order for several rounds; medians of req/s, p50, p99, the
// proxy's CPU per request (from /proc) and the ratios. Phase 2 (unless --rate 0): an open-loop load generator in
// this process sends a fixed --rate req/s to each target (rotating, same rounds) and reports p50/p99 (from the moment
// the request is issued, agent queueing included), p99 added over the direct upstream, and the proxy's vCPU per
// 1 000 req/s. Not part of `npm test`.
//
//   node scripts/build.js && node bench/gateway/compare.mjs [--rounds 5] [--duration 5] [--connections 32]
//     [--rate 1000] [--rate-duration 5] [--skip-nginx] [--only nodeproxy,halyard,halyard_payments] [--cpu-prof DIR]
//     [--access-log] (gateways log every request to a file, as in production) [--skip-wrk] (fixed-rate phase only)
//     [--gateway-output DIR] (each child's output after startup, e.g. --trace-deopt, to DIR/out-<pid>.log)
// Extra targets, the CPU floors: (f) bench/gateway/raw-forwarder.mjs, an HTTP/1.1 forwarder on raw net.Socket;
// (g) bench/gateway/codec-forwarder.mjs, the gateway's own HTTP/1.1 codec forwarding with nothing in between.
// nginx's CPU is its worker's (the master only waits).
//
// Needs wrk (apt-get install wrk) and nginx (apt-get install nginx) unless --skip-nginx; the script writes its own
// nginx.conf in a temp dir and starts/stops nginx itself.
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const args = parseArgs(process.argv.slice(2));
const rounds = Number(args.rounds ?? 5);
const duration = Number(args.duration ?? 5);
const connections = Number(args.connections ?? 32);
const skipNginx = args["skip-nginx"] !== undefined;
const only = args.only ? String(args.only).split(",") : undefined;
const rate = Number(args.rate ?? 1000);
const rateDuration = Number(args["rate-duration"] ?? 5);
/** Every target gets the request the payments ingress routes (VirtualService "stable": 90/10 v1/v2). */
const HOST = "payments.example.com";
const PATH = "/pay";
const INGRESS_NODE_ID = "router~127.0.0.1~payments-ingress.istio-system~istio-system.svc.cluster.local";

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    if (!argv[i].startsWith("--")) continue;
    const eq = argv[i].indexOf("=");
    if (eq > 0) {
      out[argv[i].slice(2, eq)] = argv[i].slice(eq + 1); // --name=value, for values that start with "--"
      continue;
    }
    const next = argv[i + 1];
    out[argv[i].slice(2)] = next === undefined || next.startsWith("--") ? true : argv[++i];
  }
  return out;
}

function fail(msg) {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(1);
}

if (spawnSync("wrk", ["--version"]).error) fail("wrk is not installed (apt-get install wrk)");
if (!skipNginx && spawnSync("nginx", ["-v"]).error) fail("nginx is not installed (apt-get install nginx), or pass --skip-nginx");
if (!existsSync(join(root, "dist/gateway/cli.js"))) fail("dist/ is missing: run `node scripts/build.js` first");

const dir = mkdtempSync(join(tmpdir(), "halyard-compare-"));
const children = [];
const cleanup = () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
};
process.on("exit", cleanup);
process.on("SIGINT", () => process.exit(130));

// Once ready, a child's output is read and dropped: stdout to a pipe is a blocking write on Linux, so a reader that
// falls behind would stall the child.
function start(cmd, argv, pattern, count = 1) {
  const child = spawn(cmd, argv, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  let ready = false;
  return new Promise((res, rej) => {
    const take = (d) => {
      if (ready) {
        if (args["gateway-output"]) appendFileSync(join(String(args["gateway-output"]), `out-${child.pid}.log`), d);
        return;
      }
      out += d;
      const found = [...out.matchAll(pattern)];
      if (found.length >= count) (ready = true), (out = ""), res(found);
    };
    child.stderr.on("data", take);
    child.stdout.on("data", take);
    child.on("exit", (code) => (ready ? fail(`${cmd} ${argv.join(" ")} exited ${code} during the run`) : rej(new Error(`${cmd} ${argv.join(" ")} exited ${code}\n${out}`))));
  });
}

// SIGTERM, then wait (bounded) so a --cpu-prof gateway writes its profile before this process exits.
async function stopChildren() {
  const alive = children.filter((c) => c.exitCode === null && c.signalCode === null);
  for (const c of alive) c.removeAllListeners("exit");
  await Promise.all(alive.map((c) => new Promise((res) => {
    const t = setTimeout(() => (c.kill("SIGKILL"), res()), 10_000);
    c.once("exit", () => (clearTimeout(t), res()));
    c.kill("SIGTERM");
  })));
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

// One upstream process: its first port for (a)-(d), then one server per payments WorkloadEntry port (argv).
const UPSTREAM = `
  const http = require("node:http");
  const body = Buffer.from("hello from upstream\\n");
  const handler = (req, res) => { req.resume(); req.on("end", () => { res.writeHead(200, { "content-type": "text/plain", "content-length": body.length }); res.end(body); }); };
  for (const p of [0, ...process.argv.slice(1).map(Number)]) {
    const s = http.createServer(handler);
    s.keepAliveTimeout = 60000;
    s.listen(p, "127.0.0.1", () => console.log((p ? "workload " : "upstream ") + s.address().port));
  }
`;

// (c): the simplest production-shaped node proxy: keep-alive agent, headers copied, bodies piped.
const NODE_PROXY = `
  const http = require("node:http");
  const [host, port] = ["127.0.0.1", Number(process.argv[1])];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const s = http.createServer((req, res) => {
    const up = http.request({ host, port, method: req.method, path: req.url, headers: req.headers, agent }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on("error", () => { res.writeHead(502); res.end(); });
    req.pipe(up);
  });
  s.keepAliveTimeout = 60000;
  s.listen(0, "127.0.0.1", () => console.log("proxy " + s.address().port));
`;

// The payments config, copied with free ports for the WorkloadEntries and the Gateway server (so parallel runs and
// a running demo never collide); everything else as in examples/payments.
const paymentsDir = join(dir, "payments");
mkdirSync(paymentsDir);
const workloadPorts = { 18081: await freePort(), 18082: await freePort(), 18083: await freePort() };
const ingressPort = await freePort();
for (const f of readdirSync(join(root, "examples/payments")).filter((f) => f.endsWith(".yaml"))) {
  let text = readFileSync(join(root, "examples/payments", f), "utf8");
  for (const [from, to] of Object.entries(workloadPorts)) text = text.replaceAll(`http: ${from}`, `http: ${to}`);
  if (f === "gateway.yaml") text = text.replace(/number: 80\b/, `number: ${ingressPort}`);
  writeFileSync(join(paymentsDir, f), text);
}

const upstreamPort = (await start(process.execPath, ["-e", UPSTREAM, ...Object.values(workloadPorts).map(String)], /(upstream|workload) (\d+)/g, 4)).find((m) => m[1] === "upstream")[2];
const pids = { upstream: children.at(-1).pid };
const targets = { upstream: `http://127.0.0.1:${upstreamPort}` };

if (!skipNginx) {
  const port = await freePort();
  const conf = join(dir, "nginx.conf");
  writeFileSync(
    conf,
    `${process.getuid?.() === 0 ? "user root;\n" : ""}worker_processes 1;
daemon off;
pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "error.log")} warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${join(dir, "body")};
  proxy_temp_path ${join(dir, "proxy")};
  fastcgi_temp_path ${join(dir, "fastcgi")};
  uwsgi_temp_path ${join(dir, "uwsgi")};
  scgi_temp_path ${join(dir, "scgi")};
  keepalive_requests 1000000;
  upstream backend { server 127.0.0.1:${upstreamPort}; keepalive 64; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port};
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`,
  );
  const nginx = spawn("nginx", ["-c", conf, "-p", dir], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(nginx);
  let nginxOut = "";
  nginx.stderr.on("data", (d) => (nginxOut += d));
  nginx.on("exit", (code) => code && fail(`nginx exited ${code}: ${nginxOut}`));
  await waitFor(`http://127.0.0.1:${port}/`, () => `nginx did not start: ${nginxOut}`);
  targets.nginx = `http://127.0.0.1:${port}`;
  pids.nginx = nginxWorker(nginx.pid);
}

const [[, proxyPort]] = await start(process.execPath, ["-e", NODE_PROXY, upstreamPort], /proxy (\d+)/g);
targets.nodeproxy = `http://127.0.0.1:${proxyPort}`;
pids.nodeproxy = children.at(-1).pid;

// (f): the floor for the CPU target, a raw net.Socket forwarder (raw-forwarder.mjs: content-length framing only).
const [[, rawPort]] = await start(process.execPath, [join(root, "bench/gateway/raw-forwarder.mjs"), upstreamPort], /raw (\d+)/g);
targets.rawfloor = `http://127.0.0.1:${rawPort}`;
pids.rawfloor = children.at(-1).pid;

// (g): the gateway's HTTP/1.1 codec alone (codec-forwarder.mjs).
const [[, codecPort]] = await start(process.execPath, [join(root, "bench/gateway/codec-forwarder.mjs"), upstreamPort], /codec (\d+)/g);
targets.codecfloor = `http://127.0.0.1:${codecPort}`;
pids.codecfloor = children.at(-1).pid;

const listener = (name, filters) => ({
  name,
  address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
  filter_chains: [{ filters: [{
    name: "envoy.filters.network.http_connection_manager",
    typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
      stat_prefix: name,
      route_config: { virtual_hosts: [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "upstream" } }] }] },
      http_filters: [...filters, { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } }],
    },
  }] }],
});
const echo = {
  name: "envoy.filters.http.wasm",
  typed_config: {
    "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
    config: {
      name: "echo", root_id: "halyard.echo",
      vm_config: { vm_id: "echo", runtime: "envoy.wasm.runtime.v8", code: { local: { filename: join(root, "wasm/build/halyard.wasm") } } },
      configuration: { "@type": "type.googleapis.com/google.protobuf.StringValue", value: "{}" },
    },
  },
};
const bootstrapFile = join(dir, "bootstrap.json");
writeFileSync(bootstrapFile, JSON.stringify({
  static_resources: {
    listeners: [listener("nofilter", []), listener("echo", [echo])],
    clusters: [{
      name: "upstream", type: "STATIC", connect_timeout: "1s", lb_policy: "ROUND_ROBIN",
      load_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: Number(upstreamPort) } } } }] }] },
    }],
  },
}));
const profArgs = [
  ...(args["cpu-prof"] ? ["--cpu-prof", "--cpu-prof-dir", resolve(String(args["cpu-prof"]))] : []),
  // --gateway-node-flags="--no-liftoff ...": extra node/V8 flags for the two gateway processes.
  ...(args["gateway-node-flags"] ? String(args["gateway-node-flags"]).split(" ").filter(Boolean) : []),
];
// No access log by default (as nginx here: access_log off; the node proxy logs nothing either); --access-log writes
// each gateway's default-format log to a file in the temp dir, as in production; no drain wait at the end.
const accessLog = (name) => (args["access-log"] !== undefined ? join(dir, `access-${name}.log`) : "off");
const gwOps = (name) => ["--access-log", accessLog(name), "--drain-time", "0s"];
const gwArgs = [...profArgs, "bin/halyard.js", "gateway", "-c", bootstrapFile, ...gwOps("static")];
for (const m of await start(process.execPath, gwArgs, /listener "(\w+)" on (http:\/\/\S+)/g, 2)) targets[m[1] === "nofilter" ? "halyard" : "halyard_echo"] = m[2];
pids.halyard = pids.halyard_echo = children.at(-1).pid;

// (e): the control plane on the payments config, and the ingress gateway it feeds (as `halyard demo` runs them).
const [[, xds]] = await start(
  process.execPath,
  ["bin/halyard.js", "serve", "-f", paymentsDir, "--host", "127.0.0.1", "--xds-port", "0", "--http-port", "0", "--ca-port", "0", "--state-dir", join(dir, "state")],
  /xds grpc on (\S+)/g,
);
await start(
  process.execPath,
  [...profArgs, "bin/halyard.js", "gateway", "--xds", xds, "--node", INGRESS_NODE_ID, "--labels", "istio=ingressgateway", ...gwOps("payments")],
  /configuration \d+ applied \([1-9]/g,
);
targets.halyard_payments = `http://127.0.0.1:${ingressPort}`;
pids.halyard_payments = children.at(-1).pid;
await waitFor(targets.halyard_payments, () => "the payments ingress does not answer 200 for Host payments.example.com");

// The one worker of an nginx started with worker_processes 1: the master's only child.
function nginxWorker(masterPid) {
  try {
    const children = readFileSync(`/proc/${masterPid}/task/${masterPid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
    return children.length === 1 ? Number(children[0]) : undefined;
  } catch {
    return undefined;
  }
}

// CPU time (user + system) a process has used, in µs: with wrk, upstream and proxy sharing a few cores, CPU per
// request is the steadier figure of a proxy's cost.
function cpuUs(pid, kernelOnly = false) {
  if (!pid) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    // utime, stime in clock ticks (USER_HZ 100)
    return (((kernelOnly ? 0 : Number(fields[11])) + Number(fields[12])) * 1e6) / 100;
  } catch {
    return NaN;
  }
}

// Minor + major page faults a process has taken (a fault costs kernel time: memory mapped, grown or touched anew).
function faults(pid) {
  if (!pid) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return Number(fields[7]) + Number(fields[9]); // minflt, majflt
  } catch {
    return NaN;
  }
}

async function waitFor(url, why) {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await get(`${url}${PATH}`)) === 200) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  fail(why());
}

// fetch() would not send our Host header; node:http does.
function get(url) {
  return new Promise((res) => {
    const req = httpRequest(url, { headers: { host: HOST } }, (r) => (r.resume(), res(r.statusCode)));
    req.on("error", () => res(0));
    req.end();
  });
}

const UNIT = { us: 1, ms: 1000, s: 1e6 };
function latencyUs(out, pct) {
  const m = new RegExp(`\\s${pct}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
  return m ? Number(m[1]) * UNIT[m[2]] : NaN;
}

function wrk(url, seconds, pid) {
  const cpu0 = cpuUs(pid);
  const sys0 = cpuUs(pid, true);
  const flt0 = faults(pid);
  const r = spawnSync("wrk", ["-t1", `-c${connections}`, `-d${seconds}s`, "--latency", "-H", `Host: ${HOST}`, `${url}${PATH}`], { encoding: "utf8" });
  if (r.status !== 0) fail(`wrk failed: ${r.stderr}`);
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(r.stdout);
  if (errors) fail(`wrk saw errors against ${url}: ${errors[0]}`);
  const requests = Number(/(\d+) requests in/.exec(r.stdout)?.[1]);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1]),
    p50: latencyUs(r.stdout, 50),
    p99: latencyUs(r.stdout, 99),
    cpu: (cpuUs(pid) - cpu0) / requests,
    sys: (cpuUs(pid, true) - sys0) / requests,
    flt: (faults(pid) - flt0) / requests,
  };
}

const LABELS = {
  upstream: "(a) upstream direct",
  nginx: "(b) nginx, 1 worker, keep-alive upstream",
  nodeproxy: "(c) node:http proxy, keep-alive agent",
  halyard: "(d) halyard gateway, no filters",
  halyard_payments: "(e) halyard ingress, payments config (fault + route)",
  halyard_echo: "(e') halyard gateway, one halyard.echo filter",
  rawfloor: "(f) raw net.Socket forwarder (floor)",
  codecfloor: "(g) the gateway's HTTP/1.1 codec alone, forwarding",
};
const names = Object.keys(LABELS).filter((n) => targets[n] && (!only || only.includes(n)));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const medians = (samples, keys) => Object.fromEntries(Object.entries(samples).map(([n, xs]) => [n, Object.fromEntries(keys.map((k) => [k, median(xs.map((x) => x[k]))]))]));
const fmtUs = (us) => (Math.abs(us) >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(0)} µs`);

// --skip-wrk: the fixed-rate phase only (e.g. a --cpu-prof of the gateways at a fixed rate).
if (args["skip-wrk"] === undefined) {
  for (const n of names) wrk(targets[n], 2); // warm up JIT, keep-alive pools, the wasm VM
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < rounds; i++) {
    const order = names.map((_, j) => names[(i + j) % names.length]);
    for (const n of order) samples[n].push(wrk(targets[n], duration, pids[n]));
    process.stderr.write(`round ${i + 1}/${rounds}: ${names.map((n) => `${n} ${samples[n].at(-1).rps.toFixed(0)}`).join(", ")}\n`);
  }
  const med = medians(samples, ["rps", "p50", "p99", "cpu", "sys", "flt"]);
  console.log(`wrk -t1 -c${connections} -d${duration}s, ${rounds} rotating rounds, medians (node ${process.version}, load average ${loadAverage()})`);
  console.log(`| target | req/s | p50 | p99 | proxy CPU per request | of which kernel | page faults per request |`);
  console.log(`| --- | --- | --- | --- | --- | --- | --- |`);
  for (const n of names) {
    const cpu = n !== "upstream" && Number.isFinite(med[n].cpu) ? `${med[n].cpu.toFixed(1)} µs` : "-";
    const sys = n !== "upstream" && Number.isFinite(med[n].sys) ? `${med[n].sys.toFixed(1)} µs` : "-";
    const flt = n !== "upstream" && Number.isFinite(med[n].flt) ? med[n].flt.toFixed(3) : "-";
    console.log(`| ${LABELS[n]} | ${med[n].rps.toFixed(0)} | ${fmtUs(med[n].p50)} | ${fmtUs(med[n].p99)} | ${cpu} | ${sys} | ${flt} |`);
  }
  const ratio = (a, b) => (med[a] && med[b] ? (med[a].rps / med[b].rps).toFixed(2) : "n/a");
  console.log(`ratios (req/s): (d)/(c) ${ratio("halyard", "nodeproxy")}, (e)/(c) ${ratio("halyard_payments", "nodeproxy")}, (e')/(c) ${ratio("halyard_echo", "nodeproxy")}, (e)/(b) ${ratio("halyard_payments", "nginx")}`);
  const cpuRatio = (a, b) => (med[a] && med[b] ? (med[b].cpu / med[a].cpu).toFixed(2) : "n/a");
  console.log(`ratios (requests per CPU-second, c/x): (d)/(c) ${cpuRatio("halyard", "nodeproxy")}, (e)/(c) ${cpuRatio("halyard_payments", "nodeproxy")}, (e')/(c) ${cpuRatio("halyard_echo", "nodeproxy")}`);
}

if (rate > 0) {
  const rateNames = names.includes("upstream") ? names : ["upstream", ...names];
  const fixed = Object.fromEntries(rateNames.map((n) => [n, []]));
  for (const n of rateNames) await openLoop(targets[n], rate, 1); // warm up this client's connections
  for (let i = 0; i < rounds; i++) {
    const order = rateNames.map((_, j) => rateNames[(i + j) % rateNames.length]);
    for (const n of order) fixed[n].push(await openLoop(targets[n], rate, rateDuration, pids[n]));
    process.stderr.write(`fixed-rate round ${i + 1}/${rounds}: ${rateNames.map((n) => `${n} p99 ${fmtUs(fixed[n].at(-1).p99)}`).join(", ")}\n`);
  }
  const fm = medians(fixed, ["p50", "p99", "vcpu", "achieved"]);
  console.log(`\nopen loop at ${rate} req/s for ${rateDuration}s, ${rounds} rotating rounds, medians (load average ${loadAverage()})`);
  console.log(`| target | achieved req/s | p50 | p99 | p99 added over (a) | proxy vCPU per 1 000 req/s |`);
  console.log(`| --- | --- | --- | --- | --- | --- |`);
  for (const n of rateNames) {
    const added = n === "upstream" ? "-" : fmtUs(fm[n].p99 - fm.upstream.p99);
    const vcpu = n === "upstream" ? "-" : fm[n].vcpu.toFixed(3);
    console.log(`| ${LABELS[n]} | ${fm[n].achieved.toFixed(0)} | ${fmtUs(fm[n].p50)} | ${fmtUs(fm[n].p99)} | ${added} | ${vcpu} |`);
  }
}
await stopChildren();
process.exit(0);

function loadAverage() {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}

// Open-loop load: request k is issued at start + k/rate whatever the earlier ones are doing (bounded by a pool of
// 256 keep-alive sockets); latency runs from issuing the request (so agent queueing counts) to the last body byte.
// Any error or non-200 ends the benchmark: a fast error would flatter the figures.
function openLoop(url, perSecond, seconds, pid) {
  const { hostname, port } = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const total = Math.round(perSecond * seconds);
  const latencies = new Float64Array(total);
  const cpu0 = cpuUs(pid);
  const t0 = performance.now();
  let issued = 0;
  let finished = 0;
  return new Promise((res) => {
    const issue = () => {
      const k = issued++;
      const begin = performance.now();
      const req = httpRequest({ hostname, port, path: PATH, headers: { host: HOST }, agent }, (r) => {
        if (r.statusCode !== 200) fail(`fixed-rate: ${url} answered ${r.statusCode}`);
        r.resume();
        r.on("end", () => {
          latencies[k] = (performance.now() - begin) * 1000;
          if (++finished === total) done();
        });
      });
      req.on("error", (e) => fail(`fixed-rate: ${url}: ${e.message}`));
      req.end();
    };
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * perSecond) / 1000) + 1);
      while (issued < due) issue();
      if (issued < total) setTimeout(tick, 1);
    };
    const done = () => {
      const wall = (performance.now() - t0) / 1000;
      agent.destroy();
      const sorted = latencies.sort();
      const at = (q) => sorted[Math.min(total - 1, Math.floor(q * total))];
      res({ p50: at(0.5), p99: at(0.99), achieved: total / wall, vcpu: (cpuUs(pid) - cpu0) / 1e6 / wall / (perSecond / 1000) });
    };
    tick();
  });
}
