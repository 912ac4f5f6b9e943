// Incremental (delta) xDS on one stream, independent of the transport.
//
// Per type the server keeps what the client has (name → version: initial_resource_versions, then everything
// sent) and sends only resources whose version differs, plus removed_resources for names the client has (or
// explicitly asked for) that no longer exist. Responses are not held back waiting for ACKs; an ACK/NACK answering
// the last nonce only updates the sync status. A NACKed version is not re-sent: the client's copy is marked as
// that version, so only a further change goes out.
import { create } from "@bufbuild/protobuf";
import {
  DeltaDiscoveryResponseSchema,
  ResourceSchema,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  type Resource,
} from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import type { Watch } from "./cache.js";
import { resourceType } from "./resource-types.js";
import { typeSnapshotOf, type TypeSnapshot } from "./snapshot.js";
import { CONTROL_PLANE_ID } from "./sotw.js";
import { StreamSession, type StreamContext } from "./stream-session.js";

/** The client was told this explicitly subscribed resource does not exist. */
const TOLD_ABSENT = "\0absent";
const ANSWER_NOW = "\0answer-now";

interface DeltaTypeState {
  subscription: { wildcard: boolean; names: Set<string> };
  clientHas: Map<string, string>;
  nonce: string;
  sentVersion: string;
  /** Type version the last diff was computed against. */
  seenVersion: string;
  /** No response sent yet: the first one goes out even when empty, so the client knows where it stands. */
  initial: boolean;
  watch: Watch | undefined;
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
      const subscribe = request.resourceNamesSubscribe;
      const wildcard = subscribe.includes("*") || (subscribe.length === 0 && resourceType(typeUrl)?.wildcardByDefault === true);
      state = {
        subscription: { wildcard, names: new Set(subscribe.filter((n) => n !== "*")) },
        clientHas: new Map(Object.entries(request.initialResourceVersions)),
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
      for (const n of request.resourceNamesSubscribe) {
        if (n === "*") state.subscription.wildcard = true;
        else {
          state.subscription.names.add(n);
          // A (re)subscription is answered with the resource even if the client once had it.
          if (!state.subscription.wildcard) state.clientHas.delete(n);
        }
      }
      for (const n of request.resourceNamesUnsubscribe) {
        if (n === "*") state.subscription.wildcard = false;
        else {
          state.subscription.names.delete(n);
          if (!state.subscription.wildcard) state.clientHas.delete(n);
        }
      }
    }
    this.sync!.subscribed(typeUrl, [...state.subscription.names], state.subscription.wildcard);
    if (!resourceType(typeUrl)) {
      this.ctx.log(`xds: ${this.node!.id} subscribed to unsupported type ${typeUrl} (delta); it gets no responses`);
      return;
    }
    state.watch?.cancel();
    const snapshot = this.ctx.cache.getSnapshot(this.node!.id);
    if (snapshot) this.#sendDiff(state, typeSnapshotOf(snapshot, typeUrl));
    this.#arm(typeUrl, state, snapshot ? state.seenVersion : ANSWER_NOW);
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

  #sendDiff(state: DeltaTypeState, type: TypeSnapshot): void {
    state.seenVersion = type.version;
    const { wildcard, names } = state.subscription;
    const resources: Resource[] = [];
    const inScope = wildcard ? new Set([...type.resources.keys(), ...names]) : names;
    for (const name of [...inScope].sort()) {
      const r = type.resources.get(name);
      if (r && state.clientHas.get(name) !== r.version) {
        resources.push(create(ResourceSchema, { name, version: r.version, resource: r.any }));
        state.clientHas.set(name, r.version);
      }
    }
    const removed: string[] = [];
    for (const name of [...new Set([...state.clientHas.keys(), ...names])].sort()) {
      if (type.resources.has(name) || state.clientHas.get(name) === TOLD_ABSENT) continue;
      if (!names.has(name) && !state.clientHas.has(name)) continue;
      removed.push(name);
      if (names.has(name)) state.clientHas.set(name, TOLD_ABSENT);
      else state.clientHas.delete(name);
    }
    if (resources.length === 0 && removed.length === 0 && !state.initial) return;
    state.initial = false;
    const nonce = this.nextNonce();
    this.send(
      create(DeltaDiscoveryResponseSchema, {
        systemVersionInfo: type.version,
        resources,
        typeUrl: type.typeUrl,
        removedResources: removed,
        nonce,
        controlPlane: { identifier: CONTROL_PLANE_ID },
      }),
    );
    state.nonce = nonce;
    state.sentVersion = type.version;
    this.sync!.sent(type.typeUrl, type.version, nonce);
  }

  protected onClose(): void {
    for (const s of this.#types.values()) s.watch?.cancel();
    this.#types.clear();
  }
}
