// The node an edge worker announces to the control plane, Istio style, as the Node gateway does
// (gateway/xds/node-identity.ts, which needs node:net): the id `router~<ip>~<name>.<namespace>~<domain>` plus
// NAMESPACE, NAME, WORKLOAD_NAME, INSTANCE_IPS from it and LABELS (what a Gateway's selector is matched against).
// Portable.
import { create, type JsonValue } from "@bufbuild/protobuf";
import { NodeSchema, type Node } from "../../gen/envoy/config/core/v3/base_pb.js";
import type { NodeInfo } from "../bootstrap/types.js";

export const EDGE_USER_AGENT = "halyard-worker";
const USER_AGENT_VERSION = "0.1.0";
const ID_SHAPE = "router~<ip>~<name>.<namespace>~<namespace>.svc.cluster.local";

/** One line naming the variable and what is wrong with it. */
export class NodeConfigError extends Error {
  override name = "NodeConfigError";
}

/** `k=v,k2=v2` -> labels; `what` names the variable in errors. */
export function parseLabels(what: string, text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const part of text.split(",")) {
    const entry = part.trim();
    if (entry === "") continue;
    const eq = entry.indexOf("=");
    if (eq <= 0) throw new NodeConfigError(`${what}: "${entry}" is not key=value`);
    const key = entry.slice(0, eq).trim();
    if (!/^([A-Za-z0-9.-]+\/)?[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$/.test(key)) throw new NodeConfigError(`${what}: "${key}" is not a valid label key`);
    if (key in labels) throw new NodeConfigError(`${what}: label "${key}" is given twice`);
    labels[key] = entry.slice(eq + 1).trim();
  }
  return labels;
}

/** The xDS Node and the gateway's NodeInfo for `id`; throws NodeConfigError when the id is not an Istio proxy id. */
export function edgeNode(id: string, labels: Record<string, string> | undefined): { node: Node; info: NodeInfo } {
  const parts = id.split("~");
  const [type, ip, workload, domain] = parts;
  const dot = workload?.indexOf(".") ?? -1;
  if (parts.length !== 4 || (type !== "router" && type !== "sidecar") || !ip || !domain || dot <= 0 || dot === workload!.length - 1) {
    throw new NodeConfigError(`HALYARD_NODE_ID: "${id}" is not an Istio proxy id (${ID_SHAPE})`);
  }
  const name = workload!.slice(0, dot);
  const namespace = workload!.slice(dot + 1);
  const metadata: Record<string, JsonValue> = { NAMESPACE: namespace, NAME: name, WORKLOAD_NAME: name, INSTANCE_IPS: ip };
  if (labels && Object.keys(labels).length > 0) metadata.LABELS = { ...labels };
  const cluster = `${name}.${namespace}`;
  const node = create(NodeSchema, {
    id,
    cluster,
    metadata,
    userAgentName: EDGE_USER_AGENT,
    userAgentVersionType: { case: "userAgentVersion", value: USER_AGENT_VERSION },
  });
  return { node, info: { id, cluster, metadata } };
}
