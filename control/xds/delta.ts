// Incremental (delta) xDS on one stream, independent of the transport.
//
// Per type the server keeps what the client has (name → version: initial_resource_versions, then everything
// sent) and sends only resources whose version differs, plus removed_resources for names the client has (or
// explicitly asked for) that no longer exist. Responses are not held back waiting for ACKs; an ACK/NACK answering
// the last nonce only updates the sync status. A NACKed version is not re-sent: the client's copy is marked as
// that version, so only a further change goes out.
//
// What the client has is kept as the type snapshot last diffed against (`base`, with the subscription of that
// diff: the client has base's version of every name it selected) plus the few names where it differs (`extra`),
// so a push costs what changed between two snapshots — memoised per snapshot pair for all streams — and an ACK
// costs nothing beyond the sync status; neither walks every name a proxy follows. Subscriptions are interned
// (sotw.ts) and replaced, never edited, so streams that subscribe alike share them and the cache's memos.
import { create } from "@bufbuild/protobuf";
import {
  DeltaDiscoveryResponseSchema,
  ResourceSchema,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
} from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import type { Watch } from "./cache.js";
import { attachEncodedParts, deltaDiscoveryResponseParts } from "./encoded-response.js";
import { resourceType } from "./resource-types.js";
import {
  changedNames,
  coversType,
  deltaResourceEntry,
  encodedDeltaAll,
  removedNames,
  sortedResources,
  typeSnapshotOf,
  type CachedResource,
  type Subscription,
  type TypeSnapshot,
} from "./snapshot.js";
import { subscribeNamesKey } from "./discovery-request.js";
import { CONTROL_PLANE_ID, internSubscription, internSubscriptionByRawKey } from "./sotw.js";
import { StreamSession, type StreamContext } from "./stream-session.js";

/** The client was told this explicitly subscribed resource does not exist. */
const TOLD_ABSENT = "\0absent";
/** In `extra`: the client does not have this resource, whatever `base` says. */
const NOT_HELD = "\0not-held";
const ANSWER_NOW = "\0answer-now";

interface DeltaTypeState {
  subscription: Subscription;
  /** The type snapshot the last diff was computed against; undefined before the first one (or after a wildcard switch). */
  base: TypeSnapshot | undefined;
  /** The subscription of that diff. */
  baseSubscription: Subscription | undefined;
  /** Names where the client's copy is not what base and baseSubscription say: version, TOLD_ABSENT or NOT_HELD. */
  extra: Map<string, string>;
  nonce: string;
  sentVersion: string;
  /** Type version the last diff was computed against. */
  seenVersion: string;
  /** No response sent yet: the first one goes out even when empty, so the client knows where it stands. */
  initial: boolean;
  watch: Watch | undefined;
}

function selects(subscription: Subscription, name: string): boolean {
  return subscription.wildcard || subscription.names.has(name);
}

/** The version of `name` the client has (TOLD_ABSENT included), or undefined. */
function clientHas(state: DeltaTypeState, name: string): string | undefined {
  const e = state.extra.get(name);
  if (e !== undefined) return e === NOT_HELD ? undefined : e;
  if (state.base && selects(state.baseSubscription!, name)) return state.base.resources.get(name)?.version;
  return undefined;
}

/** Pins a name's current client state in `extra`, so it no longer depends on base (and the next diff looks at it). */
function pin(state: DeltaTypeState, name: string): void {
  if (!state.extra.has(name)) state.extra.set(name, clientHas(state, name) ?? NOT_HELD);
}

export class DeltaStream extends StreamSession<DeltaDiscoveryRequest> {
  #types = new Map<string, DeltaTypeState>();

  constructor(
    ctx: StreamContext,
    private readonly send: (response: DeltaDiscoveryResponse) => void,
  ) {
    super(ctx, "delta");
  }

  protected onRequest(typeUrl: string, request: DeltaDiscoveryRequest): void {
    let state = this.#types.get(typeUrl);
    if (!state) {
      // A raw subscribe list (readDeltaDiscoveryRequest) is decoded only the first time any stream sends it.
      const raw = subscribeNamesKey(request);
      const subscribe = () => request.resourceNamesSubscribe;
      const names = () => [...new Set(subscribe().filter((n) => n !== "*"))];
      const wildcard = raw ? raw.wildcard : subscribe().includes("*") || (subscribe().length === 0 && resourceType(typeUrl)?.wildcardByDefault === true);
      state = {
        subscription: raw ? internSubscriptionByRawKey(wildcard, raw.key, names) : internSubscription(wildcard, names()),
        base: undefined,
        baseSubscription: undefined,
        extra: new Map(Object.entries(request.initialResourceVersions)),
        nonce: "",
        sentVersion: "",
        seenVersion: "",
        initial: true,
        watch: undefined,
      };
      this.#types.set(typeUrl, state);
    } else {
      if (request.responseNonce !== "" && request.responseNonce === state.nonce) {
        if (request.errorDetail) {
          const error = request.errorDetail.message || `code ${request.errorDetail.code}`;
          this.sync!.nacked(typeUrl, state.sentVersion, error);
          this.ctx.log(`xds: ${this.node!.id} rejected ${typeUrl} (delta) version ${state.sentVersion}: ${error}`);
        } else this.sync!.acked(typeUrl, state.sentVersion);
      }
      // An ACK without subscription changes changes nothing the server sends: the armed watch stays.
      if (request.resourceNamesSubscribe.length === 0 && request.resourceNamesUnsubscribe.length === 0) return;
      this.#resubscribe(state, request.resourceNamesSubscribe, request.resourceNamesUnsubscribe);
    }
    this.sync!.subscribed(typeUrl, state.subscription.names, state.subscription.wildcard);
    if (!resourceType(typeUrl)) {
      this.ctx.log(`xds: ${this.node!.id} subscribed to unsupported type ${typeUrl} (delta); it gets no responses`);
      return;
    }
    state.watch?.cancel();
    const snapshot = this.ctx.cache.getSnapshot(this.node!.id);
    if (snapshot) this.#sendDiff(state, typeSnapshotOf(snapshot, typeUrl));
    this.#arm(typeUrl, state, snapshot ? state.seenVersion : ANSWER_NOW);
  }

  /** Applies subscribe/unsubscribe lists; the names they touch are pinned so the next diff looks at them. */
  #resubscribe(state: DeltaTypeState, subscribe: readonly string[], unsubscribe: readonly string[]): void {
    let wildcard = state.subscription.wildcard;
    const names = new Set(state.subscription.names);
    const toggle = (on: boolean) => {
      if (wildcard === on) return;
      // Rare: what the client has stops following base; pin all of it, the next diff starts over.
      if (state.base) for (const n of state.base.resources.keys()) pin(state, n);
      state.base = undefined;
      state.baseSubscription = undefined;
      wildcard = on;
    };
    for (const n of subscribe) {
      if (n === "*") toggle(true);
      else {
        pin(state, n);
        names.add(n);
        // A (re)subscription is answered with the resource even if the client once had it.
        if (!wildcard) state.extra.set(n, NOT_HELD);
      }
    }
    for (const n of unsubscribe) {
      if (n === "*") toggle(false);
      else {
        pin(state, n);
        names.delete(n);
        if (!wildcard) state.extra.set(n, NOT_HELD);
      }
    }
    state.subscription = internSubscription(wildcard, [...names]);
  }

  #arm(typeUrl: string, state: DeltaTypeState, lastVersion: string): void {
    let fired = false;
    const watch = this.ctx.cache.watch(this.node!.id, typeUrl, state.subscription, lastVersion, (type) => {
      fired = true;
      state.watch = undefined;
      if (this.closed) return;
      this.#sendDiff(state, type);
      this.#arm(typeUrl, state, type.version);
    });
    if (!fired) state.watch = watch;
  }

  /** The names whose client state may differ from `type`'s: everything the first time, then what changed. */
  #candidates(state: DeltaTypeState, type: TypeSnapshot): Iterable<string> {
    const { wildcard, names } = state.subscription;
    if (!state.base) return new Set([...(wildcard ? type.resources.keys() : []), ...names, ...state.extra.keys()]);
    if (state.base === type) return state.extra.size === 0 ? [] : [...state.extra.keys()];
    const out = new Set(changedNames(state.base, type));
    for (const n of removedNames(state.base, type)) out.add(n);
    for (const n of state.extra.keys()) out.add(n);
    return out;
  }

  #sendDiff(state: DeltaTypeState, type: TypeSnapshot): void {
    state.seenVersion = type.version;
    const subscription = state.subscription;
    if (!state.base && state.extra.size === 0 && selectsWholeType(type, subscription)) {
      // A new stream that has nothing and wants everything: the shared set's encoding, no per-name work.
      state.base = type;
      state.baseSubscription = subscription;
      if (type.resources.size === 0 && !state.initial) return;
      this.#respond(state, type, deltaResponse(type, () => sortedResources(type), [], this.nextNonce(), () => encodedDeltaAll(type)));
      return;
    }
    const resources: CachedResource[] = [];
    const removed: string[] = [];
    const now = new Map<string, string | undefined>();
    for (const name of this.#candidates(state, type)) {
      const r = type.resources.get(name);
      const has = clientHas(state, name);
      let after = has;
      if (r) {
        if (selects(subscription, name) && has !== r.version) {
          resources.push(r);
          after = r.version;
        }
      } else if (has !== TOLD_ABSENT && (has !== undefined || subscription.names.has(name))) {
        removed.push(name);
        after = subscription.names.has(name) ? TOLD_ABSENT : undefined;
      }
      now.set(name, after);
    }
    // Re-express the client's state over the new base: only names where it differs stay in `extra`.
    state.base = type;
    state.baseSubscription = subscription;
    for (const [name, after] of now) {
      const fromBase = selects(subscription, name) ? type.resources.get(name)?.version : undefined;
      if (after === fromBase) state.extra.delete(name);
      else state.extra.set(name, after ?? NOT_HELD);
    }
    if (resources.length === 0 && removed.length === 0 && !state.initial) return;
    resources.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    removed.sort();
    this.#respond(state, type, deltaResponse(type, () => resources, removed, this.nextNonce(), () => resources.map(deltaResourceEntry)));
  }

  #respond(state: DeltaTypeState, type: TypeSnapshot, response: DeltaDiscoveryResponse): void {
    state.initial = false;
    this.send(response);
    state.nonce = response.nonce;
    state.sentVersion = type.version;
    this.sync!.sent(type.typeUrl, type.version, response.nonce);
  }

  protected onClose(): void {
    for (const s of this.#types.values()) s.watch?.cancel();
    this.#types.clear();
  }
}

/** Whether the subscription selects every resource of the type and names nothing absent. */
function selectsWholeType(type: TypeSnapshot, subscription: Subscription): boolean {
  if (subscription.wildcard) return subscription.names.size === 0;
  return subscription.names.size === type.resources.size && coversType(type, subscription);
}

/**
 * The response, encoded from the resources' shared entry bytes. Its `resources` (Resource messages) are made only
 * if something reads them: the transport writes the attached encoding.
 */
function deltaResponse(
  type: TypeSnapshot,
  resources: () => readonly CachedResource[],
  removed: string[],
  nonce: string,
  entries: () => Uint8Array[],
): DeltaDiscoveryResponse {
  const response = create(DeltaDiscoveryResponseSchema, {
    systemVersionInfo: type.version,
    typeUrl: type.typeUrl,
    removedResources: removed,
    nonce,
    controlPlane: { identifier: CONTROL_PLANE_ID },
  });
  let messages: DeltaDiscoveryResponse["resources"] | undefined;
  Object.defineProperty(response, "resources", {
    enumerable: true,
    configurable: true,
    get: () => (messages ??= resources().map((r) => create(ResourceSchema, { name: r.name, version: r.version, resource: r.any }))),
    set: (v: DeltaDiscoveryResponse["resources"]) => (messages = v),
  });
  return attachEncodedParts(response, () => deltaDiscoveryResponseParts(response, entries()));
}
