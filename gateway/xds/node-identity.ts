// The node a gateway announces to the control plane, Istio style: the id (`router~<ip>~<name>.<namespace>~<domain>`)
// plus metadata the control plane selects config by (NAMESPACE, LABELS, NAME, INSTANCE_IPS). Without --labels the
// control plane finds the labels itself (the WorkloadEntry the id names). Node-only (node id parsing uses node:net).
import { create, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { NodeSchema, type Node } from "../../gen/envoy/config/core/v3/base_pb.js";
import { parseNodeId } from "../../control/registry/node.js";

export const USER_AGENT = "halyard";
export const USER_AGENT_VERSION = "0.1.0";

/** `k=v,k2=v2` -> labels; throws a one-line reason naming the bad entry. */
export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const part of text.split(",")) {
    const entry = part.trim();
    if (entry === "") continue;
    const eq = entry.indexOf("=");
    if (eq <= 0) throw new Error(`--labels: "${entry}" is not key=value`);
    const key = entry.slice(0, eq).trim();
    if (!/^([A-Za-z0-9.-]+\/)?[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$/.test(key)) throw new Error(`--labels: "${key}" is not a valid label key`);
    if (key in labels) throw new Error(`--labels: label "${key}" is given twice`);
    labels[key] = entry.slice(eq + 1).trim();
  }
  return labels;
}

export interface NodeIdentity {
  id: string;
  labels?: Record<string, string>;
  /** Extra metadata (a bootstrap's node.metadata); the derived keys win only where it has none. */
  metadata?: JsonObject;
  cluster?: string;
}

/** The Node proto; throws NodeIdError (one line) when `id` is not an Istio proxy id and `strict`. */
export function xdsNode(identity: NodeIdentity, strict: boolean): Node {
  const metadata: Record<string, JsonValue> = {};
  let cluster = identity.cluster ?? "";
  let parsed;
  try {
    parsed = parseNodeId(identity.id);
  } catch (e) {
    if (strict) throw e;
  }
  if (parsed) {
    metadata.NAMESPACE = parsed.namespace;
    metadata.NAME = parsed.workloadName;
    metadata.WORKLOAD_NAME = parsed.workloadName;
    metadata.INSTANCE_IPS = parsed.ip;
    cluster ||= `${parsed.workloadName}.${parsed.namespace}`;
  }
  if (identity.labels && Object.keys(identity.labels).length > 0) metadata.LABELS = { ...identity.labels };
  Object.assign(metadata, identity.metadata ?? {});
  return create(NodeSchema, {
    id: identity.id,
    cluster,
    metadata,
    userAgentName: USER_AGENT,
    userAgentVersionType: { case: "userAgentVersion", value: USER_AGENT_VERSION },
  });
}
