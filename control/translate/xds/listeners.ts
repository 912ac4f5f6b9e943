// LDS (+ the RDS names it points at) for Envoy sidecars and routers.
//
// Sidecar, outbound: ONE listener, `virtualOutbound` on 0.0.0.0:15001 (where iptables sends outbound traffic),
// instead of Istio's virtualOutbound + one bind_to_port=false listener per port. The original_dst listener filter
// restores the destination, then one filter chain per HTTP service port (filter_chain_match.destination_port)
// runs an HCM with scoped RDS: one RouteConfiguration per virtual host (`9080/<vhost>`), halyard.route configured
// with the port's virtual hosts (names, domains, scopes) and reading a scope's routes from its route metadata.
// Non-HTTP traffic falls to the default chain: tcp_proxy to PassthroughCluster (ALLOW_ANY) or BlackHoleCluster
// (Sidecar outboundTrafficPolicy REGISTRY_ONLY).
// Sidecar, inbound: `virtualInbound` on 0.0.0.0:15006, one chain per workload port, routing to `inbound|<port>||`,
// behind halyard.jwt and halyard.authz when RequestAuthentication / AuthorizationPolicy apply to the workload.
// Router: one listener per Gateway server port (the real port: mapping privileged ports is the runtime's job),
// plain HTTP and TLS (SDS secret = credentialName) chains, RDS `http.<port>`; halyard.jwt and halyard.authz (the
// policies the gateway's labels select) run before halyard.fault / halyard.route.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { TrafficDirection } from "../../../gen/envoy/config/core/v3/base_pb.js";
import type { FilterChainSchema } from "../../../gen/envoy/config/listener/v3/listener_components_pb.js";
import { ListenerSchema, type Listener } from "../../../gen/envoy/config/listener/v3/listener_pb.js";
import type { RouteConfiguration } from "../../../gen/envoy/config/route/v3/route_pb.js";
import { OriginalDstSchema } from "../../../gen/envoy/extensions/filters/listener/original_dst/v3/original_dst_pb.js";
import { TlsInspectorSchema } from "../../../gen/envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector_pb.js";
import { RouterSchema } from "../../../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import {
  HttpConnectionManagerSchema,
  type HttpFilterSchema,
} from "../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { TcpProxySchema } from "../../../gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js";
import type { ConfigSet } from "../../config/config-set.js";
import type { Gateway, Server } from "../../config/types.js";
import type { Protocol } from "../../registry/types.js";
import type { EngineRouteConfig, EngineVirtualHost } from "../engine-config.js";
import { outboundTrafficMode } from "../outbound-policy.js";
import type { RouteTranslation } from "../routes.js";
import type { SecurityTranslation } from "../security.js";
import { inboundClusterName, inboundPorts, type BuiltCluster } from "./clusters.js";
import { adsConfigSource, BLACKHOLE_CLUSTER, packed, PASSTHROUGH_CLUSTER, socketAddress } from "./common.js";
import type { ProxyContext } from "./node.js";
import { filterDrivenRouteConfig, inboundRouteConfig } from "./routes.js";
import {
  joinScopedEngineConfig,
  sameScopedEngineConfig,
  scopedEngineConfigParts,
  scopedRouteConfigs,
  scopedRoutesSpecifier,
  type ScopedEngineConfigParts,
  type ScopedRouteMemo,
} from "./scoped-routes.js";
import { inboundMtlsChains, needsTlsInspector, type InboundModes } from "./mtls.js";
import { downstreamTransportSocket } from "./tls.js";
import { wasmHttpFilter, type WasmCode } from "./wasm-filter.js";

type FilterChainInit = MessageInitShape<typeof FilterChainSchema>;
type HttpFilterInit = MessageInitShape<typeof HttpFilterSchema>;

export const OUTBOUND_LISTENER = "virtualOutbound";
export const INBOUND_LISTENER = "virtualInbound";
export const OUTBOUND_PORT = 15001;
export const INBOUND_PORT = 15006;

export const ROUTE_ROOT_ID = "halyard.route";
export const FAULT_ROOT_ID = "halyard.fault";
export const JWT_ROOT_ID = "halyard.jwt";
export const AUTHZ_ROOT_ID = "halyard.authz";

export interface ListenerBuildInput {
  config: ConfigSet;
  ctx: ProxyContext;
  translation: RouteTranslation;
  clusters: readonly BuiltCluster[];
  wasm: WasmCode;
  /** RequestAuthentication / AuthorizationPolicy for this proxy: halyard.jwt and halyard.authz configs. */
  security?: SecurityTranslation;
  /** Sidecar scope RouteConfigurations shared by content across proxy classes and config versions. */
  routeMemo?: ScopedRouteMemo;
  /** A sidecar's `virtualOutbound` from the previous translation of its class, reused when its content is the same. */
  listenerMemo?: ListenerMemo;
}

/** Carries a proxy class's `virtualOutbound` from one translation to the next (filled into `next`). */
export interface ListenerMemo {
  previous?: { key: OutboundListenerKey; listener: Listener };
  next?: { key: OutboundListenerKey; listener: Listener };
}

/**
 * Everything `virtualOutbound` is made of, compared piece by piece: joining and re-serialising the scoped JSON
 * (~400 KB at 1 000 services) per proxy class made the key cost more than the edit it was checking.
 */
export interface OutboundListenerKey {
  ports: { port: number; faults: boolean; scoped: ScopedEngineConfigParts }[];
  fallback: string;
  wasm: string;
}

function sameOutboundListenerKey(a: OutboundListenerKey, b: OutboundListenerKey): boolean {
  if (a.fallback !== b.fallback || a.wasm !== b.wasm || a.ports.length !== b.ports.length) return false;
  return a.ports.every((p, i) => {
    const q = b.ports[i]!;
    return p.port === q.port && p.faults === q.faults && sameScopedEngineConfig(p.scoped, q.scoped);
  });
}

export interface ListenerResult {
  listeners: Listener[];
  routes: RouteConfiguration[];
}

const routerFilter = (): HttpFilterInit => ({ name: "envoy.filters.http.router", configType: { case: "typedConfig", value: packed(RouterSchema, {}) } });

function hasFaults(config: EngineRouteConfig): boolean {
  return config.virtual_hosts.some(vhostHasFaults);
}

/** Per virtual host object (reused ones are shared by content between proxy classes, and never modified). */
const faultsOf = new WeakMap<EngineVirtualHost, boolean>();
function vhostHasFaults(vh: EngineVirtualHost): boolean {
  let faults = faultsOf.get(vh);
  if (faults === undefined) faultsOf.set(vh, (faults = vh.routes.some((r) => r.fault !== undefined)));
  return faults;
}

/**
 * halyard.jwt then halyard.authz, each only when some policy applies: Istio's order, jwt_authn before rbac, both
 * before anything that routes.
 */
function securityHttpFilters(security: SecurityTranslation | undefined, wasm: WasmCode | undefined): HttpFilterInit[] {
  const out: HttpFilterInit[] = [];
  if (!security || !wasm) return out;
  if (security.jwt) out.push(wasmHttpFilter(JWT_ROOT_ID, JSON.stringify(security.jwt), wasm));
  if (security.authz) out.push(wasmHttpFilter(AUTHZ_ROOT_ID, JSON.stringify(security.authz), wasm));
  return out;
}

/**
 * halyard.fault (only when some route injects faults), halyard.route, then Envoy's router; both wasm filters get
 * `configured` (the engine JSON, or its scoped form for sidecars), faults are looked for in `engine`.
 */
function outboundHttpFilters(engine: EngineRouteConfig, wasm: WasmCode, configured: object = engine, json = JSON.stringify(configured)): HttpFilterInit[] {
  return [...(hasFaults(engine) ? [wasmHttpFilter(FAULT_ROOT_ID, json, wasm)] : []), wasmHttpFilter(ROUTE_ROOT_ID, json, wasm), routerFilter()];
}

function hcmFilter(init: MessageInitShape<typeof HttpConnectionManagerSchema>) {
  return { name: "envoy.filters.network.http_connection_manager", configType: { case: "typedConfig" as const, value: packed(HttpConnectionManagerSchema, init) } };
}

function rds(name: string) {
  return { case: "rds" as const, value: { configSource: adsConfigSource(), routeConfigName: name } };
}

function tcpProxyChain(name: string, cluster: string): FilterChainInit {
  return {
    name,
    filters: [{ name: "envoy.filters.network.tcp_proxy", configType: { case: "typedConfig", value: packed(TcpProxySchema, { statPrefix: cluster, clusterSpecifier: { case: "cluster", value: cluster } }) } }],
  };
}

const originalDst = () => ({ name: "envoy.filters.listener.original_dst", configType: { case: "typedConfig" as const, value: packed(OriginalDstSchema, {}) } });
const tlsInspector = () => ({ name: "envoy.filters.listener.tls_inspector", configType: { case: "typedConfig" as const, value: packed(TlsInspectorSchema, {}) } });

/** REGISTRY_ONLY when the proxy's Sidecar says so (Istio's precedence; the mesh default is ALLOW_ANY here). */
export function outboundTrafficPolicy(config: ConfigSet, ctx: ProxyContext): "ALLOW_ANY" | "REGISTRY_ONLY" {
  return outboundTrafficMode(config, ctx.namespace, ctx.labels);
}

export function sidecarListeners(input: ListenerBuildInput): ListenerResult {
  const outbound = sidecarOutboundListener(input);
  const inbound = sidecarInboundListener(input.ctx, input.security, input.wasm);
  return { listeners: inbound ? [...outbound.listeners, inbound] : outbound.listeners, routes: outbound.routes };
}

/** `virtualOutbound` and its per-port route configs: the part shared by every sidecar of the same kind. */
export function sidecarOutboundListener(input: ListenerBuildInput): ListenerResult {
  const { ctx, translation, clusters, wasm } = input;
  const routes: RouteConfiguration[] = [];
  // Scoped RDS (scoped-routes.ts): a RouteConfiguration per virtual host, the listener keeps names and domains.
  for (const rc of translation.routeConfigs) routes.push(...scopedRouteConfigs(rc.port, rc.config, clusters, input.routeMemo));
  // The mode the route translation chose (Sidecar precedence and the mesh default: control/translate/outbound-policy.ts).
  const fallback = translation.outboundTrafficPolicy === "REGISTRY_ONLY" ? BLACKHOLE_CLUSTER : PASSTHROUGH_CLUSTER;
  // Everything the listener is made of: a weight edit leaves it as it was, so the same message (already encoded).
  const key: OutboundListenerKey = {
    ports: translation.routeConfigs.map((rc) => ({ port: rc.port, faults: hasFaults(rc.config), scoped: scopedEngineConfigParts(rc.port, rc.config) })),
    fallback,
    wasm: JSON.stringify(wasm),
  };
  const memo = input.listenerMemo;
  if (memo?.previous && sameOutboundListenerKey(memo.previous.key, key)) {
    memo.next = memo.previous;
    return { listeners: [memo.previous.listener], routes };
  }
  const chains: FilterChainInit[] = translation.routeConfigs.map((rc, i) => {
    const httpFilters = outboundHttpFilters(rc.config, wasm, undefined, joinScopedEngineConfig(key.ports[i]!.scoped));
    return {
      name: `0.0.0.0_${rc.port}`,
      filterChainMatch: { destinationPort: rc.port },
      filters: [hcmFilter({ statPrefix: `outbound_0.0.0.0_${rc.port}`, routeSpecifier: scopedRoutesSpecifier(rc.port, rc.config), httpFilters, useRemoteAddress: false })],
    };
  });
  const outbound = create(ListenerSchema, {
    name: OUTBOUND_LISTENER,
    address: socketAddress("0.0.0.0", OUTBOUND_PORT),
    trafficDirection: TrafficDirection.OUTBOUND,
    listenerFilters: [originalDst()],
    filterChains: chains,
    defaultFilterChain: tcpProxyChain(fallback, fallback),
  });
  if (memo) memo.next = { key, listener: outbound };
  return { listeners: [outbound], routes };
}

/**
 * `virtualInbound`: the workload's own HTTP ports, if it serves any (depends on the workload alone), each behind
 * halyard.jwt / halyard.authz when `security` (the workload's policies) configures them.
 */
export function sidecarInboundListener(ctx: ProxyContext, security?: SecurityTranslation, wasm?: WasmCode, mtlsModes?: InboundModes): Listener | undefined {
  const inbound = inboundPorts(ctx).filter((p) => isHttp(p.protocol));
  if (inbound.length === 0) return undefined;
  // PeerAuthentication modes per port (control/translate/xds/mtls.ts); without them, plaintext chains only.
  const modes = inbound.map((p) => mtlsModes?.[p.port] ?? "DISABLE");
  return create(ListenerSchema, {
    name: INBOUND_LISTENER,
    address: socketAddress("0.0.0.0", INBOUND_PORT),
    trafficDirection: TrafficDirection.INBOUND,
    listenerFilters: needsTlsInspector(modes) ? [originalDst(), tlsInspector()] : [originalDst()],
    filterChains: inbound.flatMap((p, i) => {
      const cluster = inboundClusterName(p.port);
      const filters = [
        hcmFilter({
          statPrefix: `inbound_0.0.0.0_${p.port}`,
          routeSpecifier: { case: "routeConfig", value: inboundRouteConfig(cluster) },
          httpFilters: [...securityHttpFilters(security, wasm), routerFilter()],
        }),
      ];
      return inboundMtlsChains({ name: cluster, destinationPort: p.port, filters }, modes[i]!, ctx.sdsCluster);
    }),
  });
}

const HTTP_FAMILY: ReadonlySet<Protocol> = new Set<Protocol>(["HTTP", "HTTP2", "HTTP_PROXY", "GRPC", "GRPC-Web", "UnsupportedProtocol"]);
function isHttp(p: Protocol): boolean {
  return HTTP_FAMILY.has(p);
}

const PLAIN_HTTP = new Set(["HTTP", "HTTP2", "GRPC", "GRPC-WEB"]);

/** How a Gateway server is served: plain HTTP, terminated TLS, or not by an HTTP listener at all. */
function serverKind(server: Server): "http" | "https" | "other" {
  const protocol = server.port.protocol.toUpperCase();
  if (PLAIN_HTTP.has(protocol)) return "http";
  const mode = server.tls?.mode ?? "SIMPLE";
  if (protocol === "HTTPS" && mode !== "PASSTHROUGH" && mode !== "AUTO_PASSTHROUGH") return "https";
  return "other";
}

/** A server host without its `namespace/` prefix. */
const bareHost = (h: string) => (h.includes("/") ? h.slice(h.indexOf("/") + 1) : h);

export function routerListeners(input: ListenerBuildInput): ListenerResult {
  const { ctx, translation, clusters, wasm } = input;
  if (ctx.proxy.kind !== "gateway") return { listeners: [], routes: [] };
  const byAddress = new Map<string, { bind: string; port: number; servers: { gateway: Gateway; server: Server; index: number }[] }>();
  for (const gateway of ctx.proxy.gateways) {
    (gateway.spec.servers ?? []).forEach((server, index) => {
      if (serverKind(server) === "other") return;
      const bind = server.bind ?? "0.0.0.0";
      const key = `${bind}_${server.port.number}`;
      const entry = byAddress.get(key) ?? { bind, port: server.port.number, servers: [] };
      entry.servers.push({ gateway, server, index });
      byAddress.set(key, entry);
    });
  }

  const listeners: Listener[] = [];
  const routes = new Map<string, RouteConfiguration>();
  for (const [name, { bind, port, servers }] of [...byAddress].sort(([a], [b]) => a.localeCompare(b))) {
    const routeName = `http.${port}`;
    const engine = translation.routeConfigs.find((c) => c.port === port)?.config ?? { virtual_hosts: [] };
    if (!routes.has(routeName)) routes.set(routeName, filterDrivenRouteConfig(routeName, clusters));
    // Istio applies the policies the gateway's labels select to its own traffic, before routing.
    const httpFilters = [...securityHttpFilters(input.security, wasm), ...outboundHttpFilters(engine, wasm)];
    const hcm = hcmFilter({ statPrefix: `outbound_${name}`, routeSpecifier: rds(routeName), httpFilters, useRemoteAddress: true });
    const tlsServers = servers.filter((s) => serverKind(s.server) === "https");
    const plain = servers.some((s) => serverKind(s.server) === "http");
    // Chains are told apart by SNI between TLS servers, and by transport protocol from a plain one on the port.
    const useSni = tlsServers.length > 1;
    const inspect = useSni || (plain && tlsServers.length > 0);
    const chains: FilterChainInit[] = [];
    for (const { gateway, server, index } of tlsServers) {
      const where = `Gateway ${gateway.metadata.namespace}/${gateway.metadata.name}: spec.servers[${index}]`;
      const names = server.hosts.map(bareHost).filter((h) => h !== "*");
      chains.push({
        name: `${where.split(": ")[0]!.slice("Gateway ".length)}#${index}`,
        ...(inspect ? { filterChainMatch: { ...(useSni && names.length ? { serverNames: names } : {}), ...(plain ? { transportProtocol: "tls" } : {}) } } : {}),
        transportSocket: downstreamTransportSocket(server.tls, where)!,
        filters: [hcm],
      });
    }
    if (plain) chains.push({ name: "http", filters: [hcm] });
    listeners.push(
      create(ListenerSchema, {
        name,
        address: socketAddress(bind, port),
        trafficDirection: TrafficDirection.OUTBOUND,
        ...(inspect ? { listenerFilters: [tlsInspector()] } : {}),
        filterChains: chains,
      }),
    );
  }
  return { listeners, routes: [...routes.values()] };
}
