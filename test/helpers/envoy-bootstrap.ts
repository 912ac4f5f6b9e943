// Builds Envoy v3 bootstrap objects (the YAML a real Envoy accepts) for the gateway tests.
export const HCM_TYPE = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

export function socketAddress(port: number, address = "127.0.0.1") {
  return { socket_address: { address, port_value: port } };
}

export function wasmFilter(opts: { name: string; rootId: string; filename: string; configuration?: string; failOpen?: boolean }) {
  return {
    name: "envoy.filters.http.wasm",
    typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
      config: {
        name: opts.name,
        root_id: opts.rootId,
        vm_config: { vm_id: opts.name, runtime: "envoy.wasm.runtime.v8", code: { local: { filename: opts.filename } } },
        ...(opts.configuration !== undefined
          ? { configuration: { "@type": "type.googleapis.com/google.protobuf.StringValue", value: opts.configuration } }
          : {}),
        ...(opts.failOpen ? { fail_open: true } : {}),
      },
    },
  };
}

export function routerFilter() {
  return { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } };
}

export function staticCluster(name: string, ports: number[], connectTimeout = "1s") {
  return {
    name,
    type: "STATIC",
    connect_timeout: connectTimeout,
    lb_policy: "ROUND_ROBIN",
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: ports.map((p) => ({ endpoint: { address: socketAddress(p) } })) }],
    },
  };
}

export interface ListenerOpts {
  name?: string;
  port: number;
  httpFilters?: unknown[];
  virtualHosts: unknown[];
  hcmExtra?: Record<string, unknown>;
}

export function listener(o: ListenerOpts) {
  return {
    name: o.name ?? "http",
    address: socketAddress(o.port),
    filter_chains: [
      {
        filters: [
          {
            name: "envoy.filters.network.http_connection_manager",
            typed_config: {
              "@type": HCM_TYPE,
              stat_prefix: "ingress_http",
              codec_type: "AUTO",
              route_config: { name: "local_route", virtual_hosts: o.virtualHosts },
              http_filters: [...(o.httpFilters ?? []), routerFilter()],
              ...o.hcmExtra,
            },
          },
        ],
      },
    ],
  };
}

export function bootstrap(listeners: unknown[], clusters: unknown[], extra: Record<string, unknown> = {}) {
  return { node: { id: "test-node", cluster: "test" }, ...extra, static_resources: { listeners, clusters } };
}
