// A cluster of type ORIGINAL_DST, as Envoy checks it: lb_policy CLUSTER_PROVIDED (and CLUSTER_PROVIDED only with
// ORIGINAL_DST), no endpoints of its own, original_dst_lb_config.use_http_header naming the header the destination
// may come from (http_header_name, default x-envoy-original-dst-host). What the gateway does with it per request:
// gateway/original-dst.ts. Portable.
import { Cluster_DiscoveryType, Cluster_LbPolicy, type Cluster } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import type { FieldPath } from "./errors.js";
import type { OriginalDstConfig } from "./types.js";

export const ORIGINAL_DST_HOST_HEADER = "x-envoy-original-dst-host";

export interface OriginalDstPart {
  config: OriginalDstConfig;
  /** The cluster as the generic policy builder should see it (its load balancing is the cluster's own). */
  policyView: Cluster;
}

/** undefined for other cluster types; throws via `fail` on a cluster Envoy would reject. */
export function originalDstPart(c: Cluster, path: FieldPath, fail: (path: FieldPath, message: string) => never): OriginalDstPart | undefined {
  const isOriginalDst = c.clusterDiscoveryType.case === "type" && c.clusterDiscoveryType.value === Cluster_DiscoveryType.ORIGINAL_DST;
  const lbc = c.lbConfig;
  if (!isOriginalDst) {
    if (c.lbPolicy === Cluster_LbPolicy.CLUSTER_PROVIDED) fail([...path, "lb_policy"], "CLUSTER_PROVIDED is only valid with type ORIGINAL_DST");
    if (lbc.case === "originalDstLbConfig") fail([...path, "original_dst_lb_config"], "only valid with type ORIGINAL_DST");
    return undefined;
  }
  if (c.lbPolicy !== Cluster_LbPolicy.CLUSTER_PROVIDED) {
    fail([...path, "lb_policy"], `${Cluster_LbPolicy[c.lbPolicy] ?? c.lbPolicy} is not valid for type ORIGINAL_DST (only CLUSTER_PROVIDED)`);
  }
  if (c.loadAssignment && c.loadAssignment.endpoints.length > 0) fail([...path, "load_assignment"], "an ORIGINAL_DST cluster has no endpoints of its own");
  if (lbc.case !== undefined && lbc.case !== "originalDstLbConfig") fail([...path, "lb_config"], "only original_dst_lb_config is valid with type ORIGINAL_DST");
  const od = lbc.case === "originalDstLbConfig" ? lbc.value : undefined;
  if (od && !od.useHttpHeader && od.httpHeaderName) fail([...path, "original_dst_lb_config", "http_header_name"], "only used with use_http_header: true");
  const config: OriginalDstConfig = od?.useHttpHeader ? { httpHeader: (od.httpHeaderName || ORIGINAL_DST_HOST_HEADER).toLowerCase() } : {};
  return { config, policyView: { ...c, lbPolicy: Cluster_LbPolicy.ROUND_ROBIN, lbConfig: { case: undefined } } };
}
