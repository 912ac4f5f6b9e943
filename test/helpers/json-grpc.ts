// gRPC methods whose messages are JSON, for tests that need services without .proto files.
import type * as grpc from "@grpc/grpc-js";

export const serializeJson = (v: unknown) => Buffer.from(JSON.stringify(v));
const deserialize = (b: Buffer) => JSON.parse(b.toString("utf8")) as unknown;

export function jsonMethod(path: string, streams: { request?: boolean; response?: boolean } = {}): grpc.MethodDefinition<unknown, unknown> {
  return {
    path,
    requestStream: streams.request ?? false,
    responseStream: streams.response ?? false,
    requestSerialize: serializeJson,
    requestDeserialize: deserialize,
    responseSerialize: serializeJson,
    responseDeserialize: deserialize,
  };
}

export type AnyGrpcClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;
