// The subset of the Envoy v3 bootstrap that halyard's gateway implements. The proto accepts far more; every field
// present in the file must be listed here (per message type), so nothing is silently ignored. Portable.
import type { DescMessage, Registry } from "@bufbuild/protobuf";
import { problemAt, type FieldPath, type FieldProblem } from "./errors.js";
import { HTTP_PROTOCOL_OPTIONS } from "./protocol-options.js";
import { ANY_TYPE, SPECIAL_JSON_TYPES, typeNameOfUrl } from "./proto-json.js";

/** `true`, or a check of the JSON value returning a reason when the value is one we do not implement. */
type Rule = true | ((value: unknown) => string | undefined);

export const HCM_TYPE = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
export const WASM_FILTER_TYPE = "envoy.extensions.filters.http.wasm.v3.Wasm";
export const ROUTER_FILTER_TYPE = "envoy.extensions.filters.http.router.v3.Router";
export const STDOUT_LOG_TYPE = "envoy.extensions.access_loggers.stream.v3.StdoutAccessLog";
export const STDERR_LOG_TYPE = "envoy.extensions.access_loggers.stream.v3.StderrAccessLog";
export const FILE_LOG_TYPE = "envoy.extensions.access_loggers.file.v3.FileAccessLog";
export const PREVIOUS_HOSTS_TYPE = "envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate";
export const TLS_INSPECTOR_TYPE = "envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector";
export const DOWNSTREAM_TLS_TYPE = "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext";
export const UPSTREAM_TLS_TYPE = "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext";
const TLS = "envoy.extensions.transport_sockets.tls.v3";
const CARES_RESOLVER_TYPE = "envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig";
const STRING_OR_BYTES = ["google.protobuf.StringValue", "google.protobuf.BytesValue"];

const anyOf = (...types: string[]): Rule => (v) => {
  const url = (v as { "@type"?: unknown } | null)?.["@type"];
  const name = typeof url === "string" ? typeNameOfUrl(url) : "";
  return types.includes(name) ? undefined : `type "${String(url)}" is not supported by halyard gateway (supported: ${types.join(", ")})`;
};
// Enum values may be written by name or number.
const enumOf = (...allowed: Array<[string, number]>): Rule => (v) =>
  allowed.some(([n, i]) => v === n || v === i) ? undefined : `${JSON.stringify(v)} is not supported by halyard gateway (supported: ${allowed.map(([n]) => n).join(", ")})`;

const SUPPORTED: Record<string, Record<string, Rule>> = {
  "envoy.config.bootstrap.v3.Bootstrap": { node: true, admin: true, static_resources: true, dynamic_resources: true },
  "envoy.config.bootstrap.v3.Bootstrap.DynamicResources": { lds_config: true, cds_config: true, ads_config: true },
  "envoy.config.core.v3.ApiConfigSource": {
    api_type: enumOf(["GRPC", 2], ["DELTA_GRPC", 3]),
    transport_api_version: enumOf(["V3", 2]),
    grpc_services: true,
    set_node_on_first_message_only: true,
  },
  "envoy.config.core.v3.GrpcService": { envoy_grpc: true },
  "envoy.config.core.v3.GrpcService.EnvoyGrpc": { cluster_name: true },
  // xDS references (RDS, EDS, LDS/CDS in the bootstrap): only over the ADS stream.
  "envoy.config.core.v3.ConfigSource": { ads: true, resource_api_version: enumOf(["V3", 2]) },
  "envoy.config.core.v3.AggregatedConfigSource": {},
  "envoy.config.bootstrap.v3.Bootstrap.StaticResources": { listeners: true, clusters: true },
  "envoy.config.bootstrap.v3.Admin": { address: true },
  "envoy.config.core.v3.Node": { id: true, cluster: true, metadata: true },
  "envoy.config.core.v3.Address": { socket_address: true },
  "envoy.config.core.v3.SocketAddress": { address: true, port_value: true, protocol: enumOf(["TCP", 0]) },

  // traffic_direction and a chain's name only label stats and logs in Envoy.
  // listener_filters: only tls_inspector, whose job (TLS or not, SNI) the gateway does on every connection anyway.
  "envoy.config.listener.v3.Listener": { name: true, address: true, filter_chains: true, traffic_direction: true, listener_filters: true },
  "envoy.config.listener.v3.ListenerFilter": { name: true, typed_config: anyOf(TLS_INSPECTOR_TYPE) },
  [TLS_INSPECTOR_TYPE]: {},
  "envoy.config.listener.v3.FilterChain": { name: true, filters: true, filter_chain_match: true, transport_socket: true },
  "envoy.config.listener.v3.FilterChainMatch": { server_names: true, transport_protocol: true },
  // Listeners take a DownstreamTlsContext, clusters an UpstreamTlsContext (each builder refuses the other).
  "envoy.config.core.v3.TransportSocket": { name: true, typed_config: anyOf(DOWNSTREAM_TLS_TYPE, UPSTREAM_TLS_TYPE) },
  [UPSTREAM_TLS_TYPE]: { common_tls_context: true, sni: true },
  [`${TLS}.CommonTlsContext.CombinedCertificateValidationContext`]: { default_validation_context: true, validation_context_sds_secret_config: true },
  [`${TLS}.TlsParameters`]: {
    tls_minimum_protocol_version: enumOf(["TLS_AUTO", 0], ["TLSv1_0", 1], ["TLSv1_1", 2], ["TLSv1_2", 3], ["TLSv1_3", 4]),
    tls_maximum_protocol_version: enumOf(["TLS_AUTO", 0], ["TLSv1_0", 1], ["TLSv1_1", 2], ["TLSv1_2", 3], ["TLSv1_3", 4]),
  },
  [`${TLS}.SubjectAltNameMatcher`]: { san_type: enumOf(["DNS", 2], ["URI", 3], ["IP_ADDRESS", 4], ["EMAIL", 1]), matcher: true },
  // SAN matching (upstream TLS): exact, prefix, suffix, contains.
  "envoy.type.matcher.v3.StringMatcher": { exact: true, prefix: true, suffix: true, contains: true, ignore_case: true },
  "envoy.config.cluster.v3.Cluster.TransportSocketMatch": { name: true, match: true, transport_socket: true },
  [DOWNSTREAM_TLS_TYPE]: { common_tls_context: true, require_client_certificate: true },
  [`${TLS}.CommonTlsContext`]: {
    tls_certificates: true,
    tls_certificate_sds_secret_configs: true,
    validation_context: true,
    validation_context_sds_secret_config: true,
    alpn_protocols: true,
    // Clusters: gateway/upstream-tls-build.ts; listeners refuse tls_params and SAN matchers (listener-tls.ts).
    combined_validation_context: true,
    tls_params: true,
  },
  [`${TLS}.TlsCertificate`]: { certificate_chain: true, private_key: true },
  [`${TLS}.SdsSecretConfig`]: { name: true, sds_config: true },
  [`${TLS}.CertificateValidationContext`]: { trusted_ca: true, match_typed_subject_alt_names: true, match_subject_alt_names: true },
  "envoy.config.listener.v3.Filter": { name: true, typed_config: anyOf(HCM_TYPE) },
  [HCM_TYPE]: {
    stat_prefix: true,
    codec_type: enumOf(["AUTO", 0], ["HTTP1", 1]),
    route_config: true,
    rds: true,
    scoped_routes: true,
    http_filters: true,
    use_remote_address: true,
    access_log: true,
    // x-forwarded-client-cert: gateway/xfcc.ts.
    forward_client_cert_details: true,
    set_current_client_cert_details: true,
    // Which downstreams are internal (x-envoy-* request headers kept): gateway/internal-address.ts.
    internal_address_config: true,
  },
  [`${HCM_TYPE}.InternalAddressConfig`]: { cidr_ranges: true },
  "envoy.config.core.v3.CidrRange": { address_prefix: true, prefix_len: true },
  [`${HCM_TYPE}.SetCurrentClientCertDetails`]: { subject: true, cert: true, chain: true, dns: true, uri: true },
  "envoy.config.accesslog.v3.AccessLog": { name: true, typed_config: anyOf(STDOUT_LOG_TYPE, STDERR_LOG_TYPE, FILE_LOG_TYPE) },
  [STDOUT_LOG_TYPE]: {},
  [STDERR_LOG_TYPE]: {},
  [FILE_LOG_TYPE]: { path: true },
  "envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter": {
    name: true,
    typed_config: anyOf(WASM_FILTER_TYPE, ROUTER_FILTER_TYPE),
  },
  [WASM_FILTER_TYPE]: { config: true },
  [ROUTER_FILTER_TYPE]: {},
  "envoy.extensions.wasm.v3.PluginConfig": {
    name: true,
    root_id: true,
    vm_config: true,
    configuration: anyOf(...STRING_OR_BYTES),
    fail_open: true,
  },
  "envoy.extensions.wasm.v3.VmConfig": { vm_id: true, runtime: true, code: true, configuration: anyOf(...STRING_OR_BYTES) },
  "envoy.extensions.filters.network.http_connection_manager.v3.Rds": { config_source: true, route_config_name: true },
  // Scoped routes with the scope list inline (no scoped_rds, no on_demand); the key is one header's whole value.
  "envoy.extensions.filters.network.http_connection_manager.v3.ScopedRoutes": { name: true, scope_key_builder: true, rds_config_source: true, scoped_route_configurations_list: true },
  "envoy.extensions.filters.network.http_connection_manager.v3.ScopedRoutes.ScopeKeyBuilder": { fragments: true },
  "envoy.extensions.filters.network.http_connection_manager.v3.ScopedRoutes.ScopeKeyBuilder.FragmentBuilder": { header_value_extractor: true },
  "envoy.extensions.filters.network.http_connection_manager.v3.ScopedRoutes.ScopeKeyBuilder.FragmentBuilder.HeaderValueExtractor": {
    name: true,
    element_separator: (v) => (v === "" ? undefined : "not supported by halyard gateway (the whole header value is the scope key)"),
    index: (v) => (v === 0 ? undefined : "only 0 is supported by halyard gateway (the whole header value is the scope key)"),
  },
  "envoy.extensions.filters.network.http_connection_manager.v3.ScopedRouteConfigurationsList": { scoped_route_configurations: true },
  "envoy.config.route.v3.ScopedRouteConfiguration": { name: true, route_configuration_name: true, route_configuration: true, key: true },
  "envoy.config.route.v3.ScopedRouteConfiguration.Key": { fragments: true },
  "envoy.config.route.v3.ScopedRouteConfiguration.Key.Fragment": { string_key: true },
  "envoy.config.core.v3.AsyncDataSource": { local: true, remote: true },
  "envoy.config.core.v3.RemoteDataSource": { http_uri: true, sha256: true },
  "envoy.config.core.v3.HttpUri": { uri: true, cluster: true, timeout: true },
  "envoy.config.core.v3.DataSource": { filename: true },

  "envoy.config.route.v3.RouteConfiguration": {
    name: true,
    virtual_hosts: true,
    validate_clusters: true,
  },
  "envoy.config.route.v3.VirtualHost": {
    name: true,
    domains: true,
    routes: true,
    retry_policy: true,
    include_request_attempt_count: true,
    include_attempt_count_in_response: true,
    require_tls: enumOf(["NONE", 0], ["ALL", 2]),
  },
  // metadata: filters read it through xds.route_metadata (halyard.route's scoped routes).
  "envoy.config.route.v3.Route": { name: true, match: true, route: true, request_headers_to_remove: true, metadata: true },
  "envoy.config.route.v3.RouteMatch": { prefix: true, path: true, case_sensitive: true, headers: true },
  // exact string_match or present_match (build.ts refuses the other string_match forms, naming the field).
  "envoy.config.route.v3.HeaderMatcher": { name: true, string_match: true, present_match: true, invert_match: true },
  "envoy.config.route.v3.RouteAction": {
    cluster: true,
    cluster_header: true,
    weighted_clusters: true,
    timeout: true,
    cluster_not_found_response_code: true,
    retry_policy: true,
    hash_policy: true,
  },
  "envoy.config.route.v3.WeightedCluster": { clusters: true, total_weight: true },
  "envoy.config.route.v3.WeightedCluster.ClusterWeight": { name: true, weight: true },
  "envoy.config.route.v3.RetryPolicy": {
    retry_on: true,
    num_retries: true,
    per_try_timeout: true,
    retriable_status_codes: true,
    retry_host_predicate: true,
    host_selection_retry_max_attempts: true,
    retry_back_off: true,
  },
  "envoy.config.route.v3.RetryPolicy.RetryHostPredicate": { name: true, typed_config: anyOf(PREVIOUS_HOSTS_TYPE) },
  [PREVIOUS_HOSTS_TYPE]: {},
  "envoy.config.route.v3.RetryPolicy.RetryBackOff": { base_interval: true, max_interval: true },
  "envoy.config.route.v3.RouteAction.HashPolicy": { header: true, cookie: true, connection_properties: true, query_parameter: true, terminal: true },
  "envoy.config.route.v3.RouteAction.HashPolicy.Header": { header_name: true },
  "envoy.config.route.v3.RouteAction.HashPolicy.Cookie": { name: true, ttl: true, path: true },
  "envoy.config.route.v3.RouteAction.HashPolicy.ConnectionProperties": { source_ip: true },
  "envoy.config.route.v3.RouteAction.HashPolicy.QueryParameter": { name: true },

  "envoy.config.cluster.v3.Cluster": {
    name: true,
    // ORIGINAL_DST (with lb_policy CLUSTER_PROVIDED): gateway/original-dst.ts. STRICT_DNS / LOGICAL_DNS: gateway/dns-hosts.ts.
    type: enumOf(["STATIC", 0], ["STRICT_DNS", 1], ["LOGICAL_DNS", 2], ["EDS", 3], ["ORIGINAL_DST", 4]),
    dns_lookup_family: true,
    dns_refresh_rate: true,
    dns_failure_refresh_rate: true,
    respect_dns_ttl: true,
    typed_dns_resolver_config: true,
    original_dst_lb_config: true,
    eds_cluster_config: true,
    connect_timeout: true,
    lb_policy: enumOf(["ROUND_ROBIN", 0], ["LEAST_REQUEST", 1], ["RING_HASH", 2], ["RANDOM", 3], ["MAGLEV", 5], ["CLUSTER_PROVIDED", 6]),
    least_request_lb_config: true,
    ring_hash_lb_config: true,
    maglev_lb_config: true,
    load_assignment: true,
    circuit_breakers: true,
    outlier_detection: true,
    common_lb_config: true,
    common_http_protocol_options: true,
    typed_extension_protocol_options: (v) => {
      const other = Object.keys(v as object).find((k) => k !== HTTP_PROTOCOL_OPTIONS);
      return other === undefined ? undefined : `"${other}" is not supported by halyard gateway (supported: ${HTTP_PROTOCOL_OPTIONS})`;
    },
    // Opaque to the gateway (Istio's service/subset labels for stats and dumps).
    metadata: true,
    transport_socket: true,
    transport_socket_matches: true,
  },
  "envoy.config.cluster.v3.Cluster.RefreshRate": { base_interval: true, max_interval: true },
  // typed_dns_resolver_config: only c-ares with its resolver addresses (gateway/dns-build.ts).
  "envoy.config.core.v3.TypedExtensionConfig": { name: true, typed_config: anyOf(CARES_RESOLVER_TYPE) },
  [CARES_RESOLVER_TYPE]: { resolvers: true },
  "envoy.config.cluster.v3.Cluster.LeastRequestLbConfig": { choice_count: true },
  "envoy.config.cluster.v3.Cluster.RingHashLbConfig": { minimum_ring_size: true, maximum_ring_size: true, hash_function: enumOf(["XX_HASH", 0]) },
  "envoy.config.cluster.v3.Cluster.MaglevLbConfig": { table_size: true },
  "envoy.config.cluster.v3.Cluster.OriginalDstLbConfig": { use_http_header: true, http_header_name: true },
  "envoy.config.cluster.v3.Cluster.CommonLbConfig": { healthy_panic_threshold: true },
  "envoy.type.v3.Percent": { value: true },
  "envoy.config.core.v3.HttpProtocolOptions": { idle_timeout: true },
  // use_downstream_protocol_config (Istio's PassthroughCluster): upstream HTTP/1.1 whatever the downstream spoke.
  [HTTP_PROTOCOL_OPTIONS]: { explicit_http_config: true, common_http_protocol_options: true, use_downstream_protocol_config: true },
  [`${HTTP_PROTOCOL_OPTIONS}.UseDownstreamHttpConfig`]: { http_protocol_options: true, http2_protocol_options: true },
  [`${HTTP_PROTOCOL_OPTIONS}.ExplicitHttpConfig`]: { http_protocol_options: true, http2_protocol_options: true },
  "envoy.config.core.v3.Http1ProtocolOptions": {},
  "envoy.config.core.v3.Http2ProtocolOptions": {},
  "envoy.config.core.v3.Metadata": { filter_metadata: true },
  "envoy.config.cluster.v3.CircuitBreakers": { thresholds: true },
  "envoy.config.cluster.v3.CircuitBreakers.Thresholds": {
    priority: enumOf(["DEFAULT", 0]),
    max_connections: true,
    max_pending_requests: true,
    max_requests: true,
    max_retries: true,
    // Only adds "remaining" stats in Envoy; Istio always sets it.
    track_remaining: true,
  },
  "envoy.config.cluster.v3.OutlierDetection": {
    consecutive_5xx: true,
    consecutive_gateway_failure: true,
    enforcing_consecutive_5xx: true,
    enforcing_consecutive_gateway_failure: true,
    interval: true,
    base_ejection_time: true,
    max_ejection_time: true,
    max_ejection_percent: true,
    always_eject_one_host: true,
    // Success-rate and failure-percentage ejection are not implemented: only switching them off is accepted.
    enforcing_success_rate: (v) => (v === 0 ? undefined : "only 0 is supported by halyard gateway (success-rate ejection is not implemented)"),
    enforcing_failure_percentage: (v) => (v === 0 ? undefined : "only 0 is supported by halyard gateway (failure-percentage ejection is not implemented)"),
  },
  "envoy.config.endpoint.v3.ClusterLoadAssignment": { cluster_name: true, endpoints: true },
  "envoy.config.cluster.v3.Cluster.EdsClusterConfig": { eds_config: true, service_name: true },
  // Locality weights only matter with locality_weighted_lb_config (not supported), as in Envoy.
  // metadata: envoy.transport_socket_match is read for transport_socket_matches; the rest is opaque.
  "envoy.config.endpoint.v3.LocalityLbEndpoints": { lb_endpoints: true, locality: true, load_balancing_weight: true, metadata: true },
  "envoy.config.core.v3.Locality": { region: true, zone: true, sub_zone: true },
  "envoy.config.endpoint.v3.LbEndpoint": {
    endpoint: true,
    metadata: true,
    health_status: enumOf(["UNKNOWN", 0], ["HEALTHY", 1]),
    load_balancing_weight: (v) => (v === 1 ? undefined : `${JSON.stringify(v)}: endpoint weights other than 1 are not supported by halyard gateway`),
  },
  "envoy.config.endpoint.v3.Endpoint": { address: true },
};

/** First field in the (already proto-valid) JSON that halyard does not implement. */
export function findUnsupported(desc: DescMessage, json: unknown, registry: Registry): FieldProblem | undefined {
  return walk(desc, json, [], registry);
}

function walk(desc: DescMessage, value: unknown, path: FieldPath, registry: Registry): FieldProblem | undefined {
  if (value === null || typeof value !== "object" || SPECIAL_JSON_TYPES.has(desc.typeName)) return undefined;
  if (desc.typeName === ANY_TYPE) {
    const { "@type": url, ...fields } = value as Record<string, unknown>;
    const inner = registry.getMessage(typeNameOfUrl(String(url)));
    return inner ? walk(inner, SPECIAL_JSON_TYPES.has(inner.typeName) ? null : fields, path, registry) : undefined;
  }
  const rules = SUPPORTED[desc.typeName];
  if (!rules) return problemAt(path, `${desc.typeName} is not supported by halyard gateway`);
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    if (child === null) continue;
    const field = desc.fields.find((f) => f.name === key || f.jsonName === key);
    if (!field) continue; // proto-json has already rejected unknown keys
    const fieldPath = [...path, field.name];
    const rule = rules[field.name];
    if (!rule) return problemAt(fieldPath, "not supported by halyard gateway");
    const items: Array<[FieldPath, unknown]> = Array.isArray(child) ? child.map((c, i) => [[...fieldPath, i], c]) : [[fieldPath, child]];
    for (const [p, v] of items) {
      if (rule !== true) {
        const reason = rule(v);
        if (reason) return problemAt(p, reason);
      }
      if (field.message && field.fieldKind !== "map") {
        const found = walk(field.message, v, p, registry);
        if (found) return found;
      } else if (field.fieldKind === "map" && field.mapKind === "message" && v !== null && typeof v === "object") {
        for (const [k, mv] of Object.entries(v as Record<string, unknown>)) {
          const found = walk(field.message, mv, [...p, k], registry);
          if (found) return found;
        }
      }
    }
  }
  return undefined;
}
