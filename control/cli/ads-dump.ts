// Fetches what an ADS server sends one node: subscribes to every cluster and listener, then to the endpoints and
// route configurations those name, ACKing each response, and returns once every requested type has answered.
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, type JsonObject, type Message } from "@bufbuild/protobuf";
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import type { Cluster } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import type { Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { HttpConnectionManagerSchema } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { AggregatedDiscoveryService } from "../../gen/envoy/service/discovery/v3/ads_pb.js";
import { DiscoveryRequestSchema, type DiscoveryRequest, type DiscoveryResponse } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import { grpcServiceDefinition } from "../xds/grpc-service.js";
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, resourceType, ROUTE_TYPE } from "../xds/resource-types.js";

export type DumpedResources = Record<"listeners" | "routes" | "clusters" | "endpoints", Message[]>;

const AdsClient = grpc.makeGenericClientConstructor(grpcServiceDefinition(AggregatedDiscoveryService), "AggregatedDiscoveryService");

/** RDS names the listeners point at (filter chains, default chain, api listener; scoped routes' scopes). */
function routeNames(listeners: readonly Listener[]): string[] {
  const names = new Set<string>();
  const visit = (any: Any | undefined) => {
    const hcm = any && anyUnpack(any, HttpConnectionManagerSchema);
    if (hcm?.routeSpecifier.case === "rds") names.add(hcm.routeSpecifier.value.routeConfigName);
    // Scoped RDS with an inline scope list: each scope's route configuration comes over RDS.
    const scoped = hcm?.routeSpecifier.case === "scopedRoutes" ? hcm.routeSpecifier.value.configSpecifier : undefined;
    if (scoped?.case === "scopedRouteConfigurationsList") for (const s of scoped.value.scopedRouteConfigurations) if (s.routeConfigurationName) names.add(s.routeConfigurationName);
  };
  for (const l of listeners) {
    for (const chain of [...l.filterChains, ...(l.defaultFilterChain ? [l.defaultFilterChain] : [])]) {
      for (const f of chain.filters) if (f.configType.case === "typedConfig") visit(f.configType.value);
    }
    visit(l.apiListener?.apiListener);
  }
  return [...names].sort();
}

function edsNames(clusters: readonly Cluster[]): string[] {
  return clusters.filter((c) => c.edsClusterConfig).map((c) => c.edsClusterConfig!.serviceName || c.name).sort();
}

export async function dumpAds(target: string, node: { id: string; metadata: JsonObject }, timeoutMs = 5000): Promise<DumpedResources> {
  const client = new AdsClient(target, grpc.credentials.createInsecure());
  const call = (client as unknown as { StreamAggregatedResources(): grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse> }).StreamAggregatedResources();
  const got = new Map<string, Message[]>();
  const pending = new Set<string>([CLUSTER_TYPE, LISTENER_TYPE]);
  let first = true;
  const request = (typeUrl: string, names: string[], ack?: DiscoveryResponse) => {
    call.write(
      create(DiscoveryRequestSchema, {
        ...(first ? { node: { id: node.id, metadata: node.metadata, userAgentName: "halyard-proxy-config" } } : {}),
        typeUrl,
        resourceNames: names,
        versionInfo: ack?.versionInfo ?? "",
        responseNonce: ack?.nonce ?? "",
      }),
    );
    first = false;
  };
  // Subscriptions: CDS and LDS are wildcard; EDS and RDS name what the clusters and listeners reference.
  const subscribed = new Map<string, string[]>([
    [CLUSTER_TYPE, []],
    [LISTENER_TYPE, []],
  ]);
  const follow = (typeUrl: string, names: string[]) => {
    if (subscribed.has(typeUrl) || names.length === 0) return;
    subscribed.set(typeUrl, names);
    pending.add(typeUrl);
    request(typeUrl, names);
  };
  try {
    return await new Promise<DumpedResources>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${target}: no complete answer within ${timeoutMs} ms (still waiting for ${[...pending].map((t) => resourceType(t)?.short ?? t).join(", ")})`)), timeoutMs);
      call.on("data", (response: DiscoveryResponse) => {
        const type = resourceType(response.typeUrl);
        if (!type) return;
        const messages = response.resources.map((r) => fromBinary(type.schema, r.value));
        // Only LDS and CDS responses carry the whole state; RDS / EDS ones may carry just what changed.
        if (type.fullState) got.set(response.typeUrl, messages);
        else got.set(response.typeUrl, [...new Map([...(got.get(response.typeUrl) ?? []), ...messages].map((m) => [type.nameOf(m), m])).values()]);
        request(response.typeUrl, subscribed.get(response.typeUrl) ?? [], response); // ACK
        if (response.typeUrl === CLUSTER_TYPE) follow(ENDPOINT_TYPE, edsNames(messages as Cluster[]));
        if (response.typeUrl === LISTENER_TYPE) follow(ROUTE_TYPE, routeNames(messages as Listener[]));
        pending.delete(response.typeUrl);
        if (pending.size > 0) return;
        clearTimeout(timer);
        resolve({
          listeners: got.get(LISTENER_TYPE) ?? [],
          routes: got.get(ROUTE_TYPE) ?? [],
          clusters: got.get(CLUSTER_TYPE) ?? [],
          endpoints: got.get(ENDPOINT_TYPE) ?? [],
        });
      });
      call.on("error", (e: grpc.ServiceError) => {
        clearTimeout(timer);
        reject(new Error(`${target}: ${e.details || e.message}`));
      });
      request(CLUSTER_TYPE, []);
      request(LISTENER_TYPE, []);
    });
  } finally {
    call.cancel();
    client.close();
  }
}
