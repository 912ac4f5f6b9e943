// State-of-the-world ADS protocol rules, checked with a raw grpc-js stream: versions per type, nonces, stale
// nonces ignored, ACK/NACK, named subscriptions, push order (CDS then EDS, LDS then RDS), EDS re-sent with its
// cluster, identical pushes not sent, node required on the first request.
import { fromBinary, type Message } from "@bufbuild/protobuf";
import { status as grpcStatus } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { ClusterSchema } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "../gen/envoy/config/route/v3/route_pb.js";
import type { DiscoveryResponse } from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from "../control/xds/resource-types.js";
import { buildSnapshot, type Snapshot } from "../control/xds/snapshot.js";
import { apiListener, edsCluster, loadAssignment, routeConfig } from "./helpers/xds-resources.js";
import { ClusterDiscoveryService } from "../gen/envoy/service/cluster/v3/cds_pb.js";
import { fetchUnary, openSotw, openTypedSotw, sotwRequest, type SotwStream } from "./helpers/xds-raw-client.js";
import { useControlPlane, waitFor } from "./helpers/xds-server.js";

const fixture = useControlPlane(openSotw);
const stream = () => fixture.stream();

const SCHEMAS = { [CLUSTER_TYPE]: ClusterSchema, [ENDPOINT_TYPE]: ClusterLoadAssignmentSchema, [LISTENER_TYPE]: ListenerSchema, [ROUTE_TYPE]: RouteConfigurationSchema };

function names(r: DiscoveryResponse): string[] {
  const schema = SCHEMAS[r.typeUrl as keyof typeof SCHEMAS];
  return r.resources.map((a) => {
    expect(a.typeUrl).toBe(r.typeUrl);
    const m = fromBinary(schema, a.value) as Message & { name?: string; clusterName?: string };
    return (m.name ?? m.clusterName)!;
  });
}

/** Clusters c1..cN with endpoints on the given ports, listener l1 → route r1 → c1 over RDS. */
function snapshot(opts: { clusters?: Record<string, number[]>; routeTo?: string; extraListener?: boolean } = {}): Snapshot {
  const clusters = opts.clusters ?? { c1: [1001], c2: [1002] };
  return buildSnapshot({
    clusters: Object.keys(clusters).map(edsCluster),
    endpoints: Object.entries(clusters).map(([n, p]) => loadAssignment(n, p)),
    listeners: [apiListener("l1", { rds: "r1" }), ...(opts.extraListener ? [apiListener("l2", { rds: "r1" })] : [])],
    routes: [routeConfig("r1", opts.routeTo ?? "c1")],
  });
}

const version = (s: Snapshot, typeUrl: string) => s.types.get(typeUrl)!.version;

async function syncOf(nodeId: string, short: string) {
  return (await fixture.cp.syncz()).proxies.find((p) => p.id === nodeId)?.streams[0]?.types[short];
}

describe("state-of-the-world ADS", () => {
  it("answers a wildcard CDS request and named EDS, with per-type versions and per-stream nonces", async () => {
    const node = { id: "sotw-basic" };
    const snap = snapshot();
    fixture.cp.cache.setSnapshot(node.id, snap);
    const s = stream();
    s.send(sotwRequest({ node, typeUrl: CLUSTER_TYPE }));
    const cds = await s.next();
    expect(cds.typeUrl).toBe(CLUSTER_TYPE);
    expect(cds.versionInfo).toBe(version(snap, CLUSTER_TYPE));
    expect(names(cds)).toEqual(["c1", "c2"]);
    expect(cds.nonce).not.toBe("");
    expect(cds.controlPlane?.identifier).toBe("halyard");

    s.send(sotwRequest({ typeUrl: CLUSTER_TYPE, versionInfo: cds.versionInfo, responseNonce: cds.nonce }));
    s.send(sotwRequest({ typeUrl: ENDPOINT_TYPE, resourceNames: ["c2", "missing"] }));
    const eds = await s.next();
    expect(eds.typeUrl).toBe(ENDPOINT_TYPE);
    expect(names(eds)).toEqual(["c2"]);
    expect(eds.versionInfo).toBe(version(snap, ENDPOINT_TYPE));
    expect(eds.nonce).not.toBe(cds.nonce);
    s.send(sotwRequest({ typeUrl: ENDPOINT_TYPE, resourceNames: ["c2", "missing"], versionInfo: eds.versionInfo, responseNonce: eds.nonce }));
    await s.none();

    const cdsSync = await waitFor("CDS ACK in syncz", async () => ((await syncOf(node.id, "clusters"))?.ackedVersion ? await syncOf(node.id, "clusters") : undefined));
    expect(cdsSync).toMatchObject({ subscribed: ["*"], sentVersion: cds.versionInfo, ackedVersion: cds.versionInfo, lastNonce: cds.nonce });
    expect(await syncOf(node.id, "endpoints")).toMatchObject({ subscribed: ["c2", "missing"], ackedVersion: eds.versionInfo });
  });

  it("does not push an identical snapshot, and pushes CDS before EDS, re-sending EDS with its cluster", async () => {
    const node = { id: "sotw-order" };
    fixture.cp.cache.setSnapshot(node.id, snapshot());
    const s = stream();
    s.send(sotwRequest({ node, typeUrl: CLUSTER_TYPE }));
    const cds = await s.next();
    s.send(sotwRequest({ typeUrl: ENDPOINT_TYPE, resourceNames: ["c1", "c2"] }));
    const eds = await s.next();
    s.send(sotwRequest({ typeUrl: CLUSTER_TYPE, versionInfo: cds.versionInfo, responseNonce: cds.nonce }));
    s.send(sotwRequest({ typeUrl: ENDPOINT_TYPE, resourceNames: ["c1", "c2"], versionInfo: eds.versionInfo, responseNonce: eds.nonce }));

    // Rebuilt from the same content: same versions, nothing sent.
    fixture.cp.cache.setSnapshot(node.id, snapshot());
    await s.none();

    // Clusters and endpoints both change: CDS goes first.
    const both = snapshot({ clusters: { c1: [2001], c2: [1002], c3: [2003] } });
    fixture.cp.cache.setSnapshot(node.id, both);
    const cds2 = await s.next();
    const eds2 = await s.next();
    expect([cds2.typeUrl, eds2.typeUrl]).toEqual([CLUSTER_TYPE, ENDPOINT_TYPE]);
    expect(names(cds2)).toEqual(["c1", "c2", "c3"]);
    expect(names(eds2)).toEqual(["c1", "c2"]);
    expect(eds2.versionInfo).toBe(version(both, ENDPOINT_TYPE));
    s.send(sotwRequest({ typeUrl: CLUSTER_TYPE, versionInfo: cds2.versionInfo, responseNonce: cds2.nonce }));
    s.send(sotwRequest({ typeUrl: ENDPOINT_TYPE, resourceNames: ["c1", "c2", "c3"], versionInfo: eds2.versionInfo, responseNonce: eds2.nonce }));
    const eds3 = await s.next(); // the new name c3 is answered at once, alone: c1 and c2 have not changed
    expect(names(eds3)).toEqual(["c3"]);
    s.send(sotwRequest({ typeUrl: ENDPOINT_TYPE, resourceNames: ["c1", "c2", "c3"], versionInfo: eds3.versionInfo, responseNonce: eds3.nonce }));
    await s.none();

    // Only a cluster changes (endpoints identical): the endpoints are re-sent right after it anyway.
    const clusterOnly = buildSnapshot({
      clusters: [edsCluster("c1"), edsCluster("c2"), { ...edsCluster("c3"), altStatName: "changed" }],
      endpoints: [loadAssignment("c1", [2001]), loadAssignment("c2", [1002]), loadAssignment("c3", [2003])],
    });
    expect(version(clusterOnly, ENDPOINT_TYPE)).toBe(eds3.versionInfo);
    fixture.cp.cache.setSnapshot(node.id, clusterOnly);
    const cds4 = await s.next();
    const eds4 = await s.next();
    expect([cds4.typeUrl, eds4.typeUrl]).toEqual([CLUSTER_TYPE, ENDPOINT_TYPE]);
    expect(eds4.versionInfo).toBe(eds3.versionInfo);
    expect(eds4.nonce).not.toBe(eds3.nonce);
  });

  it("pushes LDS before RDS", async () => {
    const node = { id: "sotw-lds-rds" };
    fixture.cp.cache.setSnapshot(node.id, snapshot());
    const s = stream();
    s.send(sotwRequest({ node, typeUrl: LISTENER_TYPE }));
    const lds = await s.next();
    expect(names(lds)).toEqual(["l1"]);
    s.send(sotwRequest({ typeUrl: LISTENER_TYPE, versionInfo: lds.versionInfo, responseNonce: lds.nonce }));
    s.send(sotwRequest({ typeUrl: ROUTE_TYPE, resourceNames: ["r1"] }));
    const rds = await s.next();
    s.send(sotwRequest({ typeUrl: ROUTE_TYPE, resourceNames: ["r1"], versionInfo: rds.versionInfo, responseNonce: rds.nonce }));

    fixture.cp.cache.setSnapshot(node.id, snapshot({ routeTo: "c2", extraListener: true }));
    const first = await s.next();
    const second = await s.next();
    expect([first.typeUrl, second.typeUrl]).toEqual([LISTENER_TYPE, ROUTE_TYPE]);
    expect(names(first)).toEqual(["l1", "l2"]);
  });

  it("sends RDS and EDS changes only (newly subscribed names too), LDS and CDS whole", async () => {
    const node = { id: "sotw-partial" };
    const routes = (to: Record<string, string>) => Object.entries(to).map(([name, cluster]) => routeConfig(name, cluster));
    const build = (to: Record<string, string>, ports: Record<string, number[]>) =>
      buildSnapshot({
        clusters: Object.keys(ports).map(edsCluster),
        endpoints: Object.entries(ports).map(([n, p]) => loadAssignment(n, p)),
        listeners: [apiListener("l1", { rds: "r1" }), apiListener("l2", { rds: "r2" })],
        routes: routes(to),
      });
    fixture.cp.cache.setSnapshot(node.id, build({ r1: "c1", r2: "c1", r3: "c1" }, { c1: [1001], c2: [1002] }));
    const s = stream();
    const ack = (r: DiscoveryResponse, resourceNames: string[] = []) => s.send(sotwRequest({ typeUrl: r.typeUrl, resourceNames, versionInfo: r.versionInfo, responseNonce: r.nonce }));
    s.send(sotwRequest({ node, typeUrl: CLUSTER_TYPE }));
    const cds = await s.next();
    ack(cds);
    s.send(sotwRequest({ typeUrl: ENDPOINT_TYPE, resourceNames: ["c1", "c2"] }));
    const eds = await s.next();
    expect(names(eds)).toEqual(["c1", "c2"]);
    ack(eds, ["c1", "c2"]);
    s.send(sotwRequest({ typeUrl: LISTENER_TYPE }));
    const lds = await s.next();
    ack(lds);
    s.send(sotwRequest({ typeUrl: ROUTE_TYPE, resourceNames: ["r1", "r2"] }));
    const rds = await s.next();
    expect(names(rds)).toEqual(["r1", "r2"]);
    ack(rds, ["r1", "r2"]);
    await s.none();

    // One route configuration changes (and one nobody subscribed to): the RDS response carries r2 alone.
    const edited = build({ r1: "c1", r2: "c2", r3: "c2" }, { c1: [1001], c2: [1002] });
    fixture.cp.cache.setSnapshot(node.id, edited);
    const rds2 = await s.next();
    expect(rds2.typeUrl).toBe(ROUTE_TYPE);
    expect(rds2.versionInfo).toBe(version(edited, ROUTE_TYPE));
    expect(names(rds2)).toEqual(["r2"]);
    ack(rds2, ["r1", "r2"]);
    await s.none();

    // A newly subscribed name comes alone; an endpoint change carries only its own assignment.
    s.send(sotwRequest({ typeUrl: ROUTE_TYPE, resourceNames: ["r1", "r2", "r3"], versionInfo: rds2.versionInfo, responseNonce: rds2.nonce }));
    const rds3 = await s.next();
    expect(names(rds3)).toEqual(["r3"]);
    ack(rds3, ["r1", "r2", "r3"]);
    const moved = build({ r1: "c1", r2: "c2", r3: "c2" }, { c1: [1001], c2: [2002] });
    fixture.cp.cache.setSnapshot(node.id, moved);
    const eds2 = await s.next();
    expect([eds2.typeUrl, names(eds2)]).toEqual([ENDPOINT_TYPE, ["c2"]]);
    expect(eds2.versionInfo).toBe(version(moved, ENDPOINT_TYPE));
    ack(eds2, ["c1", "c2"]);
    await s.none();

    // Full-state types stay whole: a listener change re-sends both listeners.
    fixture.cp.cache.setSnapshot(node.id, buildSnapshot({ clusters: ["c1", "c2"].map(edsCluster), endpoints: [loadAssignment("c1", [1001]), loadAssignment("c2", [2002])], listeners: [apiListener("l1", { rds: "r1" }), apiListener("l2", { rds: "r3" })], routes: routes({ r1: "c1", r2: "c2", r3: "c2" }) }));
    const lds2 = await s.next();
    expect([lds2.typeUrl, names(lds2)]).toEqual([LISTENER_TYPE, ["l1", "l2"]]);
  });

  it("ignores a request with a stale nonce, and counts only the last nonce's ACK", async () => {
    const node = { id: "sotw-stale" };
    const v1 = snapshot();
    fixture.cp.cache.setSnapshot(node.id, v1);
    const s = stream();
    s.send(sotwRequest({ node, typeUrl: CLUSTER_TYPE }));
    const r1 = await s.next();
    s.send(sotwRequest({ typeUrl: CLUSTER_TYPE, versionInfo: r1.versionInfo, responseNonce: r1.nonce }));
    const v2 = snapshot({ clusters: { c1: [1] } });
    fixture.cp.cache.setSnapshot(node.id, v2);
    const r2 = await s.next();
    expect(r2.versionInfo).toBe(version(v2, CLUSTER_TYPE));

    // Answers r1, which r2 superseded: ignored, even though it asks for other names.
    s.send(sotwRequest({ typeUrl: CLUSTER_TYPE, resourceNames: ["c2"], versionInfo: r1.versionInfo, responseNonce: r1.nonce }));
    await s.none();
    expect((await syncOf(node.id, "clusters"))?.ackedVersion).toBe(r1.versionInfo);

    s.send(sotwRequest({ typeUrl: CLUSTER_TYPE, versionInfo: r2.versionInfo, responseNonce: r2.nonce }));
    await waitFor("ACK of r2", async () => ((await syncOf(node.id, "clusters"))?.ackedVersion === r2.versionInfo ? true : undefined));
  });

  it("records a NACK with its error, keeps the ACKed version, and does not re-send the rejected version", async () => {
    const node = { id: "sotw-nack" };
    fixture.cp.cache.setSnapshot(node.id, snapshot());
    const s = stream();
    s.send(sotwRequest({ node, typeUrl: CLUSTER_TYPE }));
    const good = await s.next();
    s.send(sotwRequest({ typeUrl: CLUSTER_TYPE, versionInfo: good.versionInfo, responseNonce: good.nonce }));
    fixture.cp.cache.setSnapshot(node.id, snapshot({ clusters: { c9: [9] } }));
    const bad = await s.next();
    s.send(
      sotwRequest({
        typeUrl: CLUSTER_TYPE,
        versionInfo: good.versionInfo,
        responseNonce: bad.nonce,
        errorDetail: { code: 3, message: "cluster c9: unsupported thing" },
      }),
    );
    await s.none();
    const sync = await waitFor("NACK in syncz", async () => {
      const t = await syncOf(node.id, "clusters");
      return t?.nackedVersion ? t : undefined;
    });
    expect(sync).toMatchObject({ ackedVersion: good.versionInfo, nackedVersion: bad.versionInfo, nackError: "cluster c9: unsupported thing", sentVersion: bad.versionInfo });
    expect(fixture.cp.logs.some((l) => l.includes("sotw-nack") && l.includes("cluster c9: unsupported thing"))).toBe(true);

    // A new version goes out.
    const fixed = snapshot({ clusters: { c9: [9], c10: [10] } });
    fixture.cp.cache.setSnapshot(node.id, fixed);
    expect((await s.next()).versionInfo).toBe(version(fixed, CLUSTER_TYPE));
  });

  it("waits for a node's first snapshot, and asks the provider for it on first connect", async () => {
    const s = stream();
    s.send(sotwRequest({ node: { id: "sotw-late" }, typeUrl: LISTENER_TYPE }));
    await s.none(100);
    const snap = snapshot();
    fixture.cp.cache.setSnapshot("sotw-late", snap);
    expect((await s.next()).versionInfo).toBe(version(snap, LISTENER_TYPE));

    const seen: { id: string; metadata: unknown }[] = [];
    fixture.cp.cache.setProvider((n) => {
      seen.push({ id: n.id, metadata: n.metadata });
      return snapshot();
    });
    try {
      const p = stream();
      p.send(sotwRequest({ node: { id: "sotw-provided", metadata: { NAMESPACE: "ns1" } }, typeUrl: CLUSTER_TYPE }));
      expect(names(await p.next())).toEqual(["c1", "c2"]);
      expect(seen).toEqual([{ id: "sotw-provided", metadata: { NAMESPACE: "ns1" } }]);
    } finally {
      fixture.cp.cache.setProvider(undefined);
    }
  });

  it("ends a stream whose first request has no node with INVALID_ARGUMENT", async () => {
    const s = stream();
    s.send(sotwRequest({ typeUrl: CLUSTER_TYPE }));
    const st = await s.status();
    expect(st.code).toBe(grpcStatus.INVALID_ARGUMENT);
    expect(st.details).toBe("the first request on an xDS stream must carry node.id");
  });

  it("serves the per-type services too: StreamClusters without type_url, FetchClusters, a wrong type_url refused", async () => {
    const node = { id: "sotw-cds-service" };
    const snap = snapshot();
    fixture.cp.cache.setSnapshot(node.id, snap);
    const s = openTypedSotw(fixture.cp.xdsPort, ClusterDiscoveryService, "StreamClusters");
    fixture.track(s);
    s.send(sotwRequest({ node }));
    const r = await s.next();
    expect(r.typeUrl).toBe(CLUSTER_TYPE);
    expect(names(r)).toEqual(["c1", "c2"]);
    s.send(sotwRequest({ typeUrl: LISTENER_TYPE, responseNonce: r.nonce, versionInfo: r.versionInfo }));
    const st = await s.status();
    expect(st.code).toBe(grpcStatus.INVALID_ARGUMENT);
    expect(st.details).toMatch(/type_url ".*Listener" on envoy.service.cluster.v3.ClusterDiscoveryService\/StreamClusters, which serves only .*Cluster$/);

    const fetched = await fetchUnary(fixture.cp.xdsPort, ClusterDiscoveryService, "FetchClusters", sotwRequest({ node, resourceNames: ["c2"] }));
    expect("code" in fetched).toBe(false);
    expect(names(fetched as DiscoveryResponse)).toEqual(["c2"]);
    expect((fetched as DiscoveryResponse).versionInfo).toBe(version(snap, CLUSTER_TYPE));
    const noNode = await fetchUnary(fixture.cp.xdsPort, ClusterDiscoveryService, "FetchClusters", sotwRequest({}));
    expect(noNode).toMatchObject({ code: grpcStatus.INVALID_ARGUMENT, details: "node.id is required" });
  });
});
