// The gateway's own view of a bootstrap: only what halyard implements, already validated. Portable.
import type { FieldPath } from "./errors.js";

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface SocketAddr {
  address: string;
  port: number;
}

export interface NodeInfo {
  id: string;
  cluster: string;
  metadata: Record<string, JsonValue>;
}

export interface WasmFilterConfig {
  /** HttpFilter.name, e.g. "envoy.filters.http.wasm". */
  filterName: string;
  name: string;
  rootId: string;
  vmId: string;
  runtime: string;
  /** code.local.filename resolved against the bootstrap's directory. */
  codePath: string;
  /** Where codePath came from, for errors about the file. */
  codeField: FieldPath;
  configuration: string | Uint8Array;
  vmConfiguration: string | Uint8Array;
  failOpen: boolean;
}

export interface RouteMatchConfig {
  kind: "prefix" | "path";
  value: string;
  caseSensitive: boolean;
}

export interface RouteActionConfig {
  /** Exactly one of cluster / clusterHeader is set. */
  cluster?: string;
  clusterHeader?: string;
  /** 0 disables the timeout (Envoy's default is 15 s). */
  timeoutMs: number;
  clusterNotFoundStatus: number;
}

export interface RouteConfig {
  name: string;
  match: RouteMatchConfig;
  action: RouteActionConfig;
}

export interface VirtualHostConfig {
  name: string;
  domains: string[];
  routes: RouteConfig[];
}

export interface RouteTableConfig {
  name: string;
  virtualHosts: VirtualHostConfig[];
}

export interface HcmConfig {
  statPrefix: string;
  routeConfig: RouteTableConfig;
  /** The wasm filters in order; the router is always last and implicit. */
  httpFilters: WasmFilterConfig[];
  useRemoteAddress: boolean;
}

export interface ListenerConfig {
  name: string;
  address: SocketAddr;
  hcm: HcmConfig;
}

export interface ClusterConfig {
  name: string;
  connectTimeoutMs: number;
  endpoints: SocketAddr[];
}

export interface GatewayConfig {
  node: NodeInfo;
  admin?: SocketAddr;
  listeners: ListenerConfig[];
  clusters: ClusterConfig[];
}
