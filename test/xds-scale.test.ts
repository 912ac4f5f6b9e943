// The control plane at (small) scale, in-process: `serve` with the real translator over a generated mesh
// (bench/control-plane/mesh-config.ts: ServiceEntry + 2 WorkloadEntries + DestinationRule + 90/10 VirtualService
// per service) and 200 simulated sidecars on ADS (bench/control-plane/ads-load.ts: own connection each, CDS/EDS/
// LDS/RDS, every response ACKed). Checks full sync, that a weight edit reaches every proxy as a new listener only,
// and that what sharing serves is exactly what a per-proxy translation gives. Plus the pieces sharing rests on:
// order-free set versions, layered sets, pre-encoded responses, the push budget.
import { create, toBinary } from "@bufbuild/protobuf";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterSchema } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import type { RouteConfiguration } from "../gen/envoy/config/route/v3/route_pb.js";
import { DiscoveryResponseSchema } from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import { CDS, EDS, LDS, MeshLoad, RDS, XDS_TYPES } from "../bench/control-plane/ads-load.js";
import { meshProxies, setWeights, writeMeshConfig, type MeshService } from "../bench/control-plane/mesh-config.js";
import { buildConfigSet } from "../control/config/config-set.js";
import { loadAndValidate } from "../control/config/validate.js";
import { buildRegistry } from "../control/registry/registry.js";
import { serve, type ControlPlane } from "../control/serve.js";
import { buildProxyResources, createSnapshotBuilder, snapshotResources } from "../control/translate/xds/index.js";
import { SharedSnapshotBuilder } from "../control/translate/xds/proxy-classes.js";
import { waitFor } from "./helpers/xds-server.js";
import { encodeDiscoveryResponse } from "../control/xds/encoded-response.js";
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from "../control/xds/resource-types.js";
import { SendBudget } from "../control/xds/send-queue.js";
import {
  buildSnapshot,
  encodedSelection,
  layeredTypeSnapshot,
  ResourceEncoder,
  selectResources,
  typeSnapshot,
  type Snapshot,
} from "../control/xds/snapshot.js";

const SHAPE = { services: 100, namespaces: 10 };

function versions(s: Snapshot | undefined): Record<string, string> {
  return Object.fromEntries([...(s?.types ?? new Map()).values()].map((t) => [t.typeUrl, `${t.version} ${[...t.resources.keys()].sort().join(",")}`]));
}

describe("control plane at scale: 100 services, 200 sidecars over ADS", () => {
  let dir: string;
  let cp: ControlPlane;
  let load: MeshLoad;
  let services: MeshService[];
  const logs: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "halyard-scale-"));
    services = writeMeshConfig(dir, SHAPE);
    cp = await serve({ paths: [dir], builder: createSnapshotBuilder(), host: "127.0.0.1", xdsPort: 0, httpPort: 0, pushDebounceMs: 50, log: (l) => logs.push(l) });
  });

  afterAll(async () => {
    load?.close();
    await cp?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("syncs every proxy (CDS, EDS, LDS, RDS ACKed), sharing what proxies have in common", async () => {
    const t0 = performance.now();
    load = new MeshLoad({ port: cp.xds.port, proxies: meshProxies(SHAPE) });
    await load.waitAll((s) => s.synced, 12_000, "initial sync");
    const syncMs = performance.now() - t0;
    console.log(`xds-scale: ${load.sidecars.length} proxies synced in ${syncMs.toFixed(0)} ms, ${(load.bytesReceived / 2 ** 20).toFixed(1)} MB`);
    expect(logs.filter((l) => /failed|rejected|error/i.test(l))).toEqual([]);
    // 3 clusters per service (default, v1, v2), BlackHole, Passthrough, the workload's inbound; EDS for the 300.
    const snapshot = cp.cache.getSnapshot(meshProxies(SHAPE)[0]!.nodeId)!;
    expect(snapshot.types.get(CLUSTER_TYPE)!.resources.size).toBe(3 * SHAPE.services + 3);
    // Everyone sees the same endpoints: one shared set, one version.
    expect(new Set(load.sidecars.map((s) => s.progress.get(EDS)!.ackedVersion)).size).toBe(1);
  });

  it("serves each proxy exactly what translating it alone gives", async () => {
    const { documents, errors } = await loadAndValidate([dir]);
    expect(errors).toEqual([]);
    const config = buildConfigSet(documents);
    const registry = buildRegistry(config);
    for (const p of meshProxies(SHAPE).filter((_, i) => i % 37 === 0)) {
      const alone = buildSnapshot(snapshotResources(buildProxyResources(config, registry, { id: p.nodeId })));
      expect(versions(cp.cache.getSnapshot(p.nodeId)), p.nodeId).toEqual(versions(alone));
    }
  });

  it("converges a VirtualService weight edit: every proxy ACKs one new scoped RouteConfiguration, nothing else is re-sent", async () => {
    const before = new Map(load.sidecars.map((s) => [s, Object.fromEntries(XDS_TYPES.map((t) => [t, s.progress.get(t)!.responses]))]));
    const rds = new Map(load.sidecars.map((s) => [s, s.progress.get(RDS)!.ackedVersion]));
    const probe = meshProxies(SHAPE)[0]!.nodeId;
    const typeVersions = (id: string) => Object.fromEntries([...cp.cache.getSnapshot(id)!.types].map(([t, ts]) => [t, ts.version]));
    const routeVersions = (id: string) => new Map([...cp.cache.getSnapshot(id)!.types.get(ROUTE_TYPE)!.resources].map(([n, r]) => [n, r.version]));
    const typesBefore = typeVersions(probe);
    const routesBefore = routeVersions(probe);
    const t0 = performance.now();
    setWeights(services[42]!, [50, 50]);
    await load.waitAll((s) => s.progress.get(RDS)!.ackedVersion !== rds.get(s), 8_000, "convergence");
    const last = Math.max(...load.sidecars.map((s) => s.progress.get(RDS)!.ackedAt));
    console.log(`xds-scale: weight edit converged on ${load.sidecars.length} proxies in ${(last - t0).toFixed(0)} ms`);
    await new Promise((r) => setTimeout(r, 200));
    // The snapshot: one RDS resource changed, the edited service's scope; no LDS, CDS or EDS version moved.
    const typesAfter = typeVersions(probe);
    for (const t of [LISTENER_TYPE, CLUSTER_TYPE, ENDPOINT_TYPE]) expect(typesAfter[t], t).toBe(typesBefore[t]);
    const routesAfter = routeVersions(probe);
    expect([...routesAfter.keys()].sort()).toEqual([...routesBefore.keys()].sort());
    const changed = [...routesAfter].filter(([n, v]) => routesBefore.get(n) !== v).map(([n]) => n);
    expect(changed).toEqual([`${services[42]!.port}/${services[42]!.host}:${services[42]!.port}`]);
    // The wire: one RDS response per proxy carrying that one RouteConfiguration.
    for (const s of load.sidecars) {
      const was = before.get(s)!;
      expect(s.progress.get(RDS)!.responses - was[RDS]!).toBe(1);
      expect(s.progress.get(RDS)!.lastResources).toBe(1);
      for (const t of [CDS, EDS, LDS]) expect(s.progress.get(t)!.responses, `${t} re-sent`).toBe(was[t]);
    }
  });
});

describe("proxy classes", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "halyard-classes-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("splits proxies by the labels selectors ask about, and only by those", async () => {
    writeMeshConfig(dir, { services: 4, namespaces: 2 });
    // svc-0001 routes canary callers (sourceLabels version: v2) to v2; a DestinationRule only for `app: svc-0000`.
    writeFileSync(
      join(dir, "extra.yaml"),
      `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: canary, namespace: ns-01}
spec:
  hosts: [canary.ns-01.svc.cluster.local]
  http:
  - match: [{sourceLabels: {version: v2}}]
    route: [{destination: {host: svc-0001.ns-01.svc.cluster.local, subset: v2}}]
  - route: [{destination: {host: svc-0001.ns-01.svc.cluster.local, subset: v1}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: selected, namespace: ns-00}
spec:
  host: svc-0003.ns-01.svc.cluster.local
  workloadSelector: {matchLabels: {app: svc-0000}}
  trafficPolicy: {connectionPool: {tcp: {maxConnections: 7}}}
`,
    );
    const { documents, errors } = await loadAndValidate([dir]);
    expect(errors).toEqual([]);
    const config = buildConfigSet(documents);
    const registry = buildRegistry(config);
    const builder = new SharedSnapshotBuilder();
    const served = new Map<string, Snapshot>();
    for (const p of meshProxies({ services: 4, namespaces: 2 })) {
      const snapshot = builder.build(config, { id: p.nodeId, cluster: "", metadata: {}, userAgentName: "", userAgentVersion: "" });
      served.set(p.nodeId, snapshot);
      const alone = buildSnapshot(snapshotResources(buildProxyResources(config, registry, { id: p.nodeId })));
      expect(versions(snapshot), p.nodeId).toEqual(versions(alone));
    }
    // ns-00 holds svc-0000 (app-0000 v1, app-0001 v2) and svc-0002 (app-0004, app-0005): the v2 callers and
    // svc-0000's workloads see different routes/clusters, the two v1 proxies of different apps differ by the rule.
    const ids = meshProxies({ services: 4, namespaces: 2 }).map((p) => p.nodeId);
    const version = (id: string, type: string, name: string) => served.get(id)!.types.get(type)!.resources.get(name)!.version;
    const cluster = (id: string, name: string) => version(id, CLUSTER_TYPE, name);
    const outbound = (id: string) => version(id, LISTENER_TYPE, "virtualOutbound");
    // The canary routes live in their virtual host's scope (scoped RDS); the listener only lists names, domains and scopes.
    const canaryScope = (id: string) => version(id, ROUTE_TYPE, "80/canary.ns-01.svc.cluster.local:80");
    const routes = (id: string) => served.get(id)!.types.get(ROUTE_TYPE)!.resources;
    expect([...routes(ids[1]!)].filter(([n, r]) => routes(ids[0]!).get(n)?.version !== r.version).map(([n]) => n)).toEqual(["80/canary.ns-01.svc.cluster.local:80"]);
    expect(cluster(ids[0]!, "outbound|9080||svc-0001.ns-01.svc.cluster.local")).toBe(cluster(ids[4]!, "outbound|9080||svc-0001.ns-01.svc.cluster.local"));
    expect(cluster(ids[0]!, "outbound|8080||svc-0003.ns-01.svc.cluster.local")).not.toBe(cluster(ids[4]!, "outbound|8080||svc-0003.ns-01.svc.cluster.local"));
    expect(outbound(ids[0]!)).toBe(outbound(ids[4]!));
    expect(outbound(ids[1]!)).toBe(outbound(ids[0]!));
    expect(canaryScope(ids[0]!)).toBe(canaryScope(ids[4]!));
    expect(canaryScope(ids[1]!)).not.toBe(canaryScope(ids[0]!));
    expect(canaryScope(ids[1]!)).toBe(canaryScope(ids[5]!));
  });
});

describe("scoped route configurations", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "halyard-scopes-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const load = async () => {
    const { documents, errors } = await loadAndValidate([dir]);
    expect(errors).toEqual([]);
    return buildConfigSet(documents);
  };
  const node = (id: string) => ({ id, cluster: "", metadata: {}, userAgentName: "", userAgentVersion: "" });

  it("are shared by content across proxy classes and config versions: a weight edit encodes one new RouteConfiguration", async () => {
    const shape = { services: 6, namespaces: 2 };
    const services = writeMeshConfig(dir, shape);
    const proxies = meshProxies(shape);
    const inNs0 = proxies.find((p) => p.namespace === "ns-00")!.nodeId;
    const inNs1 = proxies.find((p) => p.namespace === "ns-01")!.nodeId;
    const builder = new SharedSnapshotBuilder();
    const before = await load();
    const a0 = builder.build(before, node(inNs0));
    const a1 = builder.build(before, node(inNs1));
    const routes = (s: Snapshot) => s.types.get(ROUTE_TYPE)!.resources;
    // Two classes (namespaces): different listeners (short host names differ), the very same scope resources.
    expect(a0.types.get(LISTENER_TYPE)!.version).not.toBe(a1.types.get(LISTENER_TYPE)!.version);
    expect([...routes(a0).keys()].sort()).toEqual([...routes(a1).keys()].sort());
    for (const [name, r] of routes(a0)) expect(routes(a1).get(name), name).toBe(r);

    setWeights(services[2]!, [50, 50]);
    const after = await load();
    const b0 = builder.build(after, node(inNs0));
    const b1 = builder.build(after, node(inNs1));
    const scope = `${services[2]!.port}/${services[2]!.host}:${services[2]!.port}`;
    const replaced = [...routes(b0)].filter(([name, r]) => routes(a0).get(name) !== r).map(([name]) => name);
    expect(replaced).toEqual([scope]);
    expect(routes(b1).get(scope)).toBe(routes(b0).get(scope));
    const meta = routes(b0).get(scope)!.message as RouteConfiguration;
    const defaultRoute = meta.virtualHosts[0]!.routes.find((r) => r.name === "default")!;
    const carried = JSON.parse((defaultRoute.metadata!.filterMetadata["halyard.route"] as { routes: string }).routes) as { route: { weight?: number }[] }[];
    expect(carried.flatMap((r) => r.route.map((d) => d.weight))).toEqual([50, 50]);
    for (const t of [LISTENER_TYPE, CLUSTER_TYPE, ENDPOINT_TYPE]) {
      expect(b0.types.get(t)!.version, t).toBe(a0.types.get(t)!.version);
      expect(b1.types.get(t)!.version, t).toBe(a1.types.get(t)!.version);
    }
  });
});

describe("what sharing rests on", () => {
  const cluster = (name: string, timeoutSeconds = 1) => create(ClusterSchema, { name, connectTimeout: { seconds: BigInt(timeoutSeconds) } });
  const encoder = new ResourceEncoder();
  const encode = (name: string, t = 1) => encoder.encode(CLUSTER_TYPE, cluster(name, t));

  it("versions a set by content, however it was put together", () => {
    const all = ["a", "m", "c", "z", "b"].map((n) => encode(n));
    const whole = typeSnapshot(CLUSTER_TYPE, all);
    const layered = layeredTypeSnapshot(typeSnapshot(CLUSTER_TYPE, all.slice(0, 3)), all.slice(3));
    expect(layered.version).toBe(whole.version);
    expect([...layered.resources.keys()].sort()).toEqual([...whole.resources.keys()].sort());
    expect(typeSnapshot(CLUSTER_TYPE, [...all.slice(0, 4), encode("b", 2)]).version).not.toBe(whole.version);
    expect(() => layeredTypeSnapshot(whole, [encode("a")])).toThrow('duplicate resource name "a"');
  });

  it("pre-encodes exactly the bytes toBinary writes, for whole, layered and partial selections", () => {
    const base = typeSnapshot(CLUSTER_TYPE, ["b", "d", "f"].map((n) => encode(n)));
    const layered = layeredTypeSnapshot(base, ["a", "c", "g"].map((n) => encode(n)));
    const cases = [
      [base, { wildcard: true, names: new Set<string>() }],
      [layered, { wildcard: true, names: new Set<string>() }],
      [layered, { wildcard: false, names: new Set(["g", "a", "b", "c", "d", "f"]) }],
      [layered, { wildcard: false, names: new Set(["g", "b", "nope"]) }],
    ] as const;
    for (const [type, subscription] of cases) {
      const fields = { versionInfo: type.version, typeUrl: type.typeUrl, nonce: "7", canary: false, controlPlane: create(DiscoveryResponseSchema, { controlPlane: { identifier: "halyard" } }).controlPlane! };
      const message = create(DiscoveryResponseSchema, { ...fields, resources: selectResources(type, subscription).map((r) => r.any) });
      expect(Buffer.from(encodeDiscoveryResponse(fields, encodedSelection(type, subscription)))).toEqual(Buffer.from(toBinary(DiscoveryResponseSchema, message)));
    }
  });

  it("keeps the bytes being written under the budget, one write per stream, newest response of a type winning", async () => {
    const budget = new SendBudget({ maxBytesInFlight: 100, stallMs: 10_000 });
    const pending: (() => void)[] = [];
    const written: string[] = [];
    const channel = (name: string) =>
      budget.channel(
        (m) => new Uint8Array((m as { size: number }).size),
        (bytes, done) => {
          written.push(`${name}:${bytes.length}`);
          pending.push(done);
        },
      );
    const a = channel("a");
    const b = channel("b");
    a.send({ size: 80 }, "lds");
    a.send({ size: 10 }, "cds");
    a.send({ size: 20 }, "cds"); // replaces the queued 10
    b.send({ size: 60 });
    expect(written).toEqual(["a:80", "b:60"]); // b starts below the budget, then it is spent
    expect(budget.bytesInFlight).toBe(140);
    pending.shift()!(); // a's 80 done: a's next goes, b is already writing
    expect(written).toEqual(["a:80", "b:60", "a:20"]);
    expect(budget.bytesInFlight).toBe(80);
    a.close(); // gives back what a holds
    expect(budget.bytesInFlight).toBe(60);
    pending.shift()!(); // b done
    expect(budget.bytesInFlight).toBe(0);
  });

  it("lets stalled writes stop holding budget only up to a bound, so slow receivers cannot grow memory without limit", async () => {
    const budget = new SendBudget({ maxBytesInFlight: 100, stallMs: 30, maxStalledBytes: 100 });
    const pending = new Map<string, () => void>();
    const written: string[] = [];
    const channel = (name: string) =>
      budget.channel(
        (m) => new Uint8Array((m as { size: number }).size),
        (bytes, done) => {
          written.push(`${name}:${bytes.length}`);
          pending.set(name, done);
        },
      );
    const [a, b, c, d] = ["a", "b", "c", "d"].map(channel);
    a!.send({ size: 60 });
    b!.send({ size: 60 });
    c!.send({ size: 60 });
    expect(written).toEqual(["a:60", "b:60"]);
    // a and b stall: the first fits under the stalled bound and gives its budget back (c starts), the second not.
    await waitFor("a stalled write released", () => (budget.bytesStalled > 0 ? true : undefined), 2000);
    await new Promise((r) => setTimeout(r, 100));
    expect(written).toEqual(["a:60", "b:60", "c:60"]);
    expect(budget.bytesStalled).toBe(60);
    expect(budget.bytesInFlight).toBe(120);
    d!.send({ size: 10 });
    expect(written).toHaveLength(3); // over budget, and no more stalled writes may be let go
    pending.get("a")!(); // the stalled write finishes: its stalled bytes are gone, another stalled write may go
    expect(budget.bytesStalled).toBe(0);
    await waitFor("b released", () => (written.length === 4 ? true : undefined), 2000);
    expect(written.at(-1)).toBe("d:10");
    for (const ch of [a, b, c, d]) ch!.close();
    expect(budget.bytesInFlight).toBe(0);
    expect(budget.bytesStalled).toBe(0);
  });
});
