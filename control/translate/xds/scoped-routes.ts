// Scoped RDS for a sidecar's outbound HTTP chains. Each virtual host of a port becomes its own RouteConfiguration,
// `<port>/<vhost name>`, listed inline in the HCM's `scoped_routes` and selected by the `x-halyard-scope` request
// header that halyard.route / halyard.fault set once they have chosen the virtual host by authority. The listener's
// filter configuration keeps only what that choice needs (names, domains, scopes); a virtual host's routes travel in
// its RouteConfiguration, as `default` route metadata the filters read back (property xds.route_metadata). So a
// VirtualService edit changes one small RDS resource, not every sidecar's listener.
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { createHash } from "node:crypto";
import { MetadataSchema } from "../../../gen/envoy/config/core/v3/base_pb.js";
import { RouteSchema } from "../../../gen/envoy/config/route/v3/route_components_pb.js";
import { RouteConfigurationSchema, type RouteConfiguration } from "../../../gen/envoy/config/route/v3/route_pb.js";
import type { ScopedRoutesSchema } from "../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import type { EngineRouteConfig, EngineVirtualHost } from "../engine-config.js";
import type { BuiltCluster } from "./clusters.js";
import { adsConfigSource } from "./common.js";
import { defaultExecutingRoute, hashExecutingRoutes } from "./routes.js";

/** The request header carrying the chosen scope; the HCM's scope key builder reads it. */
export const SCOPE_HEADER = "x-halyard-scope";
/** filter_metadata key of the `default` route's {routes, digest} Struct. */
export const ROUTE_METADATA_KEY = "halyard.route";

/** A virtual host of the port, as halyard.route's scoped configuration lists it: no routes, a scope instead. */
export interface EngineScopedVirtualHost {
  name: string;
  domains: string[];
  scope: string;
}

export interface EngineScopedRouteConfig {
  scoped: true;
  virtual_hosts: EngineScopedVirtualHost[];
  ignore_port_in_host_matching?: boolean;
}

/** The scope (and RouteConfiguration) name of a virtual host on `port`. */
export function scopeName(port: number, vhostName: string): string {
  return `${port}/${vhostName}`;
}

/** The port's engine configuration with every virtual host's routes replaced by its scope. */
export function scopedEngineConfig(port: number, config: EngineRouteConfig): EngineScopedRouteConfig {
  const { virtual_hosts, ...rest } = config;
  return {
    ...rest,
    scoped: true,
    virtual_hosts: virtual_hosts.map((vh) => {
      const { routes: _routes, ...kept } = vh;
      return { ...kept, scope: scopeName(port, vh.name) };
    }),
  };
}

/** The HCM route specifier: the inline scope list of the port's virtual hosts, keyed by SCOPE_HEADER. */
export function scopedRoutesSpecifier(port: number, config: EngineRouteConfig): { case: "scopedRoutes"; value: MessageInitShape<typeof ScopedRoutesSchema> } {
  return {
    case: "scopedRoutes",
    value: {
      name: String(port),
      scopeKeyBuilder: { fragments: [{ type: { case: "headerValueExtractor", value: { name: SCOPE_HEADER } } }] },
      rdsConfigSource: adsConfigSource(),
      configSpecifier: {
        case: "scopedRouteConfigurationsList",
        value: {
          scopedRouteConfigurations: config.virtual_hosts.map((vh) => {
            const scope = scopeName(port, vh.name);
            return { name: scope, routeConfigurationName: scope, key: { fragments: [{ type: { case: "stringKey" as const, value: scope } }] } };
          }),
        },
      },
    },
  };
}

/**
 * Scope RouteConfigurations by content, across proxy classes and config versions (current and previous
 * generation, like ClusterMemo): an unchanged virtual host hands back the same message object, which the snapshot
 * encoder has already encoded. Shared messages must never be modified.
 */
export class ScopedRouteMemo {
  #current = new Map<string, RouteConfiguration>();
  #previous = new Map<string, RouteConfiguration>();

  /** Starts a new generation (a new config). */
  advance(): void {
    this.#previous = this.#current;
    this.#current = new Map();
  }

  get(key: string, build: () => RouteConfiguration): RouteConfiguration {
    let rc = this.#current.get(key);
    if (rc) return rc;
    rc = this.#previous.get(key) ?? build();
    this.#current.set(key, rc);
    return rc;
  }
}

/** Every `cluster` a virtual host's routes name (destinations and mirrors). */
function namedClusters(value: unknown, out: Set<string>): Set<string> {
  if (Array.isArray(value)) for (const v of value) namedClusters(v, out);
  else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k === "cluster" && typeof v === "string") out.add(v);
      else namedClusters(v, out);
    }
  }
  return out;
}

const contentHash = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 16);

/**
 * The RouteConfiguration of one scope: virtual host `{name, domains: ["*"]}` executing the filter's decision (hash
 * routes for the consistent-hash clusters this virtual host can pick, then `default`), the `default` route carrying
 * the virtual host's routes JSON and its digest as `filter_metadata["halyard.route"]`.
 */
function scopeRouteConfig(scope: string, vh: EngineVirtualHost, routesJson: string, hashRoutes: MessageInitShape<typeof RouteSchema>[]): RouteConfiguration {
  const defaultRoute: MessageInitShape<typeof RouteSchema> = {
    ...defaultExecutingRoute(),
    metadata: create(MetadataSchema, { filterMetadata: { [ROUTE_METADATA_KEY]: { routes: routesJson, digest: contentHash(routesJson) } } }),
  };
  return create(RouteConfigurationSchema, {
    name: scope,
    virtualHosts: [{ name: vh.name, domains: ["*"], routes: [...hashRoutes, defaultRoute] }],
    // Clusters come from a header; there is nothing to validate at load.
    validateClusters: false,
  });
}

/** One RouteConfiguration per virtual host of the port, memoised by content when `memo` is given. */
export function scopedRouteConfigs(port: number, config: EngineRouteConfig, clusters: readonly BuiltCluster[], memo?: ScopedRouteMemo): RouteConfiguration[] {
  const hashed = clusters.filter((c) => c.hashPolicy.length > 0);
  return config.virtual_hosts.map((vh) => {
    const scope = scopeName(port, vh.name);
    const routesJson = JSON.stringify(vh.routes);
    let hashRoutes: MessageInitShape<typeof RouteSchema>[] = [];
    let hashKey = "";
    if (hashed.length > 0) {
      const named = namedClusters(vh.routes, new Set());
      hashRoutes = hashExecutingRoutes(hashed.filter((c) => named.has(c.cluster.name)));
      // Hash policies hold bigints (cookie ttl): their encoding is the content key.
      hashKey = hashRoutes.map((r) => Buffer.from(toBinary(RouteSchema, create(RouteSchema, r))).toString("base64")).join(",");
    }
    const build = () => scopeRouteConfig(scope, vh, routesJson, hashRoutes);
    return memo ? memo.get(`${scope}\0${vh.name}\0${routesJson}\0${hashKey}`, build) : build();
  });
}
