// RDS for Envoy sidecars and routers. The wasm route filter has already decided (filters decide, routers execute),
// so the RouteConfiguration only executes: every route takes its cluster from `x-halyard-cluster`
// (cluster_header), and routes matching a consistent-hash cluster by that header add the DestinationRule's hash
// policy. No timeout or retry_policy here: halyard.route always states them as x-envoy-* request headers, which
// Envoy's router reads from the request whether or not a retry policy is configured. Envoy's connection manager
// strips client-sent x-envoy-* headers from external requests before any filter runs, and the wasm filter's
// header writes clear the route cache, so the router sees the filter's headers and re-matches on the cluster.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { RouteAction_HashPolicySchema, RouteSchema } from "../../../gen/envoy/config/route/v3/route_components_pb.js";
import { RouteConfigurationSchema, type RouteConfiguration } from "../../../gen/envoy/config/route/v3/route_pb.js";
import type { BuiltCluster } from "./clusters.js";
import { durationFromMs } from "./common.js";

type RouteInit = MessageInitShape<typeof RouteSchema>;
type HashPolicyInit = MessageInitShape<typeof RouteAction_HashPolicySchema>;

/** Set by halyard.route (filters/route/control_headers.ts); read by the route's cluster_header. */
export const CLUSTER_HEADER = "x-halyard-cluster";

function executingRoute(name: string, hashPolicy: HashPolicyInit[], cluster?: string): RouteInit {
  return {
    name,
    // halyard's own control header stays between the filter and the router.
    requestHeadersToRemove: [CLUSTER_HEADER],
    match: {
      pathSpecifier: { case: "prefix", value: "/" },
      ...(cluster ? { headers: [{ name: CLUSTER_HEADER, headerMatchSpecifier: { case: "stringMatch", value: { matchPattern: { case: "exact", value: cluster } } } }] } : {}),
    },
    action: {
      case: "route",
      value: {
        clusterSpecifier: { case: "clusterHeader", value: CLUSTER_HEADER },
        // 0 disables Envoy's 15 s default; the filter's x-envoy-upstream-rq-timeout-ms is what applies.
        timeout: durationFromMs(0),
        ...(hashPolicy.length ? { hashPolicy } : {}),
      },
    },
  };
}

/** Routes matching a consistent-hash cluster by the cluster header, carrying its hash policy. */
export function hashExecutingRoutes(clusters: readonly BuiltCluster[]): RouteInit[] {
  return clusters.filter((c) => c.hashPolicy.length > 0).map((c) => executingRoute(`hash|${c.cluster.name}`, c.hashPolicy, c.cluster.name));
}

/** The catch-all `default` route: cluster from the cluster header. */
export function defaultExecutingRoute(): RouteInit {
  return executingRoute("default", []);
}

/** The route configuration `name` executing halyard.route's decisions, hashing for consistent-hash clusters. */
export function filterDrivenRouteConfig(name: string, clusters: readonly BuiltCluster[]): RouteConfiguration {
  const routes: RouteInit[] = hashExecutingRoutes(clusters);
  routes.push(defaultExecutingRoute());
  return create(RouteConfigurationSchema, {
    name,
    virtualHosts: [{ name: "halyard", domains: ["*"], routes }],
    // Clusters come from a header; there is nothing to validate at load.
    validateClusters: false,
  });
}

/** A workload's inbound route: everything to `inbound|<port>||`. */
export function inboundRouteConfig(clusterName: string): RouteConfiguration {
  return create(RouteConfigurationSchema, {
    name: clusterName,
    virtualHosts: [
      {
        name: `inbound|http|${clusterName.split("|")[1]}`,
        domains: ["*"],
        routes: [
          {
            name: "default",
            match: { pathSpecifier: { case: "prefix", value: "/" } },
            action: { case: "route", value: { clusterSpecifier: { case: "cluster", value: clusterName }, timeout: durationFromMs(0) } },
          },
        ],
      },
    ],
    validateClusters: false,
  });
}
