// HCM scoped_routes (Envoy's scoped RDS with an inline scope list) -> ScopedRoutesConfig. The scope key is one
// header's whole value (header_value_extractor by name); each scope's RouteConfiguration is inline
// (route_configuration) or comes over RDS (route_configuration_name). Portable.
import type { RouteConfiguration } from "../../gen/envoy/config/route/v3/route_pb.js";
import type { ScopedRoutes } from "../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import type { FieldPath } from "./errors.js";
import type { RouteTableConfig, ScopeConfig, ScopedRoutesConfig } from "./types.js";

export interface ScopedRouteBuilders {
  /** An inline route_configuration. */
  inline(rc: RouteConfiguration, path: FieldPath): RouteTableConfig;
  /** A route_configuration_name, resolved over RDS (rds_config_source given or not). */
  rds(name: string, hasSource: boolean, path: FieldPath): RouteTableConfig;
  fail(path: FieldPath, message: string): never;
}

export function buildScopedRoutes(sr: ScopedRoutes, path: FieldPath, b: ScopedRouteBuilders): ScopedRoutesConfig {
  const fail: (path: FieldPath, message: string) => never = b.fail;
  if (!sr.name) fail([...path, "name"], "must not be empty");
  const fragments = sr.scopeKeyBuilder?.fragments ?? [];
  const kbPath = [...path, "scope_key_builder", "fragments"];
  if (fragments.length !== 1) fail(kbPath, "exactly one fragment (header_value_extractor) is supported by halyard gateway");
  const frag = fragments[0]!.type;
  if (frag.case !== "headerValueExtractor") fail([...kbPath, 0], "header_value_extractor is required");
  const hve = frag.value;
  const hvePath = [...kbPath, 0, "header_value_extractor"];
  if (!hve.name) fail([...hvePath, "name"], "must not be empty");
  if (hve.elementSeparator !== "") fail([...hvePath, "element_separator"], "not supported by halyard gateway (the whole header value is the scope key)");
  if (hve.extractType.case === "element") fail([...hvePath, "element"], "not supported by halyard gateway (the whole header value is the scope key)");
  if (hve.extractType.case === "index" && hve.extractType.value !== 0) fail([...hvePath, "index"], "only 0 is supported by halyard gateway (the whole header value is the scope key)");
  const spec = sr.configSpecifier;
  if (spec.case !== "scopedRouteConfigurationsList") {
    fail(path, "scoped_route_configurations_list is required (scoped_rds is not supported by halyard gateway)");
  }
  const listPath = [...path, "scoped_route_configurations_list", "scoped_route_configurations"];
  const keys = new Map<string, string>();
  const scopes: ScopeConfig[] = spec.value.scopedRouteConfigurations.map((sc, i): ScopeConfig => {
    const p = [...listPath, i];
    if (!sc.name) fail([...p, "name"], "must not be empty");
    const keyFragments = sc.key?.fragments ?? [];
    if (keyFragments.length !== 1) fail([...p, "key", "fragments"], "exactly one fragment (string_key) is required: the scope key builder has one fragment");
    const kf = keyFragments[0]!.type;
    if (kf.case !== "stringKey") fail([...p, "key", "fragments", 0], "string_key is required");
    const other = keys.get(kf.value);
    if (other !== undefined) fail([...p, "key"], `scope key "${kf.value}" is already used by scope "${other}"`);
    keys.set(kf.value, sc.name);
    let routeConfig: RouteTableConfig;
    if (sc.routeConfiguration) {
      if (sc.routeConfigurationName && sc.routeConfigurationName !== sc.routeConfiguration.name) {
        fail([...p, "route_configuration_name"], `differs from route_configuration.name "${sc.routeConfiguration.name}"`);
      }
      routeConfig = b.inline(sc.routeConfiguration, [...p, "route_configuration"]);
    } else {
      if (!sc.routeConfigurationName) fail(p, "route_configuration_name or route_configuration is required");
      routeConfig = b.rds(sc.routeConfigurationName, sr.rdsConfigSource !== undefined, [...p, "route_configuration_name"]);
    }
    return { name: sc.name, key: kf.value, routeConfig };
  });
  return { name: sr.name, keyHeader: hve.name.toLowerCase(), scopes };
}

/** The RDS names scoped_routes subscribes to (scopes without an inline route_configuration). */
export function scopedRdsNames(sr: ScopedRoutes): string[] {
  const spec = sr.configSpecifier;
  if (spec.case !== "scopedRouteConfigurationsList") return [];
  return spec.value.scopedRouteConfigurations.filter((sc) => !sc.routeConfiguration && sc.routeConfigurationName).map((sc) => sc.routeConfigurationName);
}
