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
import { JwksResolver } from "../jwks.js";
import type { OutboundTrafficMode } from "../outbound-policy.js";
import { translateRoutes, type RouteUnitMemo } from "../routes.js";
import { configJwksSources, translateSecurity, type SecurityOptions, type SecurityTranslation } from "../security.js";
import { blackHoleCluster, buildOutboundClusters, inboundCluster, inboundPorts, passthroughCluster, type BuiltCluster, type ClusterMemo, type ClusterUnitMemo } from "./clusters.js";
import { grpcResources } from "./grpc.js";
import { resolvePeerAuthentication } from "../peer-authentication.js";
import { inboundModes, type InboundModes } from "./mtls.js";
import { SharedSnapshotBuilder } from "./proxy-classes.js";
import { routerListeners, sidecarInboundListener, sidecarOutboundListener, type ListenerMemo } from "./listeners.js";
import type { ScopedRouteMemo } from "./scoped-routes.js";
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
  /** Mesh settings for RequestAuthentication / AuthorizationPolicy, and where fetched jwksUri documents come from. */
  security?: SecurityOptions;
  /** MeshConfig outboundTrafficPolicy.mode for sidecars no Sidecar resource sets one for (default ALLOW_ANY). */
  outboundTrafficPolicy?: OutboundTrafficMode;
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

export function wasmFor(ctx: ProxyContext, options: XdsTranslateOptions): WasmCode {
  const fromNode = metadataString(ctx.metadata, METADATA_WASM_PATH);
  if (fromNode && options.wasm?.kind !== "remote") return { kind: "local", filename: fromNode };
  return options.wasm ?? { kind: "local", filename: DEFAULT_WASM_FILENAME };
}

export function buildProxyResources(config: ConfigSet, registry: ServiceRegistry, node: XdsNodeInfo, options: XdsTranslateOptions = {}): ProxyResources {
  const ctx = proxyContext(config, registry, node, { trustDomain: options.security?.trustDomain });
  if (ctx.role === "grpc") return grpcProxyResources(config, registry, ctx);
  const wasm = wasmFor(ctx, options);
  const security = translateSecurity(config, ctx.proxy, options.security);
  const outbound = outboundResources(config, registry, ctx, wasm, undefined, security, undefined, options.outboundTrafficPolicy);
  const inbound = inboundResources(ctx, security, wasm, sidecarMtlsModes(config, ctx));
  const clusters = byName(outbound.clusters);
  for (const c of inbound.clusters) clusters.set(c.name, c);
  return {
    role: ctx.role,
    listeners: byName([...outbound.listeners, ...inbound.listeners]),
    routes: byName(outbound.routes),
    clusters,
    endpoints: new Map(outbound.endpoints.map((e) => [e.clusterName, e])),
    warnings: [...outbound.warnings, ...security.warnings],
  };
}

function grpcProxyResources(config: ConfigSet, registry: ServiceRegistry, ctx: ProxyContext): ProxyResources {
  const issues = new IssueCollector(config);
  const resolver = new ClusterResolver(registry, config.destinationRules, ctx.proxy, issues);
  const built = buildOutboundClusters({ registry, ctx, resolver, flavor: "grpc" });
  const endpoints = new Map<string, ClusterLoadAssignment>();
  for (const b of built) if (b.loadAssignment) endpoints.set(b.cluster.name, b.loadAssignment);
  const { listeners, routes } = grpcResources({ config, registry, ctx, resolver, issues });
  return { role: ctx.role, listeners: byName(listeners), routes: byName(routes), clusters: byName(built.map((b) => b.cluster)), endpoints, warnings: issues.list };
}

/** What incremental translation carries from one translation of a sidecar class to the next, per kind of piece. */
export interface IncrementalPieces {
  routes: RouteUnitMemo;
  clusters: ClusterUnitMemo;
  listener: ListenerMemo;
}

/** What an Envoy proxy is served that does not depend on its own workload: the outbound side, in serving order. */
export interface OutboundResources {
  listeners: Listener[];
  routes: RouteConfiguration[];
  clusters: Cluster[];
  endpoints: ClusterLoadAssignment[];
  warnings: ConfigError[];
}

/** A sidecar's or router's outbound resources; reads the node's namespace, labels, locality and gateways only. */
export function outboundResources(
  config: ConfigSet,
  registry: ServiceRegistry,
  ctx: ProxyContext,
  wasm: WasmCode,
  memo?: ClusterMemo,
  /** A router's policies (halyard.jwt / halyard.authz before its routing filters); read by routers only. */
  security?: SecurityTranslation,
  /** Sidecar scope RouteConfigurations shared by content (scoped-routes.ts). */
  routeMemo?: ScopedRouteMemo,
  /** The mesh's outbound traffic policy (XdsTranslateOptions.outboundTrafficPolicy). */
  meshOutboundTrafficPolicy?: OutboundTrafficMode,
  /** Sidecars: the pieces of the previous translation of the same proxy class to reuse (proxy-classes.ts). */
  incremental?: IncrementalPieces,
): OutboundResources {
  const issues = new IssueCollector(config);
  const resolver = new ClusterResolver(registry, config.destinationRules, ctx.proxy, issues);
  const units = ctx.role === "sidecar" ? incremental : undefined;
  const built: BuiltCluster[] = buildOutboundClusters({ registry, ctx, resolver, flavor: "envoy", ...(memo ? { memo } : {}), ...(units ? { units: units.clusters } : {}) });
  const translation = translateRoutes(config, ctx.proxy, {
    registry,
    ...(meshOutboundTrafficPolicy ? { outboundTrafficPolicy: meshOutboundTrafficPolicy } : {}),
    ...(units ? { units: units.routes } : {}),
  });
  const input = {
    config,
    ctx,
    translation,
    clusters: built,
    wasm,
    ...(security && ctx.role === "router" ? { security } : {}),
    ...(routeMemo ? { routeMemo } : {}),
    ...(units ? { listenerMemo: units.listener } : {}),
  };
  const { listeners, routes } = ctx.role === "router" ? routerListeners(input) : sidecarOutboundListener(input);
  const clusters = built.map((b) => b.cluster);
  for (const c of [blackHoleCluster(), passthroughCluster(), wasmFetchCluster(wasm)]) if (c) clusters.push(c);
  const endpoints: ClusterLoadAssignment[] = [];
  for (const b of built) if (b.loadAssignment) endpoints.push(b.loadAssignment);
  return { listeners, routes, clusters, endpoints, warnings: [...translation.warnings, ...issues.list] };
}

/**
 * A sidecar's own side: `virtualInbound` and `inbound|<port>||` for the ports its workload serves, behind the
 * workload's halyard.jwt / halyard.authz when `security` configures them.
 */
export function inboundResources(ctx: ProxyContext, security?: SecurityTranslation, wasm?: WasmCode, mtlsModes?: InboundModes): { listeners: Listener[]; clusters: Cluster[] } {
  if (ctx.role !== "sidecar") return { listeners: [], clusters: [] };
  const listener = sidecarInboundListener(ctx, security, wasm, mtlsModes);
  return { listeners: listener ? [listener] : [], clusters: inboundPorts(ctx).map(inboundCluster) };
}

/** A sidecar's PeerAuthentication mode per inbound port (undefined for other proxies). */
export function sidecarMtlsModes(config: ConfigSet, ctx: ProxyContext): InboundModes | undefined {
  if (ctx.role !== "sidecar") return undefined;
  const resolved = resolvePeerAuthentication(config, { namespace: ctx.namespace, labels: ctx.labels });
  return inboundModes(resolved, inboundPorts(ctx).map((p) => p.port));
}

/** The resources as control/xds's snapshot takes them (lists per type). */
export function snapshotResources(r: ProxyResources): SnapshotResources {
  const list = <T extends Message>(m: Map<string, T>) => [...m.values()];
  return { listeners: list(r.listeners), routes: list(r.routes), clusters: list(r.clusters), endpoints: list(r.endpoints) };
}

/**
 * The translator as `halyard serve`'s SnapshotBuilder: the registry built once per config (the store hands out a
 * new ConfigSet on every change), proxies that translate alike sharing one translation (proxy-classes.ts).
 * RequestAuthentication `jwksUri`s are fetched and refreshed every 20 minutes by a JwksResolver
 * (`options.security.jwks`, else one of its own): a config's first build waits for its fetches (10 s timeout
 * each; a failure serves the fail-closed FAKE_JWKS), and `watch` tells the server when refreshed keys need a push.
 */
export function createSnapshotBuilder(options: XdsTranslateOptions = {}): SnapshotBuilder & { jwks: JwksResolver } {
  const given = options.security?.jwks;
  const jwks = given instanceof JwksResolver ? given : new JwksResolver();
  const inner = new SharedSnapshotBuilder({ ...options, security: { ...options.security, jwks } });
  const resolved = new WeakSet<ConfigSet>();
  return {
    jwks,
    build(config, node) {
      if (resolved.has(config)) return inner.build(config, node);
      return jwks.resolve(configJwksSources(config)).then(() => {
        resolved.add(config);
        return inner.build(config, node);
      });
    },
    watch(push) {
      jwks.onChange = push;
    },
  };
}
