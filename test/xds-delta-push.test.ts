// Delta ADS pushes at a few hundred resources: responses written from pre-encoded entries (byte-identical to
// toBinary), a push that changes one resource sends that one resource, ACKs without subscription changes send
// nothing, and an unsubscribe / resubscribe / wildcard switch still sends what the client lacks.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ClusterLoadAssignmentSchema } from "../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { DeltaDiscoveryResponseSchema, ResourceSchema, type DeltaDiscoveryResponse } from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import { deltaDiscoveryResponseParts, deltaResourceEntry, encodeDeltaDiscoveryResponse } from "../control/xds/encoded-response.js";
import { CLUSTER_TYPE, ENDPOINT_TYPE } from "../control/xds/resource-types.js";
import {
  buildSnapshot,
  changedNames,
  encodedDeltaAll,
  layeredTypeSnapshot,
  removedNames,
  replacedTypeSnapshot,
  sortedResources,
  typeSnapshot,
  type CachedResource,
  type Snapshot,
  type TypeSnapshot,
} from "../control/xds/snapshot.js";
import { edsCluster, loadAssignment } from "./helpers/xds-resources.js";
import { deltaRequest, openDelta, type DeltaStream } from "./helpers/xds-raw-client.js";
import { startControlPlane, useControlPlane } from "./helpers/xds-server.js";

const fixture = useControlPlane(openDelta);
const stream = () => fixture.stream();

const names = (n: number) => Array.from({ length: n }, (_, i) => `c${String(i).padStart(4, "0")}`);

/** `n` EDS clusters c0000..., cluster i with its endpoint on port `ports[i] ?? i + 1`. */
function snapshot(n: number, ports: Record<string, number> = {}): Snapshot {
  return buildSnapshot({
    clusters: names(n).map((c) => edsCluster(c)),
    endpoints: names(n).map((c, i) => loadAssignment(c, [ports[c] ?? i + 1])),
  });
}

const ack = (typeUrl: string, r: DeltaDiscoveryResponse) => deltaRequest({ typeUrl, responseNonce: r.nonce });
const sent = (r: DeltaDiscoveryResponse) => r.resources.map((x) => x.name);

describe("delta ADS pushes", () => {
  it("diffs per-node (layered) sets through their shared bases, as a plain walk would", () => {
    const eds = (n: number, ports: Record<string, number> = {}) => [...snapshot(n, ports).types.get(ENDPOINT_TYPE)!.resources.values()];
    const rename = (rs: CachedResource[], suffix: string) => rs.map((r) => ({ ...r, name: `${r.name}${suffix}` }));
    const base1 = buildSnapshot({ endpoints: eds(30).map((r) => r.message as never) }).types.get(ENDPOINT_TYPE)!;
    const base2 = buildSnapshot({ endpoints: eds(28, { c0003: 99 }).map((r) => r.message as never) }).types.get(ENDPOINT_TYPE)!;
    const own = eds(6, { c0001: 50 });
    const pairs: [TypeSnapshot, TypeSnapshot][] = [
      [layeredTypeSnapshot(base1, rename(own.slice(0, 3), "-own")), layeredTypeSnapshot(base2, rename(own.slice(1, 5), "-own"))],
      [layeredTypeSnapshot(base1, rename(own.slice(0, 2), "-own")), layeredTypeSnapshot(base1, rename(own.slice(0, 2), "-own"))],
      // A node's own resource moving into the shared base (and one leaving it for the node).
      [layeredTypeSnapshot(base2, rename(own.slice(0, 1), "-own")), layeredTypeSnapshot(base1, rename(own.slice(4, 6), "-x"))],
    ];
    for (const [a, b] of pairs) {
      const changed = [...b.resources].filter(([n, r]) => a.resources.get(n)?.version !== r.version).map(([n]) => n).sort();
      const removed = [...a.resources.keys()].filter((n) => !b.resources.has(n)).sort();
      expect([...changedNames(a, b)].sort()).toEqual(changed);
      expect([...removedNames(a, b)].sort()).toEqual(removed);
    }
  });

  it("patches a set by replacing resources in place: same version, order, name order and diff as a rebuilt set", () => {
    const eds = (n: number, ports: Record<string, number> = {}) => [...snapshot(n, ports).types.get(ENDPOINT_TYPE)!.resources.values()];
    const before = eds(300);
    const base = typeSnapshot(ENDPOINT_TYPE, before);
    // Once with the base's name order computed (the patched set keeps it), once without.
    for (const sortedFirst of [false, true]) {
      if (sortedFirst) sortedResources(base);
      const after = eds(300, { c0007: 9001, c0123: 9002 });
      const edited = [after[7]!, after[123]!, before[200]!]; // the last one unchanged
      const patched = replacedTypeSnapshot(base, edited)!;
      const rebuilt = typeSnapshot(ENDPOINT_TYPE, before.map((r, i) => (i === 7 || i === 123 ? after[i]! : r)));
      expect(patched.version).toBe(rebuilt.version);
      expect(patched.version).not.toBe(base.version);
      expect([...patched.resources.keys()]).toEqual([...rebuilt.resources.keys()]);
      expect([...patched.resources.values()].map((r) => r.version)).toEqual([...rebuilt.resources.values()].map((r) => r.version));
      expect(sortedResources(patched).map((r) => r.name)).toEqual(sortedResources(rebuilt).map((r) => r.name));
      expect(sortedResources(patched).map((r) => r.version)).toEqual(sortedResources(rebuilt).map((r) => r.version));
      expect(changedNames(base, patched)).toEqual(["c0007", "c0123"]);
      expect(removedNames(base, patched)).toEqual([]);
      expect([...changedNames(base, rebuilt)].sort()).toEqual(["c0007", "c0123"]);
      // Replacing back gives the base's version again (digests subtract exactly).
      expect(replacedTypeSnapshot(patched, [before[7]!, before[123]!])!.version).toBe(base.version);
    }
    // Patches of patches (edit after edit; flattened past a few levels): still what a rebuild gives.
    let chained = base;
    const current = before.slice();
    for (let round = 1; round <= 7; round++) {
      const after = eds(300, { [`c${String(round * 11).padStart(4, "0")}`]: 9000 + round });
      current[round * 11] = after[round * 11]!;
      chained = replacedTypeSnapshot(chained, [after[round * 11]!])!;
      const rebuilt = typeSnapshot(ENDPOINT_TYPE, current);
      expect(chained.version).toBe(rebuilt.version);
      expect([...chained.resources.entries()].map(([n, r]) => `${n}=${r.version}`)).toEqual([...rebuilt.resources.entries()].map(([n, r]) => `${n}=${r.version}`));
      expect(current.every((r) => chained.resources.get(r.name) === r && chained.resources.has(r.name))).toBe(true);
      expect(chained.resources.size).toBe(300);
    }
    // A name the set lacks, a name replaced twice, or a layered set: no patch.
    expect(replacedTypeSnapshot(base, [eds(301)[300]!])).toBeUndefined();
    expect(replacedTypeSnapshot(base, [before[5]!, { ...before[5]!, version: "other" }])).toBeUndefined();
    expect(replacedTypeSnapshot(layeredTypeSnapshot(base, [{ ...before[0]!, name: "own" }]), [before[1]!])).toBeUndefined();
  });

  it("writes the same bytes toBinary writes", () => {
    const type = snapshot(3).types.get(ENDPOINT_TYPE)!;
    const resources = [...type.resources.values()];
    const message = create(DeltaDiscoveryResponseSchema, {
      systemVersionInfo: type.version,
      resources: resources.map((r) => create(ResourceSchema, { name: r.name, version: r.version, resource: r.any })),
      typeUrl: ENDPOINT_TYPE,
      removedResources: ["gone", ""],
      nonce: "7",
      controlPlane: { identifier: "halyard" },
    });
    const encoded = encodeDeltaDiscoveryResponse(message, resources.map(deltaResourceEntry));
    expect(Buffer.from(encoded).equals(Buffer.from(toBinary(DeltaDiscoveryResponseSchema, message)))).toBe(true);
    // An entry is written once per resource, whatever the number of streams.
    expect(deltaResourceEntry(resources[0]!)).toBe(deltaResourceEntry(resources[0]!));
    // A whole set, and a shared set with one node's own resources cut in, as a new stream's first response.
    const own = [...snapshot(5).types.get(ENDPOINT_TYPE)!.resources.values()].slice(3).map((r) => ({ ...r, name: `${r.name}-own` }));
    for (const set of [type, layeredTypeSnapshot(type, own)]) {
      const all = [...set.resources.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
      const whole = create(DeltaDiscoveryResponseSchema, {
        resources: all.map((r) => create(ResourceSchema, { name: r.name, version: r.version, resource: r.any })),
        typeUrl: ENDPOINT_TYPE,
        nonce: "1",
      });
      expect(Buffer.from(encodeDeltaDiscoveryResponse(whole, encodedDeltaAll(set))).equals(Buffer.from(toBinary(DeltaDiscoveryResponseSchema, whole)))).toBe(true);
      // As parts (what the transport writes for large responses): the same bytes, the shared body not copied.
      const parts = deltaDiscoveryResponseParts(whole, encodedDeltaAll(set));
      expect(Buffer.concat(parts).equals(Buffer.from(toBinary(DeltaDiscoveryResponseSchema, whole)))).toBe(true);
      if (set === type) expect(parts.some((p) => p.buffer === encodedDeltaAll(set)[0]!.buffer)).toBe(true);
    }
  });

  it("sends one changed resource of 400, nothing for plain ACKs, and survives unsubscribe, resubscribe and a wildcard switch", async () => {
    const node = { id: "delta-push" };
    fixture.cp.cache.setSnapshot(node.id, snapshot(400));
    const s = stream();
    s.send(deltaRequest({ node, typeUrl: ENDPOINT_TYPE, resourceNamesSubscribe: names(400) }));
    const r1 = await s.next();
    expect(sent(r1)).toEqual(names(400));
    s.send(ack(ENDPOINT_TYPE, r1));
    s.send(ack(ENDPOINT_TYPE, r1)); // a repeated ACK: still nothing to send
    await s.none(150);

    fixture.cp.cache.setSnapshot(node.id, snapshot(400, { c0123: 9999 }));
    const r2 = await s.next();
    expect(sent(r2)).toEqual(["c0123"]);
    expect(fromBinary(ClusterLoadAssignmentSchema, r2.resources[0]!.resource!.value).endpoints[0]!.lbEndpoints[0]!.hostIdentifier.value).toMatchObject({
      address: { address: { value: { portSpecifier: { value: 9999 } } } },
    });
    s.send(ack(ENDPOINT_TYPE, r2));
    await s.none(150);

    // Unsubscribed names are not sent when they change; a resubscribed one is sent again even though unchanged.
    s.send(deltaRequest({ typeUrl: ENDPOINT_TYPE, resourceNamesUnsubscribe: ["c0001", "c0002"] }));
    await s.none(150);
    fixture.cp.cache.setSnapshot(node.id, snapshot(400, { c0123: 9999, c0001: 7777, c0003: 5555 }));
    const r3 = await s.next();
    expect(sent(r3)).toEqual(["c0003"]);
    s.send(deltaRequest({ typeUrl: ENDPOINT_TYPE, responseNonce: r3.nonce, resourceNamesSubscribe: ["c0002"] }));
    const r4 = await s.next();
    expect(sent(r4)).toEqual(["c0002"]);
    s.send(ack(ENDPOINT_TYPE, r4));

    // Removing a subscribed resource reports it removed, once.
    fixture.cp.cache.setSnapshot(node.id, snapshot(399, { c0123: 9999, c0001: 7777, c0003: 5555 }));
    const r5 = await s.next();
    expect(sent(r5)).toEqual([]);
    expect(r5.removedResources).toEqual(["c0399"]);
    s.send(ack(ENDPOINT_TYPE, r5));
    await s.none(150);

    // Switching to wildcard sends what the client lacks (c0001, unsubscribed earlier and changed since), nothing else.
    s.send(deltaRequest({ typeUrl: ENDPOINT_TYPE, resourceNamesSubscribe: ["*"] }));
    const r6 = await s.next();
    expect(sent(r6)).toEqual(["c0001"]);
    s.send(ack(ENDPOINT_TYPE, r6));
    fixture.cp.cache.setSnapshot(node.id, snapshot(399, { c0123: 9999, c0001: 7777, c0003: 5555, c0200: 1 }));
    const r7 = await s.next();
    expect(sent(r7)).toEqual(["c0200"]);
  });

  it("writes the same bytes whether responses go out as one buffer or as parts (shared resource bytes not copied)", async () => {
    // The default (parts from 64 KiB), every response as parts, every response as one buffer.
    const parts = await startControlPlane({ writePartsFromBytes: 0 });
    const whole = await startControlPlane({ writePartsFromBytes: Infinity });
    try {
      const node = { id: "delta-parts" };
      const responses: string[][] = [];
      for (const cp of [fixture.cp, parts, whole]) {
        cp.cache.setSnapshot(node.id, snapshot(400));
        const s = fixture.track(openDelta(cp.xdsPort));
        const got: string[] = [];
        for (const typeUrl of [CLUSTER_TYPE, ENDPOINT_TYPE]) {
          s.send(deltaRequest({ node, typeUrl, ...(typeUrl === ENDPOINT_TYPE ? { resourceNamesSubscribe: names(400) } : {}) }));
          const r = await s.next();
          got.push(Buffer.from(toBinary(DeltaDiscoveryResponseSchema, r)).toString("base64"));
          s.send(ack(typeUrl, r));
        }
        cp.cache.setSnapshot(node.id, snapshot(400, { c0042: 9042 }));
        got.push(Buffer.from(toBinary(DeltaDiscoveryResponseSchema, await s.next())).toString("base64"));
        responses.push(got);
      }
      expect(responses[1]).toEqual(responses[0]);
      expect(responses[2]).toEqual(responses[0]);
    } finally {
      await parts.close();
      await whole.close();
    }
  });

  it("serves two streams of the same node the same changes (the shared snapshot-pair diff)", async () => {
    const node = { id: "delta-pair" };
    fixture.cp.cache.setSnapshot(node.id, snapshot(50));
    const [a, b] = [stream(), stream()];
    for (const s of [a, b]) s.send(deltaRequest({ node, typeUrl: CLUSTER_TYPE }));
    for (const s of [a, b]) {
      const r = await s.next();
      expect(r.resources).toHaveLength(50);
      s.send(ack(CLUSTER_TYPE, r));
    }
    fixture.cp.cache.setSnapshot(node.id, snapshot(49));
    for (const s of [a, b]) {
      const r = await s.next();
      expect(sent(r)).toEqual([]);
      expect(r.removedResources).toEqual(["c0049"]);
    }
  });
});
