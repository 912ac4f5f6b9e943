// Gateway throughput against references, in one run on 127.0.0.1, all in front of the same node:http upstream:
//   (a) the upstream direct, (b) nginx reverse proxy (one worker, keep-alive upstream), (c) a plain node:http proxy
//   with a keep-alive agent, (d) halyard gateway with no filters, (e) halyard gateway with one halyard.echo filter.
// wrk drives each target in rotating order for several rounds; we print medians of req/s, p50 and p99 and the
// ratios (d)/(c), (e)/(c), (e)/(b). Not part of `npm test`.
//
//   node scripts/build.js && node bench/gateway/compare.mjs [--rounds 5] [--duration 5] [--connections 32] [--skip-nginx]
//
// Needs wrk (apt-get install wrk) and nginx (apt-get install nginx) unless --skip-nginx; the script writes its own
// nginx.conf in a temp dir and starts/stops nginx itself.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    if (!argv[i].startsWith("--")) continue;
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

function start(cmd, argv, pattern, count = 1) {
  const child = spawn(cmd, argv, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  return new Promise((res, rej) => {
    const check = () => {
      const found = [...out.matchAll(pattern)];
      if (found.length >= count) res(found);
    };
    child.stderr.on("data", (d) => ((out += d), check()));
    child.stdout.on("data", (d) => ((out += d), check()));
    child.on("exit", (code) => rej(new Error(`${cmd} ${argv.join(" ")} exited ${code}\n${out}`)));
  });
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

const UPSTREAM = `
  const http = require("node:http");
  const body = Buffer.from("hello from upstream\\n");
  const s = http.createServer((req, res) => { req.resume(); req.on("end", () => { res.writeHead(200, { "content-type": "text/plain", "content-length": body.length }); res.end(body); }); });
  s.keepAliveTimeout = 60000;
  s.listen(0, "127.0.0.1", () => console.log("upstream " + s.address().port));
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

const [[, upstreamPort]] = await start(process.execPath, ["-e", UPSTREAM], /upstream (\d+)/g);
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
}

const [[, proxyPort]] = await start(process.execPath, ["-e", NODE_PROXY, upstreamPort], /proxy (\d+)/g);
targets.nodeproxy = `http://127.0.0.1:${proxyPort}`;
const pids = { nodeproxy: children.at(-1).pid };

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
const gwArgs = [...(args["cpu-prof"] ? ["--cpu-prof", "--cpu-prof-dir", String(args["cpu-prof"])] : []), "bin/halyard.js", "gateway", "-c", bootstrapFile];
for (const m of await start(process.execPath, gwArgs, /listener "(\w+)" on (http:\/\/\S+)/g, 2)) targets[m[1] === "nofilter" ? "halyard" : "halyard_echo"] = m[2];
pids.halyard = pids.halyard_echo = children.at(-1).pid;

// CPU time (user + system) a process has used, in µs: with wrk, upstream and proxy sharing a few cores, CPU per
// request is the steadier figure of a proxy's cost.
function cpuUs(pid) {
  if (!pid) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}

async function waitFor(url, why) {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  fail(why());
}

const UNIT = { us: 1, ms: 1000, s: 1e6 };
function latencyUs(out, pct) {
  const m = new RegExp(`\\s${pct}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
  return m ? Number(m[1]) * UNIT[m[2]] : NaN;
}

function wrk(url, seconds, pid) {
  const cpu0 = cpuUs(pid);
  const r = spawnSync("wrk", ["-t1", `-c${connections}`, `-d${seconds}s`, "--latency", `${url}/bench`], { encoding: "utf8" });
  if (r.status !== 0) fail(`wrk failed: ${r.stderr}`);
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(r.stdout);
  if (errors) fail(`wrk saw errors against ${url}: ${errors[0]}`);
  const requests = Number(/(\d+) requests in/.exec(r.stdout)?.[1]);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1]),
    p50: latencyUs(r.stdout, 50),
    p99: latencyUs(r.stdout, 99),
    cpu: (cpuUs(pid) - cpu0) / requests,
  };
}

const LABELS = {
  upstream: "(a) upstream direct",
  nginx: "(b) nginx, 1 worker, keep-alive upstream",
  nodeproxy: "(c) node:http proxy, keep-alive agent",
  halyard: "(d) halyard gateway, no filters",
  halyard_echo: "(e) halyard gateway, halyard.echo filter",
};
const names = Object.keys(LABELS).filter((n) => targets[n] && (!only || only.includes(n)));
for (const n of names) wrk(targets[n], 2); // warm up JIT, keep-alive pools, the wasm VM
const samples = Object.fromEntries(names.map((n) => [n, []]));
for (let i = 0; i < rounds; i++) {
  const order = names.map((_, j) => names[(i + j) % names.length]);
  for (const n of order) samples[n].push(wrk(targets[n], duration, pids[n]));
  process.stderr.write(`round ${i + 1}/${rounds}: ${names.map((n) => `${n} ${samples[n].at(-1).rps.toFixed(0)}`).join(", ")}\n`);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const med = Object.fromEntries(names.map((n) => [n, Object.fromEntries(["rps", "p50", "p99", "cpu"].map((k) => [k, median(samples[n].map((s) => s[k]))]))]));
const fmtUs = (us) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(0)} µs`);
console.log(`wrk -t1 -c${connections} -d${duration}s, ${rounds} rotating rounds, medians (node ${process.version})`);
console.log(`| target | req/s | p50 | p99 | proxy CPU per request |`);
console.log(`| --- | --- | --- | --- | --- |`);
for (const n of names) {
  const cpu = Number.isFinite(med[n].cpu) ? `${med[n].cpu.toFixed(1)} µs` : "-";
  console.log(`| ${LABELS[n]} | ${med[n].rps.toFixed(0)} | ${fmtUs(med[n].p50)} | ${fmtUs(med[n].p99)} | ${cpu} |`);
}
const ratio = (a, b) => (med[a] && med[b] ? (med[a].rps / med[b].rps).toFixed(2) : "n/a");
console.log(`ratios (req/s): (d)/(c) ${ratio("halyard", "nodeproxy")}, (e)/(c) ${ratio("halyard_echo", "nodeproxy")}, (e)/(b) ${ratio("halyard_echo", "nginx")}`);
const cpuRatio = (a, b) => (med[a] && med[b] ? (med[b].cpu / med[a].cpu).toFixed(2) : "n/a");
console.log(`ratios (requests per CPU-second, c/d): (d)/(c) ${cpuRatio("halyard", "nodeproxy")}, (e)/(c) ${cpuRatio("halyard_echo", "nodeproxy")}`);
process.exit(0);
