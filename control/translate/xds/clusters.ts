// CDS: `outbound|<port>|<subset>|<fqdn>` for every port of every service visible to the proxy and every subset
// of its DestinationRule, typed by resolution as Istio does (EDS for Kubernetes services and STATIC ServiceEntries,
// STRICT_DNS / LOGICAL_DNS for DNS and DNS_ROUND_ROBIN, ORIGINAL_DST for NONE and the PASSTHROUGH load balancer),
// with the merged traffic policy; plus BlackHoleCluster, PassthroughCluster and a sidecar's `inbound|<port>||`.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Cluster_CommonLbConfig_LocalityWeightedLbConfigSchema, Cluster_CommonLbConfigSchema, Cluster_DiscoveryType, Cluster_DnsLookupFamily, Cluster_LbPolicy, ClusterSchema, type Cluster } from "../../../gen/envoy/config/cluster/v3/cluster_pb.js";
import type { ClusterLoadAssignment } from "../../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import type { RouteAction_HashPolicySchema } from "../../../gen/envoy/config/route/v3/route_components_pb.js";
import { HttpProtocolOptionsSchema } from "../../../gen/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.js";
import type { DestinationRule } from "../../config/types.js";
import { isVisibleFrom } from "../../registry/hosts.js";
import { selectorMatches } from "../../registry/labels.js";
import type { ServiceRegistry } from "../../registry/registry.js";
import type { Protocol, RegistryService, ServiceEndpoint } from "../../registry/types.js";
import { clusterName, type ClusterResolver } from "../destinations.js";
import { adsConfigSource, BLACKHOLE_CLUSTER, durationFromMs, DEFAULT_CONNECT_TIMEOUT_MS, MAX_UINT32, packed, PASSTHROUGH_CLUSTER, socketAddress } from "./common.js";
import { buildLoadAssignment } from "./endpoints.js";
import type { ProxyContext } from "./node.js";
import {
  applyConnectionPool,
  applyLoadBalancer,
  applyOutlierDetection,
  hashPolicies,
  isPassthroughLb,
  localityLbSetting,
  mergeTrafficPolicy,
  type PortPolicy,
} from "./traffic-policy.js";
import { clusterTls, destinationSpiffeIds, endpointTlsMode } from "./mtls.js";

type ClusterInit = MessageInitShape<typeof ClusterSchema>;
type HashPolicyInit = MessageInitShape<typeof RouteAction_HashPolicySchema>;

export const HTTP_PROTOCOL_OPTIONS_KEY = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

/** A cluster with what other resource types need from it. */
export interface BuiltCluster {
  cluster: Cluster;
  /** For EDS clusters: the ClusterLoadAssignment served under the cluster's name. */
  loadAssignment?: ClusterLoadAssignment;
  /** For consistent-hash clusters: the route hash policy RDS attaches. */
  hashPolicy: HashPolicyInit[];
  /** Whether the cluster carries outlier detection. */
  outlierDetection: boolean;
}

export interface ClusterBuildInput {
  registry: ServiceRegistry;
  ctx: ProxyContext;
  /** Finds the DestinationRule for a host as the proxy sees it. */
  resolver: ClusterResolver;
  /** gRPC clients take EDS (and LOGICAL_DNS) clusters with ROUND_ROBIN or RING_HASH only. */
  flavor: "envoy" | "grpc";
  /** Reuses a service's clusters built before from the same inputs (across proxies and config versions). */
  memo?: ClusterMemo;
  /** Reuses a service's clusters from the previous translation of the same proxy class, unless its host changed. */
  units?: ClusterUnitMemo;
}

/** A proxy class's clusters per service host, carried from one config version to the next. */
export interface ClusterUnitMemo {
  /** Hosts whose services or DestinationRule changed since `previous` was filled (control/translate/config-delta.ts). */
  touched: ReadonlySet<string>;
  previous: ReadonlyMap<string, BuiltCluster[]>;
  /** Filled with this translation's clusters per host, for the next one. */
  next: Map<string, BuiltCluster[]>;
}

/**
 * A service's clusters (every port, every subset) keyed by what they are built from: the service, the
 * DestinationRule in force, the proxy's locality and the flavor. Two generations are kept: what was not used
 * since the previous `advance()` is dropped at the next one. Cached clusters are shared: never modify them.
 */
export class ClusterMemo {
  #current = new Map<string, BuiltCluster[]>();
  #previous = new Map<string, BuiltCluster[]>();
  readonly #keys = new WeakMap<RegistryService, Map<DestinationRule | undefined, string>>();

  /** Starts a new generation (a new config). */
  advance(): void {
    this.#previous = this.#current;
    this.#current = new Map();
  }

  /** Cached clusters for `key`, or what `build` makes (then cached). */
  clusters(input: ClusterBuildInput, service: RegistryService, dr: DestinationRule | undefined, build: () => BuiltCluster[]): BuiltCluster[] {
    const key = `${input.flavor}|${JSON.stringify(input.ctx.locality ?? null)}|${input.ctx.sdsCluster ?? ""}|${input.ctx.trustDomain ?? ""}|${this.#contentKey(service, dr)}`;
    let built = this.#current.get(key);
    if (built) return built;
    built = this.#previous.get(key) ?? build();
    this.#current.set(key, built);
    return built;
  }

  #contentKey(service: RegistryService, dr: DestinationRule | undefined): string {
    let byRule = this.#keys.get(service);
    if (!byRule) this.#keys.set(service, (byRule = new Map()));
    let key = byRule.get(dr);
    if (key === undefined) {
      // Where the service was declared (file, line) does not go into its clusters.
      key = JSON.stringify([{ ...service, origin: undefined }, dr ? [dr.metadata.namespace, dr.metadata.name, dr.spec] : null]);
      byRule.set(dr, key);
    }
    return key;
  }
}

const HTTP2_PROTOCOLS: ReadonlySet<Protocol> = new Set<Protocol>(["HTTP2", "GRPC", "GRPC-Web"]);

/** Services the proxy can see, one per host name (the first registered wins, as in routing). */
export function visibleServices(registry: ServiceRegistry, namespace: string): RegistryService[] {
  const out: RegistryService[] = [];
  const hosts = new Set<string>();
  for (const s of registry.services) {
    if (isVisibleFrom(s.exportTo, s.namespace, namespace) && !hosts.has(s.hostname)) {
      out.push(s);
      hosts.add(s.hostname);
    }
  }
  return out;
}

export function buildOutboundClusters(input: ClusterBuildInput): BuiltCluster[] {
  const out: BuiltCluster[] = [];
  const units = input.units;
  for (const service of visibleServices(input.registry, input.ctx.namespace)) {
    const known = units && !units.touched.has(service.hostname) ? units.previous.get(service.hostname) : undefined;
    if (known) {
      units!.next.set(service.hostname, known);
      out.push(...known);
      continue;
    }
    const dr = input.resolver.destinationRuleFor(service.hostname);
    const build = () => serviceClusters(input, service, dr);
    const built = input.memo ? input.memo.clusters(input, service, dr, build) : build();
    units?.next.set(service.hostname, built);
    out.push(...built);
  }
  return out;
}

function serviceClusters(input: ClusterBuildInput, service: RegistryService, dr: DestinationRule | undefined): BuiltCluster[] {
  const out: BuiltCluster[] = [];
  for (const port of service.ports) {
    const built = serviceCluster(input, service, port.number, port.protocol, dr, "", undefined);
    if (built) out.push(built);
    for (const [i, subset] of (dr?.spec.subsets ?? []).entries()) {
      const sub = serviceCluster(input, service, port.number, port.protocol, dr, subset.name, i);
      if (sub) out.push(sub);
    }
  }
  return out;
}

function policyWhere(dr: DestinationRule, subsetIndex: number | undefined): string {
  const head = `DestinationRule ${dr.metadata.namespace}/${dr.metadata.name}: spec`;
  return subsetIndex === undefined ? `${head}.trafficPolicy` : `${head}.subsets[${subsetIndex}].trafficPolicy`;
}

function serviceCluster(
  input: ClusterBuildInput,
  service: RegistryService,
  port: number,
  protocol: Protocol,
  dr: DestinationRule | undefined,
  subsetName: string,
  subsetIndex: number | undefined,
): BuiltCluster | undefined {
  const subset = subsetIndex === undefined ? undefined : dr!.spec.subsets![subsetIndex];
  const policy: PortPolicy = dr ? mergeTrafficPolicy(dr.spec.trafficPolicy, subset?.trafficPolicy, port) : {};
  const where = dr ? policyWhere(dr, subsetIndex) : `service ${service.hostname}`;
  const name = clusterName(port, subsetName, service.hostname);
  const endpoints = service.endpoints.filter((e) => e.servicePort === port && selectorMatches(subset?.labels, e.labels));
  const passthrough = service.resolution === "NONE" || isPassthroughLb(policy.loadBalancer);
  const grpc = input.flavor === "grpc";
  if (grpc && passthrough) return undefined; // a gRPC client has no original destination to go to

  const cluster: ClusterInit = { name };
  const pool = applyConnectionPool(cluster, policy.connectionPool, where);
  applyLoadBalancer(cluster, policy.loadBalancer, where);
  applyOutlierDetection(cluster, policy.outlierDetection, where);

  let loadAssignment: ClusterLoadAssignment | undefined;
  const localityLb = policy.loadBalancer?.consistentHash ? undefined : localityLbSetting(policy.loadBalancer);
  const assignment = () =>
    buildLoadAssignment(name, endpoints, {
      ...(input.ctx.locality ? { proxyLocality: input.ctx.locality } : {}),
      ...(localityLb ? { localityLb } : {}),
      outlierDetection: !!policy.outlierDetection,
      namespace: service.namespace,
    });
  if (passthrough) {
    cluster.clusterDiscoveryType = { case: "type", value: Cluster_DiscoveryType.ORIGINAL_DST };
    cluster.lbPolicy = Cluster_LbPolicy.CLUSTER_PROVIDED;
    delete cluster.lbConfig;
  } else if (service.resolution === "DNS" || service.resolution === "DNS_ROUND_ROBIN") {
    const logical = service.resolution === "DNS_ROUND_ROBIN" || grpc;
    cluster.clusterDiscoveryType = { case: "type", value: logical ? Cluster_DiscoveryType.LOGICAL_DNS : Cluster_DiscoveryType.STRICT_DNS };
    cluster.dnsLookupFamily = Cluster_DnsLookupFamily.V4_ONLY;
    cluster.respectDnsTtl = true;
    const la = assignment();
    // LOGICAL_DNS resolves one host name; Envoy (and gRPC) reject a load assignment with more.
    if (logical && la.endpoints.length > 0) la.endpoints = [{ ...la.endpoints[0]!, lbEndpoints: la.endpoints[0]!.lbEndpoints.slice(0, 1) }];
    cluster.loadAssignment = la;
  } else {
    cluster.clusterDiscoveryType = { case: "type", value: Cluster_DiscoveryType.EDS };
    cluster.edsClusterConfig = { edsConfig: adsConfigSource(), serviceName: name };
    loadAssignment = assignment();
  }
  if (localityLb?.distribute?.length && !passthrough) {
    const common = cluster.commonLbConfig ? create(Cluster_CommonLbConfigSchema, cluster.commonLbConfig) : create(Cluster_CommonLbConfigSchema);
    common.localityConfigSpecifier = { case: "localityWeightedLbConfig", value: create(Cluster_CommonLbConfig_LocalityWeightedLbConfigSchema) };
    cluster.commonLbConfig = common;
  }

  if (grpc) {
    // gRPC understands ROUND_ROBIN and RING_HASH, max_requests, and outlier detection's timing fields.
    if (cluster.lbPolicy !== Cluster_LbPolicy.RING_HASH) {
      cluster.lbPolicy = Cluster_LbPolicy.ROUND_ROBIN;
      delete cluster.lbConfig;
    }
    delete cluster.commonLbConfig;
  } else {
    const options = protocolOptions(HTTP2_PROTOCOLS.has(protocol), pool);
    if (options) cluster.typedExtensionProtocolOptions = { [HTTP_PROTOCOL_OPTIONS_KEY]: options };
    // Mesh mTLS (ISTIO_MUTUAL, auto-mTLS to sidecar endpoints) and DestinationRule SIMPLE/MUTUAL: control/translate/xds/mtls.ts.
    const target = {
      host: service.hostname,
      port,
      subset: subsetName,
      spiffeIds: destinationSpiffeIds(service.endpoints, service.namespace, input.ctx.trustDomain),
      ...(input.ctx.sdsCluster ? { sdsCluster: input.ctx.sdsCluster } : {}),
    };
    const tls = clusterTls(policy.tls, target, !passthrough && service.endpoints.some((e) => endpointTlsMode(e)), where);
    if (tls.transportSocket) cluster.transportSocket = tls.transportSocket;
    if (tls.transportSocketMatches) cluster.transportSocketMatches = tls.transportSocketMatches;
  }
  cluster.metadata = { filterMetadata: { istio: istioMetadata(service, dr, subsetName) } };
  return {
    cluster: create(ClusterSchema, cluster),
    ...(loadAssignment ? { loadAssignment } : {}),
    hashPolicy: hashPolicies(policy.loadBalancer, where),
    outlierDetection: !!policy.outlierDetection,
  };
}

function protocolOptions(http2: boolean, pool: ReturnType<typeof applyConnectionPool>) {
  const common = { ...(pool.idleTimeout ? { idleTimeout: pool.idleTimeout } : {}), ...(pool.maxRequestsPerConnection ? { maxRequestsPerConnection: pool.maxRequestsPerConnection } : {}) };
  const hasCommon = Object.keys(common).length > 0;
  if (!http2 && !hasCommon) return undefined;
  return packed(HttpProtocolOptionsSchema, {
    ...(hasCommon ? { commonHttpProtocolOptions: common } : {}),
    upstreamProtocolOptions: {
      case: "explicitHttpConfig",
      value: { protocolConfig: http2 ? { case: "http2ProtocolOptions", value: {} } : { case: "httpProtocolOptions", value: {} } },
    },
  });
}

/** Istio's cluster metadata: the service it serves, the DestinationRule in force, the subset. */
function istioMetadata(service: RegistryService, dr: DestinationRule | undefined, subset: string) {
  const short = service.hostname.split(".")[0]!;
  return {
    services: [{ host: service.hostname, name: short, namespace: service.namespace }],
    ...(dr ? { config: `/apis/networking.istio.io/v1/namespaces/${dr.metadata.namespace}/destination-rule/${dr.metadata.name}` } : {}),
    ...(subset ? { subset } : {}),
  };
}

const defaultThresholds = () => ({
  thresholds: [{ maxConnections: MAX_UINT32, maxPendingRequests: MAX_UINT32, maxRequests: MAX_UINT32, maxRetries: MAX_UINT32, trackRemaining: true }],
});

/** Traffic to nowhere: a static cluster without endpoints (Envoy answers 503). */
export function blackHoleCluster(): Cluster {
  return create(ClusterSchema, {
    name: BLACKHOLE_CLUSTER,
    clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.STATIC },
    connectTimeout: durationFromMs(DEFAULT_CONNECT_TIMEOUT_MS),
  });
}

/** Traffic to its original destination (ALLOW_ANY), speaking whatever protocol the client spoke. */
export function passthroughCluster(): Cluster {
  return create(ClusterSchema, {
    name: PASSTHROUGH_CLUSTER,
    clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.ORIGINAL_DST },
    lbPolicy: Cluster_LbPolicy.CLUSTER_PROVIDED,
    connectTimeout: durationFromMs(DEFAULT_CONNECT_TIMEOUT_MS),
    circuitBreakers: defaultThresholds(),
    typedExtensionProtocolOptions: {
      [HTTP_PROTOCOL_OPTIONS_KEY]: packed(HttpProtocolOptionsSchema, {
        upstreamProtocolOptions: { case: "useDownstreamProtocolConfig", value: { httpProtocolOptions: {}, http2ProtocolOptions: {} } },
      }),
    },
  });
}

/** `inbound|<port>||`: the port a workload listens on, reached on loopback (as Istio's STATIC inbound clusters). */
export function inboundClusterName(port: number): string {
  return `inbound|${port}||`;
}

export interface InboundPort {
  /** The workload's port (the endpoint's target port). */
  port: number;
  protocol: Protocol;
  service: RegistryService;
  endpoint: ServiceEndpoint;
}

/** Ports the sidecar's workload serves for the services it implements, one per workload port. */
export function inboundPorts(ctx: ProxyContext): InboundPort[] {
  const out: InboundPort[] = [];
  for (const { service, endpoint } of ctx.workload?.endpoints ?? []) {
    if (endpoint.port === 0 || out.some((p) => p.port === endpoint.port)) continue;
    const protocol = service.ports.find((p) => p.number === endpoint.servicePort)?.protocol ?? "UnsupportedProtocol";
    out.push({ port: endpoint.port, protocol, service, endpoint });
  }
  return out.sort((a, b) => a.port - b.port);
}

export function inboundCluster(p: InboundPort): Cluster {
  const name = inboundClusterName(p.port);
  return create(ClusterSchema, {
    name,
    clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.STATIC },
    connectTimeout: durationFromMs(DEFAULT_CONNECT_TIMEOUT_MS),
    circuitBreakers: defaultThresholds(),
    loadAssignment: { clusterName: name, endpoints: [{ lbEndpoints: [{ hostIdentifier: { case: "endpoint", value: { address: socketAddress("127.0.0.1", p.port) } } }] }] },
    ...(HTTP2_PROTOCOLS.has(p.protocol)
      ? {
          typedExtensionProtocolOptions: {
            [HTTP_PROTOCOL_OPTIONS_KEY]: packed(HttpProtocolOptionsSchema, {
              upstreamProtocolOptions: { case: "explicitHttpConfig", value: { protocolConfig: { case: "http2ProtocolOptions", value: {} } } },
            }),
          },
        }
      : {}),
    metadata: { filterMetadata: { istio: { services: [{ host: p.service.hostname, name: p.service.hostname.split(".")[0]!, namespace: p.service.namespace }] } } },
  });
}
