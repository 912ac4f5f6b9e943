// The subset of the Envoy v3 bootstrap that halyard's gateway implements. The proto accepts far more; every field
// present in the file must be listed here (per message type), so nothing is silently ignored. Portable.
import type { DescMessage, Registry } from "@bufbuild/protobuf";
import { problemAt, type FieldPath, type FieldProblem } from "./errors.js";
import { ANY_TYPE, SPECIAL_JSON_TYPES, typeNameOfUrl } from "./proto-json.js";

/** `true`, or a check of the JSON value returning a reason when the value is one we do not implement. */
type Rule = true | ((value: unknown) => string | undefined);

export const HCM_TYPE = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
export const WASM_FILTER_TYPE = "envoy.extensions.filters.http.wasm.v3.Wasm";
export const ROUTER_FILTER_TYPE = "envoy.extensions.filters.http.router.v3.Router";
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
  "envoy.config.bootstrap.v3.Bootstrap": { node: true, admin: true, static_resources: true },
  "envoy.config.bootstrap.v3.Bootstrap.StaticResources": { listeners: true, clusters: true },
  "envoy.config.bootstrap.v3.Admin": { address: true },
  "envoy.config.core.v3.Node": { id: true, cluster: true, metadata: true },
  "envoy.config.core.v3.Address": { socket_address: true },
  "envoy.config.core.v3.SocketAddress": { address: true, port_value: true, protocol: enumOf(["TCP", 0]) },

  "envoy.config.listener.v3.Listener": { name: true, address: true, filter_chains: true },
  "envoy.config.listener.v3.FilterChain": { filters: true },
  "envoy.config.listener.v3.Filter": { name: true, typed_config: anyOf(HCM_TYPE) },
  [HCM_TYPE]: {
    stat_prefix: true,
    codec_type: enumOf(["AUTO", 0], ["HTTP1", 1]),
    route_config: true,
    http_filters: true,
    use_remote_address: true,
  },
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
  "envoy.config.core.v3.AsyncDataSource": { local: true },
  "envoy.config.core.v3.DataSource": { filename: true },

  "envoy.config.route.v3.RouteConfiguration": { name: true, virtual_hosts: true },
  "envoy.config.route.v3.VirtualHost": { name: true, domains: true, routes: true },
  "envoy.config.route.v3.Route": { name: true, match: true, route: true },
  "envoy.config.route.v3.RouteMatch": { prefix: true, path: true, case_sensitive: true },
  "envoy.config.route.v3.RouteAction": {
    cluster: true,
    cluster_header: true,
    timeout: true,
    cluster_not_found_response_code: true,
  },

  "envoy.config.cluster.v3.Cluster": {
    name: true,
    type: enumOf(["STATIC", 0]),
    connect_timeout: true,
    lb_policy: enumOf(["ROUND_ROBIN", 0]),
    load_assignment: true,
  },
  "envoy.config.endpoint.v3.ClusterLoadAssignment": { cluster_name: true, endpoints: true },
  "envoy.config.endpoint.v3.LocalityLbEndpoints": { lb_endpoints: true },
  "envoy.config.endpoint.v3.LbEndpoint": { endpoint: true },
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
      }
    }
  }
  return undefined;
}
