// Proxyless gRPC (node metadata GENERATOR=grpc), shaped like Istio's grpcgen and limited to what @grpc/grpc-js-xds
// accepts: per service port a Listener `<fqdn>:<port>` (plus the short names a client in the same namespace may
// dial) whose api_listener HCM uses RDS `<fqdn>:<port>` with the fault filter then the router; native routes
// (path/prefix/safe_regex and header matches, cluster or weighted_clusters, max_stream_duration from the timeout,
// retry_policy restricted to gRPC status conditions, faults as the route's typed_per_filter_config); EDS or
// LOGICAL_DNS clusters with ROUND_ROBIN or RING_HASH (built by clusters.ts, flavor "grpc").
import { createHash } from "node:crypto";
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { ListenerSchema, type Listener } from "../../../gen/envoy/config/listener/v3/listener_pb.js";
import { MetadataSchema } from "../../../gen/envoy/config/core/v3/base_pb.js";
import { RouteSchema, type HeaderMatcherSchema, type Route } from "../../../gen/envoy/config/route/v3/route_components_pb.js";
import { RouteConfigurationSchema, type RouteConfiguration } from "../../../gen/envoy/config/route/v3/route_pb.js";
import { HTTPFaultSchema } from "../../../gen/envoy/extensions/filters/http/fault/v3/fault_pb.js";
import { RouterSchema } from "../../../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import { HttpConnectionManagerSchema } from "../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { FractionalPercent_DenominatorType } from "../../../gen/envoy/type/v3/percent_pb.js";
import type { ConfigSet } from "../../config/config-set.js";
import type { FieldPath } from "../../config/errors.js";
import type { HTTPFaultInjection, HTTPMatchRequest, HTTPRoute, StringMatch, VirtualService } from "../../config/types.js";
import { hostsOverlap } from "../../registry/hosts.js";
import type { IssueCollector } from "../../registry/issues.js";
import type { ServiceRegistry } from "../../registry/registry.js";
import type { RegistryService } from "../../registry/types.js";
import { expandDelegates } from "../delegate.js";
import type { ClusterResolver } from "../destinations.js";
import { kubernetesShortNames } from "../domains.js";
import { durationMs } from "../duration.js";
import { proxyGatewayNames, matchAppliesTo, virtualServicesFor } from "../selection.js";
import { visibleServices } from "./clusters.js";
import { adsConfigSource, durationFromMs, packed } from "./common.js";
import type { ProxyContext } from "./node.js";

type RouteInit = MessageInitShape<typeof RouteSchema>;
type HeaderMatcherInit = MessageInitShape<typeof HeaderMatcherSchema>;

export const FAULT_FILTER = "envoy.filters.http.fault";

export interface GrpcBuildInput {
  config: ConfigSet;
  registry: ServiceRegistry;
  ctx: ProxyContext;
  resolver: ClusterResolver;
  issues: IssueCollector;
}

/** Status conditions gRPC clients retry on (A44); Envoy's HTTP conditions mean nothing to them. */
const GRPC_RETRY_ON = new Set(["cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable"]);
/** Istio's default retry_on, as gRPC reads it. */
const DEFAULT_RETRY_ON = "unavailable,cancelled";

const GRPC_CODES: Record<string, number> = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, DATA_LOSS: 15, UNAUTHENTICATED: 16,
};

function apiListener(name: string, routeName: string): Listener {
  const hcm = {
    statPrefix: name,
    routeSpecifier: { case: "rds" as const, value: { configSource: adsConfigSource(), routeConfigName: routeName } },
    httpFilters: [
      { name: FAULT_FILTER, configType: { case: "typedConfig" as const, value: packed(HTTPFaultSchema, {}) } },
      { name: "envoy.filters.http.router", configType: { case: "typedConfig" as const, value: packed(RouterSchema, {}) } },
    ],
  };
  return create(ListenerSchema, { name, apiListener: { apiListener: packed(HttpConnectionManagerSchema, hcm) } });
}

export function grpcResources(input: GrpcBuildInput): { listeners: Listener[]; routes: RouteConfiguration[] } {
  const { registry, ctx } = input;
  const listeners: Listener[] = [];
  const routes: RouteConfiguration[] = [];
  const services = visibleServices(registry, ctx.namespace).filter((s) => s.resolution !== "NONE" && !s.hostname.startsWith("*"));
  const owners = owningVirtualServices(input, services);
  const taken = new Set<string>();
  for (const service of services) {
    const shortNames = kubernetesShortNames(service.hostname, ctx.namespace, registry.domainSuffix);
    for (const port of service.ports) {
      const name = `${service.hostname}:${port.number}`;
      const aliases = shortNames.map((h) => `${h}:${port.number}`);
      for (const listenerName of [name, ...aliases]) {
        if (taken.has(listenerName)) continue;
        taken.add(listenerName);
        listeners.push(apiListener(listenerName, name));
      }
      const vs = owners.get(service);
      const native = vs ? nativeRoutes(input, vs, port.number) : [];
      if (native.length === 0) native.push(defaultRoute(input, service, port.number));
      routes.push(
        create(RouteConfigurationSchema, {
          name,
          virtualHosts: [{ name, domains: [name, service.hostname, ...aliases, ...shortNames], routes: native.map(withContentDigest) }],
        }),
      );
    }
  }
  return { listeners, routes };
}

/**
 * Tags a route with a digest of its own content (metadata `halyard.digest`; gRPC and Envoy ignore it).
 * @grpc/grpc-js-xds drops an RDS update it deems equal to the cached one, and its comparison only walks the
 * cached side: a map entry that only the new route has (a fault added to a route without one, in
 * typed_per_filter_config) or bytes appended to an Any's value compare equal, so the change never reaches calls.
 * A field both sides have whose value changes with any change of the route makes every change visible.
 */
function withContentDigest(init: RouteInit): Route {
  const route = create(RouteSchema, init);
  const digest = createHash("sha256").update(toBinary(RouteSchema, route)).digest("hex").slice(0, 16);
  route.metadata = create(MetadataSchema, { filterMetadata: { halyard: { digest } } });
  return route;
}

/** For each service, the mesh VirtualService naming it most specifically (exact host beats wildcards). */
function owningVirtualServices(input: GrpcBuildInput, services: readonly RegistryService[]): Map<RegistryService, VirtualService> {
  const proxy = input.ctx.proxy;
  const candidates = virtualServicesFor(input.config.virtualServices, proxy, proxyGatewayNames(proxy));
  const out = new Map<RegistryService, VirtualService>();
  for (const service of services) {
    let best: { vs: VirtualService; score: number } | undefined;
    for (const vs of candidates) {
      for (const h of vs.spec.hosts ?? []) {
        const host = input.registry.resolveHost(h, vs.metadata.namespace);
        const score = host === service.hostname ? Number.MAX_SAFE_INTEGER : host.startsWith("*") && hostsOverlap(host, service.hostname) ? host.length : -1;
        if (score >= 0 && (!best || score > best.score)) best = { vs, score };
      }
    }
    if (best) out.set(service, best.vs);
  }
  return out;
}

function defaultRoute(input: GrpcBuildInput, service: RegistryService, port: number): RouteInit {
  return {
    name: "default",
    match: { pathSpecifier: { case: "prefix", value: "" } },
    action: { case: "route", value: { clusterSpecifier: { case: "cluster", value: `outbound|${port}||${service.hostname}` } } },
  };
}

function nativeRoutes(input: GrpcBuildInput, vs: VirtualService, port: number): RouteInit[] {
  const out: RouteInit[] = [];
  for (const { http, vs: owner, path } of expandDelegates(vs, input.config.virtualServices, input.registry.domainSuffix, input.issues)) {
    const warn = (p: FieldPath, message: string) => input.issues.add(owner, [...path, ...p], message);
    if (!http.route || http.route.length === 0) {
      warn([http.redirect ? "redirect" : "directResponse"], "proxyless gRPC clients cannot redirect or answer directly: route skipped");
      continue;
    }
    const applicable = (http.match ?? []).filter((m) => !(m.port && m.port !== port) && matchAppliesTo(m, input.ctx.proxy, proxyGatewayNames(input.ctx.proxy), owner.metadata.namespace));
    if ((http.match ?? []).length > 0 && applicable.length === 0) continue;
    const action = routeAction(input, http, owner, path, port);
    const perFilter = faultConfig(http.fault);
    const matches = applicable.length > 0 ? applicable : [undefined];
    for (const m of matches) {
      out.push({
        name: [http.name, m?.name].filter(Boolean).join(".") || `route-${out.length}`,
        match: routeMatch(m),
        action: { case: "route", value: action },
        ...(perFilter ? { typedPerFilterConfig: { [FAULT_FILTER]: perFilter } } : {}),
      });
    }
    if (applicable.length === 0) break; // a catch-all: later routes are unreachable (Istio stops here)
  }
  return out;
}

function routeAction(input: GrpcBuildInput, http: HTTPRoute, vs: VirtualService, path: FieldPath, port: number) {
  const dests = http.route!;
  const clusters = dests.map((d, i) => input.resolver.resolve(d.destination, vs, [...path, "route", i, "destination"], port));
  const timeoutMs = http.timeout ? durationMs(http.timeout) : undefined;
  const retries = http.retries;
  const retryOn = (retries?.retryOn ?? "").split(",").map((s) => s.trim()).filter((s) => GRPC_RETRY_ON.has(s));
  return {
    clusterSpecifier:
      clusters.length === 1
        ? { case: "cluster" as const, value: clusters[0]! }
        : { case: "weightedClusters" as const, value: { clusters: clusters.map((name, i) => ({ name, weight: dests[i]!.weight ?? 0 })) } },
    ...(timeoutMs ? { maxStreamDuration: { maxStreamDuration: durationFromMs(timeoutMs), grpcTimeoutHeaderMax: durationFromMs(timeoutMs) } } : {}),
    ...(retries && (retries.attempts ?? 0) > 0
      ? { retryPolicy: { retryOn: retries.retryOn === undefined ? DEFAULT_RETRY_ON : retryOn.join(",") || DEFAULT_RETRY_ON, numRetries: retries.attempts! } }
      : {}),
  };
}

function stringMatcher(m: StringMatch) {
  if (m.exact !== undefined) return { matchPattern: { case: "exact" as const, value: m.exact } };
  if (m.prefix !== undefined) return { matchPattern: { case: "prefix" as const, value: m.prefix } };
  return { matchPattern: { case: "safeRegex" as const, value: { regex: m.regex ?? ".*" } } };
}

const isPresence = (m: StringMatch) => (m.exact === undefined && m.prefix === undefined && m.regex === undefined) || m.regex === "*";

function routeMatch(m: HTTPMatchRequest | undefined) {
  const uri = m?.uri;
  const pathSpecifier =
    uri?.exact !== undefined
      ? { case: "path" as const, value: uri.exact }
      : uri?.regex !== undefined
        ? { case: "safeRegex" as const, value: { regex: uri.regex } }
        : { case: "prefix" as const, value: uri?.prefix ?? "" };
  const headers: HeaderMatcherInit[] = [];
  for (const [name, sm] of Object.entries(m?.headers ?? {})) {
    headers.push(isPresence(sm) ? { name, headerMatchSpecifier: { case: "presentMatch", value: true } } : { name, headerMatchSpecifier: { case: "stringMatch", value: stringMatcher(sm) } });
  }
  for (const [name, sm] of Object.entries(m?.withoutHeaders ?? {})) {
    headers.push(
      isPresence(sm)
        ? { name, headerMatchSpecifier: { case: "presentMatch", value: false } }
        : { name, invertMatch: true, treatMissingHeaderAsEmpty: true, headerMatchSpecifier: { case: "stringMatch", value: stringMatcher(sm) } },
    );
  }
  return { pathSpecifier, ...(m?.ignoreUriCase ? { caseSensitive: false } : {}), ...(headers.length ? { headers } : {}) };
}

/** A percentage (0-100, fractions allowed) in millionths, as Envoy's FractionalPercent. */
function fraction(value: number | undefined) {
  return { numerator: Math.floor((value ?? 0) * 10_000), denominator: FractionalPercent_DenominatorType.MILLION };
}

function faultConfig(fault: HTTPFaultInjection | undefined) {
  if (!fault || (!fault.delay && !fault.abort)) return undefined;
  const delayMs = fault.delay?.fixedDelay ? durationMs(fault.delay.fixedDelay) : undefined;
  const abort = fault.abort;
  const grpcCode = abort?.grpcStatus !== undefined ? GRPC_CODES[abort.grpcStatus.toUpperCase()] : undefined;
  return packed(HTTPFaultSchema, {
    ...(delayMs !== undefined ? { delay: { faultDelaySecifier: { case: "fixedDelay", value: durationFromMs(delayMs) }, percentage: fraction(fault.delay!.percentage?.value) } } : {}),
    ...(abort && (abort.httpStatus !== undefined || grpcCode !== undefined)
      ? {
          abort: {
            errorType: grpcCode !== undefined ? { case: "grpcStatus" as const, value: grpcCode } : { case: "httpStatus" as const, value: abort.httpStatus! },
            percentage: fraction(abort.percentage?.value),
          },
        }
      : {}),
  });
}
