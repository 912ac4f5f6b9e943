// The xDS gRPC server (@grpc/grpc-js): ADS (StreamAggregatedResources, DeltaAggregatedResources) and the per-type
// services (LDS, RDS, CDS, EDS, SDS: Stream*, Delta*, Fetch*), all answering from one SnapshotCache.
import * as grpc from "@grpc/grpc-js";
import type { DescService } from "@bufbuild/protobuf";
import { ClusterDiscoveryService } from "../../gen/envoy/service/cluster/v3/cds_pb.js";
import { AggregatedDiscoveryService } from "../../gen/envoy/service/discovery/v3/ads_pb.js";
import { toBinary } from "@bufbuild/protobuf";
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
import { BufferPool } from "./buffer-pool.js";
import { attachedEncoding, encodedMessage } from "./encoded-response.js";
import { fetchResources } from "./fetch.js";
import { grpcServiceDefinition } from "./grpc-service.js";
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE, SECRET_TYPE } from "./resource-types.js";
import { SendBudget, type SendBudgetOptions, type SendChannel } from "./send-queue.js";
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

type Duplex<Req, Res> = grpc.ServerDuplexStream<Req, Res>;

export class XdsGrpcServer {
  readonly #server = new grpc.Server();
  readonly #cache: SnapshotCache;
  readonly #status: SyncStatus;
  readonly #log: (line: string) => void;
  readonly #calls = new Map<Duplex<unknown, unknown>, StreamSession<never>>();
  readonly #budget: SendBudget;
  /** Buffers the responses are encoded into, reused once written (buffer-pool.ts). */
  readonly #pool: BufferPool;

  constructor(options: XdsGrpcServerOptions) {
    this.#cache = options.cache;
    this.#status = options.status;
    this.#log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.#budget = new SendBudget(options.push);
    this.#pool = new BufferPool(2 * this.#budget.maxBytesInFlight);
    this.#server.addService(grpcServiceDefinition(AggregatedDiscoveryService), {
      StreamAggregatedResources: this.#sotw(`${AggregatedDiscoveryService.typeName}/StreamAggregatedResources`),
      DeltaAggregatedResources: this.#delta(`${AggregatedDiscoveryService.typeName}/DeltaAggregatedResources`),
    });
    for (const [service, typeUrl] of PER_TYPE_SERVICES) {
      const implementation: grpc.UntypedServiceImplementation = {};
      for (const m of service.methods) {
        const method = `${service.typeName}/${m.name}`;
        if (m.name.startsWith("Stream")) implementation[m.name] = this.#sotw(method, typeUrl);
        else if (m.name.startsWith("Delta")) implementation[m.name] = this.#delta(method, typeUrl);
        else if (m.name.startsWith("Fetch")) implementation[m.name] = this.#fetch(typeUrl);
      }
      this.#server.addService(grpcServiceDefinition(service), implementation);
    }
  }

  /** Open xDS streams. */
  get streamCount(): number {
    return this.#calls.size;
  }

  /** Binds host:port (0 for an ephemeral port); rejects with a one-line reason. */
  listen(host: string, port: number): Promise<BoundAddress> {
    const target = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    return new Promise((resolve, reject) => {
      this.#server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (err, bound) => {
        if (err) reject(new Error(`xDS server on ${target}: ${err.message.split("\n")[0]}`));
        else resolve({ host, port: bound });
      });
    });
  }

  /** Ends every stream (clients see OK and reconnect elsewhere), then stops; forced after `graceMs`. */
  async close(graceMs = 1000): Promise<void> {
    for (const [call, session] of this.#calls) {
      session.close();
      call.end();
    }
    this.#calls.clear();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, graceMs);
      this.#server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #sotw(method: string, typeUrl?: string): grpc.handleBidiStreamingCall<DiscoveryRequest, DiscoveryResponse> {
    return (call) => {
      const channel = this.#channel(call, (r) => attachedEncoding(r, this.#pool.alloc) ?? toBinary(DiscoveryResponseSchema, r as DiscoveryResponse));
      // A newer state-of-the-world response of a type replaces an older one still waiting to be written.
      const session = new SotwStream(this.#context(call, method, typeUrl), (r) => channel.send(r, r.typeUrl));
      this.#attach(call, session, channel);
    };
  }

  #delta(method: string, typeUrl?: string): grpc.handleBidiStreamingCall<DeltaDiscoveryRequest, DeltaDiscoveryResponse> {
    return (call) => {
      const channel = this.#channel(call, (r) => attachedEncoding(r, this.#pool.alloc) ?? toBinary(DeltaDiscoveryResponseSchema, r as DeltaDiscoveryResponse));
      const session = new DeltaStream(this.#context(call, method, typeUrl), (r) => channel.send(r));
      this.#attach(call, session, channel);
    };
  }

  /** The stream's send queue: responses are encoded when the push budget lets them go out. */
  #channel(call: Duplex<unknown, unknown>, encode: (message: object) => Uint8Array): SendChannel {
    return this.#budget.channel(encode, (bytes, done) => {
      if (call.destroyed || call.writableEnded) {
        this.#pool.release(bytes);
        return done();
      }
      // grpc-js copies the bytes into a framed message before the write completes: then they can be reused.
      call.write(encodedMessage(bytes), () => {
        this.#pool.release(bytes);
        done();
      });
    });
  }

  #context(call: Duplex<unknown, unknown>, method: string, typeUrl: string | undefined) {
    return {
      cache: this.#cache,
      status: this.#status,
      method,
      ...(typeUrl ? { typeUrl } : {}),
      log: this.#log,
      fail: (message: string) => this.#fail(call, grpc.status.INVALID_ARGUMENT, message),
    };
  }

  #fail(call: Duplex<unknown, unknown>, code: grpc.status, details: string): void {
    this.#calls.delete(call);
    // grpc-js turns an 'error' on a server stream into the call's status.
    call.emit("error", Object.assign(new Error(details), { code, details }));
  }

  #attach<Req>(call: Duplex<Req, unknown>, session: StreamSession<Req & { typeUrl: string }>, channel: SendChannel): void {
    const untyped = call as Duplex<unknown, unknown>;
    this.#calls.set(untyped, session as unknown as StreamSession<never>);
    const done = () => {
      this.#calls.delete(untyped);
      session.close();
      channel.close();
    };
    call.on("data", (request: Req & { typeUrl: string }) => {
      session.handle(request).catch((e: unknown) => {
        this.#log(`xds: internal error on ${call.getPath()}: ${e instanceof Error ? e.message : String(e)}`);
        session.close();
        this.#fail(untyped, grpc.status.INTERNAL, "internal error");
      });
    });
    call.on("end", () => {
      done();
      call.end();
    });
    call.on("cancelled", done);
    call.on("close", done);
    call.on("error", done);
  }

  #fetch(typeUrl: string): grpc.handleUnaryCall<DiscoveryRequest, DiscoveryResponse> {
    return (call, callback) => {
      fetchResources(this.#cache, typeUrl, call.request, { notModified: false }).then(
        (result) => {
          if (result.kind === "ok") callback(null, result.response);
          else if (result.kind === "invalid") callback({ code: grpc.status.INVALID_ARGUMENT, details: result.message });
          else callback({ code: grpc.status.UNAVAILABLE, details: result.kind === "unavailable" ? result.message : "not modified" });
        },
        (e: unknown) => callback({ code: grpc.status.INTERNAL, details: e instanceof Error ? e.message : String(e) }),
      );
    };
  }
}
