// The identity a proxy sends in the first request of a stream, as the cache and the snapshot builders see it.
import type { JsonObject } from "@bufbuild/protobuf";
import type { Node } from "../../gen/envoy/config/core/v3/base_pb.js";

export interface XdsNode {
  /** Node.id, e.g. Istio's "sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local"; parsing it is the registry's job. */
  id: string;
  cluster: string;
  /** Node.metadata (google.protobuf.Struct) as JSON. */
  metadata: JsonObject;
  locality?: { region: string; zone: string; subZone: string };
  userAgentName: string;
  userAgentVersion: string;
}

export function nodeFromProto(node: Node): XdsNode {
  const ua = node.userAgentVersionType;
  return {
    id: node.id,
    cluster: node.cluster,
    metadata: node.metadata ?? {},
    ...(node.locality ? { locality: { region: node.locality.region, zone: node.locality.zone, subZone: node.locality.subZone } } : {}),
    userAgentName: node.userAgentName,
    userAgentVersion: ua.case === "userAgentVersion" ? ua.value : ua.case === "userAgentBuildVersion" ? "build" : "",
  };
}
