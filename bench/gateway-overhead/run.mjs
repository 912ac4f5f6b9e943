// Gateway overhead of one wasm filter: the same gateway process serves two listeners, one with no http filter and
// one with a no-op halyard.echo filter ({} config), in front of the same upstream. wrk drives each listener in
// interleaved rounds; we report medians. Not part of `npm test`.
//
//   node scripts/build.js && node bench/gateway-overhead/run.mjs [--rounds 5] [--duration 5] [--connections 32]
//
// Needs wrk (apt-get install wrk).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const rounds = Number(args.rounds ?? 5);
const duration = Number(args.duration ?? 5);
const connections = Number(args.connections ?? 32);

if (spawnSync("wrk", ["--version"]).error) fail("wrk is not installed (apt-get install wrk)");
if (!existsSync(join(root, "dist/gateway/cli.js"))) fail("dist/ is missing: run `node scripts/build.js` first");

const children = [];
process.on("exit", () => children.forEach((c) => c.exitCode === null && c.kill("SIGTERM")));

function fail(msg) {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(1);
}

function startChild(argv, pattern, count = 1) {
  const child = spawn(process.execPath, argv, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  return new Promise((res, rej) => {
    child.stderr.on("data", (d) => (out += d));
    child.stdout.on("data", (d) => {
      out += d;
      const found = [...out.matchAll(pattern)];
      if (found.length >= count) res(found);
    });
    child.on("exit", (code) => rej(new Error(`${argv.join(" ")} exited ${code}\n${out}`)));
  });
}

const UPSTREAM = `
  const http = require("node:http");
  const body = Buffer.from("hello from upstream\\n");
  const s = http.createServer((req, res) => { req.resume(); req.on("end", () => { res.writeHead(200, { "content-type": "text/plain", "content-length": body.length }); res.end(body); }); });
  s.keepAliveTimeout = 60000;
  s.listen(0, "127.0.0.1", () => console.log("upstream " + s.address().port));
`;

const [[, upstreamPort]] = await startChild(["-e", UPSTREAM], /upstream (\d+)/g);

const dir = mkdtempSync(join(tmpdir(), "halyard-bench-"));
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
const bootstrap = {
  static_resources: {
    listeners: [listener("nofilter", []), listener("echo", [echo])],
    clusters: [{
      name: "upstream", type: "STATIC", connect_timeout: "1s", lb_policy: "ROUND_ROBIN",
      load_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: Number(upstreamPort) } } } }] }] },
    }],
  },
};
const file = join(dir, "bootstrap.json");
writeFileSync(file, JSON.stringify(bootstrap, null, 2));
const urls = Object.fromEntries((await startChild(["bin/halyard.js", "gateway", "-c", file], /listener "(\w+)" on (http:\/\/\S+)/g, 2)).map((m) => [m[1], m[2]]));

function wrk(url, seconds, conns) {
  const r = spawnSync("wrk", ["-t1", `-c${conns}`, `-d${seconds}s`, "--latency", `${url}/bench`], { encoding: "utf8" });
  if (r.status !== 0) fail(`wrk failed: ${r.stderr}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1]);
  const p50 = /\s50%\s+([\d.]+)(us|ms|s)/.exec(r.stdout);
  const p50us = p50 ? Number(p50[1]) * { us: 1, ms: 1000, s: 1e6 }[p50[2]] : NaN;
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(r.stdout);
  if (errors) fail(`wrk saw errors against ${url}: ${errors[0]}`);
  return { rps, p50us };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

for (const u of Object.values(urls)) wrk(u, 2, connections); // warm up JIT, keep-alive pools, the wasm VM
const results = { nofilter: [], echo: [] };
const latency = { nofilter: [], echo: [] };
for (let i = 0; i < rounds; i++) {
  for (const name of i % 2 ? ["echo", "nofilter"] : ["nofilter", "echo"]) {
    results[name].push(wrk(urls[name], duration, connections).rps);
    latency[name].push(wrk(urls[name], Math.max(2, Math.round(duration / 2)), 1).p50us);
  }
  process.stderr.write(`round ${i + 1}/${rounds}: nofilter ${results.nofilter.at(-1).toFixed(0)} req/s, echo ${results.echo.at(-1).toFixed(0)} req/s\n`);
}
const rpsNo = median(results.nofilter);
const rpsEcho = median(results.echo);
const p50No = median(latency.nofilter);
const p50Echo = median(latency.echo);
const perReqAdded = 1e6 / rpsEcho - 1e6 / rpsNo;
console.log(`wrk -t1 -c${connections} -d${duration}s, ${rounds} interleaved rounds, medians (node ${process.version})`);
console.log(`| listener | req/s (c=${connections}) | p50 latency (c=1) |`);
console.log(`| --- | --- | --- |`);
console.log(`| no filter | ${rpsNo.toFixed(0)} | ${p50No.toFixed(0)} µs |`);
console.log(`| halyard.echo ({} config) | ${rpsEcho.toFixed(0)} | ${p50Echo.toFixed(0)} µs |`);
console.log(`added by the filter: ${perReqAdded.toFixed(1)} µs of gateway time per request at saturation (1e6/rps difference), ${(p50Echo - p50No).toFixed(0)} µs p50 latency at c=1`);
process.exit(0);
