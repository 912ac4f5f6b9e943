// Scoped vs unscoped halyard.route (and halyard.fault + halyard.route) through the proxy-wasm host, for the
// 50-route VirtualService of bench/route-decision.ts (the request matches only the last route):
//   - unscoped: the engine JSON with the routes in the plugin configuration (today's listeners);
//   - scoped: `"scoped": true` configuration (name, domains, scope), the routes read per request from the
//     route's metadata (xds.route_metadata, Metadata protobuf bytes), decoded once per (scope, digest);
//   - scoped, cold: every request brings a new digest, so the routes are parsed and decoded each time (what the
//     first request after a VirtualService edit pays).
// The stream info plays the HCM's part: one filter state per request shared by both filters, the resolved route
// handed out by StreamInfo.route, clear_route_cache counted. Median CPU time of 9 batches (cold: batches of 50). Not part of `npm test`.
//
//   node scripts/build.js wasm
//   npx esbuild bench/scoped-route-decision.ts --bundle --platform=node --format=esm --packages=external \
//     --outfile=test/.build/bench-scoped-route.mjs --log-level=warning && node test/.build/bench-scoped-route.mjs
import { create, toBinary } from "@bufbuild/protobuf";
import { readFileSync } from "node:fs";
import { MetadataSchema } from "../gen/envoy/config/core/v3/base_pb.js";
import { type HeaderMap, type StreamInfo, WasmPlugin } from "../wasm/host/index.js";
import { medianCpuMicros } from "./shared/cpu-median.js";
import { DOMAINS, EXPECTED_CLUSTER, fiftyRoutes, REQUEST_PATH, REQUEST_TENANT, ROUTES } from "./shared/fifty-routes.js";

const BATCHES = 9;
const PER_BATCH = 5_000;

const VHOST = "reviews.foo.svc.cluster.local:9080";
const SCOPE = `9080/${VHOST}`;
const ROUTES_JSON = JSON.stringify(fiftyRoutes());
const UNSCOPED = JSON.stringify({ virtual_hosts: [{ name: VHOST, domains: DOMAINS, routes: fiftyRoutes() }] });
const SCOPED = JSON.stringify({ scoped: true, virtual_hosts: [{ name: VHOST, domains: DOMAINS, scope: SCOPE }] });
// halyard.fault gets a fault on one route that never matches this request, so it is active in both modes.
const FAULT_ROUTES = JSON.stringify([{ name: "f", match: [{ uri: { exact: "/never" } }], route: [{ cluster: "x" }], fault: { abort: { http_status: 503, percentage: 100 } } }, ...fiftyRoutes()]);
const UNSCOPED_FAULT = JSON.stringify({ virtual_hosts: [{ name: VHOST, domains: DOMAINS, routes: JSON.parse(FAULT_ROUTES) }] });

const metadata = (routesJson: string, digest: string) =>
  toBinary(MetadataSchema, create(MetadataSchema, { filterMetadata: { "halyard.route": { routes: routesJson, digest } } as never }));

function requestHeaders(): HeaderMap {
  return [
    [":authority", "reviews:9080"], [":path", REQUEST_PATH], [":method", "GET"], [":scheme", "http"],
    ["x-tenant", REQUEST_TENANT], ["user-agent", "bench"], ["accept", "*/*"], ["x-request-id", "3f0c1e9a-8d7b-4c1e-9f55-2f1d2e3c4b5a"],
  ];
}

const medianMicros = (batch: (n: number) => Promise<void>, perBatch: number) => medianCpuMicros(perBatch, BATCHES, batch);

type Mode = "unscoped" | "scoped" | "cold";

async function chain(rootIds: string[], mode: Mode): Promise<(n: number) => Promise<void>> {
  const module = new WebAssembly.Module(readFileSync("wasm/build/halyard.wasm"));
  const plugins = await Promise.all(
    rootIds.map((rootId) =>
      WasmPlugin.load(module, { name: rootId, rootId, configuration: mode === "unscoped" ? (rootId === "halyard.fault" ? UNSCOPED_FAULT : UNSCOPED) : SCOPED }),
    ),
  );
  const scopedRoutes = rootIds.includes("halyard.fault") ? FAULT_ROUTES : ROUTES_JSON;
  const warm = metadata(scopedRoutes, "d0");
  let generation = 0;
  return async (n) => {
    for (let i = 0; i < n; i++) {
      const headers = requestHeaders();
      const bytes = mode === "cold" ? metadata(scopedRoutes, `d${++generation}`) : warm;
      const route = { name: "default", metadata: bytes };
      const info: StreamInfo = { destination: { address: "10.0.0.1", port: 9080 }, filterState: new Map(), ...(mode === "unscoped" ? {} : { route: () => route }) };
      const streams = plugins.map((p) => p.createStream(info));
      for (const s of streams) s.onClearRouteCache = () => {};
      for (const s of streams) {
        const o = await s.onRequestHeaders(headers, true);
        if (o.kind !== "continue") throw new Error(`${mode}: local response ${JSON.stringify(o)}`);
      }
      for (let j = streams.length - 1; j >= 0; j--) await streams[j]!.onResponseHeaders([[":status", "200"], ["content-length", "2"]], false);
      for (const s of streams) s.done();
      if (i === 0 && headers.find(([k]) => k === "x-halyard-cluster")?.[1] !== EXPECTED_CLUSTER) throw new Error(`${mode}: chose ${JSON.stringify(headers)}`);
    }
  };
}

async function main(): Promise<void> {
  const rows: Array<{ measure: string; "µs/request": number }> = [];
  for (const [label, ids] of [["halyard.route", ["halyard.route"]], ["halyard.fault + halyard.route", ["halyard.fault", "halyard.route"]]] as const) {
    for (const mode of ["unscoped", "scoped", "cold"] as const) {
      rows.push({ measure: `${label}: ${mode === "cold" ? "scoped, new digest per request" : mode}`, "µs/request": +(await medianMicros(await chain([...ids], mode), mode === "cold" ? PER_BATCH / 100 : PER_BATCH)).toFixed(3) });
    }
  }
  console.log(`${ROUTES} routes, the request matches only the last one; median CPU time of ${BATCHES} batches of ${PER_BATCH}, Node ${process.version}`);
  console.table(rows);
}

await main();
