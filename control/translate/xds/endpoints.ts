// EDS: a ClusterLoadAssignment per cluster, endpoints grouped by locality (region/zone/subzone) with their
// weights, and Istio's locality load balancing: `distribute` rewrites locality weights for proxies in the `from`
// locality; otherwise, with outlier detection on (Istio's condition for failover), localities get priorities by
// how close they are to the proxy (same subzone, zone, region, then `failover` targets, then the rest).
import { create } from "@bufbuild/protobuf";
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from "../../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { isUnixAddress } from "../../registry/endpoint.js";
import type { Locality, ServiceEndpoint } from "../../registry/types.js";
import { endpointTlsMetadata } from "./mtls.js";
import type { LocalityLbSetting } from "./traffic-policy.js";

export interface LoadAssignmentOptions {
  /** The proxy's own locality; locality load balancing needs it. */
  proxyLocality?: Locality;
  /** From the cluster's DestinationRule (undefined: locality load balancing off, e.g. consistent hash). */
  localityLb?: LocalityLbSetting;
  /** Whether the cluster has outlier detection (Istio only fails over between localities with it). */
  outlierDetection: boolean;
  /** Namespace of the service, for the endpoint metadata. */
  namespace: string;
}

const key = (l: Locality) => `${l.region}/${l.zone}/${l.subzone}`;

/** Istio's LocalityMatch: `region/zone/subzone` segments, `*` for any, a shorter pattern matches a prefix. */
export function localityMatches(locality: Locality, pattern: string): boolean {
  if (pattern === "*" || pattern === "") return true;
  const parts = pattern.split("/");
  const have = [locality.region, locality.zone, locality.subzone];
  return parts.every((p, i) => p === "*" || p === have[i]);
}

function endpointAddress(e: ServiceEndpoint) {
  if (isUnixAddress(e.address)) return { address: { case: "pipe" as const, value: { path: e.address.slice("unix://".length) } } };
  return { address: { case: "socketAddress" as const, value: { address: e.address, portSpecifier: { case: "portValue" as const, value: e.port } } } };
}

export function buildLoadAssignment(clusterName: string, endpoints: readonly ServiceEndpoint[], options: LoadAssignmentOptions): ClusterLoadAssignment {
  const groups = new Map<string, { locality: Locality; endpoints: ServiceEndpoint[] }>();
  for (const e of endpoints) {
    const k = key(e.locality);
    const g = groups.get(k) ?? { locality: e.locality, endpoints: [] };
    g.endpoints.push(e);
    groups.set(k, g);
  }
  let localities = [...groups.values()].map((g) => ({
    locality: g.locality,
    endpoints: g.endpoints,
    weight: g.endpoints.reduce((s, e) => s + e.weight, 0),
    priority: 0,
  }));

  const lb = options.localityLb;
  const here = options.proxyLocality;
  const distribute = lb && here ? (lb.distribute ?? []).find((d) => localityMatches(here, d.from ?? "*")) : undefined;
  if (distribute) {
    // Each `to` entry's share is split evenly across the localities it matches; unmatched localities get none.
    const weights = new Map<string, number>();
    for (const [pattern, share] of Object.entries(distribute.to ?? {})) {
      const matched = localities.filter((l) => localityMatches(l.locality, pattern));
      for (const l of matched) weights.set(key(l.locality), (weights.get(key(l.locality)) ?? 0) + share / matched.length);
    }
    localities = localities.filter((l) => (weights.get(key(l.locality)) ?? 0) > 0);
    for (const l of localities) l.weight = Math.max(1, Math.round(weights.get(key(l.locality))!));
  } else if (lb && here && options.outlierDetection) {
    const failoverTo = new Set((lb.failover ?? []).filter((f) => f.from === here.region && f.to).map((f) => f.to!));
    for (const l of localities) {
      const { region, zone, subzone } = l.locality;
      if (region === here.region && zone === here.zone && subzone === here.subzone) l.priority = 0;
      else if (region === here.region && zone === here.zone) l.priority = 1;
      else if (region === here.region) l.priority = 2;
      else if (failoverTo.has(region)) l.priority = 3;
      else l.priority = 4;
    }
    // Envoy wants priorities 0..N without gaps.
    const used = [...new Set(localities.map((l) => l.priority))].sort((a, b) => a - b);
    for (const l of localities) l.priority = used.indexOf(l.priority);
  }

  localities.sort((a, b) => a.priority - b.priority || key(a.locality).localeCompare(key(b.locality)));
  return create(ClusterLoadAssignmentSchema, {
    clusterName,
    endpoints: localities.map((l) => ({
      locality: { region: l.locality.region, zone: l.locality.zone, subZone: l.locality.subzone },
      loadBalancingWeight: l.weight,
      priority: l.priority,
      lbEndpoints: l.endpoints.map((e) => ({
        hostIdentifier: { case: "endpoint" as const, value: { address: endpointAddress(e) } },
        loadBalancingWeight: e.weight,
        metadata: { filterMetadata: { istio: { workload: workloadMetadata(e, options.namespace) }, ...endpointTlsMetadata(e) } },
      })),
    })),
  });
}

/** Istio's `istio.workload` endpoint metadata: `name;namespace;app;version;cluster`. */
function workloadMetadata(e: ServiceEndpoint, namespace: string): string {
  const app = e.labels["app.kubernetes.io/name"] ?? e.labels.app ?? "";
  const version = e.labels["app.kubernetes.io/version"] ?? e.labels.version ?? "";
  return `${e.workloadName};${namespace};${app};${version};`;
}
