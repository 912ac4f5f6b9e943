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
import type { EngineRoute, EngineRouteConfig, EngineVirtualHost } from "../engine-config.js";
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

/** Each virtual host's entry in the scoped configuration, as JSON, for the port it was made for. */
const scopedVhostJson = new WeakMap<EngineVirtualHost, { port: number; json: string }>();

/**
 * `JSON.stringify(scopedEngineConfig(port, config))`, with each virtual host's part kept per virtual host object:
 * virtual hosts reused by incremental translation (routes.ts RouteUnitMemo) are not serialised again.
 */
export function scopedEngineConfigJson(port: number, config: EngineRouteConfig): string {
  return joinScopedEngineConfig(scopedEngineConfigParts(port, config));
}

/** The scoped configuration's JSON in pieces: the configuration without virtual hosts, and each virtual host's part. */
export interface ScopedEngineConfigParts {
  /** `{…, "scoped": true, "virtual_hosts": []}`. */
  shell: string;
  /** Kept per virtual host object: an unchanged virtual host hands back the same string. */
  parts: string[];
}

export function joinScopedEngineConfig({ shell, parts }: ScopedEngineConfigParts): string {
  // virtual_hosts is the last key: the JSON ends with `[]}`, where the virtual hosts go.
  return `${shell.slice(0, -2)}${parts.join(",")}]}`;
}

/** Same content as `scopedEngineConfigJson` (compare the pieces instead of joining ~400 KB at 1 000 services). */
export function sameScopedEngineConfig(a: ScopedEngineConfigParts, b: ScopedEngineConfigParts): boolean {
  if (a.shell !== b.shell || a.parts.length !== b.parts.length) return false;
  for (let i = 0; i < a.parts.length; i++) if (a.parts[i] !== b.parts[i]) return false;
  return true;
}

export function scopedEngineConfigParts(port: number, config: EngineRouteConfig): ScopedEngineConfigParts {
  const { virtual_hosts, ...rest } = config;
  const shell = JSON.stringify({ ...rest, scoped: true, virtual_hosts: [] });
  const parts = virtual_hosts.map((vh) => {
    const known = scopedVhostJson.get(vh);
    if (known && known.port === port) return known.json;
    const { routes: _routes, ...kept } = vh;
    const json = JSON.stringify({ ...kept, scope: scopeName(port, vh.name) });
    scopedVhostJson.set(vh, { port, json });
    return json;
  });
  return { shell, parts };
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
  /**
   * By virtual host object: a virtual host reused unchanged by incremental translation (routes.ts RouteUnitMemo)
   * skips even the content key (its routes JSON).
   */
  readonly #byVhost = new WeakMap<EngineVirtualHost, { key: string; rc: RouteConfiguration }>();

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

  /** The RouteConfiguration made for this very virtual host object, if any (kept in the current generation). */
  forVhost(vh: EngineVirtualHost): RouteConfiguration | undefined {
    const known = this.#byVhost.get(vh);
    if (!known) return undefined;
    // Still shared by content with other classes.
    if (!this.#current.has(known.key)) this.#current.set(known.key, known.rc);
    return known.rc;
  }

  /** `get` by content key, remembered for this virtual host object too (for a RouteConfiguration without hash routes). */
  getForVhost(vh: EngineVirtualHost, key: string, build: () => RouteConfiguration): RouteConfiguration {
    const rc = this.get(key, build);
    this.#byVhost.set(vh, { key, rc });
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

const routesJsonCache = new WeakMap<readonly EngineRoute[], string>();

/** `JSON.stringify(routes)`, kept per array (route arrays are shared by content between proxy classes). */
export function routesJson(routes: readonly EngineRoute[]): string {
  let json = routesJsonCache.get(routes);
  if (json === undefined) routesJsonCache.set(routes, (json = JSON.stringify(routes)));
  return json;
}

const contentHash = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 16);

/**
 * The RouteConfiguration of one scope: virtual host `{name, domains: ["*"]}` executing the filter's decision (hash
 * routes for the consistent-hash clusters this virtual host can pick, then `default`), the `default` route carrying
 * the virtual host's routes JSON and its digest as `filter_metadata["halyard.route"]`.
 */
function scopeRouteConfig(scope: string, vh: EngineVirtualHost, json: string, hashRoutes: MessageInitShape<typeof RouteSchema>[]): RouteConfiguration {
  const defaultRoute: MessageInitShape<typeof RouteSchema> = {
    ...withoutScopeHeader(defaultExecutingRoute()),
    metadata: create(MetadataSchema, { filterMetadata: { [ROUTE_METADATA_KEY]: { routes: json, digest: contentHash(json) } } }),
  };
  return create(RouteConfigurationSchema, {
    name: scope,
    virtualHosts: [{ name: vh.name, domains: ["*"], routes: [...hashRoutes, defaultRoute] }],
    // Clusters come from a header; there is nothing to validate at load.
    validateClusters: false,
  });
}

/** The scope header, like the cluster header, is halyard's own: removed before the request goes upstream. */
function withoutScopeHeader(route: MessageInitShape<typeof RouteSchema>): MessageInitShape<typeof RouteSchema> {
  return { ...route, requestHeadersToRemove: [...(route.requestHeadersToRemove ?? []), SCOPE_HEADER] };
}

/** One RouteConfiguration per virtual host of the port, memoised by content when `memo` is given. */
export function scopedRouteConfigs(port: number, config: EngineRouteConfig, clusters: readonly BuiltCluster[], memo?: ScopedRouteMemo): RouteConfiguration[] {
  const hashed = clusters.filter((c) => c.hashPolicy.length > 0);
  return config.virtual_hosts.map((vh) => {
    // Virtual hosts are shared between classes whose hash policies may differ: by identity only without any.
    const known = hashed.length === 0 ? memo?.forVhost(vh) : undefined;
    if (known) return known;
    const scope = scopeName(port, vh.name);
    const json = routesJson(vh.routes);
    let hashRoutes: MessageInitShape<typeof RouteSchema>[] = [];
    let hashKey = "";
    if (hashed.length > 0) {
      const named = namedClusters(vh.routes, new Set());
      hashRoutes = hashExecutingRoutes(hashed.filter((c) => named.has(c.cluster.name))).map(withoutScopeHeader);
      // Hash policies hold bigints (cookie ttl): their encoding is the content key.
      hashKey = hashRoutes.map((r) => Buffer.from(toBinary(RouteSchema, create(RouteSchema, r))).toString("base64")).join(",");
    }
    const build = () => scopeRouteConfig(scope, vh, json, hashRoutes);
    if (!memo) return build();
    const key = `${scope}\0${vh.name}\0${json}\0${hashKey}`;
    return hashKey === "" ? memo.getForVhost(vh, key, build) : memo.get(key, build);
  });
}
