// State-of-the-world xDS on one stream (ADS or a per-type service), independent of the transport.
//
// Per type: the last nonce sent (a request answering an older one is stale and ignored), the version sent, and the
// subscription it was computed for. A request answering the last nonce is an ACK, or a NACK when it has
// error_detail; either way the next response waits until the resources change (a NACKed version is not re-sent).
// A changed subscription, or the first request for a type, is answered at once.
import { create } from "@bufbuild/protobuf";
import {
  DiscoveryResponseSchema,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import type { Watch } from "./cache.js";
import { CLUSTER_TYPE, ENDPOINT_TYPE, resourceType } from "./resource-types.js";
import { attachEncoding, encodeDiscoveryResponse } from "./encoded-response.js";
import { encodedSelection, selectResources, type Subscription, type TypeSnapshot } from "./snapshot.js";
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

    const parsed = parseSubscription(typeUrl, request.resourceNames, state);
    // ACKs repeat the subscription (EDS: thousands of names); an unchanged one is kept, not re-recorded.
    const unchanged = state !== undefined && state.legacyWildcard === parsed.legacyWildcard && sameSubscription(state.subscription, parsed.subscription);
    const subscription = unchanged ? state.subscription : parsed.subscription;
    const legacyWildcard = parsed.legacyWildcard;
    if (!unchanged) this.sync!.subscribed(typeUrl, [...subscription.names], subscription.wildcard);

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
    };
    next.watch?.cancel();
    next.subscription = subscription;
    next.legacyWildcard = legacyWildcard;
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
    const response = create(DiscoveryResponseSchema, {
      versionInfo: type.version,
      resources: selectResources(type, subscription).map((r) => r.any),
      typeUrl: type.typeUrl,
      nonce,
      controlPlane: { identifier: CONTROL_PLANE_ID },
    });
    // Encoded when the transport gets to it, mostly from the shared set's bytes (thousands of streams, same resources).
    this.send(attachEncoding(response, () => encodeDiscoveryResponse(response, encodedSelection(type, subscription))));
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

function parseSubscription(
  typeUrl: string,
  resourceNames: readonly string[],
  previous: SotwTypeState | undefined,
): { subscription: Subscription; legacyWildcard: boolean } {
  // Frozen: never edited once made, so the cache may remember what it computed for it (snapshot.ts).
  const names = new Set(resourceNames.filter((n) => n !== "*"));
  if (resourceNames.includes("*")) return { subscription: Object.freeze({ wildcard: true, names }), legacyWildcard: false };
  if (names.size === 0) {
    // An empty list means "everything" for LDS/CDS on the first request, and keeps meaning it while it stays empty.
    const legacy = previous ? previous.legacyWildcard : resourceType(typeUrl)?.wildcardByDefault === true;
    return { subscription: Object.freeze({ wildcard: legacy, names }), legacyWildcard: legacy };
  }
  return { subscription: Object.freeze({ wildcard: false, names }), legacyWildcard: false };
}

function sameSubscription(a: Subscription, b: Subscription): boolean {
  if (a === b) return true;
  if (a.wildcard !== b.wildcard || a.names.size !== b.names.size) return false;
  for (const n of a.names) if (!b.names.has(n)) return false;
  return true;
}
