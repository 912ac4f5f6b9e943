// Incremental translation (control/translate/xds/proxy-classes.ts, config-delta.ts): after a config edit a sidecar
// class re-translates only the VirtualServices / services the edit touched. Random single edits on a generated mesh
// (bench/control-plane/mesh-config.ts, 100 services) must give exactly what a from-scratch translation gives, byte
// for byte per resource. Also: config documents keep their identity across reloads, and the scope routes strip
// x-halyard-scope before going upstream.
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RouteConfiguration } from "../gen/envoy/config/route/v3/route_pb.js";
import { meshProxies, setWeights, writeMeshConfig, type MeshService } from "../bench/control-plane/mesh-config.js";
import { ConfigStore } from "../control/config/store.js";
import { SharedSnapshotBuilder } from "../control/translate/xds/proxy-classes.js";
import { CLUSTER_HEADER } from "../control/translate/xds/routes.js";
import { SCOPE_HEADER, scopedEngineConfig, scopedEngineConfigJson } from "../control/translate/xds/scoped-routes.js";
import { translateRoutes } from "../control/translate/routes.js";
import { sidecarProxy } from "../control/translate/proxy.js";
import { ROUTE_TYPE } from "../control/xds/resource-types.js";
import type { Snapshot } from "../control/xds/snapshot.js";

const SHAPE = { services: 100, namespaces: 10 };
const EDITS = 40;

const node = (id: string) => ({ id, cluster: "", metadata: {}, userAgentName: "", userAgentVersion: "" });

/** Every resource of every type by name, as its encoding's hash (equal hashes, equal bytes), the set's version and order. */
function contents(s: Snapshot): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const [type, set] of s.types) {
    out[type] = Object.fromEntries([...set.resources].map(([name, r]) => [name, r.version]));
    // The set's version and its resources' order too (a patched set must iterate as a rebuilt one).
    out[type]["\0version"] = set.version;
    out[type]["\0order"] = [...set.resources.keys()].join(" ");
  }
  return out;
}

/** Small seeded PRNG (mulberry32): a failing sequence is replayed from the seed printed with it. */
function random(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** The file's YAML documents, edited one at a time by kind. */
function editDocs(file: string, edit: (doc: string, kind: string) => string | undefined): void {
  const docs = readFileSync(file, "utf8").split(/^---\n/m);
  const out: string[] = [];
  for (const doc of docs) {
    const kind = /^kind: (\w+)/m.exec(doc)?.[1] ?? "";
    const next = edit(doc, kind);
    if (next !== undefined) out.push(next);
  }
  writeFileSync(file, out.join("---\n"));
}

describe("incremental translation", () => {
  let dir: string;
  let services: MeshService[];
  const store = new ConfigStore();
  const load = async () => {
    const r = await store.load([dir]);
    expect(r.errors.map((e) => `${e.file}:${e.line}: ${e.message}`)).toEqual([]);
    return r.config!;
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "halyard-incremental-"));
    services = writeMeshConfig(dir, SHAPE);
    // Hashing for svc-0000's own workloads only: two classes in ns-00 that share virtual hosts but not hash routes.
    writeFileSync(
      join(dir, "ns-00", "selected.yaml"),
      `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: selected, namespace: ns-00}
spec:
  host: svc-0003.ns-03.svc.cluster.local
  workloadSelector: {matchLabels: {app: svc-0000}}
  trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x-user}}}
`,
    );
  });
  afterAll(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps unchanged config documents (and their typed resources) the same objects across reloads", async () => {
    const before = await load();
    setWeights(services[3]!, [70, 30]);
    const after = await load();
    expect(after).not.toBe(before);
    const edited = (vs: { metadata: { name: string } }) => vs.metadata.name === services[3]!.name;
    for (const [i, vs] of after.virtualServices.entries()) {
      if (edited(vs)) expect(vs).not.toBe(before.virtualServices[i]);
      else expect(vs).toBe(before.virtualServices[i]);
    }
    // The edited file's other documents (same text, same lines) keep their objects too.
    expect(after.destinationRules.filter((d, i) => d !== before.destinationRules[i])).toEqual([]);
    expect(after.serviceEntries.filter((d, i) => d !== before.serviceEntries[i])).toEqual([]);
  });

  it("gives what a from-scratch translation gives, for random single edits", async () => {
    const seed = Number(process.env.HALYARD_INCREMENTAL_SEED ?? 0x5eed + Date.now() % 1000);
    const rand = random(seed);
    // One sidecar per namespace (one class each) and one more in ns-00 serving another service (same class).
    const proxies = meshProxies(SHAPE);
    const firsts = [...new Map(proxies.map((p) => [p.namespace, p])).values()].map((p) => proxies.find((q) => q.namespace === p.namespace)!);
    const nodes = [...firsts, proxies.find((p) => p.namespace === "ns-00" && p.service !== firsts[0]!.service)!].map((p) => node(p.nodeId));
    const incremental = new SharedSnapshotBuilder();
    let config = await load();
    for (const n of nodes) incremental.build(config, n);
    const classes = incremental.translations.full;
    // ns-00's two sidecars differ by the workloadSelector's label.
    expect(classes).toBe(SHAPE.namespaces + 1);
    const extras: string[] = [];
    const faulted: MeshService[] = [];
    const log: string[] = [];
    let hostScoped = 0;

    const edits: { name: string; hostScoped: boolean; apply: (s: MeshService) => void }[] = [
      { name: "VirtualService weights", hostScoped: true, apply: (s) => setWeights(s, [rand(101), 0].map((w, i, a) => (i === 0 ? w : 100 - a[0]!)) as [number, number]) },
      { name: "VirtualService removed", hostScoped: true, apply: (s) => editDocs(s.file, (d, k) => (k === "VirtualService" ? undefined : d)) },
      {
        // shared-extra.example.com in every extra VirtualService: later ones' virtual hosts for it are de-duplicated away.
        name: "VirtualService added (another host routed to the service)",
        hostScoped: true,
        apply: (s) => {
          const file = join(dir, s.namespace, `extra-${extras.length}.yaml`);
          extras.push(file);
          writeFileSync(
            file,
            `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: extra-${extras.length}, namespace: ${s.namespace}}
spec:
  hosts: [extra-${extras.length}.example.com, shared-extra.example.com]
  http:
  - route: [{destination: {host: ${s.host}, subset: v2}}]
`,
          );
        },
      },
      {
        name: "extra VirtualService removed",
        hostScoped: true,
        apply: () => {
          const file = extras.pop();
          if (file) unlinkSync(file);
        },
      },
      {
        // The outbound listener gains (or keeps) halyard.fault: its content key must see the fault, not just the scoped JSON.
        name: "VirtualService fault added",
        hostScoped: true,
        apply: (s) => {
          faulted.push(s);
          const fault = "    fault: {abort: {httpStatus: 503, percentage: {value: 10}}}\n";
          editDocs(s.file, (d, k) => (k === "VirtualService" && !d.includes("fault:") ? d.replace("  - name: split\n", `  - name: split\n${fault}`) : d));
        },
      },
      {
        name: "VirtualService fault removed",
        hostScoped: true,
        apply: (s) => {
          const target = faulted.pop() ?? s;
          editDocs(target.file, (d, k) => (k === "VirtualService" ? d.replace(/^    fault: .*\n/m, "") : d));
        },
      },
      { name: "DestinationRule subset labels", hostScoped: true, apply: (s) => editDocs(s.file, (d, k) => (k === "DestinationRule" ? d.replace("labels: {version: v2}", "labels: {version: v1}") : d)) },
      { name: "DestinationRule subset renamed", hostScoped: true, apply: (s) => editDocs(s.file, (d, k) => (k === "DestinationRule" ? d.replace("name: v2", "name: canary") : d)) },
      {
        name: "DestinationRule consistent hash",
        hostScoped: true,
        apply: (s) =>
          editDocs(s.file, (d, k) => (k === "DestinationRule" && !d.includes("trafficPolicy") ? `${d.trimEnd()}\n  trafficPolicy:\n    loadBalancer:\n      consistentHash: {httpHeaderName: x-user}\n` : d)),
      },
      {
        name: "ServiceEntry endpoint moved",
        hostScoped: true,
        apply: (s) => editDocs(s.file, (d, k) => (k === "WorkloadEntry" && d.includes("version: v2") ? d.replace(/address: \S+/, `address: 127.200.${s.index % 250}.${1 + rand(250)}`) : d)),
      },
      { name: "ServiceEntry port changed", hostScoped: true, apply: (s) => editDocs(s.file, (d, k) => (k === "ServiceEntry" ? d.replace(/- number: \d+/, `- number: ${7000 + rand(50)}`) : d)) },
      {
        name: "Sidecar REGISTRY_ONLY (class-wide)",
        hostScoped: false,
        apply: (s) => {
          const file = join(dir, s.namespace, `sidecar.yaml`);
          writeFileSync(file, `apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: default, namespace: ${s.namespace}}\nspec:\n  outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n`);
        },
      },
    ];

    for (let step = 0; step < EDITS; step++) {
      // Class-wide edits are rare (they are the fallback); everything else is what an operator edits all day.
      const edit = rand(20) === 0 ? edits[edits.length - 1]! : edits[rand(edits.length - 1)]!;
      const service = services[rand(services.length)]!;
      edit.apply(service);
      log.push(`${edit.name} on ${service.name}`);
      config = await load();
      const before = { ...incremental.translations };
      const scratch = new SharedSnapshotBuilder();
      for (const n of nodes) {
        const fresh = scratch.build(config, n);
        expect(contents(incremental.build(config, n)), `seed ${seed}, step ${step}: ${log.join(" / ")}; node ${n.id}`).toEqual(contents(fresh));
      }
      if (edit.hostScoped) {
        // Every class was re-translated from its previous translation, not from scratch.
        expect(incremental.translations.incremental - before.incremental, `seed ${seed}, step ${step}: ${edit.name}`).toBe(classes);
        expect(incremental.translations.full - before.full).toBe(0);
        hostScoped++;
      }
    }
    expect(hostScoped).toBeGreaterThan(EDITS / 2);
  }, 120_000);

  it("strips x-halyard-scope (and x-halyard-cluster) on every route of a scope before it goes upstream", async () => {
    const config = await load();
    const snapshot = new SharedSnapshotBuilder().build(config, node(meshProxies(SHAPE)[0]!.nodeId));
    const scopes = [...snapshot.types.get(ROUTE_TYPE)!.resources.values()].map((r) => r.message as RouteConfiguration);
    expect(scopes.length).toBeGreaterThan(SHAPE.services);
    for (const rc of scopes) {
      const routes = rc.virtualHosts.flatMap((vh) => vh.routes);
      expect(routes.map((r) => r.name)).toContain("default");
      for (const r of routes) expect(r.requestHeadersToRemove, `${rc.name} ${r.name}`).toEqual([CLUSTER_HEADER, SCOPE_HEADER]);
    }
  });

  it("serialises the scoped halyard.route configuration exactly as JSON.stringify does, cached per virtual host", async () => {
    const config = await load();
    const translation = translateRoutes(config, sidecarProxy("ns-03", { app: "x" }));
    expect(translation.routeConfigs.length).toBeGreaterThan(1);
    for (const rc of translation.routeConfigs) {
      const expected = JSON.stringify(scopedEngineConfig(rc.port, rc.config));
      expect(scopedEngineConfigJson(rc.port, rc.config)).toBe(expected);
      expect(scopedEngineConfigJson(rc.port, rc.config)).toBe(expected);
      expect(scopedEngineConfigJson(rc.port, { ...rc.config, virtual_hosts: [] })).toBe(JSON.stringify(scopedEngineConfig(rc.port, { ...rc.config, virtual_hosts: [] })));
    }
  });
});
