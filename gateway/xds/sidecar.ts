// Sidecar mode without iptables: the control plane's `virtualInbound` / `virtualOutbound` listeners (built for an
// Envoy behind traffic capture: 0.0.0.0, original_dst, a filter chain per destination port) are localized into
// listeners the gateway serves on loopback, and `inbound|<port>||` clusters point at the local app. Portable.
//
// - virtualInbound -> 127.0.0.1:<inbound port>. Every caller dials that one port (the WorkloadEntry lists it as the
//   workload's port), so one destination port is served: the chains whose destination_port equals the inbound
//   port, else the workload's only port, else its lowest port (the others are reported as not reachable). Those
//   chains keep their transport_protocol split (PeerAuthentication: tls, raw_buffer) and lose the port match.
// - virtualOutbound -> 127.0.0.1:<outbound port>. No original destination exists: each request picks the HTTP chain
//   of the port in its Host (or in its absolute-form URI, when the app uses the sidecar as its HTTP proxy; no port:
//   80, or 443 for https://), else the default one: the only chain, else port 80's, else the lowest port's. Chains
//   other than the default become unbound listeners `virtualOutbound|<port>` that `outboundDispatch` hands requests
//   to. The tcp_proxy default chain (PassthroughCluster / BlackHoleCluster) is not served; a request whose Host the
//   routes do not know follows Istio's allow_any route (PassthroughCluster to the Host itself), else a 404.
// - `inbound|<port>||` (STATIC 127.0.0.1:<port>) -> 127.0.0.1:<app port> when --app-port is given.
import { create, type Message } from "@bufbuild/protobuf";
import type { Cluster } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { AddressSchema } from "../../gen/envoy/config/core/v3/address_pb.js";
import type { FilterChain } from "../../gen/envoy/config/listener/v3/listener_components_pb.js";
import { ListenerSchema, type Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import type { DownstreamRequest } from "../hcm.js";
import type { XdsKind } from "./convert.js";

export const INBOUND_LISTENER = "virtualInbound";
export const OUTBOUND_LISTENER = "virtualOutbound";
export const DEFAULT_INBOUND_PORT = 15006;
export const DEFAULT_OUTBOUND_PORT = 15001;
const INBOUND_CLUSTER = /^inbound\|(\d+)\|\|$/;
const HCM_TYPE = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const TLS_INSPECTOR_TYPE = "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector";

export interface SidecarPorts {
  /** Where virtualInbound is bound (loopback). */
  inbound: number;
  outbound: number;
  /** The local app `inbound|<port>||` clusters send to; absent: the port the control plane named. */
  app?: number;
  /** Default 127.0.0.1. */
  bind?: string;
  /** Set as responses arrive: the service port whose chain virtualOutbound itself serves (the default chain). */
  defaultOutboundChainPort?: number;
}

/** Is this node id a sidecar's (`sidecar~ip~name.ns~domain`)? */
export function isSidecarNode(id: string): boolean {
  return id.startsWith("sidecar~");
}

/** One line per chain choice that leaves something unserved, deduplicated by the caller's log. */
export type SidecarLog = (line: string) => void;

/** Rewrites a response's decoded resources for a sidecar on loopback (others pass through unchanged). */
export function localizeForSidecar(kind: XdsKind, messages: Map<string, Message>, ports: SidecarPorts, log: SidecarLog = () => {}): Map<string, Message> {
  if (kind !== "listeners" && kind !== "clusters") return messages;
  const out = new Map<string, Message>();
  for (const [name, m] of messages) {
    if (kind === "listeners" && name === INBOUND_LISTENER) out.set(name, localInbound(m as Listener, ports, log));
    else if (kind === "listeners" && name === OUTBOUND_LISTENER) for (const l of localOutbound(m as Listener, ports, log)) out.set(l.name, l);
    else if (kind === "clusters" && ports.app !== undefined && INBOUND_CLUSTER.test(name)) out.set(name, toApp(m as Cluster, ports.app));
    else out.set(name, m);
  }
  return out;
}

function isHttpChain(c: FilterChain): boolean {
  return c.filters.length > 0 && c.filters.every((f) => f.configType.case === "typedConfig" && f.configType.value.typeUrl === HCM_TYPE);
}

const portOf = (c: FilterChain): number | undefined => c.filterChainMatch?.destinationPort;

/** The destination port a listener serves on loopback: `preferred` if a chain has it, else the only one, else `fallback`, else the lowest. */
function choosePort(ports: number[], preferred: number, fallback?: number): number | undefined {
  const distinct = [...new Set(ports)].sort((a, b) => a - b);
  if (distinct.includes(preferred)) return preferred;
  if (distinct.length <= 1) return distinct[0];
  if (fallback !== undefined && distinct.includes(fallback)) return fallback;
  return distinct[0];
}

function address(ports: SidecarPorts, port: number) {
  return create(AddressSchema, { address: { case: "socketAddress", value: { address: ports.bind ?? "127.0.0.1", portSpecifier: { case: "portValue", value: port } } } });
}

/** The chain without its destination_port (and without an empty match left behind). */
function withoutPortMatch(c: FilterChain): FilterChain {
  const m = c.filterChainMatch;
  if (!m) return c;
  const rest = { ...m, destinationPort: undefined };
  const empty = !rest.transportProtocol && rest.serverNames.length === 0 && rest.applicationProtocols.length === 0;
  return { ...c, filterChainMatch: empty ? undefined : rest } as FilterChain;
}

function localInbound(l: Listener, ports: SidecarPorts, log: SidecarLog): Listener {
  const http = l.filterChains.filter(isHttpChain);
  const port = choosePort(http.map(portOf).filter((p): p is number => p !== undefined), ports.inbound);
  const chosen = http.filter((c) => portOf(c) === port || portOf(c) === undefined);
  const unserved = [...new Set(http.map(portOf).filter((p) => p !== undefined && p !== port))];
  if (unserved.length) log(`sidecar: ${INBOUND_LISTENER} serves workload port ${port} on ${ports.inbound}; port(s) ${unserved.join(", ")} are not reachable without traffic capture`);
  return create(ListenerSchema, {
    ...l,
    address: address(ports, ports.inbound),
    listenerFilters: l.listenerFilters.filter((f) => f.configType.case === "typedConfig" && f.configType.value.typeUrl === TLS_INSPECTOR_TYPE),
    filterChains: chosen.map(withoutPortMatch),
    defaultFilterChain: undefined,
  });
}

/** The unbound listener serving the outbound chain of service port `port`. */
export const outboundChainListener = (port: number) => `${OUTBOUND_LISTENER}|${port}`;

/** For DynamicGateway's `unbound`: the per-port outbound listeners only receive dispatched requests. */
export function isUnboundSidecarListener(name: string): boolean {
  return name.startsWith(`${OUTBOUND_LISTENER}|`);
}

/**
 * For DynamicGateway's `dispatch`: a request on virtualOutbound goes to the chain of its Host's port (an
 * absolute-form URI is turned into authority + path first, as Envoy's HTTP/1 codec does for proxy requests), and
 * the filters see that chain's service port as the destination port, as they would after original_dst (route
 * `port` matches depend on it).
 */
export function outboundDispatcher(ports: SidecarPorts) {
  return (listener: string, req: DownstreamRequest, exists: (listener: string) => boolean): { listener: string; req: DownstreamRequest; localPort?: number } | undefined => {
    const routed = outboundDispatch(listener, req);
    if (!routed) return undefined;
    const port = Number(routed.listener.slice(OUTBOUND_LISTENER.length + 1));
    const chainPort = exists(routed.listener) ? port : ports.defaultOutboundChainPort;
    return { ...routed, ...(chainPort !== undefined ? { localPort: chainPort } : {}) };
  };
}

/** The listener (`virtualOutbound|<Host's port>`) and the request as it goes on; undefined for other listeners. */
export function outboundDispatch(listener: string, req: DownstreamRequest): { listener: string; req: DownstreamRequest } | undefined {
  if (listener !== OUTBOUND_LISTENER) return undefined;
  const absolute = /^(https?):\/\/([^/?#]*)([^#]*)/i.exec(req.path);
  const authority = absolute ? absolute[2]! : req.authority;
  const explicit = /:(\d{1,5})$/.exec(authority.startsWith("[") ? authority.slice(authority.indexOf("]")) : authority);
  const port = explicit ? Number(explicit[1]) : absolute?.[1]!.toLowerCase() === "https" ? 443 : 80;
  const forwarded = absolute ? { ...req, authority, path: absolute[3] || "/" } : req;
  return { listener: outboundChainListener(port), req: forwarded };
}

function localOutbound(l: Listener, ports: SidecarPorts, log: SidecarLog): Listener[] {
  const http = l.filterChains.filter(isHttpChain);
  const port = choosePort(http.map(portOf).filter((p): p is number => p !== undefined), -1, 80);
  const others = [...new Set(http.map(portOf).filter((p): p is number => p !== undefined && p !== port))];
  if (port !== undefined) ports.defaultOutboundChainPort = port;
  if (others.length) log(`sidecar: ${OUTBOUND_LISTENER} on ${ports.outbound}: requests for service port(s) ${others.join(", ")} by their Host's port, the rest to port ${port}'s routes`);
  const listener = (name: string, chainPort: number | undefined, bindPort: number) =>
    create(ListenerSchema, {
      ...l,
      name,
      address: address(ports, bindPort),
      listenerFilters: [],
      filterChains: http.filter((c) => portOf(c) === chainPort).map(withoutPortMatch),
      defaultFilterChain: undefined,
    });
  return [listener(OUTBOUND_LISTENER, port, ports.outbound), ...others.map((p) => listener(outboundChainListener(p), p, 0))];
}

/** A STATIC inbound cluster sending to the app on loopback instead. */
function toApp(c: Cluster, appPort: number): Cluster {
  if (c.clusterDiscoveryType.case !== "type" || !c.loadAssignment) return c;
  const endpoints = c.loadAssignment.endpoints.map((loc) => ({
    ...loc,
    lbEndpoints: loc.lbEndpoints.map((lb) =>
      lb.hostIdentifier.case === "endpoint"
        ? { ...lb, hostIdentifier: { case: "endpoint" as const, value: { ...lb.hostIdentifier.value, address: create(AddressSchema, { address: { case: "socketAddress", value: { address: "127.0.0.1", portSpecifier: { case: "portValue", value: appPort } } } }) } } }
        : lb,
    ),
  }));
  return { ...c, loadAssignment: { ...c.loadAssignment, endpoints } } as Cluster;
}
