// The ADS server against a real, independent xDS client: @grpc/grpc-js-xds resolving
// xds:///greeter.default.svc.cluster.local:50051 through it, with real @grpc/grpc-js servers as endpoints.
import xds from "@grpc/grpc-js-xds";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSnapshot } from "../control/xds/snapshot.js";
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from "../control/xds/resource-types.js";
import { greeterClient, startGreeter, type GreeterClient, type GreeterServer } from "./helpers/grpc-greeter.js";
import { clusterName, greeterResources, LISTENER_NAME, type GreeterSnapshotSpec } from "./helpers/xds-resources.js";
import { grpcBootstrap, useControlPlane, waitFor } from "./helpers/xds-server.js";

// grpc-js-xds adds the xds: scheme (resolver, LB policies) to the @grpc/grpc-js instance this process uses.
xds.register();

const TARGET = `xds:///${LISTENER_NAME}`;
// Each test gets its own XdsClient (and node id) through the per-channel bootstrap option grpc-js-xds reads
// instead of GRPC_XDS_BOOTSTRAP_CONFIG, so the tests do not share client state.
const BOOTSTRAP_OPTION = "grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config";

// Each test's clients are closed after it (plane.track).
const plane = useControlPlane<GreeterClient>();
let a: GreeterServer, b: GreeterServer, c: GreeterServer;

beforeAll(async () => {
  [a, b, c] = await Promise.all([startGreeter("a"), startGreeter("b"), startGreeter("c")]);
});

afterAll(async () => {
  await Promise.all([a, b, c].filter(Boolean).map((s) => s.close()));
});

function setSnapshot(nodeId: string, spec: GreeterSnapshotSpec) {
  const snapshot = buildSnapshot(greeterResources(spec));
  plane.cp.cache.setSnapshot(nodeId, snapshot);
  return snapshot;
}

function client(nodeId: string): GreeterClient {
  return plane.track(greeterClient(TARGET, { [BOOTSTRAP_OPTION]: grpcBootstrap(plane.cp.xdsPort, nodeId) }));
}

async function tally(cl: GreeterClient, calls: number, parallel = 25): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let done = 0; done < calls; done += parallel) {
    const batch = await Promise.all(Array.from({ length: Math.min(parallel, calls - done) }, () => cl.sayHello()));
    for (const s of batch) counts[s] = (counts[s] ?? 0) + 1;
  }
  return counts;
}

async function typeSync(nodeId: string, short: string) {
  const report = await plane.cp.syncz();
  return report.proxies.find((p) => p.id === nodeId)?.streams[0]?.types[short];
}

describe("proxyless gRPC client over ADS", () => {
  it("resolves the listener, cluster and endpoints, and round-robins over both endpoints", async () => {
    const node = "grpc-client-rr";
    const snapshot = setSnapshot(node, { clusters: { [clusterName()]: [a.port, b.port] }, route: clusterName() });
    const cl = client(node);
    // Until both subchannels are READY, calls go to whichever connected first.
    const seen = new Set<string>();
    await waitFor("calls on both endpoints", async () => (seen.add(await cl.sayHello()).size === 2 ? true : undefined));
    // Then round robin alternates exactly.
    expect(await tally(cl, 40, 1)).toEqual({ a: 20, b: 20 });

    // Every type the client used is ACKed at the version it was sent.
    for (const [short, typeUrl] of [["listeners", LISTENER_TYPE], ["clusters", CLUSTER_TYPE], ["endpoints", ENDPOINT_TYPE]] as const) {
      const t = await waitFor(`${short} ACK`, async () => {
        const t = await typeSync(node, short);
        return t?.ackedVersion ? t : undefined;
      });
      expect(t.ackedVersion).toBe(snapshot.types.get(typeUrl)!.version);
      expect(t.sentVersion).toBe(t.ackedVersion);
      expect(t.nackedVersion).toBeUndefined();
    }
    expect(await typeSync(node, "listeners")).toMatchObject({ subscribed: [LISTENER_NAME] });
    expect(await typeSync(node, "endpoints")).toMatchObject({ subscribed: [clusterName()] });
  });

  it("splits calls over weighted clusters from an RDS route within ±5% over 1000 calls", async () => {
    const node = "grpc-client-weighted";
    const snapshot = setSnapshot(node, {
      clusters: { [clusterName("v1")]: [a.port], [clusterName("v2")]: [b.port] },
      route: [[clusterName("v1"), 80], [clusterName("v2"), 20]],
      rds: true,
    });
    const cl = client(node);
    const counts = await tally(cl, 1000);
    console.log(`xds: weighted 80/20 split over 1000 calls: ${JSON.stringify(counts)}`);
    expect((counts.a ?? 0) + (counts.b ?? 0)).toBe(1000);
    expect(Math.abs((counts.a ?? 0) - 800)).toBeLessThanOrEqual(50);
    expect(Math.abs((counts.b ?? 0) - 200)).toBeLessThanOrEqual(50);
    const routes = await waitFor("routes ACK", async () => {
      const t = await typeSync(node, "routes");
      return t?.ackedVersion ? t : undefined;
    });
    expect(routes.ackedVersion).toBe(snapshot.types.get(ROUTE_TYPE)!.version);
    expect(routes.subscribed).toEqual([LISTENER_NAME]);
  });

  it("moves a connected client's calls to a new cluster within 1 s of a snapshot update", async () => {
    const node = "grpc-client-update";
    setSnapshot(node, { clusters: { [clusterName("v1")]: [a.port] }, route: clusterName("v1"), rds: true });
    const cl = client(node);
    expect(await cl.sayHello()).toBe("a");

    const t0 = performance.now();
    setSnapshot(node, { clusters: { [clusterName("v3")]: [c.port] }, route: clusterName("v3"), rds: true });
    await waitFor("a call answered by c", async () => ((await cl.sayHello(1000)) === "c" ? true : undefined), 1000);
    const elapsed = performance.now() - t0;
    expect(elapsed).toBeLessThan(1000);
    console.log(`xds: update reached the client's calls in ${elapsed.toFixed(0)} ms`);
    // And it stays there: the old cluster is gone from the client's config.
    expect(await tally(cl, 20)).toEqual({ c: 20 });
  });

  it("shows a listener the client rejects as NACKed in /debug/syncz, and the client keeps its previous config", async () => {
    const node = "grpc-client-nack";
    const good = setSnapshot(node, { clusters: { [clusterName()]: [b.port] }, route: clusterName() });
    const cl = client(node);
    expect(await cl.sayHello()).toBe("b");
    const goodVersion = good.types.get(LISTENER_TYPE)!.version;
    await waitFor("listener ACK", async () => ((await typeSync(node, "listeners"))?.ackedVersion === goodVersion ? true : undefined));

    const bad = setSnapshot(node, { clusters: { [clusterName()]: [b.port] }, route: clusterName(), badListener: true });
    const badVersion = bad.types.get(LISTENER_TYPE)!.version;
    const listeners = await waitFor("listener NACK", async () => {
      const t = await typeSync(node, "listeners");
      return t?.nackedVersion === badVersion ? t : undefined;
    });
    expect(listeners.ackedVersion).toBe(goodVersion);
    expect(listeners.sentVersion).toBe(badVersion);
    expect(listeners.nackError).toMatch(/api_listener/);
    expect(plane.cp.logs.some((l) => l.includes(node) && l.includes("rejected") && l.includes(badVersion))).toBe(true);
    // The rejected listener changed nothing for the client.
    expect(await tally(cl, 10)).toEqual({ b: 10 });

    // A fixed listener is accepted again.
    const fixed = setSnapshot(node, { clusters: { [clusterName()]: [a.port] }, route: clusterName() });
    await waitFor("listener ACK after the fix", async () =>
      (await typeSync(node, "listeners"))?.ackedVersion === fixed.types.get(LISTENER_TYPE)!.version ? true : undefined,
    );
    await waitFor("calls on the fixed config", async () => ((await cl.sayHello()) === "a" ? true : undefined));
  });
});
