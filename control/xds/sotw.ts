// State-of-the-world xDS on one stream (ADS or a per-type service), independent of the transport.
//
// Per type: the last nonce sent (a request answering an older one is stale and ignored), the version sent, and the
// subscription it was computed for. A request answering the last nonce is an ACK, or a NACK when it has
// error_detail; either way the next response waits until the resources change (a NACKed version is not re-sent).
// A changed subscription, or the first request for a type, is answered at once.
//
// Only Listener and Cluster responses carry the complete state (resource-types.ts `fullState`). For the other
// types the stream remembers the type snapshot it last answered from, and a response carries just the selected
// resources that changed since then, plus newly subscribed ones: a VirtualService edit re-sends one scope's
// RouteConfiguration, not every route configuration the proxy follows. After a cluster push the endpoints go out
// whole again (a re-sent cluster warms and waits for all of its endpoints).
import { create } from "@bufbuild/protobuf";
import {
  DiscoveryResponseSchema,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import type { Watch } from "./cache.js";
import { CLUSTER_TYPE, ENDPOINT_TYPE, resourceType } from "./resource-types.js";
import { attachEncodedParts, discoveryResponseParts } from "./encoded-response.js";
import { changedSelection, encodedResources, encodedSelection, selectResources, type Subscription, type TypeSnapshot } from "./snapshot.js";
import { resourceNamesKey } from "./discovery-request.js";
import { StreamSession, type StreamContext } from "./stream-session.js";

/** Never a real version: makes the cache answer a watch at once (or on the node's first snapshot). */
const ANSWER_NOW = "\0answer-now";

export const CONTROL_PLANE_ID = "halyard";

interface SotwTypeState {
  subscription: Subscription;
  /** The subscription came from an empty resource_names list (legacy wildcard), not from "*". */
  legacyWildcard: boolean;
  nonce: string;
  sentVersion: string;
  /** The subscription the last response was computed for. */
  sentSubscription: Subscription | undefined;
  watch: Watch | undefined;
  /** Answer the next request even if nothing changed (endpoints after their cluster was re-sent). */
  answerNext: boolean;
  /** Types that are not full-state: the type snapshot the last response was computed from (undefined: send all). */
  sentType: TypeSnapshot | undefined;
  /** Digest of the raw resource_names `subscription` was parsed from, when the transport gave one. */
  namesKey: string | undefined;
}

export class SotwStream extends StreamSession<DiscoveryRequest> {
  #types = new Map<string, SotwTypeState>();

  constructor(
    ctx: StreamContext,
    private readonly send: (response: DiscoveryResponse) => void,
  ) {
    super(ctx, "sotw");
  }

  protected onRequest(typeUrl: string, request: DiscoveryRequest): void {
    const state = this.#types.get(typeUrl);
    const answering = request.responseNonce !== "" && state !== undefined;
    if (answering && request.responseNonce !== state.nonce) return; // stale: a newer response is on its way

    // ACKs repeat the subscription (EDS: thousands of names); an unchanged one is kept, not re-parsed or re-recorded.
    // The same raw bytes as last time (discovery-request.ts) need not even be decoded.
    const namesKey = resourceNamesKey(request);
    const unchanged = state !== undefined && ((namesKey !== undefined && namesKey === state.namesKey) || requestsSame(state, request.resourceNames));
    const parsed = unchanged ? undefined : parseSubscription(typeUrl, request.resourceNames, state);
    const subscription = parsed ? parsed.subscription : state!.subscription;
    const legacyWildcard = parsed ? parsed.legacyWildcard : state!.legacyWildcard;
    if (parsed) this.sync!.subscribed(typeUrl, subscription.names, subscription.wildcard);

    if (answering) {
      if (request.errorDetail) {
        const error = request.errorDetail.message || `code ${request.errorDetail.code}`;
        this.sync!.nacked(typeUrl, state.sentVersion, error);
        this.ctx.log(`xds: ${this.node!.id} rejected ${typeUrl} version ${state.sentVersion}: ${error}`);
      } else {
        this.sync!.acked(typeUrl, request.versionInfo);
      }
    }

    const next: SotwTypeState = state ?? {
      subscription,
      legacyWildcard,
      nonce: "",
      sentVersion: "",
      sentSubscription: undefined,
      watch: undefined,
      answerNext: false,
      sentType: undefined,
      namesKey: undefined,
    };
    next.watch?.cancel();
    next.subscription = subscription;
    next.legacyWildcard = legacyWildcard;
    next.namesKey = namesKey;
    this.#types.set(typeUrl, next);

    if (!resourceType(typeUrl)) {
      this.ctx.log(`xds: ${this.node!.id} subscribed to unsupported type ${typeUrl}; it gets no responses`);
      return;
    }
    const answerNow = !answering || next.answerNext || next.sentSubscription === undefined || !sameSubscription(subscription, next.sentSubscription);
    next.answerNext = false;
    this.#arm(typeUrl, next, answerNow ? ANSWER_NOW : next.sentVersion);
  }

  #arm(typeUrl: string, state: SotwTypeState, lastVersion: string): void {
    let fired = false;
    const watch = this.ctx.cache.watch(this.node!.id, typeUrl, state.subscription, lastVersion, (type) => {
      fired = true;
      state.watch = undefined;
      this.#respond(state, type);
    });
    // The cache may answer before watch() returns; only a watch still waiting is kept.
    state.watch = fired ? undefined : watch;
  }

  #respond(state: SotwTypeState, type: TypeSnapshot): void {
    if (this.closed) return;
    const nonce = this.nextNonce();
    const subscription = state.subscription;
    const partial = state.sentType !== undefined && state.sentSubscription !== undefined && resourceType(type.typeUrl)?.fullState === false;
    const changed = partial ? changedSelection(state.sentType!, state.sentSubscription!, type, subscription) : undefined;
    const response = create(DiscoveryResponseSchema, {
      versionInfo: type.version,
      resources: (changed ?? selectResources(type, subscription)).map((r) => r.any),
      typeUrl: type.typeUrl,
      nonce,
      controlPlane: { identifier: CONTROL_PLANE_ID },
    });
    // Encoded when the transport gets to it, mostly from the shared set's bytes (thousands of streams, same resources).
    this.send(attachEncodedParts(response, () => discoveryResponseParts(response, changed ? encodedResources(changed) : encodedSelection(type, subscription))));
    if (resourceType(type.typeUrl)?.fullState === false) state.sentType = type;
    state.nonce = nonce;
    state.sentVersion = type.version;
    state.sentSubscription = subscription;
    this.sync!.sent(type.typeUrl, type.version, nonce);
    if (type.typeUrl === CLUSTER_TYPE) this.#resendEndpoints();
  }

  /**
   * A proxy that receives a cluster (re)starts warming it and waits for its endpoints, even if they did not
   * change: answer the endpoints subscription now if it is idle, else at its next request.
   */
  #resendEndpoints(): void {
    const eds = this.#types.get(ENDPOINT_TYPE);
    if (!eds) return;
    eds.sentType = undefined;
    if (eds.watch) {
      eds.watch.cancel();
      this.#arm(ENDPOINT_TYPE, eds, ANSWER_NOW);
    } else eds.answerNext = true;
  }

  protected onClose(): void {
    for (const s of this.#types.values()) s.watch?.cancel();
    this.#types.clear();
  }
}

/** Whether a request's resource_names would parse to the subscription `state` already has (no allocation). */
function requestsSame(state: SotwTypeState, resourceNames: readonly string[]): boolean {
  const { subscription, legacyWildcard } = state;
  if (resourceNames.length === 0) return subscription.names.size === 0 && subscription.wildcard === legacyWildcard;
  let star = false;
  let count = 0;
  for (const n of resourceNames) {
    if (n === "*") star = true;
    else if (!subscription.names.has(n)) return false;
    else count++;
  }
  return count === subscription.names.size && star === (subscription.wildcard && !legacyWildcard);
}

/**
 * Subscriptions by content, shared by every stream asking for the same names (sidecars alike subscribe alike): one
 * set of names in memory instead of one per stream, and what the cache memoises per (type, subscription) — the
 * fingerprint a push compares, the coverage — is computed once for all of them. Bounded: cleared when full.
 */
const internedSubscriptions = new Map<string, Subscription>();
const MAX_INTERNED_SUBSCRIPTIONS = 4096;

export function internSubscription(wildcard: boolean, names: string[]): Subscription {
  const key = `${wildcard ? "*" : ""}\n${names.join("\n")}`;
  let known = internedSubscriptions.get(key);
  if (!known) {
    if (internedSubscriptions.size >= MAX_INTERNED_SUBSCRIPTIONS) internedSubscriptions.clear();
    // Frozen: never edited once made, so the cache may remember what it computed for it (snapshot.ts).
    known = Object.freeze({ wildcard, names: new Set(names) });
    internedSubscriptions.set(key, known);
  }
  return known;
}

/** Subscriptions by a digest of the raw name list they were made from (see discovery-request.ts). */
const subscriptionsByRawKey = new Map<string, Subscription>();

/**
 * The subscription a raw name list makes, by its digest: `names()` (which decodes the list) runs only the first
 * time a list is seen, so the thousands of streams that subscribe alike decode it once. Same object as
 * internSubscription(wildcard, names()) gives.
 */
export function internSubscriptionByRawKey(wildcard: boolean, rawKey: string, names: () => string[]): Subscription {
  const key = `${wildcard ? "*" : ""}\n${rawKey}`;
  let known = subscriptionsByRawKey.get(key);
  if (!known) {
    if (subscriptionsByRawKey.size >= MAX_INTERNED_SUBSCRIPTIONS) subscriptionsByRawKey.clear();
    known = internSubscription(wildcard, names());
    subscriptionsByRawKey.set(key, known);
  }
  return known;
}

function parseSubscription(
  typeUrl: string,
  resourceNames: readonly string[],
  previous: SotwTypeState | undefined,
): { subscription: Subscription; legacyWildcard: boolean } {
  const names = [...new Set(resourceNames.filter((n) => n !== "*"))];
  if (resourceNames.includes("*")) return { subscription: internSubscription(true, names), legacyWildcard: false };
  if (names.length === 0) {
    // An empty list means "everything" for LDS/CDS on the first request, and keeps meaning it while it stays empty.
    const legacy = previous ? previous.legacyWildcard : resourceType(typeUrl)?.wildcardByDefault === true;
    return { subscription: internSubscription(legacy, names), legacyWildcard: legacy };
  }
  return { subscription: internSubscription(false, names), legacyWildcard: false };
}

function sameSubscription(a: Subscription, b: Subscription): boolean {
  if (a === b) return true;
  if (a.wildcard !== b.wildcard || a.names.size !== b.names.size) return false;
  for (const n of a.names) if (!b.names.has(n)) return false;
  return true;
}
