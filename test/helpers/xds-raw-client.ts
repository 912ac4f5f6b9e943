// A raw ADS client on @grpc/grpc-js for protocol tests: sends exactly the requests a test writes and queues the
// responses, with bounded waits.
import * as grpc from "@grpc/grpc-js";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { AggregatedDiscoveryService } from "../../gen/envoy/service/discovery/v3/ads_pb.js";
import {
  DeltaDiscoveryRequestSchema,
  DiscoveryRequestSchema,
  type DeltaDiscoveryResponse,
  type DiscoveryResponse,
} from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import { grpcServiceDefinition } from "../../control/xds/grpc-service.js";

import type { DescService } from "@bufbuild/protobuf";

const AdsClient = grpc.makeGenericClientConstructor(grpcServiceDefinition(AggregatedDiscoveryService), "ADS");

export interface RawStream<Req, Res> {
  send(request: Req): void;
  /** The next response, failing after `timeoutMs`. */
  next(timeoutMs?: number): Promise<Res>;
  /** Asserts that no response arrives within `ms`. */
  none(ms?: number): Promise<void>;
  /** The status the stream ended with (waits for it). */
  status(timeoutMs?: number): Promise<grpc.StatusObject>;
  close(): void;
}

function open<Req, Res>(port: number, method: string, service?: DescService): RawStream<Req, Res> {
  const Client = service ? grpc.makeGenericClientConstructor(grpcServiceDefinition(service), service.name) : AdsClient;
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const call = (client as unknown as Record<string, () => grpc.ClientDuplexStream<Req, Res>>)[method]!.call(client);
  const queue: Res[] = [];
  const waiters: (() => void)[] = [];
  let status: grpc.StatusObject | undefined;
  const wake = () => waiters.splice(0).forEach((w) => w());
  call.on("data", (r: Res) => {
    queue.push(r);
    wake();
  });
  call.on("status", (s: grpc.StatusObject) => {
    status = s;
    wake();
  });
  call.on("error", () => {}); // reported through "status"
  const waitUntil = async (ready: () => boolean, timeoutMs: number, what: string) => {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  };
  return {
    send: (r) => call.write(r),
    next: async (timeoutMs = 3000) => {
      await waitUntil(() => queue.length > 0 || status !== undefined, timeoutMs, "a response");
      if (queue.length === 0) throw new Error(`stream ended: ${status!.code} ${status!.details}`);
      return queue.shift()!;
    },
    none: async (ms = 250) => {
      await new Promise((r) => setTimeout(r, ms));
      if (queue.length > 0) throw new Error(`unexpected response: ${JSON.stringify(queue[0], (_k, v) => (typeof v === "bigint" ? String(v) : v))}`);
    },
    status: async (timeoutMs = 3000) => {
      await waitUntil(() => status !== undefined, timeoutMs, "the stream's status");
      return status!;
    },
    close: () => {
      call.cancel();
      client.close();
    },
  };
}

export type SotwStream = RawStream<ReturnType<typeof sotwRequest>, DiscoveryResponse>;
export type DeltaStream = RawStream<ReturnType<typeof deltaRequest>, DeltaDiscoveryResponse>;

export const openSotw = (port: number) => open(port, "StreamAggregatedResources") as SotwStream;
export const openDelta = (port: number) => open(port, "DeltaAggregatedResources") as DeltaStream;

/** A SotW stream on a per-type service, e.g. (ClusterDiscoveryService, "StreamClusters"). */
export const openTypedSotw = (port: number, service: DescService, method: string) => open(port, method, service) as SotwStream;

/** One unary call (Fetch*), resolving to the response or the gRPC error. */
export function fetchUnary(port: number, service: DescService, method: string, request: ReturnType<typeof sotwRequest>): Promise<DiscoveryResponse | grpc.ServiceError> {
  const Client = grpc.makeGenericClientConstructor(grpcServiceDefinition(service), service.name);
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as Record<
    string,
    (req: unknown, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: DiscoveryResponse) => void) => void
  >;
  return new Promise((resolve) =>
    client[method]!.call(client, request, { deadline: Date.now() + 3000 }, (err, res) => {
      (client as unknown as grpc.Client).close();
      resolve(err ?? res!);
    }),
  );
}

export function sotwRequest(init: MessageInitShape<typeof DiscoveryRequestSchema>) {
  return create(DiscoveryRequestSchema, init);
}

export function deltaRequest(init: MessageInitShape<typeof DeltaDiscoveryRequestSchema>) {
  return create(DeltaDiscoveryRequestSchema, init);
}
