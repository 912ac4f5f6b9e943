// Simulated Envoy sidecars for control-plane load: each opens its own gRPC connection and one ADS stream — delta
// (incremental, what Envoy and Istio >= 1.22 use) or state of the world — subscribes to CDS and LDS (wildcard),
// then to EDS for every EDS cluster and to RDS for every route config its listeners name, and ACKs every response
// — as Envoy does, minus the data plane. Responses are read with a wire walker (./wire.ts), never fully decoded,
// so the generator's CPU goes to the transport.
import * as grpc from "@grpc/grpc-js";
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { DeltaDiscoveryRequestSchema, DiscoveryRequestSchema } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import {
  edsNameOfCluster,
  rdsNamesOfListener,
  readDeltaDiscoveryResponse,
  readDiscoveryResponse,
  type RawDeltaDiscoveryResponse,
  type RawDiscoveryResponse,
} from "./wire.js";

export const CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
export const EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
export const LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
export const RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
export const XDS_TYPES = [CDS, EDS, LDS, RDS] as const;

const ADS_PATH = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources";
const DELTA_ADS_PATH = "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources";

export type XdsProtocol = "delta" | "sotw";

type RequestInit = MessageInitShape<typeof DiscoveryRequestSchema>;

const serialize = (r: RequestInit) => Buffer.from(toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, r)));
const deserialize = (b: Buffer) => readDiscoveryResponse(b);

export interface TypeProgress {
  /** Version of the last response ACKed (NACKs are never sent). */
  ackedVersion: string;
  ackedAt: number;
  responses: number;
  /** How many resources the last response carried (RDS / EDS responses may carry only what changed). */
  lastResources: number;
}

/** Names a resource (by its Any bytes) makes the proxy follow; memoised by response version (= content hash). */
class FollowCache {
  readonly #cache = new Map<string, string[]>();
  readonly #byResource = new Map<string, readonly string[]>();

  /** Delta: per resource, memoised by (type, name, version) — the server's version is a hash of the content. */
  resourceNames(typeUrl: string, name: string, version: string, any: Uint8Array, extract: (any: Uint8Array) => string[]): readonly string[] {
    const key = `${typeUrl}\0${name}\0${version}`;
    let names = this.#byResource.get(key);
    if (!names) this.#byResource.set(key, (names = extract(any)));
    return names;
  }

  namesFor(response: RawDiscoveryResponse, extract: (any: Uint8Array) => string[]): string[] {
    const key = `${response.typeUrl}\0${response.versionInfo}`;
    let names = this.#cache.get(key);
    if (!names) {
      names = [...new Set(response.resources.flatMap(extract))].sort();
      this.#cache.set(key, names);
    }
    return names;
  }
}

export interface SidecarOptions {
  port: number;
  nodeId: string;
  /** Envoy's node.cluster: `<workload>.<namespace>`. */
  cluster: string;
  follow: FollowCache;
  /** Called for every response, with its size on the wire. */
  onResponse?: (typeUrl: string, bytes: number) => void;
}

const edsNames = (a: Uint8Array): string[] => {
  const n = edsNameOfCluster(a);
  return n === undefined ? [] : [n];
};

/** What run.ts and the tests read from a simulated sidecar, whatever its protocol. */
export interface Sidecar {
  readonly progress: Map<string, TypeProgress>;
  readonly bytesReceived: number;
  readonly error: string | undefined;
  readonly synced: boolean;
  describe(): string;
  close(): void;
}

function emptyProgress(): Map<string, TypeProgress> {
  return new Map(XDS_TYPES.map((t) => [t, { ackedVersion: "", ackedAt: 0, responses: 0, lastResources: 0 }]));
}

function describeSidecar(nodeId: string, progress: Map<string, TypeProgress>, error: string | undefined): string {
  const types = [...progress].map(([t, p]) => `${t.split(".").pop()} ${p.responses} responses, acked ${p.ackedVersion || "-"}`);
  return `${nodeId}: ${types.join("; ")}${error ? `; ${error}` : ""}`;
}

export class SimulatedSidecar implements Sidecar {
  readonly progress = emptyProgress();
  bytesReceived = 0;
  error: string | undefined;
  readonly #client: grpc.Client;
  readonly #call: grpc.ClientDuplexStream<RequestInit, RawDiscoveryResponse>;
  readonly #subscribed = new Map<string, string>();
  #first = true;

  constructor(private readonly options: SidecarOptions) {
    // A connection of its own per proxy, as 2 000 Envoys would have (grpc-js otherwise shares one per target).
    this.#client = new grpc.Client(`127.0.0.1:${options.port}`, grpc.credentials.createInsecure(), {
      "grpc.use_local_subchannel_pool": 1,
      "grpc.max_receive_message_length": -1,
    });
    this.#call = this.#client.makeBidiStreamRequest(ADS_PATH, serialize, deserialize);
    this.#call.on("data", (r: RawDiscoveryResponse) => this.#onResponse(r));
    this.#call.on("status", (s: grpc.StatusObject) => {
      if (s.code !== grpc.status.OK && s.code !== grpc.status.CANCELLED) this.error ??= `stream ended: ${s.code} ${s.details}`;
    });
    this.#call.on("error", () => {}); // reported through "status"
    this.#request(CDS, [], "", "");
    this.#request(LDS, [], "", "");
  }

  /** Every type ACKed at least once, EDS and RDS included. */
  get synced(): boolean {
    for (const p of this.progress.values()) if (p.ackedVersion === "") return false;
    return true;
  }

  /** One line: what each type got, for reports on proxies that did not sync. */
  describe(): string {
    return describeSidecar(this.options.nodeId, this.progress, this.error);
  }

  #request(typeUrl: string, names: readonly string[], version: string, nonce: string): void {
    const init: RequestInit = { typeUrl, resourceNames: [...names], versionInfo: version, responseNonce: nonce };
    if (this.#first) {
      init.node = { id: this.options.nodeId, cluster: this.options.cluster, userAgentName: "envoy" };
      this.#first = false;
    }
    this.#call.write(init);
  }

  #onResponse(r: RawDiscoveryResponse): void {
    this.bytesReceived += r.byteLength;
    this.options.onResponse?.(r.typeUrl, r.byteLength);
    // Like Envoy: subscribe to what the new resources name before ACKing them.
    if (r.typeUrl === CDS) this.#follow(EDS, this.options.follow.namesFor(r, edsNames));
    else if (r.typeUrl === LDS) this.#follow(RDS, this.options.follow.namesFor(r, rdsNamesOfListener));
    const names = r.typeUrl === EDS || r.typeUrl === RDS ? this.#subscribed.get(r.typeUrl)?.split("\n").filter(Boolean) ?? [] : [];
    this.#request(r.typeUrl, names, r.versionInfo, r.nonce);
    const p = this.progress.get(r.typeUrl);
    if (p) {
      p.ackedVersion = r.versionInfo;
      p.ackedAt = performance.now();
      p.responses++;
      p.lastResources = r.resources.length;
    }
  }

  #follow(typeUrl: string, names: readonly string[]): void {
    const key = names.join("\n");
    const before = this.#subscribed.get(typeUrl);
    if (before === key) return;
    this.#subscribed.set(typeUrl, key);
    const state = this.progress.get(typeUrl)!;
    // A changed subscription is a new request on the type (version and nonce of what the proxy has).
    this.#request(typeUrl, names, before === undefined ? "" : state.ackedVersion, "");
  }

  close(): void {
    this.#call.cancel();
    this.#client.close();
  }
}

type DeltaRequestInit = MessageInitShape<typeof DeltaDiscoveryRequestSchema>;

const serializeDelta = (r: DeltaRequestInit) => Buffer.from(toBinary(DeltaDiscoveryRequestSchema, create(DeltaDiscoveryRequestSchema, r)));

/**
 * An Envoy on delta ADS: CDS and LDS wildcard (an empty first subscription, as Envoy sends), explicit
 * subscribe/unsubscribe of the EDS and RDS names the clusters and listeners it holds name, an ACK per response.
 * `ackedVersion` is the response's system_version_info (the server's type version).
 */
export class DeltaSidecar implements Sidecar {
  readonly progress = emptyProgress();
  bytesReceived = 0;
  error: string | undefined;
  readonly #client: grpc.Client;
  readonly #call: grpc.ClientDuplexStream<DeltaRequestInit, RawDeltaDiscoveryResponse>;
  /** Per wildcard type (CDS, LDS): resource name → the names it makes the proxy follow. */
  readonly #held = new Map<string, Map<string, readonly string[]>>([
    [CDS, new Map()],
    [LDS, new Map()],
  ]);
  /** EDS / RDS names subscribed. */
  readonly #subscribed = new Map<string, Set<string>>([
    [EDS, new Set()],
    [RDS, new Set()],
  ]);
  #first = true;

  constructor(private readonly options: SidecarOptions) {
    this.#client = new grpc.Client(`127.0.0.1:${options.port}`, grpc.credentials.createInsecure(), {
      "grpc.use_local_subchannel_pool": 1,
      "grpc.max_receive_message_length": -1,
    });
    this.#call = this.#client.makeBidiStreamRequest(DELTA_ADS_PATH, serializeDelta, (b: Buffer) => readDeltaDiscoveryResponse(b));
    this.#call.on("data", (r: RawDeltaDiscoveryResponse) => this.#onResponse(r));
    this.#call.on("status", (s: grpc.StatusObject) => {
      if (s.code !== grpc.status.OK && s.code !== grpc.status.CANCELLED) this.error ??= `stream ended: ${s.code} ${s.details}`;
    });
    this.#call.on("error", () => {}); // reported through "status"
    this.#request({ typeUrl: CDS });
    this.#request({ typeUrl: LDS });
  }

  get synced(): boolean {
    for (const p of this.progress.values()) if (p.ackedVersion === "") return false;
    return true;
  }

  describe(): string {
    return describeSidecar(this.options.nodeId, this.progress, this.error);
  }

  #request(init: DeltaRequestInit): void {
    if (this.#first) {
      init.node = { id: this.options.nodeId, cluster: this.options.cluster, userAgentName: "envoy" };
      this.#first = false;
    }
    this.#call.write(init);
  }

  #onResponse(r: RawDeltaDiscoveryResponse): void {
    this.bytesReceived += r.byteLength;
    this.options.onResponse?.(r.typeUrl, r.byteLength);
    const held = this.#held.get(r.typeUrl);
    if (held) {
      // Like Envoy: subscribe to what the new resources name before ACKing them.
      const extract = r.typeUrl === CDS ? edsNames : rdsNamesOfListener;
      for (const res of r.resources) held.set(res.name, this.options.follow.resourceNames(r.typeUrl, res.name, res.version, res.any, extract));
      for (const name of r.removedResources) held.delete(name);
      this.#follow(r.typeUrl === CDS ? EDS : RDS, held);
    }
    this.#request({ typeUrl: r.typeUrl, responseNonce: r.nonce });
    const p = this.progress.get(r.typeUrl);
    if (p) {
      p.ackedVersion = r.systemVersionInfo;
      p.ackedAt = performance.now();
      p.responses++;
      p.lastResources = r.resources.length;
    }
  }

  /** Subscribes to names the held resources now name and unsubscribes from names none of them names any more. */
  #follow(typeUrl: string, held: Map<string, readonly string[]>): void {
    const subscribed = this.#subscribed.get(typeUrl)!;
    const wanted = new Set<string>();
    for (const names of held.values()) for (const n of names) wanted.add(n);
    const subscribe = [...wanted].filter((n) => !subscribed.has(n));
    const unsubscribe = [...subscribed].filter((n) => !wanted.has(n));
    if (subscribe.length === 0 && unsubscribe.length === 0) return;
    this.#subscribed.set(typeUrl, wanted);
    this.#request({ typeUrl, resourceNamesSubscribe: subscribe, resourceNamesUnsubscribe: unsubscribe });
  }

  close(): void {
    this.#call.cancel();
    this.#client.close();
  }
}

export interface MeshLoadOptions {
  port: number;
  proxies: readonly { nodeId: string }[];
  /** Default delta, as Envoy and Istio >= 1.22. */
  protocol?: XdsProtocol;
  onResponse?: (typeUrl: string, bytes: number) => void;
}

/** A fleet of simulated sidecars against one control plane, with bounded waits on what they have ACKed. */
export class MeshLoad {
  readonly sidecars: Sidecar[];

  constructor(options: MeshLoadOptions) {
    const follow = new FollowCache();
    const Kind = (options.protocol ?? "delta") === "delta" ? DeltaSidecar : SimulatedSidecar;
    this.sidecars = options.proxies.map(
      (p) =>
        new Kind({
          port: options.port,
          nodeId: p.nodeId,
          cluster: p.nodeId.split("~")[2] ?? "",
          follow,
          ...(options.onResponse ? { onResponse: options.onResponse } : {}),
        }),
    );
  }

  get bytesReceived(): number {
    return this.sidecars.reduce((s, c) => s + c.bytesReceived, 0);
  }

  /**
   * Resolves once `done(sidecar)` holds for every sidecar (checked every `pollMs`; the times that matter are the
   * ACK timestamps, not when this notices); rejects after `timeoutMs` saying how many were not done.
   */
  async waitAll(done: (s: Sidecar) => boolean, timeoutMs: number, what: string, pollMs = 20): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const failed = this.sidecars.find((s) => s.error);
      if (failed) throw new Error(`${what}: ${failed.error}`);
      const pending = this.sidecars.filter((s) => !done(s)).length;
      if (pending === 0) return;
      if (Date.now() >= deadline) throw new Error(`${what}: timed out after ${timeoutMs} ms with ${pending} of ${this.sidecars.length} proxies not there`);
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  close(): void {
    for (const s of this.sidecars) s.close();
  }
}
