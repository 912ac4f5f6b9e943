// ADS client over @grpc/grpc-js (the control plane's hand-built service definitions, no proto loader), state of
// the world or delta: subscribes CDS and LDS (everything), then EDS and RDS by the names the accepted clusters and
// listeners refer to; answers each response with an ACK (its nonce; in SotW its version) or a NACK (the same plus
// error_detail with the gateway's reason; in SotW the last accepted version). When the stream ends it reconnects on
// a fresh channel after a jittered, capped exponential back-off, re-sending what it has (SotW: the accepted versions;
// delta: initial_resource_versions); the gateway keeps serving meanwhile. Node-only.
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import type { Node } from "../../gen/envoy/config/core/v3/base_pb.js";
import { AggregatedDiscoveryService } from "../../gen/envoy/service/discovery/v3/ads_pb.js";
import {
  DeltaDiscoveryRequestSchema,
  DiscoveryRequestSchema,
  type DeltaDiscoveryResponse,
  type DiscoveryResponse,
} from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import { grpcServiceDefinition } from "../../control/xds/grpc-service.js";
import { Backoff, type BackoffOptions } from "./backoff.js";
import { TYPE_URLS } from "./convert.js";
import { REQUEST_ORDER, type DeltaXdsSubscriber, type ResponseOutcome, type XdsSubscriber } from "./state.js";

const AdsGrpcClient = grpc.makeGenericClientConstructor(grpcServiceDefinition(AggregatedDiscoveryService), "AggregatedDiscoveryService");
const INVALID_ARGUMENT = 3;
/** Types whose subscription follows from other resources (RDS from listeners, EDS from clusters). */
const DEPENDENT = [TYPE_URLS.endpoints, TYPE_URLS.routes];

export type AdsEvent =
  | { kind: "connected" }
  | { kind: "disconnected"; reason: string; retryInMs: number }
  | { kind: "acked"; typeUrl: string; version: string }
  | { kind: "nacked"; typeUrl: string; version: string; error: string };

export interface AdsClientOptions {
  /** host:port of the control plane's xDS gRPC port. */
  target: string;
  node: Node;
  subscriber: XdsSubscriber;
  /** DeltaAggregatedResources instead of StreamAggregatedResources (the subscriber must take deltas). */
  delta?: DeltaXdsSubscriber;
  backoff?: BackoffOptions;
  onEvent?(event: AdsEvent): void;
}

interface Stream {
  client: grpc.Client;
  call: grpc.ClientDuplexStream<unknown, DiscoveryResponse | DeltaDiscoveryResponse>;
  /** Per type: the names last requested and the nonce of the last response. */
  requested: Map<string, string>;
  nonces: Map<string, string>;
  nodeSent: boolean;
  responded: boolean;
  /** Responses are handled one at a time, in order. */
  chain: Promise<void>;
}

export class AdsClient {
  private stream: Stream | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly backoff: Backoff;
  private stopped = false;

  constructor(private readonly opts: AdsClientOptions) {
    this.backoff = new Backoff(opts.backoff);
  }

  get connected(): boolean {
    return this.stream?.responded === true;
  }

  start(): void {
    this.stopped = false;
    if (!this.stream && !this.timer) this.connect();
  }

  close(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const s = this.stream;
    this.stream = undefined;
    if (s) {
      s.call.cancel();
      s.client.close();
    }
  }

  private connect(): void {
    this.timer = undefined;
    const client = new AdsGrpcClient(this.opts.target, grpc.credentials.createInsecure());
    const methods = client as unknown as { StreamAggregatedResources(): Stream["call"]; DeltaAggregatedResources(): Stream["call"] };
    const call = this.opts.delta ? methods.DeltaAggregatedResources() : methods.StreamAggregatedResources();
    const stream: Stream = { client, call, requested: new Map(), nonces: new Map(), nodeSent: false, responded: false, chain: Promise.resolve() };
    this.stream = stream;
    call.on("data", (res: DiscoveryResponse | DeltaDiscoveryResponse) => {
      stream.chain = stream.chain.then(() => this.onResponse(stream, res)).catch((e: unknown) => this.end(stream, `internal error: ${e instanceof Error ? e.message : String(e)}`));
    });
    call.on("status", (s: grpc.StatusObject) => {
      const details = s.details.replace(/\.?\s*Resolution note:\s*$/, "");
      this.end(stream, `${grpc.status[s.code] ?? s.code}${details ? `: ${details}` : ""}`);
    });
    call.on("error", () => {}); // the status follows
    const sub = this.opts.subscriber;
    for (const kind of REQUEST_ORDER) {
      const typeUrl = TYPE_URLS[kind];
      const names = sub.resourceNames(typeUrl);
      if (names === undefined || (DEPENDENT.includes(typeUrl) && names.length === 0)) continue;
      if (this.opts.delta) this.sendDelta(stream, typeUrl, names, this.opts.delta.resourceVersions(typeUrl));
      else this.send(stream, typeUrl, names, sub.version(typeUrl));
    }
  }

  /** Delta: subscribes to what `names` adds to the stream's subscription and unsubscribes what it drops. */
  private sendDelta(stream: Stream, typeUrl: string, names: string[], initialVersions?: Record<string, string>, ack?: { nonce: string; error?: string }): void {
    const want = names.length === 0 && !DEPENDENT.includes(typeUrl) ? ["*"] : names;
    const had = new Set((stream.requested.get(typeUrl) ?? "").split("\n").filter((n) => n !== ""));
    const request = create(DeltaDiscoveryRequestSchema, {
      typeUrl,
      resourceNamesSubscribe: want.filter((n) => !had.has(n)),
      resourceNamesUnsubscribe: [...had].filter((n) => !want.includes(n)),
      ...(initialVersions ? { initialResourceVersions: initialVersions } : {}),
      responseNonce: ack?.nonce ?? "",
      ...(stream.nodeSent ? {} : { node: this.opts.node }),
      ...(ack?.error !== undefined ? { errorDetail: { code: INVALID_ARGUMENT, message: ack.error } } : {}),
    });
    stream.nodeSent = true;
    stream.requested.set(typeUrl, want.join("\n"));
    stream.call.write(request);
  }

  private send(stream: Stream, typeUrl: string, names: string[], version: string, error?: string): void {
    const request = create(DiscoveryRequestSchema, {
      versionInfo: version,
      typeUrl,
      resourceNames: names,
      responseNonce: stream.nonces.get(typeUrl) ?? "",
      ...(stream.nodeSent ? {} : { node: this.opts.node }),
      ...(error !== undefined ? { errorDetail: { code: INVALID_ARGUMENT, message: error } } : {}),
    });
    stream.nodeSent = true;
    stream.requested.set(typeUrl, names.join("\n"));
    stream.call.write(request);
  }

  private async onResponse(stream: Stream, res: DiscoveryResponse | DeltaDiscoveryResponse): Promise<void> {
    if (stream !== this.stream) return;
    if (!stream.responded) {
      stream.responded = true;
      this.backoff.reset();
      this.opts.onEvent?.({ kind: "connected" });
    }
    const sub = this.opts.subscriber;
    const delta = this.opts.delta;
    const isDelta = res.$typeName === "envoy.service.discovery.v3.DeltaDiscoveryResponse";
    const version = isDelta ? res.systemVersionInfo : res.versionInfo;
    const outcome: ResponseOutcome = isDelta
      ? await delta!.handleDelta(res.typeUrl, res.systemVersionInfo, res.resources, res.removedResources)
      : await sub.handleResponse(res.typeUrl, res.versionInfo, res.resources);
    if (stream !== this.stream) return;
    stream.nonces.set(res.typeUrl, res.nonce);
    const names = sub.resourceNames(res.typeUrl) ?? [];
    const error = outcome.accepted ? undefined : outcome.error;
    if (isDelta) this.sendDelta(stream, res.typeUrl, names, undefined, { nonce: res.nonce, ...(error !== undefined ? { error } : {}) });
    else this.send(stream, res.typeUrl, names, error === undefined ? version : sub.version(res.typeUrl), error);
    this.opts.onEvent?.(error === undefined ? { kind: "acked", typeUrl: res.typeUrl, version } : { kind: "nacked", typeUrl: res.typeUrl, version, error });
    // New clusters or listeners may change what EDS and RDS must ask for.
    for (const typeUrl of DEPENDENT) {
      const want = sub.resourceNames(typeUrl);
      if (want === undefined) continue;
      const before = stream.requested.get(typeUrl);
      if (before === want.join("\n") || (before === undefined && want.length === 0)) continue;
      if (delta) this.sendDelta(stream, typeUrl, want);
      else this.send(stream, typeUrl, want, sub.version(typeUrl));
    }
  }

  private end(stream: Stream, reason: string): void {
    if (stream !== this.stream) return;
    this.stream = undefined;
    stream.call.cancel();
    stream.client.close();
    if (this.stopped) return;
    const retryInMs = this.backoff.next();
    this.opts.onEvent?.({ kind: "disconnected", reason, retryInMs });
    this.timer = setTimeout(() => this.connect(), retryInMs);
  }
}
