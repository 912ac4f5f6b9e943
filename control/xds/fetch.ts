// One-shot discovery (REST-JSON POST /v3/discovery:*, and the unary Fetch* gRPC methods): no stream, no nonce,
// just the node's current resources of one type, or "not modified" when the client already has that version.
import { create } from "@bufbuild/protobuf";
import { DiscoveryResponseSchema, type DiscoveryRequest, type DiscoveryResponse } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import type { SnapshotCache } from "./cache.js";
import { nodeFromProto } from "./node.js";
import { selectResources, typeSnapshotOf } from "./snapshot.js";
import { CONTROL_PLANE_ID } from "./sotw.js";

export type FetchResult =
  | { kind: "ok"; response: DiscoveryResponse }
  | { kind: "not-modified"; version: string }
  | { kind: "invalid"; message: string }
  | { kind: "unavailable"; message: string };

/** `notModified: false` always answers with the resources (gRPC has no "not modified"). */
export async function fetchResources(
  cache: SnapshotCache,
  typeUrl: string,
  request: DiscoveryRequest,
  options: { notModified?: boolean } = {},
): Promise<FetchResult> {
  if (request.typeUrl !== "" && request.typeUrl !== typeUrl) {
    return { kind: "invalid", message: `type_url "${request.typeUrl}" does not match this endpoint's type ${typeUrl}` };
  }
  if (!request.node?.id) return { kind: "invalid", message: "node.id is required" };
  const connection = await cache.connect(nodeFromProto(request.node));
  connection.release();
  const snapshot = cache.getSnapshot(request.node.id);
  if (!snapshot) return { kind: "unavailable", message: `no configuration for node "${request.node.id}" yet` };
  const type = typeSnapshotOf(snapshot, typeUrl);
  if (options.notModified !== false && request.versionInfo !== "" && request.versionInfo === type.version) return { kind: "not-modified", version: type.version };
  const names = request.resourceNames.filter((n) => n !== "*");
  // Without a stream there is no subscription state: no names (or "*") means every resource of the type.
  const subscription = { wildcard: names.length === 0 || request.resourceNames.includes("*"), names: new Set(names) };
  return {
    kind: "ok",
    response: create(DiscoveryResponseSchema, {
      versionInfo: type.version,
      resources: selectResources(type, subscription).map((r) => r.any),
      typeUrl,
      controlPlane: { identifier: CONTROL_PLANE_ID },
    }),
  };
}
