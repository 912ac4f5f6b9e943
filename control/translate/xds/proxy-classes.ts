// The translator as `halyard serve` runs it for thousands of proxies. Proxies that translate alike share one
// translation: a sidecar's outbound side (clusters, endpoints, virtualOutbound, route configs) depends on its
// role, namespace, locality, wasm code, gateways, and on those of its labels that some selector asks about — not on
// the rest of its labels or on its own workload. Rather than listing which selectors exist (and missing the next
// one someone adds), the first translation of a class runs on a context that records what it reads: the label keys
// it looks up (with the values it saw), and whether it touched the node's own identity (id, workload, metadata).
// Another proxy joins the class when it agrees on all of that. The workload's own side (virtualInbound,
// `inbound|<port>||`) is built per node and layered over the shared resources; resources are encoded once per
// content, and equal type snapshots are the same object, so unchanged types are not even compared on a push.
import type { Message } from "@bufbuild/protobuf";
import type { ConfigSet } from "../../config/config-set.js";
import { buildRegistry, type ServiceRegistry } from "../../registry/registry.js";
import type { SnapshotBuilder } from "../../serve.js";
import type { XdsNode } from "../../xds/node.js";
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, resourceType, ROUTE_TYPE } from "../../xds/resource-types.js";
import {
  buildSnapshot,
  layeredTypeSnapshot,
  replacedTypeSnapshot,
  ResourceEncoder,
  snapshotOf,
  typeSnapshot,
  type CachedResource,
  type Snapshot,
  type TypeSnapshot,
} from "../../xds/snapshot.js";
import type { Listener } from "../../../gen/envoy/config/listener/v3/listener_pb.js";
import { configDelta, registryInputsUnchanged, type ConfigDelta } from "../config-delta.js";
import type { DedupedVhosts, RouteUnit } from "../routes.js";
import { ClusterMemo, inboundPorts, type BuiltCluster } from "./clusters.js";
import {
  buildProxyResources,
  inboundResources,
  outboundResources,
  sidecarMtlsModes,
  snapshotResources,
  wasmFor,
  type IncrementalPieces,
  type XdsTranslateOptions,
} from "./index.js";
import type { InboundModes } from "./mtls.js";
import type { ListenerMemo } from "./listeners.js";
import { proxyContext, type ProxyContext } from "./node.js";
import { routesJson, ScopedRouteMemo } from "./scoped-routes.js";
import type { EngineVirtualHost } from "../engine-config.js";
import { translateSecurity, type SecurityTranslation } from "../security.js";

/** What a translation read of the proxy beyond its class key. */
interface Reads {
  /** Label key → the value it had (undefined: absent). */
  labels: Map<string, string | undefined>;
  /** The labels were enumerated: every label matters. */
  allLabels: boolean;
  /** The node's own identity was read: the result is this node's alone. */
  node: boolean;
}

interface ProxyClass {
  reads: Reads;
  /** Set when `reads.allLabels`. */
  labelsKey?: string;
  /** Set when `reads.node`. */
  nodeKey?: string;
  listeners: TypeSnapshot;
  routes: TypeSnapshot;
  clusters: TypeSnapshot;
  endpoints: TypeSnapshot;
  /** Sidecar classes: what the next config version's translation of this class may reuse. */
  carried?: CarriedPieces;
}

/** A sidecar class's translation pieces and the messages each type snapshot was made of. */
interface CarriedPieces {
  config: ConfigSet;
  routes: Map<unknown, RouteUnit>;
  /** Each port's domain de-duplication (routes.ts DedupedVhosts). */
  dedupe: Map<number, DedupedVhosts>;
  clusters: Map<string, BuiltCluster[]>;
  listener: ListenerMemo["previous"];
  messages: Map<string, { messages: readonly Message[]; type: TypeSnapshot }>;
}

const NODE_FIELDS: ReadonlySet<PropertyKey> = new Set(["nodeId", "node", "workload", "metadata"]);

function sortedLabels(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function nodeKeyOf(ctx: ProxyContext): string {
  return JSON.stringify([ctx.nodeId, ctx.metadata]);
}

function trackLabels(labels: Record<string, string>, reads: Reads): Record<string, string> {
  const seen = (key: PropertyKey) => {
    if (typeof key === "string") reads.labels.set(key, Object.hasOwn(labels, key) ? labels[key] : undefined);
  };
  return new Proxy(labels, {
    get(target, key, receiver) {
      seen(key);
      return Reflect.get(target, key, receiver);
    },
    has(target, key) {
      seen(key);
      return Reflect.has(target, key);
    },
    getOwnPropertyDescriptor(target, key) {
      seen(key);
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
    ownKeys(target) {
      reads.allLabels = true;
      return Reflect.ownKeys(target);
    },
  });
}

/** `ctx` as a translation of the class sees it, recording what it reads into `reads`. */
function trackedContext(ctx: ProxyContext, reads: Reads): ProxyContext {
  const proxy = { ...ctx.proxy, labels: trackLabels(ctx.proxy.labels, reads) };
  const base: ProxyContext = { ...ctx, labels: trackLabels(ctx.labels, reads), proxy };
  return new Proxy(base, {
    get(target, key, receiver) {
      if (NODE_FIELDS.has(key)) reads.node = true;
      return Reflect.get(target, key, receiver);
    },
  });
}

function joins(cls: ProxyClass, ctx: ProxyContext): boolean {
  if (cls.reads.node && cls.nodeKey !== nodeKeyOf(ctx)) return false;
  if (cls.reads.allLabels) return cls.labelsKey === sortedLabels(ctx.labels);
  for (const [k, v] of cls.reads.labels) if ((Object.hasOwn(ctx.labels, k) ? ctx.labels[k] : undefined) !== v) return false;
  return true;
}

/** Values of the current and the previous generation (config version); older ones are dropped. */
class Generations<V> {
  #current = new Map<string, V>();
  #previous = new Map<string, V>();

  advance(): void {
    this.#previous = this.#current;
    this.#current = new Map();
  }

  get(key: string, make: () => V): V {
    let v = this.#current.get(key);
    if (v === undefined) {
      v = this.#previous.get(key) ?? make();
      this.#current.set(key, v);
    }
    return v;
  }
}

export class SharedSnapshotBuilder implements SnapshotBuilder {
  readonly #options: XdsTranslateOptions;
  readonly #registries = new WeakMap<ConfigSet, ServiceRegistry>();
  readonly #classes = new WeakMap<ConfigSet, Map<string, ProxyClass[]>>();
  readonly #encoder = new ResourceEncoder();
  readonly #memo = new ClusterMemo();
  readonly #routeMemo = new ScopedRouteMemo();
  readonly #types = new Generations<TypeSnapshot>();
  readonly #inbound = new Generations<{ listeners: CachedResource[]; clusters: CachedResource[] }>();
  readonly #layered = new WeakMap<TypeSnapshot, WeakMap<CachedResource[], TypeSnapshot>>();
  /** Carried virtual hosts, one per content across classes (never modified). */
  readonly #vhosts = new Generations<EngineVirtualHost>();
  #config: ConfigSet | undefined;
  /** Class translations so far: from scratch, and incremental (reusing the class's pieces under the previous config). */
  readonly translations = { full: 0, incremental: 0 };
  /** The config before `#config`, and what changed from it (incremental translation of sidecar classes). */
  #previous: { config: ConfigSet; delta: ConfigDelta } | undefined;

  constructor(options: XdsTranslateOptions = {}) {
    this.#options = options;
  }

  build(config: ConfigSet, node: XdsNode): Snapshot {
    let registry = this.#registries.get(config);
    if (!registry) {
      // Most edits (routing, policies) leave the registry's inputs alone: keep the previous one.
      const previous = this.#config && this.#registries.get(this.#config);
      registry = previous && registryInputsUnchanged(this.#config!, config) ? previous : buildRegistry(config);
      this.#registries.set(config, registry);
    }
    if (config !== this.#config) {
      const before = this.#config;
      const beforeRegistry = before && this.#registries.get(before);
      this.#previous = before && beforeRegistry ? { config: before, delta: configDelta(before, beforeRegistry, config, registry) } : undefined;
      this.#config = config;
      this.#memo.advance();
      this.#routeMemo.advance();
      this.#types.advance();
      this.#inbound.advance();
      this.#vhosts.advance();
    }
    const ctx = proxyContext(config, registry, node, { trustDomain: this.#options.security?.trustDomain });
    if (ctx.role === "grpc") return buildSnapshot(snapshotResources(buildProxyResources(config, registry, node, this.#options)), this.#encoder);

    // RequestAuthentication / AuthorizationPolicy depend on the namespace and labels: keyed by their output below.
    const security = translateSecurity(config, ctx.proxy, this.#options.security);
    const shared = this.#classFor(config, registry, ctx, security);
    const inbound = this.#inboundFor(ctx, security, sidecarMtlsModes(config, ctx));
    return snapshotOf([this.#layer(shared.listeners, inbound.listeners), shared.routes, this.#layer(shared.clusters, inbound.clusters), shared.endpoints]);
  }

  /** The class's set with a node's own resources on top; one per (set, overlay) pair, so an edit that left both
   *  alone (a route change: listeners and clusters) costs a node no new set and no new version digest. */
  #layer(base: TypeSnapshot, overlay: CachedResource[]): TypeSnapshot {
    let byOverlay = this.#layered.get(base);
    if (!byOverlay) this.#layered.set(base, (byOverlay = new WeakMap()));
    let layered = byOverlay.get(overlay);
    if (!layered) byOverlay.set(overlay, (layered = layeredTypeSnapshot(base, overlay)));
    return layered;
  }

  #classFor(config: ConfigSet, registry: ServiceRegistry, ctx: ProxyContext, security: SecurityTranslation): ProxyClass {
    const wasm = wasmFor(ctx, this.#options);
    const gateways = ctx.proxy.kind === "gateway" ? ctx.proxy.gateways.map((g) => `${g.metadata.namespace}/${g.metadata.name}`) : [];
    // A router runs its policies' filters on its own listeners; sidecars run them inbound only.
    const routerSecurity = ctx.role === "router" ? [security.jwt ?? null, security.authz ?? null] : null;
    const key = JSON.stringify([ctx.role, ctx.namespace, ctx.locality ?? null, wasm, gateways, routerSecurity, ctx.sdsCluster ?? null]);
    let byKey = this.#classes.get(config);
    if (!byKey) this.#classes.set(config, (byKey = new Map()));
    const candidates = byKey.get(key) ?? [];
    const known = candidates.find((c) => joins(c, ctx));
    if (known) return known;

    // The same class under the previous config, when only host-scoped things changed since: its pieces that no
    // change touched are reused, and the reads they made carry over (this proxy agrees with them: it joins).
    const base = ctx.role === "sidecar" ? this.#previousClass(key, ctx) : undefined;
    const reads: Reads = base
      ? { labels: new Map(base.reads.labels), allLabels: base.reads.allLabels, node: base.reads.node }
      : { labels: new Map(), allLabels: false, node: false };
    const carried: CarriedPieces | undefined =
      ctx.role === "sidecar" ? { config, routes: new Map(), dedupe: new Map(), clusters: new Map(), listener: undefined, messages: new Map() } : undefined;
    let incremental: IncrementalPieces | undefined;
    if (carried) {
      const touched = this.#previous?.delta.hosts ?? new Set<string>();
      const prior = base?.carried;
      incremental = {
        routes: {
          touched,
          previous: prior?.routes ?? new Map(),
          next: carried.routes,
          shareVhost: (vh) => this.#vhosts.get(`${vh.name}\0${vh.domains.join(" ")}\0${routesJson(vh.routes)}`, () => vh),
          dedupe: { previous: prior?.dedupe ?? new Map(), next: carried.dedupe },
        },
        clusters: { touched, previous: prior?.clusters ?? new Map(), next: carried.clusters },
        listener: prior?.listener ? { previous: prior.listener } : {},
      };
    }
    this.translations[base ? "incremental" : "full"]++;
    const tracked = trackedContext(ctx, reads);
    const out = outboundResources(config, registry, tracked, wasm, this.#memo, ctx.role === "router" ? security : undefined, this.#routeMemo, this.#options.outboundTrafficPolicy, incremental);
    if (carried && incremental) carried.listener = incremental.listener.next;
    const prior = base?.carried?.messages;
    const cls: ProxyClass = {
      reads,
      ...(reads.allLabels ? { labelsKey: sortedLabels(ctx.labels) } : {}),
      ...(reads.node ? { nodeKey: nodeKeyOf(ctx) } : {}),
      listeners: this.#typeOf(LISTENER_TYPE, out.listeners, prior, carried),
      routes: this.#typeOf(ROUTE_TYPE, out.routes, prior, carried),
      clusters: this.#typeOf(CLUSTER_TYPE, out.clusters, prior, carried),
      endpoints: this.#typeOf(ENDPOINT_TYPE, out.endpoints, prior, carried),
      ...(carried ? { carried } : {}),
    };
    byKey.set(key, [...candidates, cls]);
    return cls;
  }

  /** The class `ctx` belonged to under the previous config, if everything class-wide stayed the same since. */
  #previousClass(key: string, ctx: ProxyContext): ProxyClass | undefined {
    const previous = this.#previous;
    if (!previous || previous.delta.classWide) return undefined;
    const cls = this.#classes.get(previous.config)?.get(key)?.find((c) => joins(c, ctx));
    return cls?.carried?.config === previous.config ? cls : undefined;
  }

  /**
   * The type snapshot of these messages; one object per content, so equal types compare by identity. When the
   * messages are the very ones the class's previous type was made of, that type is reused without re-hashing.
   */
  #typeOf(typeUrl: string, messages: readonly Message[], prior?: CarriedPieces["messages"], carried?: CarriedPieces): TypeSnapshot {
    const before = prior?.get(typeUrl);
    const changed = before && before.messages.length === messages.length ? changedIndices(before.messages, messages) : undefined;
    let type: TypeSnapshot;
    if (before && changed?.length === 0) {
      const kept = before.type;
      type = this.#types.get(`${typeUrl}\0${kept.version}`, () => kept);
    } else {
      // An edit that changed a few messages in place (a weight edit: one scope's RouteConfiguration) patches the
      // previous set; anything else (names moved, many changed) builds the set anew.
      const made =
        (before && changed && changed.length * 8 <= messages.length && this.#replaced(typeUrl, before, messages, changed)) ||
        typeSnapshot(typeUrl, messages.map((m, i) => this.#encoder.encode(typeUrl, m, `${typeUrl}[${i}]`)));
      type = this.#types.get(`${typeUrl}\0${made.version}`, () => made);
    }
    carried?.messages.set(typeUrl, { messages, type });
    return type;
  }

  /** `before`'s type with the messages at `changed` replaced, if each keeps its resource name. */
  #replaced(typeUrl: string, before: { messages: readonly Message[]; type: TypeSnapshot }, messages: readonly Message[], changed: readonly number[]): TypeSnapshot | undefined {
    const replacements: CachedResource[] = [];
    const nameOf = resourceType(typeUrl)!.nameOf;
    for (const i of changed) {
      const r = this.#encoder.encode(typeUrl, messages[i]!, `${typeUrl}[${i}]`);
      // By name, not by message object: before.type may be another class's set of the same content (types are
      // interned by version), whose resources hold that class's message objects.
      if (nameOf(before.messages[i]!) !== r.name || !before.type.resources.has(r.name)) return undefined;
      replacements.push(r);
    }
    return replacedTypeSnapshot(before.type, replacements);
  }

  #inboundFor(ctx: ProxyContext, security: SecurityTranslation, mtlsModes: InboundModes | undefined): { listeners: CachedResource[]; clusters: CachedResource[] } {
    // What the inbound side is built from: each served port's number, protocol and service, and the workload's
    // halyard.jwt / halyard.authz configurations (with the wasm code they run from).
    const wasm = security.jwt || security.authz ? wasmFor(ctx, this.#options) : undefined;
    const key = JSON.stringify([
      ctx.role,
      inboundPorts(ctx).map((p) => [p.port, p.protocol, p.service.hostname, p.service.namespace]),
      ctx.role === "sidecar" ? [security.jwt ?? null, security.authz ?? null, wasm ?? null] : null,
      mtlsModes ?? null,
      ctx.sdsCluster ?? null,
    ]);
    return this.#inbound.get(key, () => {
      const r = inboundResources(ctx, security, wasm, mtlsModes);
      return {
        listeners: r.listeners.map((m) => this.#encoder.encode(LISTENER_TYPE, m)),
        clusters: r.clusters.map((m) => this.#encoder.encode(CLUSTER_TYPE, m)),
      };
    });
  }
}

/** Where two equally long message lists differ (by identity). */
function changedIndices(before: readonly Message[], after: readonly Message[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < after.length; i++) if (before[i] !== after[i]) out.push(i);
  return out;
}
