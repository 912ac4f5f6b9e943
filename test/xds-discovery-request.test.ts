// The server's DiscoveryRequest reader (control/xds/discovery-request.ts): the same message fromBinary gives, with
// resource_names decoded only when read and a key that is equal exactly when the raw names are.
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DeltaDiscoveryRequestSchema, DiscoveryRequestSchema } from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import { readDeltaDiscoveryRequest, readDiscoveryRequest, resourceNamesKey, subscribeNamesKey } from "../control/xds/discovery-request.js";
import { internSubscription, internSubscriptionByRawKey } from "../control/xds/sotw.js";

const encode = (init: MessageInitShape<typeof DiscoveryRequestSchema>) => toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, init));

describe("readDiscoveryRequest", () => {
  it("decodes what fromBinary decodes, names included", () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: "grapheme" }), { maxLength: 20 }),
        fc.string(),
        fc.string(),
        fc.boolean(),
        (names, version, nonce, withNode) => {
          const bytes = encode({
            versionInfo: version,
            resourceNames: names,
            typeUrl: "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
            responseNonce: nonce,
            ...(withNode ? { node: { id: "sidecar~1", cluster: "a.b" } } : {}),
            errorDetail: nonce === "x" ? { code: 3, message: "bad" } : undefined,
          });
          const lazy = readDiscoveryRequest(bytes);
          const plain = fromBinary(DiscoveryRequestSchema, bytes);
          expect(lazy.resourceNames).toEqual(plain.resourceNames);
          expect({ ...lazy, resourceNames: [] }).toEqual({ ...plain, resourceNames: [] });
        },
      ),
      { numRuns: 200 },
    );
  });

  it("keys requests by their raw names: equal lists alike, any other list differently", () => {
    const key = (names: string[]) => resourceNamesKey(readDiscoveryRequest(encode({ typeUrl: "t", resourceNames: names, responseNonce: "1" })));
    expect(key(["a", "b"])).toBe(key(["a", "b"]));
    expect(key(["a", "b"])).not.toBe(key(["ab"]));
    expect(key(["a", "b"])).not.toBe(key(["b", "a"]));
    expect(key(["a", ""])).not.toBe(key(["a"]));
    expect(key([])).toBeUndefined();
    // A request whose names are never read is not decoded past the rest of its fields.
    const names = Array.from({ length: 3000 }, (_, i) => `outbound|9080||svc-${i}.ns.svc.cluster.local`);
    const r = readDiscoveryRequest(encode({ typeUrl: "t", resourceNames: names, responseNonce: "9", versionInfo: "v" }));
    expect([r.responseNonce, r.versionInfo, resourceNamesKey(r)]).toEqual(["9", "v", key(names)]);
    expect(r.resourceNames).toEqual(names);
  });

  it("reads names split by other fields (repeated fields merge) as one list, keyed as that list", () => {
    const split = Buffer.concat([
      encode({ resourceNames: ["a", "b"] }),
      encode({ typeUrl: "t" }),
      encode({ resourceNames: ["c"] }),
      encode({ responseNonce: "1" }),
    ]);
    const lazy = readDiscoveryRequest(split);
    expect(lazy.resourceNames).toEqual(fromBinary(DiscoveryRequestSchema, split).resourceNames);
    expect([lazy.typeUrl, lazy.responseNonce]).toEqual(["t", "1"]);
    const contiguous = readDiscoveryRequest(encode({ typeUrl: "t", resourceNames: ["a", "b", "c"], responseNonce: "1" }));
    expect(resourceNamesKey(lazy)).toBe(resourceNamesKey(contiguous));
  });

  it("rejects truncated input like fromBinary", () => {
    const bytes = encode({ typeUrl: "t", resourceNames: ["abc"], responseNonce: "1" });
    expect(() => readDiscoveryRequest(bytes.subarray(0, bytes.length - 2))).toThrow();
  });
});

describe("readDeltaDiscoveryRequest", () => {
  const encodeDelta = (init: MessageInitShape<typeof DeltaDiscoveryRequestSchema>) => toBinary(DeltaDiscoveryRequestSchema, create(DeltaDiscoveryRequestSchema, init));

  it("decodes what fromBinary decodes, subscribe names included, and marks a list naming *", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string({ unit: "grapheme" }), fc.constant("*")), { maxLength: 20 }),
        fc.array(fc.string(), { maxLength: 5 }),
        fc.string(),
        fc.boolean(),
        (subscribe, unsubscribe, nonce, withNode) => {
          const bytes = encodeDelta({
            typeUrl: "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
            resourceNamesSubscribe: subscribe,
            resourceNamesUnsubscribe: unsubscribe,
            initialResourceVersions: nonce === "" ? {} : { [nonce]: "v1" },
            responseNonce: nonce,
            ...(withNode ? { node: { id: "sidecar~1", cluster: "a.b" } } : {}),
          });
          const lazy = readDeltaDiscoveryRequest(bytes);
          const plain = fromBinary(DeltaDiscoveryRequestSchema, bytes);
          expect(subscribeNamesKey(lazy)?.wildcard).toBe(subscribe.length === 0 ? undefined : subscribe.includes("*"));
          expect(lazy.resourceNamesSubscribe).toEqual(plain.resourceNamesSubscribe);
          expect({ ...lazy, resourceNamesSubscribe: [] }).toEqual({ ...plain, resourceNamesSubscribe: [] });
        },
      ),
      { numRuns: 200 },
    );
  });

  it("interns the subscriptions of equal raw lists as one object, decoding the list once", () => {
    const names = Array.from({ length: 3000 }, (_, i) => `outbound|9080|v1|svc-${i}.ns.svc.cluster.local`);
    const read = () => readDeltaDiscoveryRequest(encodeDelta({ typeUrl: "t", resourceNamesSubscribe: names }));
    let decodes = 0;
    const intern = () => {
      const r = read();
      return internSubscriptionByRawKey(false, subscribeNamesKey(r)!.key, () => (decodes++, r.resourceNamesSubscribe));
    };
    const a = intern();
    const b = intern();
    expect(a).toBe(b);
    expect(decodes).toBe(1);
    expect(a).toBe(internSubscription(false, names)); // the same object as interning the decoded names
    expect(internSubscriptionByRawKey(true, subscribeNamesKey(read())!.key, () => names)).not.toBe(a);
  });
});
