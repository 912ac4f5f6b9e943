// The xDS gRPC server: ADS (StreamAggregatedResources, DeltaAggregatedResources) and the per-type services (LDS, RDS,
// CDS, EDS, SDS: Stream*, Delta*, Fetch*), all answering from one SnapshotCache. How to speak gRPC is
// h2-grpc-server.ts (node:http2); this file maps its calls to xDS stream sessions.
import type { DescService } from "@bufbuild/protobuf";
import { toBinary } from "@bufbuild/protobuf";
import { ClusterDiscoveryService } from "../../gen/envoy/service/cluster/v3/cds_pb.js";
import { AggregatedDiscoveryService } from "../../gen/envoy/service/discovery/v3/ads_pb.js";
import {
  DeltaDiscoveryResponseSchema,
  DiscoveryResponseSchema,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import { EndpointDiscoveryService } from "../../gen/envoy/service/endpoint/v3/eds_pb.js";
import { ListenerDiscoveryService } from "../../gen/envoy/service/listener/v3/lds_pb.js";
import { RouteDiscoveryService } from "../../gen/envoy/service/route/v3/rds_pb.js";
import { SecretDiscoveryService } from "../../gen/envoy/service/secret/v3/sds_pb.js";
import type { SnapshotCache } from "./cache.js";
import { DeltaStream } from "./delta.js";
import { readDeltaDiscoveryRequest, readDiscoveryRequest } from "./discovery-request.js";
import { attachedEncoding, attachedParts, concatInto } from "./encoded-response.js";
import { fetchResources } from "./fetch.js";
import { framedBuffer, GrpcStatus, H2GrpcServer, type ServerCall } from "./h2-grpc-server.js";
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE, SECRET_TYPE } from "./resource-types.js";
import { payloadLength, SendBudget, type EncodedPayload, type SendBudgetOptions, type SendChannel } from "./send-queue.js";
import { SotwStream } from "./sotw.js";
import type { StreamSession } from "./stream-session.js";
import type { SyncStatus } from "./sync-status.js";

export interface XdsGrpcServerOptions {
  cache: SnapshotCache;
  status: SyncStatus;
  /** One-line reports: NACKs, protocol errors. Default: stderr. */
  log?: (line: string) => void;
  /** How much response data may be in the middle of being written at once (see send-queue.ts). */
  push?: SendBudgetOptions;
  /**
   * Responses of at least this many bytes (default 1 MiB) are written as their parts, the shared resource bytes as
   * they are, instead of one new buffer per stream; smaller ones as one buffer. `Infinity`: every response as one
   * buffer. At 1 000 services / 2 000 proxies parts lower both the full sync's CPU and its peak RSS (bench/README.md).
   */
  writePartsFromBytes?: number;
}

export interface BoundAddress {
  host: string;
  port: number;
}

const PER_TYPE_SERVICES: [DescService, string][] = [
  [ListenerDiscoveryService, LISTENER_TYPE],
  [RouteDiscoveryService, ROUTE_TYPE],
  [ClusterDiscoveryService, CLUSTER_TYPE],
  [EndpointDiscoveryService, ENDPOINT_TYPE],
  [SecretDiscoveryService, SECRET_TYPE],
];

type Decode<Req> = (bytes: Buffer) => Req;

const decodeSotw: Decode<DiscoveryRequest> = (bytes) => readDiscoveryRequest(bytes);
const decodeDelta: Decode<DeltaDiscoveryRequest> = (bytes) => readDeltaDiscoveryRequest(bytes);

/**
 * Below this size a response is one buffer (one write); from it on, parts (nothing copied per stream). 1 MiB, not
 * lower: with every response over 64 KiB as parts the heap grew between major GCs enough that a later edit's pushes
 * ran into them (convergence 1.0-1.3 s against 0.63-0.67 s at 1 MiB; bench/README.md).
 */
const DEFAULT_WRITE_PARTS_FROM_BYTES = 1024 * 1024;

/**
 * Responses are encoded straight into a buffer with room for the gRPC prefix (no framing copy), or, from
 * `writePartsFromBytes` on, written as their parts (the shared resource bytes as they are).
 */
const sotwEncoder = (partsFrom: number) => (r: object) => attachedPayload(r, partsFrom) ?? toBinary(DiscoveryResponseSchema, r as DiscoveryResponse);
const deltaEncoder = (partsFrom: number) => (r: object) => attachedPayload(r, partsFrom) ?? toBinary(DeltaDiscoveryResponseSchema, r as DeltaDiscoveryResponse);

/** The response's attached encoding: its parts when it has them and is at least `partsFrom` bytes, else one framed buffer. */
function attachedPayload(r: object, partsFrom: number): EncodedPayload | undefined {
  const parts = attachedParts(r);
  if (!parts) return attachedEncoding(r, framedBuffer);
  return payloadLength(parts) >= partsFrom ? parts : concatInto(parts, framedBuffer);
}

export class XdsGrpcServer {
  readonly #server = new H2GrpcServer();
  readonly #cache: SnapshotCache;
  readonly #status: SyncStatus;
  readonly #log: (line: string) => void;
  readonly #calls = new Map<ServerCall, StreamSession<never>>();
  readonly #budget: SendBudget;
  readonly #encodeSotw: (r: object) => EncodedPayload;
  readonly #encodeDelta: (r: object) => EncodedPayload;

  constructor(options: XdsGrpcServerOptions) {
    this.#cache = options.cache;
    this.#status = options.status;
    this.#log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.#budget = new SendBudget(options.push);
    const partsFrom = options.writePartsFromBytes ?? DEFAULT_WRITE_PARTS_FROM_BYTES;
    this.#encodeSotw = sotwEncoder(partsFrom);
    this.#encodeDelta = deltaEncoder(partsFrom);
    const ads = AggregatedDiscoveryService.typeName;
    this.#server.handle(`/${ads}/StreamAggregatedResources`, this.#sotw(`${ads}/StreamAggregatedResources`));
    this.#server.handle(`/${ads}/DeltaAggregatedResources`, this.#delta(`${ads}/DeltaAggregatedResources`));
    for (const [service, typeUrl] of PER_TYPE_SERVICES) {
      for (const m of service.methods) {
        const method = `${service.typeName}/${m.name}`;
        if (m.name.startsWith("Stream")) this.#server.handle(`/${method}`, this.#sotw(method, typeUrl));
        else if (m.name.startsWith("Delta")) this.#server.handle(`/${method}`, this.#delta(method, typeUrl));
        else if (m.name.startsWith("Fetch")) this.#server.handle(`/${method}`, this.#fetch(typeUrl));
      }
    }
  }

  /** Open xDS streams. */
  get streamCount(): number {
    return this.#calls.size;
  }

  /** Binds host:port (0 for an ephemeral port); rejects with a one-line reason. */
  async listen(host: string, port: number): Promise<BoundAddress> {
    try {
      return await this.#server.listen(host, port);
    } catch (e) {
      throw new Error(`xDS server on ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Ends every stream (clients see OK and reconnect elsewhere), then stops; forced after `graceMs`. */
  async close(graceMs = 1000): Promise<void> {
    for (const [call, session] of this.#calls) {
      session.close();
      call.finish(GrpcStatus.OK);
    }
    this.#calls.clear();
    await this.#server.close(graceMs);
  }

  #sotw(method: string, typeUrl?: string) {
    return (call: ServerCall) => {
      const channel = this.#channel(call, this.#encodeSotw);
      // A newer state-of-the-world response of a type replaces an older one still waiting to be written.
      const session = new SotwStream(this.#context(call, method, typeUrl), (r) => channel.send(r, r.typeUrl));
      this.#attach(call, session, channel, decodeSotw);
    };
  }

  #delta(method: string, typeUrl?: string) {
    return (call: ServerCall) => {
      const channel = this.#channel(call, this.#encodeDelta);
      const session = new DeltaStream(this.#context(call, method, typeUrl), (r) => channel.send(r));
      this.#attach(call, session, channel, decodeDelta);
    };
  }

  /** The stream's send queue: responses are encoded when the push budget lets them go out, written as they are. */
  #channel(call: ServerCall, encode: (message: object) => EncodedPayload): SendChannel {
    return this.#budget.channel(encode, (bytes, done) => call.send(bytes, () => done()));
  }

  #context(call: ServerCall, method: string, typeUrl: string | undefined) {
    return {
      cache: this.#cache,
      status: this.#status,
      method,
      ...(typeUrl ? { typeUrl } : {}),
      log: this.#log,
      fail: (message: string) => this.#fail(call, GrpcStatus.INVALID_ARGUMENT, message),
    };
  }

  #fail(call: ServerCall, code: number, details: string): void {
    this.#calls.delete(call);
    call.finish(code, details);
  }

  #attach<Req extends { typeUrl: string }>(call: ServerCall, session: StreamSession<Req>, channel: SendChannel, decode: Decode<Req>): void {
    this.#calls.set(call, session as unknown as StreamSession<never>);
    const done = () => {
      this.#calls.delete(call);
      session.close();
      channel.close();
    };
    call.onMessage = (bytes) => {
      let request: Req;
      try {
        request = decode(bytes);
      } catch (e) {
        done();
        return this.#fail(call, GrpcStatus.INVALID_ARGUMENT, `malformed request on ${call.path}: ${e instanceof Error ? e.message : String(e)}`);
      }
      session.handle(request).catch((e: unknown) => {
        this.#log(`xds: internal error on ${call.path}: ${e instanceof Error ? e.message : String(e)}`);
        session.close();
        this.#fail(call, GrpcStatus.INTERNAL, "internal error");
      });
    };
    call.onHalfClose = () => {
      done();
      call.finish(GrpcStatus.OK);
    };
    call.onClose = done;
  }

  #fetch(typeUrl: string) {
    return (call: ServerCall) => {
      let received = false;
      call.onMessage = (bytes) => {
        if (received) return call.finish(GrpcStatus.UNIMPLEMENTED, `${call.path} is unary: one request message only`);
        received = true;
        let request: DiscoveryRequest;
        try {
          request = decodeSotw(bytes);
        } catch (e) {
          return call.finish(GrpcStatus.INVALID_ARGUMENT, `malformed request on ${call.path}: ${e instanceof Error ? e.message : String(e)}`);
        }
        fetchResources(this.#cache, typeUrl, request, { notModified: false }).then(
          (result) => {
            if (result.kind === "ok") {
              call.send(toBinary(DiscoveryResponseSchema, result.response));
              call.finish(GrpcStatus.OK);
            } else if (result.kind === "invalid") call.finish(GrpcStatus.INVALID_ARGUMENT, result.message);
            else call.finish(GrpcStatus.UNAVAILABLE, result.kind === "unavailable" ? result.message : "not modified");
          },
          (e: unknown) => call.finish(GrpcStatus.INTERNAL, e instanceof Error ? e.message : String(e)),
        );
      };
      call.onHalfClose = () => {
        if (!received) call.finish(GrpcStatus.INTERNAL, `${call.path}: no request message`);
      };
    };
  }
}
