// Istio config → the Envoy xDS resources one proxy is served (LDS, RDS, CDS, EDS), keyed by resource name, and the
// SnapshotBuilder `halyard serve` plugs in.
import type { Message } from "@bufbuild/protobuf";
import type { Cluster } from "../../../gen/envoy/config/cluster/v3/cluster_pb.js";
import type { ClusterLoadAssignment } from "../../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import type { Listener } from "../../../gen/envoy/config/listener/v3/listener_pb.js";
import type { RouteConfiguration } from "../../../gen/envoy/config/route/v3/route_pb.js";
import type { ConfigSet } from "../../config/config-set.js";
import type { ConfigError } from "../../config/errors.js";
import { IssueCollector } from "../../registry/issues.js";
import { buildRegistry, type ServiceRegistry } from "../../registry/registry.js";
import type { SnapshotBuilder } from "../../serve.js";
import type { SnapshotResources } from "../../xds/snapshot.js";
import { ClusterResolver } from "../destinations.js";
import { translateRoutes } from "../routes.js";
import { blackHoleCluster, buildOutboundClusters, inboundCluster, inboundPorts, passthroughCluster, type BuiltCluster } from "./clusters.js";
import { grpcResources } from "./grpc.js";
import { routerListeners, sidecarListeners } from "./listeners.js";
import { metadataString, METADATA_WASM_PATH, proxyContext, type ProxyContext, type XdsNodeInfo } from "./node.js";
import { DEFAULT_WASM_FILENAME, wasmFetchCluster, type WasmCode } from "./wasm-filter.js";

export type { ProxyContext, XdsNodeInfo } from "./node.js";
export type { WasmCode } from "./wasm-filter.js";

export interface XdsTranslateOptions {
  /**
   * Where Envoy loads halyard.wasm from. A node's HALYARD_WASM_PATH metadata (from `halyard bootstrap --wasm`)
   * overrides a local filename; default `/etc/halyard/halyard.wasm`.
   */
  wasm?: WasmCode;
}

export interface ProxyResources {
  role: ProxyContext["role"];
  listeners: Map<string, Listener>;
  routes: Map<string, RouteConfiguration>;
  clusters: Map<string, Cluster>;
  endpoints: Map<string, ClusterLoadAssignment>;
  /** Config that translates but will not behave as written (missing subsets, unknown hosts, skipped routes). */
  warnings: ConfigError[];
}

function byName<T extends { name: string }>(items: readonly T[]): Map<string, T> {
  return new Map(items.map((i) => [i.name, i]));
}

function wasmFor(ctx: ProxyContext, options: XdsTranslateOptions): WasmCode {
  const fromNode = metadataString(ctx.metadata, METADATA_WASM_PATH);
  if (fromNode && options.wasm?.kind !== "remote") return { kind: "local", filename: fromNode };
  return options.wasm ?? { kind: "local", filename: DEFAULT_WASM_FILENAME };
}

export function buildProxyResources(config: ConfigSet, registry: ServiceRegistry, node: XdsNodeInfo, options: XdsTranslateOptions = {}): ProxyResources {
  const ctx = proxyContext(config, registry, node);
  const issues = new IssueCollector(config);
  const resolver = new ClusterResolver(registry, config.destinationRules, ctx.proxy, issues);
  const built: BuiltCluster[] = buildOutboundClusters({ registry, ctx, resolver, flavor: ctx.role === "grpc" ? "grpc" : "envoy" });
  const endpoints = new Map<string, ClusterLoadAssignment>();
  for (const b of built) if (b.loadAssignment) endpoints.set(b.cluster.name, b.loadAssignment);
  const clusters = byName(built.map((b) => b.cluster));

  if (ctx.role === "grpc") {
    const { listeners, routes } = grpcResources({ config, registry, ctx, resolver, issues });
    return { role: ctx.role, listeners: byName(listeners), routes: byName(routes), clusters, endpoints, warnings: issues.list };
  }

  const translation = translateRoutes(config, ctx.proxy, { registry });
  const wasm = wasmFor(ctx, options);
  const input = { config, ctx, translation, clusters: built, wasm };
  const { listeners, routes } = ctx.role === "router" ? routerListeners(input) : sidecarListeners(input);
  for (const c of [blackHoleCluster(), passthroughCluster(), wasmFetchCluster(wasm)]) if (c) clusters.set(c.name, c);
  if (ctx.role === "sidecar") for (const p of inboundPorts(ctx)) clusters.set(`inbound|${p.port}||`, inboundCluster(p));
  return {
    role: ctx.role,
    listeners: byName(listeners),
    routes: byName(routes),
    clusters,
    endpoints,
    warnings: [...translation.warnings, ...issues.list],
  };
}

/** The resources as control/xds's snapshot takes them (lists per type). */
export function snapshotResources(r: ProxyResources): SnapshotResources {
  const list = <T extends Message>(m: Map<string, T>) => [...m.values()];
  return { listeners: list(r.listeners), routes: list(r.routes), clusters: list(r.clusters), endpoints: list(r.endpoints) };
}

/**
 * The translator as `halyard serve`'s SnapshotBuilder. The registry is built once per config (the store hands out
 * a new ConfigSet on every change), not once per node.
 */
export function createSnapshotBuilder(options: XdsTranslateOptions = {}): SnapshotBuilder {
  const registries = new WeakMap<ConfigSet, ServiceRegistry>();
  return {
    build(config, node) {
      let registry = registries.get(config);
      if (!registry) registries.set(config, (registry = buildRegistry(config)));
      return snapshotResources(buildProxyResources(config, registry, node, options));
    },
  };
}
