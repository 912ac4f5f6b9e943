// gRPC status names (as Istio's abort.grpcStatus spells them) to their numeric codes.
const GRPC_STATUS_NAMES: string[] = [
  "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
  "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
  "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
];

/** Code for a status name, or -1 when the name is unknown. */
export function grpcStatusCode(name: string): i32 {
  return GRPC_STATUS_NAMES.indexOf(name);
}

export function grpcStatusNames(): string {
  return GRPC_STATUS_NAMES.join(", ");
}
