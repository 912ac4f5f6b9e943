// Proxy node ids as Istio's proxies announce themselves over xDS:
// `sidecar~10.1.2.3~reviews-v1-abc.shop~shop.svc.cluster.local` (type~ip~workload.namespace~dns domain).
import { isIP } from "node:net";

export type NodeType = "sidecar" | "router";

export interface ProxyNode {
  type: NodeType;
  ip: string;
  /** `<workload name>.<namespace>`, as in the id. */
  id: string;
  workloadName: string;
  namespace: string;
  /** `<namespace>.svc.cluster.local`: where the proxy's short names resolve. */
  dnsDomain: string;
}

export class NodeIdError extends Error {
  override name = "NodeIdError";
}

const NODE_TYPES: readonly NodeType[] = ["sidecar", "router"];
const FORMAT = "type~ip~name.namespace~dnsDomain";

export function parseNodeId(nodeId: string): ProxyNode {
  const fail = (why: string): never => {
    throw new NodeIdError(`node id ${JSON.stringify(nodeId)}: ${why}`);
  };
  if (nodeId === "") fail(`empty; expected ${FORMAT}`);
  const parts = nodeId.split("~");
  if (parts.length !== 4) fail(`expected 4 parts separated by "~" (${FORMAT}), found ${parts.length}`);
  const [type, ip, id, dnsDomain] = parts as [string, string, string, string];
  if (!(NODE_TYPES as readonly string[]).includes(type)) fail(`type ${JSON.stringify(type)} is not one of ${NODE_TYPES.join(", ")}`);
  if (!isIP(ip)) fail(`${JSON.stringify(ip)} is not an IP address`);
  const dot = id.indexOf(".");
  if (dot <= 0 || dot === id.length - 1) fail(`${JSON.stringify(id)} is not <workload name>.<namespace>`);
  if (dnsDomain === "") fail("DNS domain is empty");
  return { type: type as NodeType, ip, id, workloadName: id.slice(0, dot), namespace: id.slice(dot + 1), dnsDomain };
}
