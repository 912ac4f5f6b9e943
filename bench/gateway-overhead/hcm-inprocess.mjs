// What one no-op wasm filter (halyard.echo, {} config) adds to the HTTP connection manager, in process: the real
// HCM and halyard.wasm through our host, with the router's upstream replaced by a canned response so only the
// gateway's own work is timed (CPU time per request). Sequential, then 32 requests in flight (each awaiting a
// setImmediate as its "upstream"), which is where the JS garbage collector starts to dominate.
//
//   node scripts/build.js && node bench/gateway-overhead/hcm-inprocess.mjs [--route-fault]
//
// --route-fault times halyard.fault + halyard.route instead (issue #5's target (e)): 50 routes, the request matches
// the last one, whose fault (an abort at 0%) is evaluated and never fires.
//
// --evict KB runs every request after evicting the CPU caches (see evict below): the chain's cost with cold caches.
//
// --baseline-host FILE --baseline-hcm FILE add a third target in the same run, interleaved: another build of the host
// (an ES module exporting WasmPlugin) and HCM (exporting HttpConnectionManager), e.g. bundled from git HEAD:
//   git archive HEAD wasm/host gateway | tar -x -C /tmp/base
//   npx esbuild /tmp/base/wasm/host/index.ts --bundle --platform=node --format=esm --outfile=/tmp/base/host.mjs
//   npx esbuild /tmp/base/gateway/hcm.ts --bundle --platform=node --format=esm --packages=external --outfile=/tmp/base/hcm.mjs
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const argv = process.argv.slice(2);
const flag = (name) => (argv.includes(name) ? resolve(argv[argv.indexOf(name) + 1]) : undefined);
const [baselineHost, baselineHcm] = [flag("--baseline-host"), flag("--baseline-hcm")];
if (!baselineHost !== !baselineHcm) throw new Error("--baseline-host and --baseline-hcm go together");
const { WasmPlugin } = await import(join(root, "dist/wasm/host/index.js"));
const { HttpConnectionManager } = await import(join(root, "dist/gateway/hcm.js"));

const mod = await WebAssembly.compile(readFileSync(join(root, "wasm/build/halyard.wasm")));
const routeFault = argv.includes("--route-fault");
const routes = Array.from({ length: 49 }, (_, i) => ({
  name: `r${i}`,
  match: [{ uri: { prefix: `/svc${i}/` }, headers: { "x-tenant": { exact: `t${i}` } } }, { uri: { exact: `/exact${i}` } }],
  route: [{ cluster: `c${i}a`, weight: 80 }, { cluster: `c${i}b`, weight: 20 }],
}));
routes.push({ name: "last", match: [{ uri: { prefix: "/svc49/" } }], route: [{ cluster: "c49" }], timeout_ms: 1000, fault: { abort: { http_status: 503, percentage: 0 } } });
const routeConfig = JSON.stringify({ virtual_hosts: [{ name: "reviews:9080", domains: ["reviews", "reviews:9080"], routes }] });
/** The filter chain under test, loaded through the given host build. */
const loadChain = (Plugin) =>
  routeFault
    ? Promise.all(["halyard.fault", "halyard.route"].map((rootId) => Plugin.load(mod, { name: rootId, rootId, configuration: routeConfig })))
    : Promise.all([Plugin.load(mod, { name: "echo", rootId: "halyard.echo", configuration: "{}" })]);
const plugins = await loadChain(WasmPlugin);
const baseline = baselineHost && {
  plugins: await loadChain((await import(baselineHost)).WasmPlugin),
  Hcm: (await import(baselineHcm)).HttpConnectionManager,
};
const body = new TextEncoder().encode("hello from upstream\n");
let upstreamDelay = false;
const router = {
  match: () => ({ route: { name: "r" } }),
  clusterName: () => "upstream",
  forward: async () => {
    if (upstreamDelay) await new Promise((r) => setImmediate(r));
    return { status: 200, headers: [[":status", "200"], ["content-type", "text/plain"], ["content-length", "20"]], body, flags: [], details: "via_upstream", upstream: { address: "127.0.0.1", port: 1 }, attempts: 1 };
  },
};
const cfg = { statPrefix: "bench", useRemoteAddress: false };
const down = { remote: { address: "127.0.0.1", port: 5555 }, local: { address: "127.0.0.1", port: 80 } };
const request = routeFault
  ? () => ({ method: "GET", path: "/svc49/items?page=2", authority: "reviews:9080", scheme: "http", headers: [["x-tenant", "t49"], ["user-agent", "wrk"], ["accept", "*/*"]], body: async () => new Uint8Array(0) })
  : () => ({ method: "GET", path: "/bench", authority: "127.0.0.1:10000", scheme: "http", headers: [["user-agent", "wrk"], ["accept", "*/*"]], body: async () => new Uint8Array(0) });
const label = routeFault ? "route+fault" : "echo";

// --evict KB: after every request, write one byte per 64-byte line of a KB-sized buffer, so the next request starts
// with caches as cold as in a real proxy, where node:http and the kernel run between two passes through the chain.
// Both HCMs pay the same eviction, so the "added" figure stays the chain's own cost.
const evictKb = argv.includes("--evict") ? Number(argv[argv.indexOf("--evict") + 1]) : 0;
if (!(evictKb >= 0)) throw new Error("--evict takes a size in KB");
const evictBuf = new Uint8Array(evictKb * 1024);
let evictSum = 0;
const evict = () => {
  for (let j = 0; j < evictBuf.length; j += 64) evictSum += evictBuf[j]++;
};
const perBatch = evictKb > 0 ? 4000 : 20000;

async function cpuPerRequest(hcm, n, inFlight) {
  n = Math.min(n, perBatch);
  const t = process.cpuUsage();
  let i = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (i++ < n) {
      await hcm.serve(request(), down);
      if (evictKb > 0) evict();
    }
  }));
  const u = process.cpuUsage(t);
  return (u.user + u.system) / n;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const none = new HttpConnectionManager(cfg, [], router, undefined, []);
const echo = new HttpConnectionManager(cfg, plugins, router, undefined, []);
const base = baseline && new baseline.Hcm(cfg, baseline.plugins, router, undefined, []);
for (const inFlight of [1, 32]) {
  upstreamDelay = inFlight > 1;
  const a = [], b = [], c = [];
  for (let r = 0; r < 7; r++) {
    a.push(await cpuPerRequest(none, 20000, inFlight));
    b.push(await cpuPerRequest(echo, 20000, inFlight));
    if (base) c.push(await cpuPerRequest(base, 20000, inFlight));
  }
  const [na, nb] = [median(a.slice(2)), median(b.slice(2))];
  let line = `${inFlight} in flight: no filter ${na.toFixed(2)} µs, ${label} ${nb.toFixed(2)} µs, added ${(nb - na).toFixed(2)} µs CPU per request`;
  if (base) {
    const nc = median(c.slice(2));
    line += `; baseline ${label} ${nc.toFixed(2)} µs, added ${(nc - na).toFixed(2)} µs (this build / baseline: ${((nb - na) / (nc - na)).toFixed(2)})`;
  }
  console.log(line);
}
for (const p of [...plugins, ...(baseline ? baseline.plugins : [])]) await p.close();
