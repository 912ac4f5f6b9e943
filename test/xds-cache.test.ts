// The snapshot cache and its helpers, without a protocol server: content-hash versions, one-shot watches fired
// only on a change of what they select, in push order; the first-connect provider; the push debouncer.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ClusterSchema } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { SnapshotCache } from "../control/xds/cache.js";
import { debounce } from "../control/xds/debounce.js";
import type { XdsNode } from "../control/xds/node.js";
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from "../control/xds/resource-types.js";
import { buildSnapshot, SnapshotError, type TypeSnapshot } from "../control/xds/snapshot.js";
import { apiListener, edsCluster, loadAssignment, routeConfig } from "./helpers/xds-resources.js";

const node = (id: string, metadata = {}): XdsNode => ({ id, cluster: "", metadata, userAgentName: "", userAgentVersion: "" });
const all = { wildcard: true, names: new Set<string>() };
const named = (...n: string[]) => ({ wildcard: false, names: new Set(n) });

function snap(ports: Record<string, number[]>, extra: { route?: string } = {}) {
  return buildSnapshot({
    clusters: Object.keys(ports).map(edsCluster),
    endpoints: Object.entries(ports).map(([n, p]) => loadAssignment(n, p)),
    listeners: [apiListener("l", { rds: "r" })],
    routes: [routeConfig("r", extra.route ?? "c1")],
  });
}

describe("buildSnapshot", () => {
  it("versions by content: equal content, equal versions; a change moves only its type and resource", () => {
    const a = snap({ c1: [1], c2: [2] });
    const b = snap({ c1: [1], c2: [2] });
    const c = snap({ c1: [1], c2: [3] });
    for (const t of [CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE]) expect(b.types.get(t)!.version).toBe(a.types.get(t)!.version);
    expect(c.types.get(ENDPOINT_TYPE)!.version).not.toBe(a.types.get(ENDPOINT_TYPE)!.version);
    expect(c.types.get(CLUSTER_TYPE)!.version).toBe(a.types.get(CLUSTER_TYPE)!.version);
    const ea = a.types.get(ENDPOINT_TYPE)!.resources;
    const ec = c.types.get(ENDPOINT_TYPE)!.resources;
    expect(ec.get("c1")!.version).toBe(ea.get("c1")!.version);
    expect(ec.get("c2")!.version).not.toBe(ea.get("c2")!.version);
    // The cached Any carries the encoded message under its type URL.
    expect(ea.get("c1")!.any.typeUrl).toBe(ENDPOINT_TYPE);
    expect(ea.get("c1")!.any.value).toEqual(ea.get("c1")!.bytes);
  });

  it("rejects wrong types, unnamed and duplicate resources, unknown kinds, with one-line errors", () => {
    const cases: [() => unknown, string][] = [
      [() => buildSnapshot({ clusters: [routeConfig("r", "c")] }), "snapshot: clusters[0]: expected envoy.config.cluster.v3.Cluster, got envoy.config.route.v3.RouteConfiguration"],
      [() => buildSnapshot({ clusters: [create(ClusterSchema)] }), "snapshot: clusters[0]: resource has no name"],
      [() => buildSnapshot({ clusters: [edsCluster("x"), edsCluster("x")] }), 'snapshot: clusters[1]: duplicate resource name "x"'],
      [() => buildSnapshot({ widgets: [] } as never), 'snapshot: unknown resource kind "widgets" (known: clusters, endpoints, listeners, routes, secrets)'],
      [() => buildSnapshot(new Map([["type.googleapis.com/nope", []]])), expect.stringContaining('snapshot: unsupported type URL "type.googleapis.com/nope"') as never],
    ];
    for (const [f, message] of cases) {
      let err: unknown;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SnapshotError);
      expect((err as Error).message).toEqual(message);
    }
  });
});

describe("SnapshotCache", () => {
  it("fires a watch at once when the version differs, else on the next change of what it selects — once", () => {
    const cache = new SnapshotCache();
    const s1 = snap({ c1: [1], c2: [2] });
    cache.setSnapshot("n", s1);
    const fired: string[] = [];
    cache.watch("n", CLUSTER_TYPE, all, "old", (t) => fired.push(`now:${t.version}`));
    expect(fired).toEqual([`now:${s1.types.get(CLUSTER_TYPE)!.version}`]);

    const eds = s1.types.get(ENDPOINT_TYPE)!.version;
    cache.watch("n", ENDPOINT_TYPE, named("c1"), eds, () => fired.push("c1"));
    cache.watch("n", ENDPOINT_TYPE, all, eds, () => fired.push("all"));
    cache.setSnapshot("n", snap({ c1: [1], c2: [2] })); // identical
    cache.setSnapshot("n", snap({ c1: [1], c2: [9] })); // c2 only
    expect(fired.slice(1)).toEqual(["all"]);
    cache.setSnapshot("n", snap({ c1: [7], c2: [9] }));
    cache.setSnapshot("n", snap({ c1: [8], c2: [9] })); // one-shot: fires once
    expect(fired.slice(1)).toEqual(["all", "c1"]);
  });

  it("waits for a node's first snapshot, fires watches in push order, and honours cancel", () => {
    const cache = new SnapshotCache();
    const order: string[] = [];
    const w = (t: string, label: string) => cache.watch("n", t, all, "", (ts: TypeSnapshot) => order.push(`${label}:${ts.resources.size}`));
    w(ROUTE_TYPE, "rds");
    w(LISTENER_TYPE, "lds");
    const cancelled = w(LISTENER_TYPE, "cancelled");
    w(ENDPOINT_TYPE, "eds");
    w(CLUSTER_TYPE, "cds");
    cancelled.cancel();
    expect(order).toEqual([]);
    cache.setSnapshot("other", snap({ c1: [1] }));
    expect(order).toEqual([]);
    cache.setSnapshot("n", snap({ c1: [1] }));
    expect(order).toEqual(["cds:1", "eds:1", "lds:1", "rds:1"]);
  });

  it("asks the provider once per node, with the node's metadata, however many streams connect at once", async () => {
    const calls: XdsNode[] = [];
    const cache = new SnapshotCache({
      provider: async (n) => {
        calls.push(n);
        await new Promise((r) => setTimeout(r, 20));
        return snap({ c1: [1] });
      },
    });
    const conns = await Promise.all([cache.connect(node("p", { NS: "a" })), cache.connect(node("p", { NS: "a" })), cache.connect(node("q"))]);
    expect(calls.map((n) => n.id).sort()).toEqual(["p", "q"]);
    expect(calls.find((n) => n.id === "p")!.metadata).toEqual({ NS: "a" });
    expect(cache.getSnapshot("p")).toBeDefined();
    expect(cache.knownNodes().find((k) => k.node.id === "p")!.streams).toBe(2);
    for (const c of conns) c.release();
    expect(cache.knownNodes().every((k) => k.streams === 0)).toBe(true);
    await cache.connect(node("p")); // has a snapshot: no new provider call
    expect(calls).toHaveLength(2);
    cache.forgetNode("q");
    expect(cache.getSnapshot("q")).toBeUndefined();
    expect(cache.knownNodes().map((k) => k.node.id)).toEqual(["p"]);
  });

  it("logs a failing provider in one line and leaves the node without a snapshot", async () => {
    const logs: string[] = [];
    const cache = new SnapshotCache({ provider: () => Promise.reject(new Error("no such namespace")), log: (l) => logs.push(l) });
    await cache.connect(node("bad"));
    expect(cache.getSnapshot("bad")).toBeUndefined();
    expect(logs).toEqual(['xds: building the snapshot for node "bad" failed: no such namespace']);
  });
});

describe("debounce", () => {
  it("coalesces a burst into one run after the quiet period, and runs again when triggered during a run", async () => {
    let runs = 0;
    let release: (() => void) | undefined;
    const d = debounce(
      () => {
        runs++;
        return new Promise<void>((r) => (release = r));
      },
      { quietMs: 30 },
    );
    for (let i = 0; i < 5; i++) d.trigger();
    await new Promise((r) => setTimeout(r, 10));
    expect(runs).toBe(0);
    await new Promise((r) => setTimeout(r, 40));
    expect(runs).toBe(1);
    d.trigger(); // while running
    await new Promise((r) => setTimeout(r, 50));
    expect(runs).toBe(1);
    release!();
    await new Promise((r) => setTimeout(r, 50));
    expect(runs).toBe(2);
    release!();
    await d.flush();
  });

  it("counts the quiet period from when the change happened, and still coalesces changes within it", async () => {
    const runsAt: number[] = [];
    const d = debounce(() => void runsAt.push(Date.now()), { quietMs: 100 });
    const changedAt = Date.now() - 70; // e.g. the file event, 70 ms of reload ago
    d.trigger(changedAt);
    await new Promise((r) => setTimeout(r, 10));
    d.trigger(changedAt + 20); // a second change within the window moves it to changedAt + 120
    const deadline = Date.now() + 1000;
    while (runsAt.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    expect(runsAt).toHaveLength(1);
    expect(runsAt[0]! - changedAt).toBeGreaterThanOrEqual(119);
    expect(runsAt[0]! - changedAt).toBeLessThan(400);
    await new Promise((r) => setTimeout(r, 150));
    expect(runsAt).toHaveLength(1);
    await d.flush();
  });

  it("runs at once for a change whose quiet period already passed, but never more often than the change rate", async () => {
    let runs = 0;
    const d = debounce(() => void runs++, { quietMs: 50 });
    const start = Date.now();
    d.trigger(start - 200);
    await new Promise((r) => setTimeout(r, 30));
    expect(runs).toBe(1);
    d.trigger(Date.now() + 10_000); // a clock in the future counts as now
    await new Promise((r) => setTimeout(r, 20));
    expect(runs).toBe(1);
    await d.flush();
    expect(runs).toBe(2);
  });

  it("caps the delay at maxDelayMs from the first change, counted from when it happened", async () => {
    let ranAt: number | undefined;
    const d = debounce(() => void (ranAt = Date.now()), { quietMs: 300, maxDelayMs: 350 });
    const first = Date.now() - 200; // its quiet period ends at first + 300
    d.trigger(first);
    await new Promise((r) => setTimeout(r, 30));
    d.trigger(); // now: would move the quiet period to now + 300 (first + 530 or later), past first + 350
    const deadline = Date.now() + 2000;
    while (ranAt === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    expect(ranAt! - first).toBeGreaterThanOrEqual(349);
    expect(ranAt! - first).toBeLessThan(520);
    await d.flush();
  });

  it("runs at least every maxDelayMs under a burst that never goes quiet", async () => {
    let runs = 0;
    const d = debounce(() => void runs++, { quietMs: 30, maxDelayMs: 60 });
    const start = Date.now();
    while (Date.now() - start < 200) {
      d.trigger();
      await new Promise((r) => setTimeout(r, 10));
    }
    d.cancel();
    expect(runs).toBeGreaterThanOrEqual(2);
  });
});
