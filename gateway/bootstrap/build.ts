// Turns a proto-valid, supported-fields-only Bootstrap into the gateway's GatewayConfig, checking what the proto's
// validation rules and Envoy's config loading require (names, one-of choices, references between objects). Portable.
import type { Duration } from "@bufbuild/protobuf/wkt";
import { anyUnpack, BytesValueSchema, StringValueSchema, type Any } from "@bufbuild/protobuf/wkt";
import type { Bootstrap } from "../../gen/envoy/config/bootstrap/v3/bootstrap_pb.js";
import type { Address } from "../../gen/envoy/config/core/v3/address_pb.js";
import type { Cluster } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import type { Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import type { RouteConfiguration } from "../../gen/envoy/config/route/v3/route_pb.js";
import { RouteAction_ClusterNotFoundResponseCode, type Route } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import {
  HttpConnectionManagerSchema,
  type HttpFilter,
} from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { WasmSchema } from "../../gen/envoy/extensions/filters/http/wasm/v3/wasm_pb.js";
import { problemAt, type FieldPath, type FieldProblem } from "./errors.js";
import { ROUTER_FILTER_TYPE, WASM_FILTER_TYPE } from "./supported.js";
import type {
  ClusterConfig, GatewayConfig, HcmConfig, JsonValue, ListenerConfig, RouteConfig, RouteTableConfig, SocketAddr, WasmFilterConfig,
} from "./types.js";

/** Thrown inside build; parse.ts renders it with the file and line. */
export class ProblemError extends Error {
  constructor(readonly problem: FieldProblem) {
    super(problem.message);
  }
}

function fail(path: FieldPath, message: string): never {
  throw new ProblemError(problemAt(path, message));
}

export interface BuildOptions {
  /** Resolves a file name from the bootstrap (wasm code) against the bootstrap's directory. */
  resolvePath(name: string): string;
}

const DEFAULT_ROUTE_TIMEOUT_MS = 15_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

export function buildConfig(b: Bootstrap, opts: BuildOptions): GatewayConfig {
  const clusters = (b.staticResources?.clusters ?? []).map((c, i) => buildCluster(c, ["static_resources", "clusters", i]));
  const clusterNames = new Set<string>();
  clusters.forEach((c, i) => {
    if (clusterNames.has(c.name)) fail(["static_resources", "clusters", i, "name"], `duplicate cluster name "${c.name}"`);
    clusterNames.add(c.name);
  });
  const listeners = (b.staticResources?.listeners ?? []).map((l, i) =>
    buildListener(l, ["static_resources", "listeners", i], clusterNames, opts),
  );
  const listenerNames = new Set<string>();
  listeners.forEach((l, i) => {
    if (listenerNames.has(l.name)) fail(["static_resources", "listeners", i, "name"], `duplicate listener name "${l.name}"`);
    listenerNames.add(l.name);
  });
  if (listeners.length === 0) fail(["static_resources"], "at least one listener is required");
  return {
    node: {
      id: b.node?.id ?? "",
      cluster: b.node?.cluster ?? "",
      metadata: (b.node?.metadata ?? {}) as Record<string, JsonValue>,
    },
    ...(b.admin ? { admin: socketAddr(b.admin.address, ["admin", "address"]) } : {}),
    listeners,
    clusters,
  };
}

function socketAddr(a: Address | undefined, path: FieldPath): SocketAddr {
  if (!a || a.address.case !== "socketAddress") fail(path, "socket_address is required");
  const sa = a.address.value;
  if (!sa.address) fail([...path, "socket_address", "address"], "must not be empty");
  if (sa.portSpecifier.case !== "portValue") fail([...path, "socket_address"], "port_value is required");
  if (sa.portSpecifier.value > 65535) fail([...path, "socket_address", "port_value"], `${sa.portSpecifier.value} is not a port (0-65535)`);
  return { address: sa.address, port: sa.portSpecifier.value };
}

function durationMs(d: Duration | undefined, fallback: number): number {
  return d ? Number(d.seconds) * 1000 + Math.round(d.nanos / 1e6) : fallback;
}

function buildCluster(c: Cluster, path: FieldPath): ClusterConfig {
  if (!c.name) fail([...path, "name"], "must not be empty");
  const endpoints: SocketAddr[] = [];
  (c.loadAssignment?.endpoints ?? []).forEach((loc, i) =>
    loc.lbEndpoints.forEach((lb, j) => {
      const p = [...path, "load_assignment", "endpoints", i, "lb_endpoints", j];
      if (lb.hostIdentifier.case !== "endpoint") fail(p, "endpoint is required");
      endpoints.push(socketAddr(lb.hostIdentifier.value.address, [...p, "endpoint", "address"]));
    }),
  );
  return { name: c.name, connectTimeoutMs: durationMs(c.connectTimeout, DEFAULT_CONNECT_TIMEOUT_MS), endpoints };
}

function buildListener(l: Listener, path: FieldPath, clusters: Set<string>, opts: BuildOptions): ListenerConfig {
  const index = path[path.length - 1];
  const address = socketAddr(l.address, [...path, "address"]);
  if (l.filterChains.length !== 1) fail([...path, "filter_chains"], "exactly one filter chain is supported by halyard gateway");
  const chainPath = [...path, "filter_chains", 0];
  const filters = l.filterChains[0]!.filters;
  if (filters.length !== 1) fail([...chainPath, "filters"], "exactly one network filter (http_connection_manager) is supported by halyard gateway");
  const f = filters[0]!;
  const fPath = [...chainPath, "filters", 0];
  if (f.configType.case !== "typedConfig") fail(fPath, "typed_config (an HttpConnectionManager) is required");
  return {
    name: l.name || `listener_${index}`,
    address,
    hcm: buildHcm(f.configType.value, [...fPath, "typed_config"], clusters, opts),
  };
}

function buildHcm(any: Any, path: FieldPath, clusters: Set<string>, opts: BuildOptions): HcmConfig {
  const hcm = anyUnpack(any, HttpConnectionManagerSchema);
  if (!hcm) fail(path, "expected an HttpConnectionManager");
  if (!hcm.statPrefix) fail([...path, "stat_prefix"], "must not be empty");
  if (hcm.routeSpecifier.case !== "routeConfig") fail(path, "route_config is required (rds and scoped routes are not supported by halyard gateway)");
  const filters = hcm.httpFilters;
  const last = filters.length - 1;
  if (last < 0 || !isRouter(filters[last]!)) {
    fail([...path, "http_filters"], "the last http filter must be envoy.filters.http.router");
  }
  const httpFilters = filters.slice(0, last).map((hf, i) => {
    const p = [...path, "http_filters", i];
    if (isRouter(hf)) fail(p, "envoy.filters.http.router must be the last http filter");
    return buildWasmFilter(hf, p, opts);
  });
  return {
    statPrefix: hcm.statPrefix,
    routeConfig: buildRoutes(hcm.routeSpecifier.value, [...path, "route_config"], clusters),
    httpFilters,
    useRemoteAddress: hcm.useRemoteAddress ?? false,
  };
}

function typeOf(hf: HttpFilter): string | undefined {
  return hf.configType.case === "typedConfig" ? hf.configType.value.typeUrl.slice(hf.configType.value.typeUrl.lastIndexOf("/") + 1) : undefined;
}

function isRouter(hf: HttpFilter): boolean {
  const t = typeOf(hf);
  return t === ROUTER_FILTER_TYPE || (t === undefined && hf.name === "envoy.filters.http.router");
}

function anyBytes(any: Any | undefined, path: FieldPath): string | Uint8Array {
  if (!any) return "";
  const s = anyUnpack(any, StringValueSchema);
  if (s) return s.value;
  const b = anyUnpack(any, BytesValueSchema);
  if (b) return b.value;
  fail(path, "expected google.protobuf.StringValue or google.protobuf.BytesValue");
}

function buildWasmFilter(hf: HttpFilter, path: FieldPath, opts: BuildOptions): WasmFilterConfig {
  if (typeOf(hf) !== WASM_FILTER_TYPE || hf.configType.case !== "typedConfig") {
    fail([...path, "typed_config"], `typed_config of type ${WASM_FILTER_TYPE} is required`);
  }
  const tc = [...path, "typed_config"];
  const wasm = anyUnpack(hf.configType.value, WasmSchema);
  const cfg = wasm?.config;
  if (!cfg) fail(tc, "config is required");
  const cPath = [...tc, "config"];
  if (cfg.vm.case !== "vmConfig") fail(cPath, "vm_config is required");
  const vm = cfg.vm.value;
  const vmPath = [...cPath, "vm_config"];
  if (!vm.runtime) fail([...vmPath, "runtime"], "must not be empty (e.g. envoy.wasm.runtime.v8)");
  const code = vm.code?.specifier;
  if (code?.case !== "local" || code.value.specifier.case !== "filename" || !code.value.specifier.value) {
    fail([...vmPath, "code"], "local.filename is required");
  }
  return {
    filterName: hf.name,
    name: cfg.name,
    rootId: cfg.rootId,
    vmId: vm.vmId,
    runtime: vm.runtime,
    codePath: opts.resolvePath(code.value.specifier.value),
    codeField: [...vmPath, "code", "local", "filename"],
    configuration: anyBytes(cfg.configuration, [...cPath, "configuration"]),
    vmConfiguration: anyBytes(vm.configuration, [...vmPath, "configuration"]),
    failOpen: cfg.failOpen,
  };
}

const NOT_FOUND_STATUS: Record<number, number> = {
  [RouteAction_ClusterNotFoundResponseCode.SERVICE_UNAVAILABLE]: 503,
  [RouteAction_ClusterNotFoundResponseCode.NOT_FOUND]: 404,
  [RouteAction_ClusterNotFoundResponseCode.INTERNAL_SERVER_ERROR]: 500,
};

function buildRoutes(rc: RouteConfiguration, path: FieldPath, clusters: Set<string>): RouteTableConfig {
  const seenDomains = new Map<string, string>();
  const virtualHosts = rc.virtualHosts.map((vh, i) => {
    const p = [...path, "virtual_hosts", i];
    if (!vh.name) fail([...p, "name"], "must not be empty");
    if (vh.domains.length === 0) fail([...p, "domains"], "at least one domain is required");
    vh.domains.forEach((d, j) => {
      const key = d.toLowerCase();
      if (!d) fail([...p, "domains", j], "must not be empty");
      const other = seenDomains.get(key);
      if (other !== undefined) fail([...p, "domains", j], `domain "${d}" is already used by virtual host "${other}" (domains must be unique)`);
      seenDomains.set(key, vh.name);
    });
    return { name: vh.name, domains: vh.domains, routes: vh.routes.map((r, j) => buildRoute(r, [...p, "routes", j], clusters)) };
  });
  return { name: rc.name, virtualHosts };
}

function buildRoute(r: Route, path: FieldPath, clusters: Set<string>): RouteConfig {
  const m = r.match;
  if (!m) fail([...path, "match"], "is required");
  const spec = m.pathSpecifier;
  if (spec.case !== "prefix" && spec.case !== "path") fail([...path, "match"], "one of prefix or path is required");
  if (r.action.case !== "route") fail(path, "route (a RouteAction) is required");
  const a = r.action.value;
  const aPath = [...path, "route"];
  const cs = a.clusterSpecifier;
  if (cs.case !== "cluster" && cs.case !== "clusterHeader") fail(aPath, "one of cluster or cluster_header is required");
  if (!cs.value) fail([...aPath, cs.case === "cluster" ? "cluster" : "cluster_header"], "must not be empty");
  // Envoy's validate_clusters (on by default for static route configs) rejects references to unknown clusters.
  if (cs.case === "cluster" && !clusters.has(cs.value)) fail([...aPath, "cluster"], `unknown cluster "${cs.value}"`);
  return {
    name: r.name,
    match: { kind: spec.case, value: spec.value, caseSensitive: m.caseSensitive ?? true },
    action: {
      ...(cs.case === "cluster" ? { cluster: cs.value } : { clusterHeader: cs.value.toLowerCase() }),
      timeoutMs: durationMs(a.timeout, DEFAULT_ROUTE_TIMEOUT_MS),
      clusterNotFoundStatus: NOT_FOUND_STATUS[a.clusterNotFoundResponseCode] ?? 503,
    },
  };
}
