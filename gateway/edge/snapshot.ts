// A bundled snapshot: the resources of one proxy as `halyard proxy-config all -o json --node <id> -f <dir>` prints
// them — an object { listeners, routes, clusters, endpoints }, each a list of Listener / RouteConfiguration /
// Cluster / ClusterLoadAssignment in canonical proto3 JSON. It goes through the same XdsState a control plane's
// responses go through, so a resource the gateway cannot use is left out with the same reason a NACK would give.
// Portable.
import { fromJson, type DescMessage, type JsonValue, type Message } from "@bufbuild/protobuf";
import { anyPack, type Any } from "@bufbuild/protobuf/wkt";
import { ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { registry } from "../../gen/registry.js";
import { TYPE_URLS, type XdsKind } from "../xds/convert.js";
import { REQUEST_ORDER, type XdsSubscriber } from "../xds/state.js";

/** A snapshot that cannot be used at all; the message is one line naming where (HALYARD_SNAPSHOT: listeners[0]: ...). */
export class SnapshotError extends Error {
  override name = "SnapshotError";
}

const SCHEMAS: Record<XdsKind, DescMessage> = {
  listeners: ListenerSchema,
  routes: RouteConfigurationSchema,
  clusters: ClusterSchema,
  endpoints: ClusterLoadAssignmentSchema,
};

export type SnapshotResources = Record<XdsKind, Any[]>;

/**
 * Decodes a snapshot: JSON text or the parsed object. `label` names it in errors (the env var, the module).
 * A missing kind is an empty list; anything else that is not one of the four kinds is an error.
 */
export function parseSnapshot(label: string, value: unknown): SnapshotResources {
  let json: unknown = value;
  if (typeof value === "string") {
    try {
      json = JSON.parse(value);
    } catch (e) {
      throw new SnapshotError(`${label}: not JSON (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new SnapshotError(`${label}: expected an object with listeners, routes, clusters and endpoints (as \`halyard proxy-config all -o json\` prints)`);
  }
  const obj = json as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!(key in SCHEMAS)) throw new SnapshotError(`${label}: unknown key "${key}" (expected listeners, routes, clusters, endpoints)`);
  }
  const out = {} as SnapshotResources;
  for (const kind of Object.keys(SCHEMAS) as XdsKind[]) {
    const list = obj[kind] ?? [];
    if (!Array.isArray(list)) throw new SnapshotError(`${label}: ${kind}: expected a list`);
    out[kind] = list.map((item, i) => {
      let m: Message;
      try {
        m = fromJson(SCHEMAS[kind], item as JsonValue, { registry });
      } catch (e) {
        throw new SnapshotError(`${label}: ${kind}[${i}]: ${e instanceof Error ? e.message : String(e)}`);
      }
      return anyPack(SCHEMAS[kind], m);
    });
  }
  return out;
}

/**
 * Feeds the snapshot to `subscriber` as four state-of-the-world responses, in xDS request order (a cluster before
 * its endpoints, a listener before its routes). Returns the reasons of the kinds it rejected resources of.
 */
export async function loadSnapshot(subscriber: XdsSubscriber, resources: SnapshotResources, version = "snapshot"): Promise<string[]> {
  const rejected: string[] = [];
  for (const kind of REQUEST_ORDER) {
    const outcome = await subscriber.handleResponse(TYPE_URLS[kind], version, resources[kind]);
    if (!outcome.accepted) rejected.push(`${kind}: ${outcome.error}`);
  }
  return rejected;
}
