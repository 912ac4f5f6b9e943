// Hand-built Envoy v3 resources for the xDS tests: what a translator would produce for a proxyless gRPC client
// of greeter.default.svc.cluster.local:50051 (api_listener HCM, EDS clusters, ClusterLoadAssignments).
import { create, type Message } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { Cluster_DiscoveryType, Cluster_LbPolicy, ClusterSchema, type Cluster } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ApiVersion } from "../../gen/envoy/config/core/v3/config_source_pb.js";
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema, type Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema, type RouteConfiguration } from "../../gen/envoy/config/route/v3/route_pb.js";
import { RouterSchema } from "../../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import { HttpConnectionManagerSchema } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";

export const SERVICE = "greeter.default.svc.cluster.local";
export const LISTENER_NAME = `${SERVICE}:50051`;
export const clusterName = (subset = "") => `outbound|50051|${subset}|${SERVICE}`;

const ads = { configSourceSpecifier: { case: "ads" as const, value: {} }, resourceApiVersion: ApiVersion.V3 };

/** One weighted cluster, or several as [name, weight] pairs. */
export type RouteTarget = string | [string, number][];

export function routeConfig(name: string, target: RouteTarget): RouteConfiguration {
  const action =
    typeof target === "string"
      ? { clusterSpecifier: { case: "cluster" as const, value: target } }
      : {
          clusterSpecifier: {
            case: "weightedClusters" as const,
            value: { clusters: target.map(([n, w]) => ({ name: n, weight: w })) },
          },
        };
  return create(RouteConfigurationSchema, {
    name,
    virtualHosts: [
      {
        name: SERVICE,
        domains: [LISTENER_NAME, SERVICE, "*"],
        routes: [{ match: { pathSpecifier: { case: "prefix", value: "" } }, action: { case: "route", value: action } }],
      },
    ],
  });
}

/** The client-side listener: routes inline (`route`) or by RDS name (`rds`). */
export function apiListener(name: string, routes: { inline: RouteConfiguration } | { rds: string }): Listener {
  const hcm = create(HttpConnectionManagerSchema, {
    statPrefix: name,
    routeSpecifier:
      "inline" in routes
        ? { case: "routeConfig", value: routes.inline }
        : { case: "rds", value: { configSource: ads, routeConfigName: routes.rds } },
    httpFilters: [{ name: "envoy.filters.http.router", configType: { case: "typedConfig", value: anyPack(RouterSchema, create(RouterSchema)) } }],
  });
  return create(ListenerSchema, { name, apiListener: { apiListener: anyPack(HttpConnectionManagerSchema, hcm) } });
}

/** A listener grpc-js-xds rejects: its api_listener is not an HttpConnectionManager. */
export function unsupportedListener(name: string): Listener {
  return create(ListenerSchema, { name, apiListener: { apiListener: anyPack(RouterSchema, create(RouterSchema)) } });
}

export function edsCluster(name: string): Cluster {
  return create(ClusterSchema, {
    name,
    clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS },
    edsClusterConfig: { edsConfig: ads },
    lbPolicy: Cluster_LbPolicy.ROUND_ROBIN,
    connectTimeout: { seconds: 1n },
  });
}

export function loadAssignment(cluster: string, ports: number[]): ClusterLoadAssignment {
  return create(ClusterLoadAssignmentSchema, {
    clusterName: cluster,
    endpoints: [
      {
        locality: { region: "local", zone: "a" },
        loadBalancingWeight: 1,
        lbEndpoints: ports.map((port) => ({
          hostIdentifier: {
            case: "endpoint" as const,
            value: { address: { address: { case: "socketAddress" as const, value: { address: "127.0.0.1", portSpecifier: { case: "portValue" as const, value: port } } } } },
          },
        })),
      },
    ],
  });
}

export interface GreeterSnapshotSpec {
  /** Cluster name → endpoint ports. */
  clusters: Record<string, number[]>;
  route: RouteTarget;
  /** Routes over RDS (route config named after the listener) instead of inline. */
  rds?: boolean;
  /** Replace the listener with one the client rejects. */
  badListener?: boolean;
}

export function greeterResources(spec: GreeterSnapshotSpec): Record<"listeners" | "routes" | "clusters" | "endpoints", Message[]> {
  const routes = routeConfig(LISTENER_NAME, spec.route);
  const listener = spec.badListener
    ? unsupportedListener(LISTENER_NAME)
    : apiListener(LISTENER_NAME, spec.rds ? { rds: LISTENER_NAME } : { inline: routes });
  return {
    listeners: [listener],
    routes: spec.rds ? [routes] : [],
    clusters: Object.keys(spec.clusters).map(edsCluster),
    endpoints: Object.entries(spec.clusters).map(([n, ports]) => loadAssignment(n, ports)),
  };
}
