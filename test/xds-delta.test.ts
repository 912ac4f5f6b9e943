// Incremental (delta) ADS with a raw grpc-js stream: wildcard and named subscriptions, only changed resources
// sent, removed_resources for deletions, ACK/NACK in syncz, unsubscribe, initial_resource_versions on reconnect.
import { fromBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ClusterSchema } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import type { DeltaDiscoveryResponse } from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import { CLUSTER_TYPE, ENDPOINT_TYPE } from "../control/xds/resource-types.js";
import { buildSnapshot, type Snapshot } from "../control/xds/snapshot.js";
import { edsCluster, loadAssignment } from "./helpers/xds-resources.js";
import { deltaRequest, openDelta, type DeltaStream } from "./helpers/xds-raw-client.js";
import { useControlPlane, waitFor } from "./helpers/xds-server.js";

const fixture = useControlPlane(openDelta);
const stream = () => fixture.stream();

/** Clusters with endpoints on the given ports; `stat` changes a cluster without changing its endpoints. */
function snapshot(clusters: Record<string, number[]>, stat: Record<string, string> = {}): Snapshot {
  return buildSnapshot({
    clusters: Object.keys(clusters).map((n) => ({ ...edsCluster(n), altStatName: stat[n] ?? "" })),
    endpoints: Object.entries(clusters).map(([n, p]) => loadAssignment(n, p)),
  });
}

function resources(r: DeltaDiscoveryResponse): Record<string, string> {
  const out: Record<string, string> = {};
  for (const res of r.resources) {
    const decoded =
      r.typeUrl === CLUSTER_TYPE ? fromBinary(ClusterSchema, res.resource!.value).name : fromBinary(ClusterLoadAssignmentSchema, res.resource!.value).clusterName;
    expect(decoded).toBe(res.name);
    out[res.name] = res.version;
  }
  return out;
}

const ack = (typeUrl: string, r: DeltaDiscoveryResponse) => deltaRequest({ typeUrl, responseNonce: r.nonce });

async function syncOf(nodeId: string, short: string) {
  return (await fixture.cp.syncz()).proxies.find((p) => p.id === nodeId)?.streams[0]?.types[short];
}

describe("delta ADS", () => {
  it("subscribes (wildcard CDS), receives, ACKs, gets only the changed cluster, then the removal", async () => {
    const node = { id: "delta-cds" };
    const v1 = snapshot({ c1: [1], c2: [2] });
    fixture.cp.cache.setSnapshot(node.id, v1);
    const s = stream();
    s.send(deltaRequest({ node, typeUrl: CLUSTER_TYPE }));
    const r1 = await s.next();
    expect(r1.typeUrl).toBe(CLUSTER_TYPE);
    expect(r1.systemVersionInfo).toBe(v1.types.get(CLUSTER_TYPE)!.version);
    const have = resources(r1);
    expect(Object.keys(have)).toEqual(["c1", "c2"]);
    expect(have.c1).toBe(v1.types.get(CLUSTER_TYPE)!.resources.get("c1")!.version);
    expect(r1.removedResources).toEqual([]);
    s.send(ack(CLUSTER_TYPE, r1));
    await waitFor("ACK in syncz", async () => ((await syncOf(node.id, "clusters"))?.ackedVersion === r1.systemVersionInfo ? true : undefined));
    expect(await syncOf(node.id, "clusters")).toMatchObject({ subscribed: ["*"], lastNonce: r1.nonce });

    // c1 changes, c2 does not: only c1 is sent.
    fixture.cp.cache.setSnapshot(node.id, snapshot({ c1: [1], c2: [2] }, { c1: "changed" }));
    const r2 = await s.next();
    expect(Object.keys(resources(r2))).toEqual(["c1"]);
    expect(r2.removedResources).toEqual([]);
    s.send(ack(CLUSTER_TYPE, r2));

    // c2 is deleted and c3 added.
    fixture.cp.cache.setSnapshot(node.id, snapshot({ c1: [1], c3: [3] }, { c1: "changed" }));
    const r3 = await s.next();
    expect(Object.keys(resources(r3))).toEqual(["c3"]);
    expect(r3.removedResources).toEqual(["c2"]);
    s.send(ack(CLUSTER_TYPE, r3));

    // An identical snapshot sends nothing.
    fixture.cp.cache.setSnapshot(node.id, snapshot({ c1: [1], c3: [3] }, { c1: "changed" }));
    await s.none();
  });

  it("serves named EDS subscriptions: subscribe, add a name, unsubscribe, absent names reported removed", async () => {
    const node = { id: "delta-eds" };
    fixture.cp.cache.setSnapshot(node.id, snapshot({ c1: [1], c2: [2], c3: [3] }));
    const s = stream();
    s.send(deltaRequest({ node, typeUrl: ENDPOINT_TYPE, resourceNamesSubscribe: ["c1", "nope"] }));
    const r1 = await s.next();
    expect(Object.keys(resources(r1))).toEqual(["c1"]);
    expect(r1.removedResources).toEqual(["nope"]);

    s.send(deltaRequest({ typeUrl: ENDPOINT_TYPE, responseNonce: r1.nonce, resourceNamesSubscribe: ["c2"] }));
    const r2 = await s.next();
    expect(Object.keys(resources(r2))).toEqual(["c2"]);
    s.send(ack(ENDPOINT_TYPE, r2));

    s.send(deltaRequest({ typeUrl: ENDPOINT_TYPE, resourceNamesUnsubscribe: ["c1"] }));
    await s.none(100);
    // c1 changes after the unsubscribe: not sent. c2 changes: sent. "nope" appears: sent.
    fixture.cp.cache.setSnapshot(node.id, snapshot({ c1: [11], c2: [22], c3: [3], nope: [4] }));
    const r3 = await s.next();
    expect(Object.keys(resources(r3))).toEqual(["c2", "nope"]);
    expect(r3.removedResources).toEqual([]);
    s.send(ack(ENDPOINT_TYPE, r3));
    await waitFor("EDS subscription in syncz", async () => {
      const t = await syncOf(node.id, "endpoints");
      return t?.ackedVersion === r3.systemVersionInfo ? t : undefined;
    }).then((t) => expect(t.subscribed).toEqual(["c2", "nope"]));
  });

  it("sends only what differs from initial_resource_versions on a new stream", async () => {
    const node = { id: "delta-reconnect" };
    const snap = snapshot({ c1: [1], c2: [2], c3: [3] });
    fixture.cp.cache.setSnapshot(node.id, snap);
    const versions = snap.types.get(CLUSTER_TYPE)!.resources;
    const s = stream();
    s.send(
      deltaRequest({
        node,
        typeUrl: CLUSTER_TYPE,
        initialResourceVersions: { c1: versions.get("c1")!.version, c2: "stale", gone: "x" },
      }),
    );
    const r = await s.next();
    expect(Object.keys(resources(r))).toEqual(["c2", "c3"]);
    expect(r.removedResources).toEqual(["gone"]);
  });

  it("records a NACK in syncz and does not re-send the rejected version", async () => {
    const node = { id: "delta-nack" };
    fixture.cp.cache.setSnapshot(node.id, snapshot({ c1: [1] }));
    const s = stream();
    s.send(deltaRequest({ node, typeUrl: CLUSTER_TYPE }));
    const r1 = await s.next();
    s.send(ack(CLUSTER_TYPE, r1));
    await waitFor("ACK in syncz", async () => ((await syncOf(node.id, "clusters"))?.ackedVersion === r1.systemVersionInfo ? true : undefined));
    fixture.cp.cache.setSnapshot(node.id, snapshot({ c1: [1] }, { c1: "bad" }));
    const r2 = await s.next();
    s.send(deltaRequest({ typeUrl: CLUSTER_TYPE, responseNonce: r2.nonce, errorDetail: { code: 3, message: "c1: rejected" } }));
    await s.none();
    const t = await waitFor("NACK in syncz", async () => {
      const t = await syncOf(node.id, "clusters");
      return t?.nackedVersion ? t : undefined;
    });
    expect(t).toMatchObject({ ackedVersion: r1.systemVersionInfo, nackedVersion: r2.systemVersionInfo, nackError: "c1: rejected" });
  });
});
