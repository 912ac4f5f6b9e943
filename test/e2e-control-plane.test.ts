// The control plane end to end: `node bin/halyard.js serve` in a child process, watching Istio config in a temp
// directory, and a real @grpc/grpc-js-xds client in this process resolving
// xds:///payment-service.production.svc.cluster.local:8080 through it to two real grpc-js servers (v1, v2).
// Weighted splits and fault aborts over 2 000 calls, live edits reaching the client, invalid edits kept out,
// a NACK in /debug/syncz, REST-JSON xDS with 304, the remote halyard.wasm, and SIGTERM → exit 0.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import xds from "@grpc/grpc-js-xds";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DiscoveryResponseSchema } from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import { ListenerSchema } from "../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "../gen/envoy/config/route/v3/route_pb.js";
import { ClusterSchema } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { WasmSchema } from "../gen/envoy/extensions/filters/http/wasm/v3/wasm_pb.js";
import { HttpConnectionManagerSchema } from "../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { registry } from "../gen/registry.js";
import type { SyncReport, SyncReportType } from "../control/xds/sync-status.js";
import { root } from "./helpers/gateway-process.js";
import { greeterClient, startGreeter, type GreeterClient, type GreeterServer } from "./helpers/grpc-greeter.js";
import { startServe, type ServeProcess } from "./helpers/serve-process.js";
import { waitFor } from "./helpers/xds-server.js";

xds.register();

const HOST = "payment-service.production.svc.cluster.local";
const TARGET = `xds:///${HOST}:8080`;
const NODE_ID = "payments-e2e-client";
const CALLS = 2000;
/** ±3% of the calls. */
const TOLERANCE = CALLS * 0.03;
/** A call the VirtualService's fault aborted, as `tally` counts it. */
const ABORTED = "UNAVAILABLE: Fault injected";
const BOOTSTRAP_OPTION = "grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config";

let dir: string;
let stateDir: string;
let v1: GreeterServer;
let v2: GreeterServer;
let plane: ServeProcess;
let client: GreeterClient;

function serviceYaml(v1Port: number, v2Port: number): string {
  const we = (version: string, port: number) =>
    `apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata:\n  name: payment-${version}\n  namespace: production\nspec:\n  address: 127.0.0.1\n  ports:\n    grpc: ${port}\n  labels:\n    app: payment-service\n    version: ${version}\n`;
  return [
    `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: payment-service\n  namespace: production\nspec:\n  hosts:\n  - ${HOST}\n  location: MESH_INTERNAL\n  resolution: STATIC\n  ports:\n  - number: 8080\n    name: grpc\n    protocol: GRPC\n  workloadSelector:\n    labels:\n      app: payment-service\n`,
    we("v1", v1Port),
    we("v2", v2Port),
  ].join("---\n");
}

function destinationRuleYaml(trafficPolicy = ""): string {
  return `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: payment-service\n  namespace: production\nspec:\n  host: payment-service\n${trafficPolicy}  subsets:\n  - name: v1\n    labels:\n      version: v1\n  - name: v2\n    labels:\n      version: v2\n`;
}

/** The VirtualService splitting v1/v2 by weight, with `extra` lines (indented for the http route) added. */
function virtualServiceYaml(w1: number, w2: number, extra = ""): string {
  return `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: payment-service\n  namespace: production\nspec:\n  hosts:\n  - payment-service\n  http:\n  - name: stable\n${extra}    route:\n    - destination:\n        host: payment-service\n        subset: v1\n      weight: ${w1}\n    - destination:\n        host: payment-service\n        subset: v2\n      weight: ${w2}\n`;
}

/** Replaces a watched file in one step (write a dot-file the store ignores, then rename over the target). */
function replaceFile(name: string, content: string): void {
  const tmp = join(dir, `.${name}.tmp`);
  writeFileSync(tmp, content);
  renameSync(tmp, join(dir, name));
}

async function syncz(): Promise<SyncReport> {
  return (await (await fetch(`${plane.httpUrl}/debug/syncz`)).json()) as SyncReport;
}

async function typeSync(short: "listeners" | "routes" | "clusters" | "endpoints"): Promise<SyncReportType | undefined> {
  const proxy = (await syncz()).proxies.find((p) => p.id === NODE_ID);
  return proxy?.streams[0]?.types[short];
}

/** Waits until the client ACKed a `short` version other than `previous` (and was not sent anything newer). */
async function newAck(short: "routes" | "clusters", previous: string | undefined, timeoutMs = 5000): Promise<string> {
  return waitFor(
    `a new ${short} version ACKed by ${NODE_ID}`,
    async () => {
      const t = await typeSync(short);
      return t?.ackedVersion && t.ackedVersion !== previous && t.ackedVersion === t.sentVersion ? t.ackedVersion : undefined;
    },
    timeoutMs,
  );
}

/** `calls` calls, `parallel` at a time: answers by server name, failures as "<gRPC status name>: <details>". */
async function tally(calls: number, parallel = 50): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let done = 0; done < calls; done += parallel) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(parallel, calls - done) }, () => client.sayHello().catch((e: grpc.ServiceError) => `${grpc.status[e.code]}: ${e.details}`)),
    );
    for (const s of batch) counts[s] = (counts[s] ?? 0) + 1;
  }
  return counts;
}

async function discovery(type: string, body: object): Promise<Response> {
  return fetch(`${plane.httpUrl}/v3/discovery:${type}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

beforeAll(async () => {
  [v1, v2] = await Promise.all([startGreeter("v1"), startGreeter("v2")]);
  dir = mkdtempSync(join(tmpdir(), "halyard-e2e-cp-"));
  stateDir = mkdtempSync(join(tmpdir(), "halyard-e2e-cp-state-"));
  writeFileSync(join(dir, "service.yaml"), serviceYaml(v1.port, v2.port));
  writeFileSync(join(dir, "destination-rule.yaml"), destinationRuleYaml());
  writeFileSync(join(dir, "virtual-service.yaml"), virtualServiceYaml(90, 10));
  plane = await startServe(["-f", dir, "--host", "127.0.0.1", "--xds-port", "0", "--http-port", "0", "--ca-port", "0", "--state-dir", stateDir, "--wasm-remote"]);
  const bootstrap = JSON.stringify({
    xds_servers: [{ server_uri: `127.0.0.1:${plane.xdsPort}`, channel_creds: [{ type: "insecure" }], server_features: ["xds_v3"] }],
    node: { id: NODE_ID, locality: { region: "local", zone: "a" }, metadata: { GENERATOR: "grpc", NAMESPACE: "production" } },
  });
  client = greeterClient(TARGET, { [BOOTSTRAP_OPTION]: bootstrap });
  // The first call waits for LDS/RDS/CDS/EDS and the subchannels.
  await waitFor("a first answer through xDS", async () => await client.sayHello(2000).catch(() => undefined), 10_000);
});

afterAll(async () => {
  client?.close();
  if (plane && plane.child.exitCode === null) await plane.stop().catch(() => undefined);
  await Promise.all([v1, v2].filter(Boolean).map((s) => s.close()));
  for (const d of [dir, stateDir]) if (d) rmSync(d, { recursive: true, force: true });
});

describe("halyard serve → @grpc/grpc-js-xds → grpc-js servers", () => {
  it(`splits ${CALLS} calls 90/10 between subsets v1 and v2 within ±3%`, async () => {
    const counts = await tally(CALLS);
    console.log(`e2e: 90/10 over ${CALLS} calls: ${JSON.stringify(counts)}`);
    expect((counts.v1 ?? 0) + (counts.v2 ?? 0)).toBe(CALLS);
    expect(Math.abs((counts.v1 ?? 0) - CALLS * 0.9)).toBeLessThanOrEqual(TOLERANCE);
    expect(Math.abs((counts.v2 ?? 0) - CALLS * 0.1)).toBeLessThanOrEqual(TOLERANCE);
    expect(await typeSync("routes")).toMatchObject({ subscribed: [`${HOST}:8080`] });
  });

  it("moves the connected client to weights 100/0 within 1 s of the file edit", async () => {
    const before = (await typeSync("routes"))?.ackedVersion;
    const written = performance.now();
    replaceFile("virtual-service.yaml", virtualServiceYaml(100, 0));
    // The switch is the start of the first batch after which every call went to v1; 400 in a row under the old
    // 90/10 config would have a chance of 0.9^400.
    let streakStart: number | undefined;
    let streak = 0;
    while (streak < 400) {
      if (performance.now() - written > 5000) throw new Error("calls did not all go to v1 within 5 s of the edit");
      const started = performance.now();
      const batch = await Promise.all(Array.from({ length: 20 }, () => client.sayHello(1000).catch(() => "error")));
      if (batch.every((s) => s === "v1")) {
        streakStart ??= started;
        streak += batch.length;
      } else {
        streakStart = undefined;
        streak = 0;
      }
    }
    const elapsed = streakStart! - written;
    console.log(`e2e: edit (weights 100/0) → all calls on v1 in ${elapsed.toFixed(0)} ms`);
    expect(elapsed).toBeLessThan(1000);
    expect(await newAck("routes", before)).not.toBe(before);
  });

  it("reports an invalid edit as file:line on stderr and the client keeps the previous config", async () => {
    const routes = await typeSync("routes");
    const offset = plane.stderr().length;
    // Would send everything to v2, but the timeout is not a duration: the whole edit must be refused.
    replaceFile("virtual-service.yaml", virtualServiceYaml(0, 100, "    timeout: soon\n"));
    const file = join(dir, "virtual-service.yaml");
    const line = await plane.waitForStderr(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+: VirtualService production/payment-service: `), 5000, offset);
    console.log(`e2e: invalid edit reported as: ${line}`);
    expect(line).toMatch(/:\d+: VirtualService production\/payment-service: spec\.http\[0\]\.timeout: /);
    expect(plane.stderr().slice(offset)).toMatch(/still serving the last valid config/);
    expect(await tally(200)).toEqual({ v1: 200 });
    const after = await typeSync("routes");
    expect(after?.sentVersion).toBe(routes?.sentVersion);
    expect(after?.ackedVersion).toBe(routes?.ackedVersion);
  });

  it(`aborts 20% of ${CALLS} calls with UNAVAILABLE by the VirtualService's fault, within ±3%`, async () => {
    const before = (await typeSync("routes"))?.ackedVersion;
    replaceFile("virtual-service.yaml", virtualServiceYaml(100, 0, "    fault:\n      abort:\n        grpcStatus: UNAVAILABLE\n        percentage:\n          value: 20\n"));
    await newAck("routes", before);
    const v2Calls = v2.calls;
    const counts = await tally(CALLS);
    console.log(`e2e: 20% abort over ${CALLS} calls: ${JSON.stringify(counts)}`);
    // grpc-js-xds's fault filter fails the call before it is sent, with these details.
    expect(Object.keys(counts).sort()).toEqual([ABORTED, "v1"]);
    expect(Math.abs(counts[ABORTED]! - CALLS * 0.2)).toBeLessThanOrEqual(TOLERANCE);
    expect(v2.calls).toBe(v2Calls); // weight 0: v2 is never picked
  });

  it("shows a cluster the client NACKs in /debug/syncz; the client keeps its clusters", async () => {
    // Valid Istio (validation sets no upper bound on the ring), but gRPC (like Envoy) caps minimum_ring_size at 8M.
    const clustersBefore = await typeSync("clusters");
    replaceFile("destination-rule.yaml", destinationRuleYaml("  trafficPolicy:\n    loadBalancer:\n      consistentHash:\n        ringHash:\n          minimumRingSize: 10000000\n"));
    const nacked = await waitFor("a clusters NACK", async () => {
      const t = await typeSync("clusters");
      return t?.nackedVersion && t.nackedVersion !== clustersBefore?.nackedVersion ? t : undefined;
    });
    console.log(`e2e: NACK in /debug/syncz: ${nacked.nackError}`);
    expect(nacked.nackedVersion).toBe(nacked.sentVersion);
    expect(nacked.ackedVersion).toBe(clustersBefore?.ackedVersion);
    expect(nacked.nackError).toMatch(/minimum_ring_size is too large: 10000000/);
    await plane.waitForStderr(new RegExp(`^xds: ${NODE_ID} rejected type\\.googleapis\\.com/envoy\\.config\\.cluster\\.v3\\.Cluster version ${nacked.nackedVersion}: `));
    const calls = await tally(200);
    expect((calls.v1 ?? 0) + (calls[ABORTED] ?? 0)).toBe(200);

    replaceFile("destination-rule.yaml", destinationRuleYaml());
    await waitFor("clusters ACKed again", async () => {
      const t = await typeSync("clusters");
      return t?.ackedVersion && t.ackedVersion === t.sentVersion && t.sentVersion !== nacked.nackedVersion ? true : undefined;
    });
  });

  it("answers REST-JSON POST /v3/discovery:clusters with 200, then 304 for the same version", async () => {
    const node = { id: "rest-e2e", metadata: { GENERATOR: "grpc", NAMESPACE: "production" } };
    const first = await discovery("clusters", { node });
    expect(first.status).toBe(200);
    const body = (await first.json()) as JsonValue;
    const response = fromJson(DiscoveryResponseSchema, body, { registry });
    expect(response.versionInfo).not.toBe("");
    const names = response.resources.map((r) => anyUnpack(r, ClusterSchema)!.name);
    expect(names).toEqual(expect.arrayContaining([`outbound|8080||${HOST}`, `outbound|8080|v1|${HOST}`, `outbound|8080|v2|${HOST}`]));
    const again = await discovery("clusters", { node, versionInfo: response.versionInfo });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
  });

  it("serves halyard.wasm on the HTTP port with the sha256 the translated Wasm filters name", async () => {
    const fetched = await fetch(`${plane.httpUrl}/wasm/halyard.wasm`);
    expect(fetched.status).toBe(200);
    expect(fetched.headers.get("content-type")).toBe("application/wasm");
    const bytes = new Uint8Array(await fetched.arrayBuffer());
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    expect(sha256).toBe(createHash("sha256").update(readFileSync(join(root, "wasm/build/halyard.wasm"))).digest("hex"));
    expect(WebAssembly.validate(bytes)).toBe(true);
    expect(plane.stdout()).toContain(`\nwasm ${plane.httpUrl}/wasm/halyard.wasm (sha256 ${sha256})\n`);

    // A sidecar's outbound listener: every halyard filter fetches the module from there, checked by that digest.
    const sidecar = { id: "sidecar~127.0.0.1~frontend-1.production~production.svc.cluster.local" };
    const listeners = fromJson(DiscoveryResponseSchema, (await (await discovery("listeners", { node: sidecar })).json()) as JsonValue, { registry });
    const outbound = listeners.resources.map((r) => anyUnpack(r, ListenerSchema)!).find((l) => l.name === "virtualOutbound")!;
    const chain = outbound.filterChains.find((c) => c.filterChainMatch?.destinationPort === 8080)!;
    const hcm = anyUnpack(chain.filters[0]!.configType.value as Any, HttpConnectionManagerSchema)!;
    const wasmFilters = hcm.httpFilters.filter((f) => f.name.startsWith("halyard."));
    expect(wasmFilters.map((f) => f.name)).toContain("halyard.route");
    for (const f of wasmFilters) {
      const config = anyUnpack(f.configType.value as Any, WasmSchema)!.config!;
      const code = config.vm.case === "vmConfig" ? config.vm.value.code?.specifier : undefined;
      expect(code?.case).toBe("remote");
      const remote = code?.case === "remote" ? code.value : undefined;
      expect(remote?.sha256).toBe(sha256);
      expect(remote?.httpUri?.uri).toBe(`${plane.httpUrl}/wasm/halyard.wasm`);
    }
    // Scoped RDS: the chain names its scopes; REST-JSON answers a routes request for one of them with that one.
    const scopes = hcm.routeSpecifier.case === "scopedRoutes" && hcm.routeSpecifier.value.configSpecifier.case === "scopedRouteConfigurationsList" ? hcm.routeSpecifier.value.configSpecifier.value.scopedRouteConfigurations : [];
    const scope = scopes.find((c) => c.name !== "8080/allow_any")!.routeConfigurationName;
    expect(scope).toMatch(/^8080\/.+:8080$/);
    const routes = fromJson(DiscoveryResponseSchema, (await (await discovery("routes", { node: sidecar, resource_names: [scope] })).json()) as JsonValue, { registry });
    const rc = routes.resources.map((r) => anyUnpack(r, RouteConfigurationSchema)!);
    expect(rc.map((r) => r.name)).toEqual([scope]);
    const carried = rc[0]!.virtualHosts[0]!.routes.find((r) => r.name === "default")!.metadata!.filterMetadata["halyard.route"] as { routes: string; digest: string };
    expect(JSON.parse(carried.routes)).toEqual(expect.any(Array));
    const clusters = fromJson(DiscoveryResponseSchema, (await (await discovery("clusters", { node: sidecar })).json()) as JsonValue, { registry });
    const fetchCluster = clusters.resources.map((r) => anyUnpack(r, ClusterSchema)!).find((c) => c.name === "halyard-wasm-http");
    expect(fetchCluster?.loadAssignment?.endpoints[0]?.lbEndpoints[0]?.hostIdentifier.value).toMatchObject({
      address: { address: { value: { address: "127.0.0.1", portSpecifier: { value: plane.httpPort } } } },
    });
  });

  it("exits 0 on SIGTERM with the client still connected", async () => {
    const t0 = performance.now();
    expect(await plane.stop()).toBe(0);
    console.log(`e2e: SIGTERM → exit 0 in ${(performance.now() - t0).toFixed(0)} ms`);
    expect(plane.stdout().trim().split("\n").at(-1)).toBe("SIGTERM: shutting down");
    // Nothing went wrong on stderr besides the CA's first-start note, the invalid edit's report and the NACK.
    const unexpected = plane
      .stderr()
      .split("\n")
      .filter((l) => l && !/^ca: created a self-signed root CA in /.test(l) && !/^config: \d+ error\(s\); still serving the last valid config$/.test(l) && !l.startsWith(`${dir}/`) && !l.startsWith(`xds: ${NODE_ID} rejected `));
    expect(unexpected).toEqual([]);
  });
});
