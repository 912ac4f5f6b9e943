// A sidecar-style scoped listener as the scoped-route contract describes it: halyard.fault and halyard.route with
// the `"scoped": true` engine JSON, an HCM with scoped_routes keyed by x-halyard-scope, and one RouteConfiguration
// per scope executing the filter's decision, its `default` route carrying the scope's routes as metadata.
import { createHash } from "node:crypto";
import { join } from "node:path";
import { HCM_TYPE, routerFilter, socketAddress, staticCluster, wasmFilter } from "./envoy-bootstrap.js";
import { root } from "./gateway-process.js";

export const WASM = join(root, "wasm/build/halyard.wasm");
export const SCOPE_HEADER = "x-halyard-scope";

export interface ScopedHost {
  name: string;
  domains: string[];
  /** The engine routes (CONFIG.md); undefined: the scope's route carries no metadata (a broken control plane). */
  routes?: unknown[];
}

export const scopeOf = (port: number, vhost: string) => `${port}/${vhost}`;

export function scopeRouteConfiguration(port: number, vh: ScopedHost) {
  const name = scopeOf(port, vh.name);
  const routes = vh.routes === undefined ? undefined : JSON.stringify(vh.routes);
  return {
    name,
    virtual_hosts: [
      {
        name: vh.name,
        domains: ["*"],
        routes: [
          {
            name: "default",
            match: { prefix: "/" },
            route: { cluster_header: "x-halyard-cluster", timeout: "0s" },
            request_headers_to_remove: ["x-halyard-cluster"],
            ...(routes === undefined
              ? {}
              : { metadata: { filter_metadata: { "halyard.route": { routes, digest: createHash("sha256").update(routes).digest("hex").slice(0, 16) } } } }),
          },
        ],
      },
    ],
    validate_clusters: false,
  };
}

export function scopedEngineConfig(port: number, hosts: ScopedHost[]) {
  return { scoped: true, virtual_hosts: hosts.map((h) => ({ name: h.name, domains: h.domains, scope: scopeOf(port, h.name) })) };
}

/** The HCM's scoped_routes; `inline`: each scope's route_configuration inline (static), else by name (RDS). */
export function scopedRoutes(port: number, hosts: ScopedHost[], inline: boolean) {
  return {
    name: String(port),
    scope_key_builder: { fragments: [{ header_value_extractor: { name: SCOPE_HEADER } }] },
    rds_config_source: { ads: {}, resource_api_version: "V3" },
    scoped_route_configurations_list: {
      scoped_route_configurations: hosts.map((h) => {
        const scope = scopeOf(port, h.name);
        return {
          name: scope,
          route_configuration_name: scope,
          key: { fragments: [{ string_key: scope }] },
          ...(inline ? { route_configuration: scopeRouteConfiguration(port, h) } : {}),
        };
      }),
    },
  };
}

export function scopedListener(opts: { name: string; listenPort: number; servicePort: number; hosts: ScopedHost[]; inline: boolean; wasm?: string }) {
  const configuration = JSON.stringify(scopedEngineConfig(opts.servicePort, opts.hosts));
  const wasm = opts.wasm ?? WASM;
  return {
    name: opts.name,
    address: socketAddress(opts.listenPort),
    filter_chains: [
      {
        filters: [
          {
            name: "envoy.filters.network.http_connection_manager",
            typed_config: {
              "@type": HCM_TYPE,
              stat_prefix: opts.name,
              scoped_routes: scopedRoutes(opts.servicePort, opts.hosts, opts.inline),
              http_filters: [
                wasmFilter({ name: "fault", rootId: "halyard.fault", filename: wasm, configuration }),
                wasmFilter({ name: "route", rootId: "halyard.route", filename: wasm, configuration }),
                routerFilter(),
              ],
            },
          },
        ],
      },
    ],
  };
}

export { staticCluster };
