// Istio traffic config (VirtualService + DestinationRule + Gateway + the service registry) as the route engine's
// configuration for one proxy, one config per listener port (engine/route/CONFIG.md), plus the clusters the
// routes name. Sidecars get a virtual host per service port (its VirtualService's routes, else a default route)
// and Istio's catch-all (allow_any passthrough, or block_all under REGISTRY_ONLY); gateway proxies get the hosts
// their servers and VirtualServices agree on.
import type { ConfigSet } from "../config/config-set.js";
import type { ConfigError } from "../config/errors.js";
import type { Gateway, Server, VirtualService } from "../config/types.js";
import { hostsOverlap, isVisibleFrom } from "../registry/hosts.js";
import { IssueCollector } from "../registry/issues.js";
import { buildRegistry, type ServiceRegistry } from "../registry/registry.js";
import type { Protocol, RegistryService } from "../registry/types.js";
import { expandDelegates, type SourcedRoute } from "./delegate.js";
import { ClusterResolver, type ClusterRef } from "./destinations.js";
import { intersectHosts, serverHostsFor, sidecarServiceDomains } from "./domains.js";
import type { EngineRoute, EngineRouteConfig, EngineVirtualHost } from "./engine-config.js";
import { translateHttpRoute, type RouteContext } from "./http-route.js";
import { outboundTrafficMode, type OutboundTrafficMode } from "./outbound-policy.js";
import { gatewayKey, type GatewayProxy, type Proxy, type SidecarProxy } from "./proxy.js";
import { proxyGatewayNames, virtualServicesFor } from "./selection.js";

export interface PortRouteConfig {
  /** Listener port the config serves (sidecar: the service port; gateway: the server port). */
  port: number;
  /** RDS name as Istio names it: `<port>` for sidecars, `http.<port>` for gateways. */
  name: string;
  config: EngineRouteConfig;
}

export interface RouteTranslation {
  proxy: Proxy;
  /** One per listener port, by port. */
  routeConfigs: PortRouteConfig[];
  /** Every cluster a route, mirror or default route names, in first-reference order. */
  clusters: ClusterRef[];
  /** Config that translates but will not behave as written (missing subsets, unknown hosts, dropped fields). */
  warnings: ConfigError[];
  /** Sidecars: where hosts outside the registry go (`allow_any` passthrough or `block_all` 502); gateways: ALLOW_ANY. */
  outboundTrafficPolicy: OutboundTrafficMode;
}

export interface TranslateOptions {
  /** The registry built from the same config (built here when omitted). */
  registry?: ServiceRegistry;
  /** The mesh's outboundTrafficPolicy mode, for sidecars no Sidecar resource sets one for. Default ALLOW_ANY. */
  outboundTrafficPolicy?: OutboundTrafficMode;
  /** meshConfig rootNamespace (mesh-wide Sidecar resources). Default istio-system. */
  rootNamespace?: string;
  /** Sidecars: reuse the virtual hosts of a previous translation of the same proxy class that no change touched. */
  units?: RouteUnitMemo;
}

/**
 * Memoised pieces of a sidecar's route translation, one per VirtualService (by object identity: unchanged
 * documents keep their objects across config versions) and one per service routed by default (by host name). A piece is reused
 * when its inputs are the same and none of the hosts it resolved is in `touched`.
 */
export interface RouteUnitMemo {
  /** Hosts whose services or DestinationRule changed since `previous` was filled (control/translate/config-delta.ts). */
  touched: ReadonlySet<string>;
  previous: ReadonlyMap<unknown, RouteUnit>;
  /** Filled with every reusable piece of this translation, for the next one. */
  next: Map<unknown, RouteUnit>;
  /**
   * One object per content for the virtual hosts kept in `next`: pieces are kept per proxy class, and classes
   * mostly route alike (a service outside the proxy's namespace has the same virtual host for all of them).
   * Shared virtual hosts are never modified.
   */
  shareVhost?: (vh: EngineVirtualHost) => EngineVirtualHost;
  /** Each port's domain de-duplication in the previous translation, and this one's (filled in). */
  dedupe?: { previous: ReadonlyMap<number, DedupedVhosts>; next: Map<number, DedupedVhosts> };
}

/** What dedupeDomains made of a port's virtual hosts: `placed[i]` is input i's index in `output`, or -1 (dropped). */
export interface DedupedVhosts {
  input: readonly EngineVirtualHost[];
  output: EngineVirtualHost[];
  placed: Int32Array;
}

export interface RouteUnit {
  /** What else the piece was built from (owned services, plain hosts, ports), compared item by item. */
  inputs: readonly (string | number)[];
  /** Host names it resolved or routes: a change to any of them rebuilds it. */
  deps: string[];
  vhosts: [port: number, vhost: EngineVirtualHost][];
  /** The service ports it routed, as [host, port]. */
  routed: [host: string, port: number][];
  refs: ClusterRef[];
  warnings: ConfigError[];
}

export function translateRoutes(config: ConfigSet, proxy: Proxy, options: TranslateOptions = {}): RouteTranslation {
  const registry = options.registry ?? buildRegistry(config);
  const issues = new IssueCollector(config);
  const clusters = new ClusterResolver(registry, config.destinationRules, proxy, issues);
  const base = { config, registry, issues, clusters };
  const outboundTrafficPolicy =
    proxy.kind === "sidecar"
      ? outboundTrafficMode(config, proxy.namespace, proxy.labels, {
          ...(options.outboundTrafficPolicy ? { meshDefault: options.outboundTrafficPolicy } : {}),
          ...(options.rootNamespace ? { rootNamespace: options.rootNamespace } : {}),
        })
      : "ALLOW_ANY";
  const byPort = proxy.kind === "sidecar" ? sidecarRoutes(base, proxy, outboundTrafficPolicy, options.units) : gatewayRoutes(base, proxy);
  const routeConfigs = [...byPort.entries()]
    .sort(([a], [b]) => a - b)
    .map(([port, config]) => ({ port, name: proxy.kind === "sidecar" ? String(port) : `http.${port}`, config }));
  return { proxy, routeConfigs, clusters: clusters.clusters, warnings: issues.list, outboundTrafficPolicy };
}

/** The route config of one listener port, if the proxy has one. */
export function routeConfigForPort(translation: RouteTranslation, port: number): EngineRouteConfig | undefined {
  return translation.routeConfigs.find((c) => c.port === port)?.config;
}

interface Base {
  config: ConfigSet;
  registry: ServiceRegistry;
  issues: IssueCollector;
  clusters: ClusterResolver;
}

/** Routes of one VirtualService for one listener port, stopping after a catch-all as Istio does. */
function buildRoutes(sourced: readonly SourcedRoute[], ctx: RouteContext): EngineRoute[] {
  const out: EngineRoute[] = [];
  for (const src of sourced) {
    const t = translateHttpRoute(src, ctx);
    if (!t) continue;
    out.push(t.route);
    if (t.catchAll) break;
  }
  return out;
}

function sameItems(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A memoised piece (see RouteUnitMemo), replaying what it named and warned about, or `translate` run afresh. */
function routeUnit(
  base: Base,
  units: RouteUnitMemo | undefined,
  key: unknown,
  inputs: readonly (string | number)[],
  hosts: readonly string[],
  reusable: boolean,
  translate: () => Pick<RouteUnit, "vhosts" | "routed">,
): Pick<RouteUnit, "vhosts" | "routed"> {
  if (!units) return translate();
  const known = units.previous.get(key);
  if (reusable && known && sameItems(known.inputs, inputs) && !known.deps.some((h) => units.touched.has(h))) {
    base.clusters.replay(known.refs);
    base.issues.list.push(...known.warnings);
    units.next.set(key, known);
    return known;
  }
  const before = base.issues.list.length;
  const { value, hosts: resolved, refs } = base.clusters.recording(translate);
  for (const h of hosts) resolved.add(h);
  const unit: RouteUnit = { ...value, inputs, deps: [...resolved], refs, warnings: base.issues.list.slice(before) };
  if (reusable) {
    // The virtual hosts were just made here: nothing else holds them yet.
    const share = units.shareVhost;
    if (share) unit.vhosts = unit.vhosts.map(([port, vh]) => [port, share(vh)]);
    units.next.set(key, unit);
  }
  return unit;
}

/** Virtual hosts reused across translations (RouteUnitMemo) keep their lower-cased domains. */
const lowered = new WeakMap<EngineVirtualHost, string[]>();
function lowerDomains(vh: EngineVirtualHost): string[] {
  let keys = lowered.get(vh);
  if (!keys || keys.length !== vh.domains.length) {
    keys = vh.domains.map((d) => d.toLowerCase());
    // Mostly they already are: keep one array.
    if (keys.every((k, i) => k === vh.domains[i])) keys = vh.domains;
    lowered.set(vh, keys);
  }
  return keys;
}

/** Drops domains an earlier virtual host already claimed (the engine, like Envoy, rejects duplicates). */
function dedupeDomains(vhosts: EngineVirtualHost[]): EngineVirtualHost[] {
  return dedupeRecorded(vhosts).output;
}

/**
 * dedupeDomains, replaying `previous` when every virtual host has the name and domains it had there (what the
 * de-duplication depends on): a weight edit replaces one virtual host object of ~1 000, and its de-duplication
 * is the previous one's, with unchanged virtual hosts (and their trimmed copies) the same objects as before.
 */
function dedupeReplayed(vhosts: EngineVirtualHost[], previous: DedupedVhosts | undefined): DedupedVhosts {
  if (!previous || previous.input.length !== vhosts.length) return dedupeRecorded(vhosts);
  const before = previous.input;
  for (let i = 0; i < vhosts.length; i++) {
    const a = vhosts[i]!;
    const b = before[i]!;
    if (a !== b && (a.name !== b.name || !sameItems(a.domains, b.domains))) return dedupeRecorded(vhosts);
  }
  const output: EngineVirtualHost[] = [];
  for (let i = 0; i < vhosts.length; i++) {
    const at = previous.placed[i]!;
    if (at < 0) continue;
    const vh = vhosts[i]!;
    const was = previous.output[at]!;
    output.push(vh === before[i] ? was : was === before[i] ? vh : { ...vh, domains: was.domains });
  }
  return { input: vhosts, output, placed: previous.placed };
}

function dedupeRecorded(vhosts: EngineVirtualHost[]): DedupedVhosts {
  const seen = new Set<string>();
  const names = new Set<string>();
  const out: EngineVirtualHost[] = [];
  const placed = new Int32Array(vhosts.length).fill(-1);
  for (let i = 0; i < vhosts.length; i++) {
    const vh = vhosts[i]!;
    if (names.has(vh.name)) continue;
    const keys = lowerDomains(vh);
    const domains = vh.domains.filter((_, i) => {
      const key = keys[i]!;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    if (domains.length === 0) continue;
    names.add(vh.name);
    placed[i] = out.length;
    // Unchanged virtual hosts stay the same objects (memoised downstream by identity).
    out.push(domains.length === vh.domains.length ? vh : { ...vh, domains });
  }
  return { input: vhosts, output: out, placed };
}

// ---- sidecars ----

const HTTP_PROTOCOLS: ReadonlySet<Protocol> = new Set<Protocol>(["HTTP", "HTTP2", "HTTP_PROXY", "GRPC", "GRPC-Web", "UnsupportedProtocol"]);

/** Ports a sidecar routes as HTTP: declared HTTP-family ones, and undeclared ones (sniffed). */
function httpPorts(service: RegistryService): number[] {
  let ports = httpPortsOf.get(service);
  if (!ports) httpPortsOf.set(service, (ports = service.ports.filter((p) => HTTP_PROTOCOLS.has(p.protocol)).map((p) => p.number)));
  return ports;
}
/** Per registry service (one registry serves every proxy class of a config version). */
const httpPortsOf = new WeakMap<RegistryService, number[]>();

/** How specifically a VirtualService host claims a service: exact beats any wildcard, longer wildcards win. */
function claim(vsHost: string, service: string): number {
  if (vsHost === service) return Number.MAX_SAFE_INTEGER;
  return vsHost.startsWith("*") && hostsOverlap(vsHost, service) ? vsHost.length : -1;
}

/** What a sidecar's routes are built from that depends on the config and what the proxy may see, not on the proxy. */
interface SidecarClaims {
  /** Visible services, one per host name, in registry order. */
  services: RegistryService[];
  /** Visible VirtualServices with what each routes: the services it claims, hosts naming no service, their ports. */
  virtualServices: ClaimingVirtualService[];
}

interface ClaimingVirtualService {
  vs: VirtualService;
  owned: RegistryService[];
  ownedHosts: string[];
  plainHosts: string[];
  /** Ascending. */
  ports: number[];
  /** What else its route unit is built from (RouteUnit.inputs). */
  inputs: (string | number)[];
  /** Delegates live in other VirtualServices, whose edits this one's identity does not reflect. */
  reusable: boolean;
}

/**
 * Claims are the same for every proxy that sees the same services and VirtualServices: all of them, when nothing
 * restricts exportTo (the usual mesh), so the 20 classes of a 20-namespace mesh compute them once per config.
 */
const claimsMemo = new WeakMap<ServiceRegistry, WeakMap<readonly VirtualService[], Map<string, SidecarClaims>>>();
const restrictsExport = new WeakMap<object, boolean>();

function exportsEverywhere(registry: ServiceRegistry, virtualServices: readonly VirtualService[]): boolean {
  const check = (key: object, exportTos: () => Iterable<readonly string[]>) => {
    let restricted = restrictsExport.get(key);
    if (restricted === undefined) {
      restricted = false;
      for (const e of exportTos()) if (e.length > 0 && !e.includes("*")) restricted = true;
      restrictsExport.set(key, restricted);
    }
    return !restricted;
  };
  return check(registry, () => registry.services.map((s) => s.exportTo)) && check(virtualServices, () => virtualServices.map((vs) => vs.spec.exportTo ?? []));
}

function sidecarClaims(registry: ServiceRegistry, all: readonly VirtualService[], proxy: SidecarProxy, gatewayNames: ReadonlySet<string>): SidecarClaims {
  const key = `${exportsEverywhere(registry, all) ? "*" : proxy.namespace}\0${[...gatewayNames].sort().join(" ")}`;
  let byVs = claimsMemo.get(registry);
  if (!byVs) claimsMemo.set(registry, (byVs = new WeakMap()));
  let byKey = byVs.get(all);
  if (!byKey) byVs.set(all, (byKey = new Map()));
  let claims = byKey.get(key);
  if (!claims) byKey.set(key, (claims = computeClaims(registry, all, proxy, gatewayNames)));
  return claims;
}

function computeClaims(registry: ServiceRegistry, all: readonly VirtualService[], proxy: SidecarProxy, gatewayNames: ReadonlySet<string>): SidecarClaims {
  const services: RegistryService[] = [];
  const serviceHosts = new Set<string>();
  for (const s of registry.services) {
    if (isVisibleFrom(s.exportTo, s.namespace, proxy.namespace) && !serviceHosts.has(s.hostname)) {
      services.push(s);
      serviceHosts.add(s.hostname);
    }
  }
  const virtualServices = virtualServicesFor(all, proxy, gatewayNames);
  const hostsOf = new Map(virtualServices.map((vs) => [vs, (vs.spec.hosts ?? []).map((h) => registry.resolveHost(h, vs.metadata.namespace))]));

  // Each service is routed by the VirtualService that names it most specifically (the first one on a tie): the
  // first naming it exactly, else the longest wildcard claiming it. Indexed, as meshes have thousands of both.
  const exactClaim = new Map<string, VirtualService>();
  const wildcardClaims: { vs: VirtualService; host: string }[] = [];
  for (const vs of virtualServices) {
    for (const h of hostsOf.get(vs)!) {
      if (!exactClaim.has(h)) exactClaim.set(h, vs);
      if (h.startsWith("*")) wildcardClaims.push({ vs, host: h });
    }
  }
  const owned = new Map<VirtualService, RegistryService[]>();
  for (const service of services) {
    let owner = exactClaim.get(service.hostname);
    if (!owner) {
      let best = -1;
      for (const { vs, host } of wildcardClaims) {
        const score = claim(host, service.hostname);
        if (score > best) (best = score), (owner = vs);
      }
    }
    if (!owner) continue;
    const list = owned.get(owner);
    if (list) list.push(service);
    else owned.set(owner, [service]);
  }
  const claimsAService = (h: string) => serviceHosts.has(h) || (h.startsWith("*") && services.some((s) => claim(h, s.hostname) >= 0));

  const claiming: ClaimingVirtualService[] = [];
  for (const vs of virtualServices) {
    const ownedByVs = owned.get(vs) ?? [];
    // Hosts naming no service still get a virtual host of their own, on their services' ports or, with none, on 80.
    const plainHosts = hostsOf.get(vs)!.filter((h) => !claimsAService(h));
    const portSet = new Set(ownedByVs.flatMap(httpPorts));
    if (portSet.size === 0 && plainHosts.length > 0) portSet.add(80);
    if (portSet.size === 0) continue;
    const ownedHosts = ownedByVs.map((s) => s.hostname);
    claiming.push({
      vs,
      owned: ownedByVs,
      ownedHosts,
      plainHosts,
      ports: [...portSet].sort((a, b) => a - b),
      inputs: [...ownedHosts, "|", ...plainHosts, "|", ...portSet],
      reusable: !(vs.spec.http ?? []).some((h) => h.delegate),
    });
  }
  return { services, virtualServices: claiming };
}

function sidecarRoutes(base: Base, proxy: SidecarProxy, mode: OutboundTrafficMode, units?: RouteUnitMemo): Map<number, EngineRouteConfig> {
  const { config, registry, clusters, issues } = base;
  const gatewayNames = proxyGatewayNames(proxy);
  const { services, virtualServices } = sidecarClaims(registry, config.virtualServices, proxy, gatewayNames);

  const vhostsByPort = new Map<number, EngineVirtualHost[]>();
  const add = (port: number, vh: EngineVirtualHost) => {
    const list = vhostsByPort.get(port) ?? [];
    list.push(vh);
    vhostsByPort.set(port, list);
  };
  /** Host → the ports a VirtualService routes. */
  const routed = new Map<string, number[]>();

  for (const { vs, owned: ownedByVs, ownedHosts, plainHosts, ports, inputs, reusable } of virtualServices) {
    const unit = routeUnit(base, units, vs, inputs, ownedHosts, reusable, () => {
      const vhosts: RouteUnit["vhosts"] = [];
      const routedHere: RouteUnit["routed"] = [];
      const sourced = expandDelegates(vs, config.virtualServices, registry.domainSuffix, issues);
      for (const port of ports) {
        const ctx: RouteContext = { proxy, gatewayNames, listenerPort: port, clusters, issues };
        const routes = buildRoutes(sourced, ctx);
        // No route applies to this proxy: its services keep their default routes.
        if (routes.length === 0) continue;
        for (const h of plainHosts) vhosts.push([port, { name: `${h}:${port}`, domains: [h, `${h}:${port}`], routes }]);
        for (const s of ownedByVs) {
          if (!httpPorts(s).includes(port)) continue;
          vhosts.push([port, { name: `${s.hostname}:${port}`, domains: sidecarServiceDomains(s, port, proxy.namespace, registry.domainSuffix), routes }]);
          routedHere.push([s.hostname, port]);
        }
      }
      return { vhosts, routed: routedHere };
    });
    for (const [port, vh] of unit.vhosts) add(port, vh);
    for (const [host, port] of unit.routed) {
      const list = routed.get(host);
      if (list) list.push(port);
      else routed.set(host, [port]);
    }
  }

  for (const s of services) {
    const taken = routed.get(s.hostname);
    const ports = taken ? httpPorts(s).filter((port) => !taken.includes(port)) : httpPorts(s);
    if (ports.length === 0) continue;
    const unit = routeUnit(base, units, s.hostname, ports, [s.hostname], true, () => ({
      vhosts: ports.map((port) => [
        port,
        {
          name: `${s.hostname}:${port}`,
          domains: sidecarServiceDomains(s, port, proxy.namespace, registry.domainSuffix),
          routes: [{ name: "default", route: [{ cluster: clusters.defaultCluster(s, port) }] }],
        },
      ]),
      routed: [],
    }));
    for (const [port, vh] of unit.vhosts) add(port, vh);
  }

  const out = new Map<number, EngineRouteConfig>();
  for (const [port, vhosts] of vhostsByPort) {
    const deduped = dedupeReplayed([...vhosts, catchAllVirtualHost(mode, clusters)], units?.dedupe?.previous.get(port));
    units?.dedupe?.next.set(port, deduped);
    out.set(port, { virtual_hosts: deduped.output });
  }
  return out;
}

/**
 * Istio's BuildCatchAllVirtualHost, last on every port: ALLOW_ANY passes unknown hosts through to their original
 * destination (PassthroughCluster, no retries); REGISTRY_ONLY answers them 502 (`block_all`, Istio's direct
 * response, so the BlackHoleCluster is never reached from HTTP).
 */
function catchAllVirtualHost(mode: OutboundTrafficMode, clusters: ClusterResolver): EngineVirtualHost {
  if (mode === "REGISTRY_ONLY") return { name: "block_all", domains: ["*"], routes: [{ name: "block_all", direct_response: { status: 502 } }] };
  return { name: "allow_any", domains: ["*"], routes: [{ name: "allow_any", route: [{ cluster: clusters.passthrough() }], retries: { attempts: 0 } }] };
}

// ---- gateways ----

const GATEWAY_HTTP = new Set(["HTTP", "HTTP2", "GRPC", "GRPC-WEB"]);

/** Servers whose traffic the gateway routes as HTTP (TLS passthrough servers are TCP/TLS routing). */
function isHttpServer(server: Server): boolean {
  const protocol = server.port.protocol.toUpperCase();
  if (GATEWAY_HTTP.has(protocol)) return true;
  const mode = server.tls?.mode ?? "SIMPLE";
  return protocol === "HTTPS" && mode !== "PASSTHROUGH" && mode !== "AUTO_PASSTHROUGH";
}

function gatewayRoutes(base: Base, proxy: GatewayProxy): Map<number, EngineRouteConfig> {
  const { config, registry, clusters, issues } = base;
  const serversByPort = new Map<number, { gateway: Gateway; server: Server }[]>();
  for (const gateway of proxy.gateways) {
    for (const server of gateway.spec.servers ?? []) {
      if (!isHttpServer(server)) continue;
      const list = serversByPort.get(server.port.number) ?? [];
      list.push({ gateway, server });
      serversByPort.set(server.port.number, list);
    }
  }

  const out = new Map<number, EngineRouteConfig>();
  for (const [port, servers] of [...serversByPort].sort(([a], [b]) => a - b)) {
    const vhosts = new Map<string, EngineVirtualHost>();
    for (const { gateway, server } of servers) {
      const gatewayNames = new Set([gatewayKey(gateway)]);
      const ctx: RouteContext = { proxy, gatewayNames, listenerPort: port, clusters, issues };
      if (server.tls?.httpsRedirect) {
        // Envoy's require_tls: every plain-HTTP request to these hosts is redirected to https, whatever the routes.
        for (const h of serverHostsFor(server.hosts, gateway.metadata.namespace, gateway.metadata.namespace)) {
          vhosts.set(h, { name: `${h}:${port}`, domains: [h], routes: [{ name: "https_redirect", redirect: { scheme: "https", redirect_code: 301 } }] });
        }
        continue;
      }
      for (const vs of virtualServicesFor(config.virtualServices, proxy, gatewayNames)) {
        const vsHosts = (vs.spec.hosts ?? []).map((h) => registry.resolveHost(h, vs.metadata.namespace));
        const hosts = intersectHosts(serverHostsFor(server.hosts, vs.metadata.namespace, gateway.metadata.namespace), vsHosts);
        if (hosts.length === 0) continue;
        const routes = buildRoutes(expandDelegates(vs, config.virtualServices, registry.domainSuffix, issues), ctx);
        if (routes.length === 0) continue;
        for (const h of hosts) {
          const existing = vhosts.get(h);
          if (existing) existing.routes.push(...routes);
          else vhosts.set(h, { name: `${h}:${port}`, domains: [h], routes: [...routes] });
        }
      }
    }
    if (vhosts.size > 0) out.set(port, { virtual_hosts: dedupeDomains([...vhosts.values()]), ignore_port_in_host_matching: true });
  }
  return out;
}
