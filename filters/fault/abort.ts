// The fault filter's abort, answered as Envoy's fault filter does: HTTP aborts with the status and
// body "fault filter abort"; gRPC aborts with HTTP 200 and the gRPC status. For a gRPC request the
// answer is a trailers-only gRPC response (content-type application/grpc, grpc-status,
// grpc-message, no body) stated explicitly, so a host that does not render gRPC local replies
// (the Hono gateway) sends the same bytes Envoy does; Envoy keeps a grpc-status already present.
import { HeaderPair, sendLocalResponse } from "../abi/index";

export const ABORT_BODY = "fault filter abort";
export const ABORT_DETAILS = "fault_filter_abort";
const ABORT_BODY_BYTES = String.UTF8.encode(ABORT_BODY);

/** Envoy's gRPC request test: content-type application/grpc, optionally with +suffix or params. */
export function isGrpcContentType(contentType: string | null): bool {
  if (contentType === null) return false;
  const ct = contentType.toLowerCase();
  if (!ct.startsWith("application/grpc")) return false;
  if (ct.length == 16) return true;
  const next = ct.charCodeAt(16);
  return next == 0x2b /* + */ || next == 0x3b /* ; */;
}

export function sendAbort(httpStatus: i32, grpcStatus: i32, grpcRequest: bool): void {
  if (grpcStatus < 0) {
    sendLocalResponse(<u32>httpStatus, ABORT_DETAILS, ABORT_BODY_BYTES, []);
    return;
  }
  if (!grpcRequest) {
    // Envoy ignores the gRPC status for a non-gRPC request: a plain 200 with the body.
    sendLocalResponse(200, ABORT_DETAILS, ABORT_BODY_BYTES, [], <u32>grpcStatus);
    return;
  }
  const headers: HeaderPair[] = [
    new HeaderPair("content-type", "application/grpc"),
    new HeaderPair("grpc-status", grpcStatus.toString()),
    new HeaderPair("grpc-message", ABORT_BODY),
  ];
  sendLocalResponse(200, ABORT_DETAILS, null, headers, <u32>grpcStatus);
}
