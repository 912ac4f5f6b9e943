// CPU per request of the gateway's access log (issue #5: "access logs should be on, as in prod, but cheap"):
// formatDefault on the headers a proxied request carries, then the Node file sink, with 32 lines per event-loop turn
// and with 1. It loads dist/ next to itself (run a copy of the repository to time another build). Bench only:
//   node scripts/build.js ts && node bench/gateway/access-log-cost.mjs
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const { formatDefault } = await import(join(root, "dist/gateway/access-log.js"));
const { openAccessLog } = await import(join(root, "dist/gateway/access-log-node.js"));
const dir = mkdtempSync(join(tmpdir(), "halyard-alog-"));
const requestHeaders = [[":authority", "payments.example.com"], [":path", "/pay"], [":method", "GET"], [":scheme", "http"], ["x-forwarded-proto", "http"], ["x-request-id", crypto.randomUUID()], ["x-envoy-expected-rq-timeout-ms", "2000"]];
const responseHeaders = [[":status", "200"], ["content-type", "text/plain"], ["content-length", "20"], ["date", new Date().toUTCString()], ["x-envoy-upstream-service-time", "1"]];
const entry = () => ({ startMs: Date.now(), requestHeaders, responseHeaders, protocol: "HTTP/1.1", status: 200, flags: [], bytesReceived: 0, bytesSent: 20, durationMs: 1, upstream: { address: "127.0.0.1", port: 18081 } });
const log = openAccessLog({ kind: "file", path: join(dir, "access.log") });
const turn = () => new Promise((r) => setImmediate(r));
async function run(n, sink, perTurn) {
  const t = process.cpuUsage();
  for (let i = 0; i < n; i += perTurn) {
    for (let j = 0; j < perTurn; j++) sink(formatDefault(entry()));
    await turn();
  }
  const u = process.cpuUsage(t);
  return (u.user + u.system) / n;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
// 32 lines per event-loop turn as at saturation, 1 as at a fixed 1 000 req/s (every request has a turn of its own).
for (const perTurn of [32, 1]) {
  const fmt = [], full = [];
  for (let r = 0; r < 7; r++) {
    fmt.push(await run(perTurn * 2000, () => {}, perTurn));
    full.push(await run(perTurn * 2000, log.sink, perTurn));
  }
  const [f, w] = [median(fmt.slice(2)), median(full.slice(2))];
  console.log(`${perTurn} line(s) per turn: format only ${f.toFixed(2)} µs, format + file sink ${w.toFixed(2)} µs CPU per line: the sink adds ${(w - f).toFixed(2)} µs`);
}
await log.close();
rmSync(dir, { recursive: true, force: true });
