// Who is asking: an xDS node as the translator sees it. Envoy sidecars and routers are told apart by the node id
// (`sidecar~…` / `router~…`); proxyless gRPC clients by metadata GENERATOR=grpc, as Istio's grpcgen does. Labels
// are the node's LABELS metadata over its WorkloadEntry's labels; a router serves every Gateway whose selector
// those labels satisfy.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { ConfigSet } from "../../config/config-set.js";
import { selectorMatches } from "../../registry/labels.js";
import { parseNodeId, type ProxyNode } from "../../registry/node.js";
import type { ProxyWorkload, ServiceRegistry } from "../../registry/registry.js";
import type { Locality } from "../../registry/types.js";
import { sidecarProxy, type Proxy } from "../proxy.js";
import { TranslateError } from "./common.js";

export type ProxyRole = "sidecar" | "router" | "grpc";

/** The node fields translation reads (control/xds's XdsNode has them all). */
export interface XdsNodeInfo {
  id: string;
  metadata?: JsonObject;
  locality?: { region: string; zone: string; subZone: string };
}

export interface ProxyContext {
  role: ProxyRole;
  nodeId: string;
  /** Parsed node id; undefined for a gRPC client whose id is not in Istio's form. */
  node: ProxyNode | undefined;
  namespace: string;
  labels: Record<string, string>;
  /** The node's locality, else its workload's; undefined when neither is known. */
  locality: Locality | undefined;
  /** What route selection and DestinationRule lookup need. */
  proxy: Proxy;
  /** The service endpoints at the proxy's IP (what a sidecar serves inbound). */
  workload: ProxyWorkload | undefined;
  metadata: JsonObject;
  /**
   * The bootstrap cluster this proxy reaches its SDS server through (node metadata HALYARD_SDS_CLUSTER, set by
   * `halyard bootstrap --sds-socket`: the agent's Unix socket); undefined: SDS over the ADS stream.
   */
  sdsCluster?: string;
  /** The mesh trust domain (`halyard serve --trust-domain`): destinations' SPIFFE ids use it. Default cluster.local. */
  trustDomain?: string;
}

export const METADATA_LABELS = "LABELS";
export const METADATA_NAMESPACE = "NAMESPACE";
export const METADATA_GENERATOR = "GENERATOR";
/** Where this proxy finds halyard.wasm (set by `halyard bootstrap --wasm`); overrides the translate option. */
export const METADATA_WASM_PATH = "HALYARD_WASM_PATH";
/** Set by `halyard bootstrap --sds-socket`: the static cluster that reaches the agent's SDS socket. */
export const METADATA_SDS_CLUSTER = "HALYARD_SDS_CLUSTER";

function stringRecord(value: JsonValue | undefined, what: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw new TranslateError(`${what}: expected an object of string labels`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "string") throw new TranslateError(`${what}.${k}: expected a string, got ${JSON.stringify(v)}`);
    out[k] = v;
  }
  return out;
}

export function metadataString(metadata: JsonObject, key: string): string | undefined {
  const v = metadata[key];
  return typeof v === "string" && v !== "" ? v : undefined;
}

export function proxyContext(config: ConfigSet, registry: ServiceRegistry, info: XdsNodeInfo, mesh: { trustDomain?: string } = {}): ProxyContext {
  const metadata = info.metadata ?? {};
  const generator = metadataString(metadata, METADATA_GENERATOR);
  const metaLabels = stringRecord(metadata[METADATA_LABELS], `node "${info.id}": metadata ${METADATA_LABELS}`);
  const grpc = generator === "grpc";

  let workload: ProxyWorkload | undefined;
  let node: ProxyNode | undefined;
  if (grpc) {
    // A proxyless client may use any id; an Istio-form one still tells its namespace and workload.
    try {
      workload = registry.proxyFor(info.id);
      node = workload.node;
    } catch {
      workload = undefined;
    }
  } else {
    workload = registry.proxyFor(info.id); // NodeIdError: one line naming the id
    node = workload.node;
  }
  const namespace = node?.namespace ?? metadataString(metadata, METADATA_NAMESPACE) ?? "default";
  const labels = { ...(workload?.workloadEntry?.spec.labels ?? {}), ...metaLabels };
  const locality = info.locality && info.locality.region !== ""
    ? { region: info.locality.region, zone: info.locality.zone, subzone: info.locality.subZone }
    : workload?.endpoints.find((e) => e.endpoint.locality.region !== "")?.endpoint.locality;

  const role: ProxyRole = grpc ? "grpc" : node!.type === "router" ? "router" : "sidecar";
  const proxy: Proxy =
    role === "router"
      ? {
          kind: "gateway",
          namespace,
          labels,
          gateways: config.gateways.filter((g) => Object.keys(g.spec.selector ?? {}).length > 0 && selectorMatches(g.spec.selector, labels)),
        }
      : sidecarProxy(namespace, labels);
  const sdsCluster = metadataString(metadata, METADATA_SDS_CLUSTER);
  return {
    role, nodeId: info.id, node, namespace, labels, locality, proxy, workload, metadata,
    ...(sdsCluster ? { sdsCluster } : {}),
    ...(mesh.trustDomain ? { trustDomain: mesh.trustDomain } : {}),
  };
}
