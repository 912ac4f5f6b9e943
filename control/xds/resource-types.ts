// The xDS resource types Halyard serves: type URL, generated schema, how a resource names itself, and the order in
// which a state-of-the-world push sends them.
import type { DescMessage, Message } from "@bufbuild/protobuf";
import { ClusterSchema } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "../../gen/envoy/config/route/v3/route_pb.js";
import { SecretSchema } from "../../gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";

export const TYPE_URL_PREFIX = "type.googleapis.com/";

export const LISTENER_TYPE = `${TYPE_URL_PREFIX}${ListenerSchema.typeName}`;
export const ROUTE_TYPE = `${TYPE_URL_PREFIX}${RouteConfigurationSchema.typeName}`;
export const CLUSTER_TYPE = `${TYPE_URL_PREFIX}${ClusterSchema.typeName}`;
export const ENDPOINT_TYPE = `${TYPE_URL_PREFIX}${ClusterLoadAssignmentSchema.typeName}`;
export const SECRET_TYPE = `${TYPE_URL_PREFIX}${SecretSchema.typeName}`;

export interface ResourceType {
  typeUrl: string;
  /** Short name used by the REST paths and debug output: listeners, routes, clusters, endpoints, secrets. */
  short: string;
  schema: DescMessage;
  /** The resource's name as clients subscribe to it. */
  nameOf(message: Message): string;
  /** LDS and CDS: an initial request without names subscribes to everything. */
  wildcardByDefault: boolean;
  /**
   * LDS and CDS: every state-of-the-world response carries the complete state (a missing resource is a removed
   * one). Other types (RDS, EDS, SDS) are grouped as in delta xDS: a response may carry only changed resources.
   */
  fullState: boolean;
}

const byName = (m: Message) => String((m as unknown as { name: string }).name);

/**
 * In push order: a cluster before its endpoints and a listener before its routes, so a proxy that warms a cluster
 * (or listener) finds the dependent resource arriving right after it.
 */
export const RESOURCE_TYPES: readonly ResourceType[] = [
  { typeUrl: CLUSTER_TYPE, short: "clusters", schema: ClusterSchema, nameOf: byName, wildcardByDefault: true, fullState: true },
  {
    typeUrl: ENDPOINT_TYPE,
    short: "endpoints",
    schema: ClusterLoadAssignmentSchema,
    nameOf: (m) => String((m as unknown as { clusterName: string }).clusterName),
    wildcardByDefault: false,
    fullState: false,
  },
  { typeUrl: LISTENER_TYPE, short: "listeners", schema: ListenerSchema, nameOf: byName, wildcardByDefault: true, fullState: true },
  { typeUrl: ROUTE_TYPE, short: "routes", schema: RouteConfigurationSchema, nameOf: byName, wildcardByDefault: false, fullState: false },
  { typeUrl: SECRET_TYPE, short: "secrets", schema: SecretSchema, nameOf: byName, wildcardByDefault: false, fullState: false },
];

const BY_URL = new Map(RESOURCE_TYPES.map((t) => [t.typeUrl, t]));
const BY_SHORT = new Map(RESOURCE_TYPES.map((t) => [t.short, t]));

export function resourceType(typeUrl: string): ResourceType | undefined {
  return BY_URL.get(typeUrl);
}

export function resourceTypeByShortName(short: string): ResourceType | undefined {
  return BY_SHORT.get(short);
}

/** Position of a type in push order (unknown types last). */
export function pushRank(typeUrl: string): number {
  const i = RESOURCE_TYPES.findIndex((t) => t.typeUrl === typeUrl);
  return i < 0 ? RESOURCE_TYPES.length : i;
}
