// What the gateway holds of the control plane's resources, and the decision on each response. As Envoy does, the
// resources it can use are taken, one it cannot use (an unsupported field, a bad reference, remote code that does
// not verify) keeps its last good version, and the response is NACKed with the reasons. The resources are put
// together with the bootstrap's static ones into a GatewayConfig and handed to `apply`; a failure there rejects the
// whole response and changes nothing. Listeners wait for their RDS route configuration and clusters for their
// endpoints (Envoy's warming): until then the previous version of that listener or cluster stays, or, if it is new,
// it is left out. Shared by the ADS and REST clients. Portable.
import type { Message } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import type { Cluster } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import type { ClusterLoadAssignment } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import type { Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import type { RouteConfiguration } from "../../gen/envoy/config/route/v3/route_pb.js";
import type { SecretSource } from "../bootstrap/listener-tls.js";
import type { ClusterConfig, GatewayConfig, ListenerConfig, RouteTableConfig, SocketAddr } from "../bootstrap/types.js";
import {
  checkSupported, convertCluster, convertEndpoints, convertListener, convertRoutes, decodeResources, edsNames, isolatedResolvers,
  kindOfTypeUrl, rdsNames, remoteCodeRefs, ResourceError, TYPE_URLS, Warming, type Resolvers, type XdsKind,
} from "./convert.js";
import { RemoteCodeCache } from "./remote-code.js";

export type ResponseOutcome = { accepted: true } | { accepted: false; error: string };

/** A resource of a delta response (envoy.service.discovery.v3.Resource). */
export interface DeltaResource {
  name: string;
  version: string;
  resource?: Any | undefined;
}

/** What an xDS transport (ADS stream, REST polling) needs from the gateway. */
export interface XdsSubscriber {
  handleResponse(typeUrl: string, version: string, resources: readonly Any[]): Promise<ResponseOutcome>;
  /** The last accepted version of a type ("" before the first). */
  version(typeUrl: string): string;
  /** Names to subscribe to: [] for LDS/CDS (everything); RDS/EDS names; undefined when the type is not wanted. */
  resourceNames(typeUrl: string): string[] | undefined;
}

/** What the delta protocol needs on top. */
export interface DeltaXdsSubscriber extends XdsSubscriber {
  handleDelta(typeUrl: string, systemVersion: string, resources: readonly DeltaResource[], removed: readonly string[]): Promise<ResponseOutcome>;
  resourceVersions(typeUrl: string): Record<string, string>;
}

/** Request order: a cluster before its endpoints, a listener before its routes. */
export const REQUEST_ORDER: readonly XdsKind[] = ["clusters", "endpoints", "listeners", "routes"];

export interface XdsStateOptions {
  /** The bootstrap's part: node, admin, static listeners and clusters, and which of LDS/CDS come over xDS. */
  base: GatewayConfig;
  /** Puts a new configuration into service; a throw rejects (NACKs) the response that led to it. */
  apply(config: GatewayConfig): Promise<void>;
  /** local.filename of wasm code from LDS (default: as given). */
  resolvePath?(name: string): string;
  remoteCode?: RemoteCodeCache;
  /** Certificates of TLS listeners (SDS secrets by name, e.g. from --secrets-dir); without it they are NACKed. */
  secrets?: SecretSource;
  /** How long the first configuration waits for listeners' routes and clusters' endpoints. Default 15 s (Envoy's). */
  initialFetchTimeoutMs?: number;
  log?(line: string): void;
  /** Rewrites each response's decoded resources before they are checked (sidecar mode on loopback: sidecar.ts). */
  localize?(kind: XdsKind, messages: Map<string, Message>): Map<string, Message>;
}

interface Resources {
  listeners: Map<string, Listener>;
  routes: Map<string, RouteConfiguration>;
  clusters: Map<string, Cluster>;
  endpoints: Map<string, ClusterLoadAssignment>;
}

export class XdsState implements DeltaXdsSubscriber {
  private resources: Resources = { listeners: new Map(), routes: new Map(), clusters: new Map(), endpoints: new Map() };
  /** Built route tables and endpoints of the accepted resources (the builders are pure; this saves rebuilding). */
  private builtRoutes = new Map<string, RouteTableConfig>();
  private builtEndpoints = new Map<string, SocketAddr[]>();
  private readonly versions = new Map<XdsKind, string>();
  private readonly deltaVersions = new Map<XdsKind, Map<string, string>>();
  private readonly received = new Set<XdsKind>();
  private lastApplied: GatewayConfig | undefined;
  private lastAppliedKey = "";
  private queue: Promise<unknown> = Promise.resolve();
  private lastWarming = "";
  private initialTimer: ReturnType<typeof setTimeout> | undefined;
  readonly remoteCode: RemoteCodeCache;
  private readonly resolvePath: (name: string) => string;
  private readonly log: (line: string) => void;

  constructor(private readonly opts: XdsStateOptions) {
    this.remoteCode = opts.remoteCode ?? new RemoteCodeCache();
    this.resolvePath = opts.resolvePath ?? ((n) => n);
    this.log = opts.log ?? (() => {});
  }

  /** Stops the initial fetch timer (shutdown). */
  close(): void {
    clearTimeout(this.initialTimer);
  }

  /** True once a configuration has been applied (complete, or what there was at the initial fetch timeout). */
  get ready(): boolean {
    return this.lastApplied !== undefined;
  }

  /** The configuration in service. */
  get config(): GatewayConfig | undefined {
    return this.lastApplied;
  }

  version(typeUrl: string): string {
    const kind = kindOfTypeUrl(typeUrl);
    return (kind && this.versions.get(kind)) ?? "";
  }

  resourceNames(typeUrl: string): string[] | undefined {
    const kind = kindOfTypeUrl(typeUrl);
    const ads = this.opts.base.ads;
    switch (kind) {
      case "listeners":
        return ads?.lds ? [] : undefined;
      case "clusters":
        return ads?.cds ? [] : undefined;
      case "routes":
        return ads?.lds ? namesOf([...this.resources.listeners.values()].flatMap(rdsNames)) : undefined;
      case "endpoints":
        return ads?.cds ? namesOf([...this.resources.clusters.values()].flatMap(edsNames)) : undefined;
      default:
        return undefined;
    }
  }

  /** State of the world: `resources` is everything of the type (LDS, CDS) or everything subscribed (RDS, EDS). */
  handleResponse(typeUrl: string, version: string, resources: readonly Any[]): Promise<ResponseOutcome> {
    // RDS and EDS are not "full state" types: a response may carry only the changed resources (xDS protocol), so
    // the others stay as they are while still subscribed.
    return this.serialized(typeUrl, (kind) => this.handle(kind, version, this.localized(kind, decodeResources(kind, resources)), kind === "routes" || kind === "endpoints"));
  }

  /** Delta: `resources` are added or changed, `removed` are gone; the rest of what the gateway has stays. */
  handleDelta(typeUrl: string, systemVersion: string, resources: readonly DeltaResource[], removed: readonly string[]): Promise<ResponseOutcome> {
    return this.serialized(typeUrl, async (kind) => {
      const added = this.localized(kind, decodeResources(kind, resources.map((r) => r.resource).filter((a): a is Any => a !== undefined)));
      resources.forEach((r, i) => {
        if (!r.resource) throw new ResourceError(`resources[${i}] "${r.name}": no resource (on-demand xDS is not supported by halyard gateway)`);
        if (!added.has(r.name)) throw new ResourceError(`resources[${i}]: name "${r.name}" differs from the resource's own name`);
      });
      const merged = new Map<string, Message>(this.resources[kind] as Map<string, Message>);
      for (const name of removed) merged.delete(name);
      for (const [name, m] of added) merged.set(name, m);
      const outcome = await this.handle(kind, systemVersion, merged);
      const versions = this.deltaVersions.get(kind) ?? new Map<string, string>();
      for (const name of removed) versions.delete(name);
      for (const r of resources) if ((this.resources[kind] as Map<string, Message>).get(r.name) === added.get(r.name)) versions.set(r.name, r.version);
      this.deltaVersions.set(kind, versions);
      return outcome;
    });
  }

  /** Delta: the versions of the resources the gateway holds (initial_resource_versions on a new stream). */
  resourceVersions(typeUrl: string): Record<string, string> {
    const kind = kindOfTypeUrl(typeUrl);
    return Object.fromEntries((kind && this.deltaVersions.get(kind)) ?? []);
  }

  private localized(kind: XdsKind, messages: Map<string, Message>): Map<string, Message> {
    return this.opts.localize ? this.opts.localize(kind, messages) : messages;
  }

  private serialized(typeUrl: string, run: (kind: XdsKind) => Promise<ResponseOutcome>): Promise<ResponseOutcome> {
    const kind = kindOfTypeUrl(typeUrl);
    const result = this.queue.then(async (): Promise<ResponseOutcome> => {
      if (!kind) return { accepted: false, error: `type ${typeUrl} is not supported by halyard gateway` };
      try {
        return await run(kind);
      } catch (e) {
        return { accepted: false, error: e instanceof Error ? e.message : String(e) };
      }
    });
    this.queue = result.catch(() => {});
    return result;
  }

  /** `partial`: resources of `kind` absent from `messages` are kept (SotW RDS / EDS) while still subscribed. */
  private async handle(kind: XdsKind, version: string, messages: Map<string, Message>, partial = false): Promise<ResponseOutcome> {
    const next: Resources = { ...this.resources };
    const built = { routes: this.builtRoutes, endpoints: this.builtEndpoints };
    const errors: string[] = [];
    switch (kind) {
      case "listeners":
        next.listeners = (await this.sift(messages as Map<string, Listener>, this.resources.listeners, (n, l) => this.checkListener(n, l), errors)).messages;
        break;
      case "clusters":
        next.clusters = (await this.sift(messages as Map<string, Cluster>, this.resources.clusters, (n, c) => this.checkCluster(n, c), errors)).messages;
        break;
      case "routes": {
        const r = await this.sift(messages as Map<string, RouteConfiguration>, this.resources.routes, (n, rc) => (checkSupported("routes", n, rc), convertRoutes(rc, this.clusterNames(this.resources.clusters))), errors, this.builtRoutes);
        if (partial) keepUnmentioned(r, this.resources.routes, this.builtRoutes, this.resourceNames(TYPE_URLS.routes));
        [next.routes, built.routes] = [r.messages, r.built];
        break;
      }
      case "endpoints": {
        const r = await this.sift(messages as Map<string, ClusterLoadAssignment>, this.resources.endpoints, (n, cla) => (checkSupported("endpoints", n, cla), convertEndpoints(cla)), errors, this.builtEndpoints);
        if (partial) keepUnmentioned(r, this.resources.endpoints, this.builtEndpoints, this.resourceNames(TYPE_URLS.endpoints));
        [next.endpoints, built.endpoints] = [r.messages, r.built];
        break;
      }
    }
    const received = new Set(this.received).add(kind);
    const { config, warming } = this.assemble(next, built);
    const complete = (!this.opts.base.ads?.lds || received.has("listeners")) && (!this.opts.base.ads?.cds || received.has("clusters"));
    const key = configKey(config);
    if (this.lastApplied || (complete && warming.length === 0)) {
      if (key !== this.lastAppliedKey) await this.opts.apply(config);
      this.lastApplied = config;
      this.lastAppliedKey = key;
    } else if (complete) this.armInitialFetchTimeout();
    if (warming.length > 0 && warmingKey(warming) !== this.lastWarming) this.log(`xds: waiting for ${summarize(warming)}`);
    this.lastWarming = warmingKey(warming);
    this.resources = next;
    this.builtRoutes = built.routes;
    this.builtEndpoints = built.endpoints;
    this.received.add(kind);
    if (errors.length > 0) return { accepted: false, error: joinErrors(errors) };
    this.versions.set(kind, version);
    return { accepted: true };
  }

  /**
   * Envoy's way with a state-of-the-world update: the resources that pass `check` are taken, one that fails keeps
   * its previous accepted version (or stays out), and the failures make the NACK.
   */
  private async sift<M, B>(
    incoming: Map<string, M>,
    previous: Map<string, M>,
    check: (name: string, m: M) => B | Promise<B>,
    errors: string[],
    previousBuilt?: Map<string, B>,
  ): Promise<{ messages: Map<string, M>; built: Map<string, B> }> {
    const messages = new Map<string, M>();
    const built = new Map<string, B>();
    for (const [name, m] of incoming) {
      try {
        built.set(name, await check(name, m));
        messages.set(name, m);
      } catch (e) {
        if (!(e instanceof ResourceError || e instanceof RemoteCodeError)) throw e;
        errors.push(e.message);
        const prev = previous.get(name);
        const prevBuilt = previousBuilt?.get(name);
        if (prev !== undefined && (previousBuilt === undefined || prevBuilt !== undefined)) {
          messages.set(name, prev);
          if (prevBuilt !== undefined) built.set(name, prevBuilt);
        }
      }
    }
    return { messages, built };
  }

  private async checkListener(name: string, l: Listener): Promise<void> {
    const clusterNames = this.clusterNames(this.resources.clusters);
    if (this.opts.base.listeners.some((s) => s.name === name)) throw new ResourceError(`listener "${name}": a static listener of that name exists in the bootstrap`);
    checkSupported("listeners", name, l);
    convertListener(l, clusterNames, isolatedResolvers(this.resolvePath, this.opts.secrets));
    const refs = remoteCodeRefs(l, clusterNames, this.resolvePath, this.opts.secrets);
    try {
      await Promise.all(refs.map((r) => this.remoteCode.ensure(r)));
    } catch (e) {
      throw new RemoteCodeError(`listener "${name}": ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private checkCluster(name: string, c: Cluster): void {
    if (this.opts.base.clusters.some((s) => s.name === name)) throw new ResourceError(`cluster "${name}": a static cluster of that name exists in the bootstrap`);
    checkSupported("clusters", name, c);
    convertCluster(c, isolatedResolvers(this.resolvePath, this.opts.secrets));
  }

  // Envoy's initial_fetch_timeout: a listener or cluster still waiting for its routes or endpoints does not hold
  // back the rest forever; it stays out until they come.
  private armInitialFetchTimeout(): void {
    if (this.initialTimer !== undefined) return;
    this.initialTimer = setTimeout(() => {
      const run = this.queue.then(async () => {
        if (this.lastApplied) return;
        const { config, warming } = this.assemble(this.resources, { routes: this.builtRoutes, endpoints: this.builtEndpoints });
        this.log(`xds: initial fetch timeout: starting without ${summarize(warming)}`);
        try {
          await this.opts.apply(config);
          this.lastApplied = config;
          this.lastAppliedKey = configKey(config);
        } catch (e) {
          this.log(`xds: ${e instanceof Error ? e.message : String(e)}`);
        }
      });
      this.queue = run.catch(() => {});
    }, this.opts.initialFetchTimeoutMs ?? 15_000);
  }

  private clusterNames(clusters: Map<string, Cluster>): Set<string> {
    return new Set([...this.opts.base.clusters.map((c) => c.name), ...clusters.keys()]);
  }

  private assemble(next: Resources, built: { routes: Map<string, RouteTableConfig>; endpoints: Map<string, SocketAddr[]> }): { config: GatewayConfig; warming: string[] } {
    const base = this.opts.base;
    const warming: string[] = [];
    const resolvers: Resolvers = {
      resolvePath: this.resolvePath,
      routes: (name) => built.routes.get(name),
      endpoints: (svc) => built.endpoints.get(svc),
      code: (sha) => this.remoteCode.pathOf(sha),
      ...(this.opts.secrets ? { secrets: this.opts.secrets } : {}),
    };
    const previousClusters = new Map((this.lastApplied?.clusters ?? []).map((c) => [c.name, c]));
    const clusters: ClusterConfig[] = [...base.clusters];
    for (const c of next.clusters.values()) {
      const built = warmingOr(() => convertCluster(c, resolvers), () => warming.push(`endpoints of cluster "${c.name}"`));
      const use = built ?? previousClusters.get(c.name);
      if (use) clusters.push(use);
    }
    const clusterNames = this.clusterNames(next.clusters);
    const previousListeners = new Map((this.lastApplied?.listeners ?? []).map((l) => [l.name, l]));
    const listeners: ListenerConfig[] = [...base.listeners];
    for (const l of next.listeners.values()) {
      const built = warmingOr(() => convertListener(l, clusterNames, resolvers), (what) => warming.push(`${what} of listener "${l.name}"`));
      const use = built ?? previousListeners.get(l.name);
      if (use) listeners.push(use);
    }
    checkAddresses(listeners);
    return { config: { ...base, listeners, clusters }, warming };
  }
}

class RemoteCodeError extends Error {}

/** Adds to `r` the previously accepted resources a partial response did not mention and that are still subscribed. */
function keepUnmentioned<M, B>(
  r: { messages: Map<string, M>; built: Map<string, B> },
  previous: Map<string, M>,
  previousBuilt: Map<string, B>,
  subscribed: string[] | undefined,
): void {
  const wanted = subscribed === undefined ? undefined : new Set(subscribed);
  for (const [name, m] of previous) {
    if (r.messages.has(name) || (wanted !== undefined && !wanted.has(name))) continue;
    const b = previousBuilt.get(name);
    if (b === undefined) continue;
    r.messages.set(name, m);
    r.built.set(name, b);
  }
}

const MAX_ERRORS = 5;

function joinErrors(errors: string[]): string {
  const shown = errors.slice(0, MAX_ERRORS).join("; ");
  return errors.length > MAX_ERRORS ? `${shown}; and ${errors.length - MAX_ERRORS} more` : shown;
}

function warmingKey(warming: string[]): string {
  return warming.join("\n");
}

/** The first few things waited for, and how many more: one short line. */
function summarize(warming: string[]): string {
  const shown = warming.slice(0, 3).join(", ");
  return warming.length > 3 ? `${shown} and ${warming.length - 3} more` : shown;
}

function warmingOr<T>(build: () => T, onWarming: (what: string) => void): T | undefined {
  // `what` names the missing piece: route configuration "x", wasm code <sha256>.
  try {
    return build();
  } catch (e) {
    if (e instanceof Warming) {
      onWarming(e.message);
      return undefined;
    }
    throw e;
  }
}

// Two listeners cannot bind the same address and port (port 0 is a new port each time).
function checkAddresses(listeners: ListenerConfig[]): void {
  const seen = new Map<string, string>();
  for (const l of listeners) {
    if (l.address.port === 0) continue;
    const key = `${l.address.address}:${l.address.port}`;
    const other = seen.get(key);
    if (other !== undefined) throw new ResourceError(`listener "${l.name}": address ${key} is already used by listener "${other}"`);
    seen.set(key, l.name);
  }
}

function namesOf(names: string[]): string[] {
  return [...new Set(names)].sort();
}

/** Equal configurations, equal keys (Uint8Array configuration bytes included). */
export function configKey(config: unknown): string {
  return JSON.stringify(config, (_k, v: unknown) => (v instanceof Uint8Array ? `bytes:${Array.from(v).join(",")}` : v));
}

export { TYPE_URLS };
