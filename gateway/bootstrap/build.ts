// Turns a proto-valid, supported-fields-only Bootstrap into the gateway's GatewayConfig, checking what the proto's
// validation rules and Envoy's config loading require (names, one-of choices, references between objects). Portable.
import { equals, toBinary } from "@bufbuild/protobuf";
import type { Duration } from "@bufbuild/protobuf/wkt";
import { anyUnpack, BytesValueSchema, StringValueSchema, type Any } from "@bufbuild/protobuf/wkt";
import type { Bootstrap, Bootstrap_DynamicResources } from "../../gen/envoy/config/bootstrap/v3/bootstrap_pb.js";
import type { Address } from "../../gen/envoy/config/core/v3/address_pb.js";
import { MetadataSchema } from "../../gen/envoy/config/core/v3/base_pb.js";
import { ApiConfigSource_ApiType } from "../../gen/envoy/config/core/v3/config_source_pb.js";
import { Cluster_DiscoveryType, type Cluster } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import type { ClusterLoadAssignment } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import type { Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import type { RouteConfiguration } from "../../gen/envoy/config/route/v3/route_pb.js";
import { RouteAction_ClusterNotFoundResponseCode, VirtualHost_TlsRequirementType, type HeaderMatcher, type Route } from "../../gen/envoy/config/route/v3/route_components_pb.js";
import {
  HttpConnectionManager_CodecType,
  HttpConnectionManager_ForwardClientCertDetails,
  HttpConnectionManagerSchema,
  type HttpConnectionManager,
  type HttpFilter,
} from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { WasmSchema } from "../../gen/envoy/extensions/filters/http/wasm/v3/wasm_pb.js";
import { protocolOptions } from "./protocol-options.js";
import { accessLog, clusterPolicies, hashPolicy, retryPolicy, weightedClusters } from "./build-policies.js";
import { formatPath, problemAt, type FieldPath, type FieldProblem } from "./errors.js";
import { listenerTls, type SecretSource } from "./listener-tls.js";
import { buildScopedRoutes } from "./scoped-routes.js";
import { originalDstPart } from "./original-dst.js";
import { dnsPart } from "../dns-build.js";
import { cidrProblem } from "../internal-address.js";
import type { CidrRange } from "../../gen/envoy/config/core/v3/address_pb.js";
import { clusterTransportSockets, endpointSocketMatch } from "../upstream-tls-build.js";
import { ROUTER_FILTER_TYPE, WASM_FILTER_TYPE } from "./supported.js";
import type { ForwardClientCertConfig, ForwardClientCertMode } from "../xfcc.js";
import type {
  AdsSourceConfig, CidrRangeConfig, HeaderMatchConfig, ClusterConfig, EndpointConfig, RetryPolicyConfig, GatewayConfig, HcmConfig, JsonValue, ListenerConfig, RouteConfig, RouteTableConfig, SocketAddr, WasmFilterConfig,
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

/** code.remote of a wasm filter: fetched from http_uri, checked against sha256. */
export interface RemoteCodeRef {
  uri: string;
  cluster: string;
  timeoutMs: number;
  /** Lower-case hex. */
  sha256: string;
}

export interface BuildOptions {
  /** Resolves a file name from the bootstrap (wasm code) against the bootstrap's directory. */
  resolvePath(name: string): string;
  /** xDS only: the route table an HCM names in rds.route_config_name. Without it, rds is rejected. */
  routes?(name: string, path: FieldPath): RouteTableConfig;
  /** xDS only: an EDS cluster's endpoints (by service name). Without it, type EDS is rejected. */
  edsEndpoints?(serviceName: string, path: FieldPath): EndpointConfig[];
  /** xDS only: the local file holding remote wasm code (fetched and verified). Without it, code.remote is rejected. */
  remoteCode?(ref: RemoteCodeRef, path: FieldPath): string;
  /**
   * Certificates and keys of TLS listeners: files named in the bootstrap and SDS secrets by name (credentialName).
   * Without it, a listener with a TLS transport socket is rejected.
   */
  secrets?: SecretSource;
}

const DEFAULT_ROUTE_TIMEOUT_MS = 15_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

export function buildConfig(b: Bootstrap, opts: BuildOptions): GatewayConfig {
  const clusters = (b.staticResources?.clusters ?? []).map((c, i) => buildCluster(c, ["static_resources", "clusters", i], opts));
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
  const ads = b.dynamicResources ? buildAds(b.dynamicResources, ["dynamic_resources"], clusters) : undefined;
  if (listeners.length === 0 && !ads) fail(["static_resources"], "at least one listener is required (or dynamic_resources with ads_config)");
  return {
    node: {
      id: b.node?.id ?? "",
      cluster: b.node?.cluster ?? "",
      metadata: (b.node?.metadata ?? {}) as Record<string, JsonValue>,
    },
    ...(b.admin ? { admin: socketAddr(b.admin.address, ["admin", "address"]) } : {}),
    listeners,
    clusters,
    ...(ads ? { ads } : {}),
  };
}

// Envoy's shape: lds_config and cds_config `{ads: {}}` (the rule table allows nothing else), ads_config a GRPC
// ApiConfigSource with one envoy_grpc service naming a static cluster.
function buildAds(d: Bootstrap_DynamicResources, path: FieldPath, clusters: ClusterConfig[]): AdsSourceConfig {
  const ac = d.adsConfig;
  if (!ac) fail(path, "ads_config is required (lds_config and cds_config come over ADS)");
  const p = [...path, "ads_config"];
  if (!d.ldsConfig && !d.cdsConfig) fail(path, "lds_config or cds_config (ads: {}) is required");
  if (ac.grpcServices.length !== 1) fail([...p, "grpc_services"], "exactly one grpc service is required");
  const gs = ac.grpcServices[0]!.targetSpecifier;
  if (gs.case !== "envoyGrpc" || !gs.value.clusterName) fail([...p, "grpc_services", 0, "envoy_grpc", "cluster_name"], "must name a static cluster");
  const cluster = clusters.find((c) => c.name === gs.value.clusterName);
  if (!cluster) fail([...p, "grpc_services", 0, "envoy_grpc", "cluster_name"], `unknown cluster "${gs.value.clusterName}" (must be in static_resources.clusters)`);
  if (cluster.endpoints.length === 0) fail([...p, "grpc_services", 0, "envoy_grpc", "cluster_name"], `cluster "${cluster.name}" has no endpoints`);
  return {
    cluster: cluster.name,
    lds: d.ldsConfig !== undefined,
    cds: d.cdsConfig !== undefined,
    ...(ac.apiType === ApiConfigSource_ApiType.DELTA_GRPC ? { delta: true } : {}),
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

/** The endpoints of a load assignment (a cluster's load_assignment, or an EDS ClusterLoadAssignment). */
export function buildEndpoints(cla: ClusterLoadAssignment | undefined, path: FieldPath): EndpointConfig[] {
  const endpoints: EndpointConfig[] = [];
  (cla?.endpoints ?? []).forEach((loc, i) =>
    loc.lbEndpoints.forEach((lb, j) => {
      const p = [...path, "endpoints", i, "lb_endpoints", j];
      if (lb.hostIdentifier.case !== "endpoint") fail(p, "endpoint is required");
      const socketMatch = endpointSocketMatch(lb.metadata, loc.metadata);
      endpoints.push({ ...socketAddr(lb.hostIdentifier.value.address, [...p, "endpoint", "address"]), ...(socketMatch ? { socketMatch } : {}) });
    }),
  );
  return endpoints;
}

/** The EDS service name of a cluster of type EDS (service_name, else the cluster's name); undefined otherwise. */
export function edsServiceName(c: Cluster): string | undefined {
  if (c.clusterDiscoveryType.case !== "type" || c.clusterDiscoveryType.value !== Cluster_DiscoveryType.EDS) return undefined;
  return c.edsClusterConfig?.serviceName || c.name;
}

export function buildCluster(c: Cluster, path: FieldPath, opts: BuildOptions): ClusterConfig {
  if (!c.name) fail([...path, "name"], "must not be empty");
  const eds = edsServiceName(c);
  const originalDst = originalDstPart(c, path, fail);
  let endpoints: EndpointConfig[];
  if (originalDst) endpoints = [];
  else if (eds !== undefined) {
    if (!opts.edsEndpoints) fail([...path, "type"], "EDS is only supported for clusters received over xDS (CDS)");
    if (c.loadAssignment) fail([...path, "load_assignment"], "an EDS cluster gets its endpoints from EDS, not load_assignment");
    if (!c.edsClusterConfig?.edsConfig) fail([...path, "eds_cluster_config", "eds_config"], "is required (ads: {})");
    endpoints = opts.edsEndpoints(eds, [...path, "eds_cluster_config"]);
  } else {
    if (c.edsClusterConfig) fail([...path, "eds_cluster_config"], "only allowed with type EDS");
    endpoints = buildEndpoints(c.loadAssignment, [...path, "load_assignment"]);
  }
  return {
    name: c.name,
    connectTimeoutMs: durationMs(c.connectTimeout, DEFAULT_CONNECT_TIMEOUT_MS),
    endpoints,
    ...clusterPolicies(originalDst?.policyView ?? c, path),
    ...protocolOptions(c, path, fail),
    ...(originalDst ? { originalDst: originalDst.config } : {}),
    ...clusterTransportSockets(c, path, opts.secrets, fail),
    ...dnsPart(c, path, endpoints, fail),
  };
}

/**
 * `clusters`: the known cluster names inline route configs are validated against. Several filter chains (TLS by SNI,
 * TLS and plain text on one port) must run the same http_connection_manager: see listener-tls.ts.
 */
export function buildListener(l: Listener, path: FieldPath, clusters: Set<string>, opts: BuildOptions): ListenerConfig {
  const index = path[path.length - 1];
  const address = socketAddr(l.address, [...path, "address"]);
  if (l.filterChains.length === 0) fail([...path, "filter_chains"], "at least one filter chain is required");
  let hcm: { any: Any; path: FieldPath } | undefined;
  l.filterChains.forEach((chain, i) => {
    const chainPath = [...path, "filter_chains", i];
    const filters = chain.filters;
    if (filters.length !== 1) fail([...chainPath, "filters"], "exactly one network filter (http_connection_manager) is supported by halyard gateway");
    const f = filters[0]!;
    const fPath = [...chainPath, "filters", 0];
    if (f.configType.case !== "typedConfig") fail(fPath, "typed_config (an HttpConnectionManager) is required");
    if (!hcm) hcm = { any: f.configType.value, path: [...fPath, "typed_config"] };
    else if (!sameHcm(hcm.any, f.configType.value)) {
      fail([...fPath, "typed_config"], `differs from ${formatPath(hcm.path.slice(path.length))}: filter chains with different http_connection_manager configs are not supported by halyard gateway`);
    }
  });
  const tls = listenerTls(l, path, opts.secrets, fail);
  return {
    name: l.name || `listener_${index}`,
    address,
    hcm: buildHcm(hcm!.any, hcm!.path, clusters, opts),
    ...(tls ? { tls } : {}),
  };
}

function sameHcm(a: Any, b: Any): boolean {
  const x = anyUnpack(a, HttpConnectionManagerSchema);
  const y = anyUnpack(b, HttpConnectionManagerSchema);
  return x !== undefined && y !== undefined && equals(HttpConnectionManagerSchema, x, y);
}

function buildHcm(any: Any, path: FieldPath, clusters: Set<string>, opts: BuildOptions): HcmConfig {
  const hcm = anyUnpack(any, HttpConnectionManagerSchema);
  if (!hcm) fail(path, "expected an HttpConnectionManager");
  if (!hcm.statPrefix) fail([...path, "stat_prefix"], "must not be empty");
  const rs = hcm.routeSpecifier;
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
    ...routeSpecifier(rs, path, clusters, opts),
    httpFilters,
    useRemoteAddress: hcm.useRemoteAddress ?? false,
    ...(hcm.codecType === HttpConnectionManager_CodecType.HTTP1 ? { http1Only: true } : {}),
    ...internalAddresses(hcm.internalAddressConfig?.cidrRanges ?? [], [...path, "internal_address_config", "cidr_ranges"]),
    ...(hcm.accessLog.length > 0 ? { accessLogs: hcm.accessLog.map((l, i) => accessLog(l, [...path, "access_log", i])) } : {}),
    ...forwardClientCert(hcm, path),
  };
}

const XFCC_MODES: Record<number, ForwardClientCertMode> = {
  [HttpConnectionManager_ForwardClientCertDetails.SANITIZE]: "SANITIZE",
  [HttpConnectionManager_ForwardClientCertDetails.FORWARD_ONLY]: "FORWARD_ONLY",
  [HttpConnectionManager_ForwardClientCertDetails.APPEND_FORWARD]: "APPEND_FORWARD",
  [HttpConnectionManager_ForwardClientCertDetails.SANITIZE_SET]: "SANITIZE_SET",
  [HttpConnectionManager_ForwardClientCertDetails.ALWAYS_FORWARD_ONLY]: "ALWAYS_FORWARD_ONLY",
};

/** forward_client_cert_details (default SANITIZE, left implicit) and the details SANITIZE_SET / APPEND_FORWARD set. */
function forwardClientCert(hcm: HttpConnectionManager, path: FieldPath): { forwardClientCert?: ForwardClientCertConfig } {
  const mode = XFCC_MODES[hcm.forwardClientCertDetails];
  if (!mode) fail([...path, "forward_client_cert_details"], `${hcm.forwardClientCertDetails} is not a ForwardClientCertDetails value`);
  const d = hcm.setCurrentClientCertDetails;
  if (mode === "SANITIZE" && !d) return {};
  const details = d ? { subject: d.subject === true, cert: d.cert, chain: d.chain, dns: d.dns, uri: d.uri } : {};
  return { forwardClientCert: { mode, details } };
}

function internalAddresses(ranges: readonly CidrRange[], path: FieldPath): { internalAddresses?: CidrRangeConfig[] } {
  if (ranges.length === 0) return {};
  return {
    internalAddresses: ranges.map((r, i) => {
      const range = { addressPrefix: r.addressPrefix, prefixLen: r.prefixLen ?? 0 };
      const problem = cidrProblem(range);
      if (problem) fail([...path, i], problem);
      return range;
    }),
  };
}

function routeSpecifier(
  rs: HttpConnectionManager["routeSpecifier"],
  path: FieldPath,
  clusters: Set<string>,
  opts: BuildOptions,
): Pick<HcmConfig, "routeConfig" | "scopedRoutes"> {
  if (rs.case === "routeConfig") return { routeConfig: buildRoutes(rs.value, [...path, "route_config"], clusters) };
  if (rs.case === "rds") return { routeConfig: rdsRoutes(rs.value.routeConfigName, rs.value.configSource !== undefined, [...path, "rds"], opts) };
  if (rs.case !== "scopedRoutes") fail(path, "route_config, rds or scoped_routes is required");
  const sPath = [...path, "scoped_routes"];
  const scoped = buildScopedRoutes(rs.value, sPath, {
    inline: (rc, p) => buildRoutes(rc, p, clusters),
    rds: (name, hasSource, p) => {
      if (!opts.routes) fail(p, "RDS is only supported for listeners received over xDS (LDS); give route_configuration inline");
      if (!hasSource) fail([...sPath, "rds_config_source"], "is required (ads: {})");
      return opts.routes(name, p);
    },
    fail,
  });
  return { routeConfig: { name: scoped.name, virtualHosts: [] }, scopedRoutes: scoped };
}

function rdsRoutes(name: string, hasSource: boolean, path: FieldPath, opts: BuildOptions): RouteTableConfig {
  if (!opts.routes) fail(path, "rds is only supported for listeners received over xDS (LDS)");
  if (!hasSource) fail([...path, "config_source"], "is required (ads: {})");
  if (!name) fail([...path, "route_config_name"], "must not be empty");
  return opts.routes(name, [...path, "route_config_name"]);
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
  let codePath: string;
  let codeField: FieldPath;
  if (code?.case === "remote") {
    const r = code.value;
    codeField = [...vmPath, "code", "remote"];
    if (!opts.remoteCode) fail(codeField, "remote code is only supported for listeners received over xDS (LDS); use local.filename");
    if (!r.httpUri?.uri) fail([...codeField, "http_uri", "uri"], "must not be empty");
    if (!/^[0-9a-fA-F]{64}$/.test(r.sha256)) fail([...codeField, "sha256"], "must be the SHA-256 of the module (64 hex digits)");
    const ref = { uri: r.httpUri.uri, cluster: r.httpUri.httpUpstreamType.value ?? "", timeoutMs: durationMs(r.httpUri.timeout, 1000), sha256: r.sha256.toLowerCase() };
    codePath = opts.remoteCode(ref, codeField);
  } else {
    if (code?.case !== "local" || code.value.specifier.case !== "filename" || !code.value.specifier.value) {
      fail([...vmPath, "code"], "local.filename or remote (http_uri, sha256) is required");
    }
    codePath = opts.resolvePath(code.value.specifier.value);
    codeField = [...vmPath, "code", "local", "filename"];
  }
  return {
    filterName: hf.name,
    name: cfg.name,
    rootId: cfg.rootId,
    vmId: vm.vmId,
    runtime: vm.runtime,
    codePath,
    codeField,
    configuration: anyBytes(cfg.configuration, [...cPath, "configuration"]),
    vmConfiguration: anyBytes(vm.configuration, [...vmPath, "configuration"]),
    failOpen: cfg.failOpen,
  };
}

function headerMatch(h: HeaderMatcher, path: FieldPath): HeaderMatchConfig {
  if (!h.name) fail([...path, "name"], "must not be empty");
  const spec = h.headerMatchSpecifier;
  const base = { name: h.name.toLowerCase(), invert: h.invertMatch };
  if (spec.case === "presentMatch") {
    if (!spec.value) fail([...path, "present_match"], "only true is supported by halyard gateway");
    return base;
  }
  if (spec.case !== "stringMatch") fail(path, "string_match (exact) or present_match is required");
  const sm = spec.value;
  if (sm.matchPattern.case !== "exact" || sm.ignoreCase) fail([...path, "string_match"], "only exact (case-sensitive) is supported by halyard gateway in route matches");
  return { ...base, exact: sm.matchPattern.value };
}

const NOT_FOUND_STATUS: Record<number, number> = {
  [RouteAction_ClusterNotFoundResponseCode.SERVICE_UNAVAILABLE]: 503,
  [RouteAction_ClusterNotFoundResponseCode.NOT_FOUND]: 404,
  [RouteAction_ClusterNotFoundResponseCode.INTERNAL_SERVER_ERROR]: 500,
};

/** Checks cluster references against `clusters` unless validate_clusters is false; undefined: no check. */
export function buildRoutes(rc: RouteConfiguration, path: FieldPath, known: Set<string> | undefined): RouteTableConfig {
  const clusters = rc.validateClusters === false ? undefined : known;
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
    const vhRetry = vh.retryPolicy ? retryPolicy(vh.retryPolicy, [...p, "retry_policy"]) : undefined;
    return {
      name: vh.name,
      domains: vh.domains,
      routes: vh.routes.map((r, j) => buildRoute(r, [...p, "routes", j], clusters, vhRetry)),
      ...(vh.includeRequestAttemptCount ? { includeAttemptCount: true } : {}),
      ...(vh.includeAttemptCountInResponse ? { includeAttemptCountInResponse: true } : {}),
      ...(vh.requireTls === VirtualHost_TlsRequirementType.ALL ? { requireTls: true } : {}),
    };
  });
  return { name: rc.name, virtualHosts };
}

function buildRoute(r: Route, path: FieldPath, clusters: Set<string> | undefined, vhostRetry?: RetryPolicyConfig): RouteConfig {
  const m = r.match;
  if (!m) fail([...path, "match"], "is required");
  const spec = m.pathSpecifier;
  if (spec.case !== "prefix" && spec.case !== "path") fail([...path, "match"], "one of prefix or path is required");
  if (r.action.case !== "route") fail(path, "route (a RouteAction) is required");
  const a = r.action.value;
  const aPath = [...path, "route"];
  const cs = a.clusterSpecifier;
  if (cs.case !== "cluster" && cs.case !== "clusterHeader" && cs.case !== "weightedClusters") {
    fail(aPath, "one of cluster, cluster_header or weighted_clusters is required");
  }
  if (cs.case !== "weightedClusters" && !cs.value) fail([...aPath, cs.case === "cluster" ? "cluster" : "cluster_header"], "must not be empty");
  // Envoy's validate_clusters (on by default for static route configs) rejects references to unknown clusters.
  if (cs.case === "cluster" && clusters && !clusters.has(cs.value)) fail([...aPath, "cluster"], `unknown cluster "${cs.value}"`);
  const target =
    cs.case === "cluster"
      ? { cluster: cs.value }
      : cs.case === "clusterHeader"
        ? { clusterHeader: cs.value.toLowerCase() }
        : { weightedClusters: weightedClusters(cs.value, [...aPath, "weighted_clusters"], clusters) };
  const retry = a.retryPolicy ? retryPolicy(a.retryPolicy, [...aPath, "retry_policy"]) : vhostRetry;
  const hash = a.hashPolicy.map((h, i) => hashPolicy(h, [...aPath, "hash_policy", i]));
  const remove = r.requestHeadersToRemove.map((h, i) => {
    const name = h.toLowerCase();
    if (!name || name.startsWith(":") || name === "host") fail([...path, "request_headers_to_remove", i], `"${h}" cannot be removed (pseudo-headers and host are not removable)`);
    return name;
  });
  return {
    name: r.name,
    ...(remove.length > 0 ? { requestHeadersToRemove: remove } : {}),
    match: {
      kind: spec.case,
      value: spec.value,
      caseSensitive: m.caseSensitive ?? true,
      ...(m.headers.length > 0 ? { headers: m.headers.map((h, i) => headerMatch(h, [...path, "match", "headers", i])) } : {}),
    },
    action: {
      ...target,
      timeoutMs: durationMs(a.timeout, DEFAULT_ROUTE_TIMEOUT_MS),
      clusterNotFoundStatus: NOT_FOUND_STATUS[a.clusterNotFoundResponseCode] ?? 503,
      ...(retry ? { retryPolicy: retry } : {}),
      ...(hash.length > 0 ? { hashPolicy: hash } : {}),
    },
    // Encoded once here: the xds.route_metadata property hands these bytes to filters as they are.
    ...(r.metadata ? { metadata: toBinary(MetadataSchema, r.metadata) } : {}),
  };
}
