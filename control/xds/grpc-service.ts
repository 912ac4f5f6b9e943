// grpc-js service definitions from protoc-gen-es service descriptors: paths from the proto names, messages
// (de)serialized with toBinary/fromBinary on the generated schemas. No proto-loader or protobufjs at run time.
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import { fromBinary, toBinary, type DescMessage, type DescService, type MessageShape } from "@bufbuild/protobuf";
import { DiscoveryRequestSchema } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import { readDiscoveryRequest } from "./discovery-request.js";
import { attachedEncoding } from "./encoded-response.js";

function serializer<D extends DescMessage>(schema: D): (value: MessageShape<D>) => Buffer {
  return (value) => {
    // A response may come encoded already (shared resources, see encoded-response.ts).
    const bytes = attachedEncoding(value) ?? toBinary(schema, value);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function deserializer<D extends DescMessage>(schema: D): (bytes: Buffer) => MessageShape<D> {
  // State-of-the-world requests keep their (often repeated) resource_names encoded until read.
  if (schema.typeName === DiscoveryRequestSchema.typeName) return (bytes) => readDiscoveryRequest(bytes) as unknown as MessageShape<D>;
  return (bytes) => fromBinary(schema, bytes);
}

/** Keyed by the proto method name (StreamAggregatedResources, ...), as grpc-js implementations are. */
export function grpcServiceDefinition(service: DescService): ServiceDefinition {
  const definition: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    definition[method.name] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: serializer(method.input) as (v: unknown) => Buffer,
      requestDeserialize: deserializer(method.input),
      responseSerialize: serializer(method.output) as (v: unknown) => Buffer,
      responseDeserialize: deserializer(method.output),
      originalName: method.localName,
    };
  }
  return definition;
}
