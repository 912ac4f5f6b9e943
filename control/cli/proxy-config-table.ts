// `halyard proxy-config`'s default output: one short table per resource type, columns as istioctl's.
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { Cluster_DiscoveryType, type Cluster } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import type { ClusterLoadAssignment } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import type { Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import type { RouteConfiguration } from "../../gen/envoy/config/route/v3/route_pb.js";
import { HttpConnectionManagerSchema } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { TcpProxySchema } from "../../gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js";
import type { DumpedResources } from "./ads-dump.js";
import type { ResourceKind } from "./proxy-config.js";

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("   ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

function clusterRows(clusters: readonly Cluster[]): string[][] {
  return clusters.map((c) => {
    const parts = c.name.split("|");
    const [fqdn, port, subset, direction] =
      parts.length === 4 ? [parts[3] || "-", parts[1]!, parts[2] || "-", parts[0]!] : [c.name, "-", "-", "-"];
    const type = c.clusterDiscoveryType.case === "type" ? Cluster_DiscoveryType[c.clusterDiscoveryType.value] : "-";
    const config = c.metadata?.filterMetadata.istio?.config;
    const dr = typeof config === "string" ? config.split("/").slice(-3).filter((_, i) => i !== 1).reverse().join(".") : "-";
    return [fqdn, port, subset, direction, type ?? "-", dr];
  });
}

function address(l: Listener): [string, string] {
  const a = l.address?.address;
  if (a?.case !== "socketAddress") return [l.apiListener ? "-" : "?", "-"];
  const port = a.value.portSpecifier.case === "portValue" ? String(a.value.portSpecifier.value) : "-";
  return [a.value.address, port];
}

function chainDestination(filters: Listener["filterChains"][number]["filters"]): string {
  const f = filters[0];
  if (f?.configType.case !== "typedConfig") return "-";
  const hcm = anyUnpack(f.configType.value, HttpConnectionManagerSchema);
  if (hcm) {
    const spec = hcm.routeSpecifier;
    if (spec.case === "rds") return `Route: ${spec.value.routeConfigName}`;
    if (spec.case === "routeConfig") return `Inline Route: ${spec.value.name}`;
    if (spec.case === "scopedRoutes") {
      const list = spec.value.configSpecifier.case === "scopedRouteConfigurationsList" ? spec.value.configSpecifier.value.scopedRouteConfigurations.length : undefined;
      return `Scoped Routes: ${spec.value.name}${list === undefined ? "" : ` (${list} scopes)`}`;
    }
    return "-";
  }
  const tcp = anyUnpack(f.configType.value, TcpProxySchema);
  if (tcp?.clusterSpecifier.case === "cluster") return `Cluster: ${tcp.clusterSpecifier.value}`;
  return "-";
}

function listenerRows(listeners: readonly Listener[]): string[][] {
  const rows: string[][] = [];
  for (const l of listeners) {
    const [addr, port] = address(l);
    if (l.apiListener) {
      const hcm = anyUnpack(l.apiListener.apiListener!, HttpConnectionManagerSchema);
      rows.push([l.name, addr, port, "ALL", hcm?.routeSpecifier.case === "rds" ? `Route: ${hcm.routeSpecifier.value.routeConfigName}` : "-"]);
      continue;
    }
    for (const chain of l.filterChains) {
      const m = chain.filterChainMatch;
      const match = [
        m?.destinationPort ? `port ${m.destinationPort}` : "",
        m?.serverNames.length ? `SNI ${m.serverNames.join(",")}` : "",
        m?.transportProtocol ? m.transportProtocol : "",
      ].filter(Boolean).join("; ") || (chain.transportSocket ? "TLS" : "ALL");
      rows.push([l.name, addr, port, match, chainDestination(chain.filters)]);
    }
    if (l.defaultFilterChain) rows.push([l.name, addr, port, "default", chainDestination(l.defaultFilterChain.filters)]);
  }
  return rows;
}

function routeRows(routes: readonly RouteConfiguration[]): string[][] {
  const rows: string[][] = [];
  for (const rc of routes) {
    for (const vh of rc.virtualHosts) {
      for (const r of vh.routes) {
        const m = r.match;
        const path = m?.pathSpecifier.case === "prefix" ? `${m.pathSpecifier.value || "/"}*` : m?.pathSpecifier.case === "path" ? m.pathSpecifier.value : m?.pathSpecifier.case === "safeRegex" ? m.pathSpecifier.value.regex : "-";
        const pinned = m?.headers.find((h) => h.headerMatchSpecifier.case === "stringMatch" && h.headerMatchSpecifier.value.matchPattern.case === "exact");
        const headers = (m?.headers ?? []).filter((h) => h !== pinned).map((h) => h.name).join(",");
        const action = r.action.case === "route" ? r.action.value.clusterSpecifier : undefined;
        const dest = !action ? String(r.action.case ?? "-") : action.case === "cluster" ? action.value : action.case === "clusterHeader" ? `header ${action.value}` : action.case === "weightedClusters" ? action.value.clusters.map((c) => `${c.name}:${c.weight}`).join(" ") : "-";
        const domains = vh.domains.length > 2 ? `${vh.domains.slice(0, 2).join(",")} +${vh.domains.length - 2} more` : vh.domains.join(",");
        const on = pinned?.headerMatchSpecifier.case === "stringMatch" ? ` [${pinned.name}=${String(pinned.headerMatchSpecifier.value.matchPattern.value)}]` : "";
        rows.push([rc.name, vh.name, domains, `${path}${headers ? ` [${headers}]` : ""}${on}`, dest]);
      }
    }
  }
  return rows;
}

function endpointRows(assignments: readonly ClusterLoadAssignment[]): string[][] {
  const rows: string[][] = [];
  for (const la of assignments) {
    for (const group of la.endpoints) {
      const locality = [group.locality?.region, group.locality?.zone, group.locality?.subZone].filter(Boolean).join("/") || "-";
      for (const e of group.lbEndpoints) {
        const a = e.hostIdentifier.case === "endpoint" ? e.hostIdentifier.value.address?.address : undefined;
        const where = a?.case === "socketAddress" ? `${a.value.address}:${a.value.portSpecifier.case === "portValue" ? a.value.portSpecifier.value : "?"}` : a?.case === "pipe" ? `unix://${a.value.path}` : "?";
        rows.push([where, locality, String(group.priority), String(e.loadBalancingWeight ?? 1), la.clusterName]);
      }
    }
  }
  return rows;
}

export function formatTables(resources: DumpedResources, kinds: readonly ResourceKind[]): string {
  const sections: Record<ResourceKind, () => string> = {
    clusters: () => table(["SERVICE FQDN", "PORT", "SUBSET", "DIRECTION", "TYPE", "DESTINATION RULE"], clusterRows(resources.clusters as Cluster[])),
    listeners: () => table(["NAME", "ADDRESS", "PORT", "MATCH", "DESTINATION"], listenerRows(resources.listeners as Listener[])),
    routes: () => table(["NAME", "VHOST NAME", "DOMAINS", "MATCH", "CLUSTER"], routeRows(resources.routes as RouteConfiguration[])),
    endpoints: () => table(["ENDPOINT", "LOCALITY", "PRIORITY", "WEIGHT", "CLUSTER"], endpointRows(resources.endpoints as ClusterLoadAssignment[])),
  };
  return kinds.map((k) => sections[k]()).join("\n");
}
