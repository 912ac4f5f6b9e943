// Per-request overhead of the proxy-wasm host: one no-op filter (halyard.echo with {}) run for
// request + response headers (createStream, onRequestHeaders, onResponseHeaders, done).
// Reports CPU µs per request (process.cpuUsage: other load on a shared machine does not count),
// median of several runs. Not part of `npm test`. Target: <= 1 µs per round trip.
//
//   node scripts/build.js wasm
//   npx esbuild bench/host-overhead.ts --bundle --platform=node --format=esm --outfile=node_modules/.cache/host-overhead.mjs
//   node node_modules/.cache/host-overhead.mjs [--runs 7] [--requests 50000] [--config '{}'] [--wasm path]
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { WasmPlugin, type HeaderMap } from "../wasm/host/index.js";

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ""), process.argv[i + 1]);
const runs = Number(args.get("runs") ?? 7);
const requests = Number(args.get("requests") ?? 50_000);
const configuration = args.get("config") ?? "{}";
const wasmPath = resolve(args.get("wasm") ?? "wasm/build/halyard.wasm");

const requestHeaders = (): HeaderMap => [
  [":method", "GET"],
  [":path", "/api/v1/items?page=2"],
  [":authority", "shop.example.com"],
  [":scheme", "https"],
  ["user-agent", "bench/1.0"],
  ["accept", "application/json"],
  ["x-request-id", "3f0c1e9a-8d7b-4c1e-9f55-2f1d2e3c4b5a"],
  ["x-forwarded-for", "10.0.0.1"],
];
const responseHeaders = (): HeaderMap => [
  [":status", "200"],
  ["content-type", "application/json"],
  ["content-length", "1234"],
  ["date", "Mon, 01 Jan 2024 00:00:00 GMT"],
];

async function oneRun(plugin: WasmPlugin, n: number, withFilter: boolean): Promise<number> {
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const req = requestHeaders();
    const resp = responseHeaders();
    if (withFilter) {
      const stream = plugin.createStream();
      await stream.onRequestHeaders(req, true);
      await stream.onResponseHeaders(resp, false);
      stream.done();
    } else {
      // Same allocations and awaits without the host: subtracted to isolate the host's cost.
      await Promise.resolve(req);
      await Promise.resolve(resp);
    }
  }
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const module = new WebAssembly.Module(readFileSync(wasmPath));
const plugin = await WasmPlugin.load(module, { name: "bench", rootId: "halyard.echo", configuration });
await oneRun(plugin, 20_000, true); // warm up the JIT on both paths
await oneRun(plugin, 20_000, false);
const withHost: number[] = [];
const baseline: number[] = [];
for (let r = 0; r < runs; r++) {
  withHost.push(await oneRun(plugin, requests, true));
  baseline.push(await oneRun(plugin, requests, false));
}
await plugin.close();
const total = median(withHost);
const base = median(baseline);
const fmt = (x: number) => x.toFixed(2);
console.log(`halyard.echo ${configuration} through the host, ${runs} runs x ${requests} requests (request + response headers)`);
console.log(`  per request, median CPU: ${fmt(total)} µs  (runs: ${withHost.map(fmt).join(" ")})  (target <= 1 µs)`);
console.log(`  harness baseline:        ${fmt(base)} µs`);
console.log(`  host + filter alone:     ${fmt(total - base)} µs`);
