// Envoy's local reply to a gRPC request (Http::Utility::sendLocalReply with is_grpc): a trailers-only response,
// HTTP 200, content-type application/grpc, grpc-status (the filter's gRPC status, else mapped from the HTTP status
// as Grpc::Utility::httpToGrpcStatus does) and grpc-message (the body, percent-encoded), no body. A grpc-status or
// grpc-message the reply already carries is kept. Portable.
import type { HeaderMap } from "../wasm/host/index.js";
import type { RouterResponse } from "./router.js";

/** Envoy's gRPC request test: content-type application/grpc, or application/grpc+proto, application/grpc;... */
export function isGrpcRequest(headers: HeaderMap): boolean {
  for (const [k, v] of headers) {
    if (k !== "content-type") continue;
    const ct = v.toLowerCase();
    if (!ct.startsWith("application/grpc")) return false;
    const next = ct.charCodeAt(16);
    return ct.length === 16 || next === 43 /* + */ || next === 59 /* ; */;
  }
  return false;
}

const GRPC = { UNKNOWN: 2, PERMISSION_DENIED: 7, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, UNAUTHENTICATED: 16 };

export function httpToGrpcStatus(status: number): number {
  switch (status) {
    case 400:
      return GRPC.INTERNAL;
    case 401:
      return GRPC.UNAUTHENTICATED;
    case 403:
      return GRPC.PERMISSION_DENIED;
    case 404:
      return GRPC.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GRPC.UNAVAILABLE;
    default:
      return GRPC.UNKNOWN;
  }
}

/** gRPC's percent-encoding of grpc-message: bytes outside printable ASCII, and "%", as %XX. */
export function percentEncode(text: string): string {
  let out = "";
  for (const b of new TextEncoder().encode(text)) {
    out += b < 0x20 || b > 0x7e || b === 0x25 ? `%${b.toString(16).toUpperCase().padStart(2, "0")}` : String.fromCharCode(b);
  }
  return out;
}

const EMPTY = new Uint8Array(0);
const decoder = new TextDecoder();

/** Rewrites a local reply (router's or a filter's) in place as Envoy answers a gRPC request. */
export function toGrpcLocalReply(res: RouterResponse, grpcStatus?: number): RouterResponse {
  const headers: HeaderMap = [[":status", "200"]];
  let status: string | undefined;
  let message: string | undefined;
  for (const pair of res.headers) {
    const k = pair[0];
    if (k === ":status" || k === "content-length" || k === "content-type") continue;
    if (k === "grpc-status") status ??= pair[1];
    else if (k === "grpc-message") message ??= pair[1];
    else headers.push(pair);
  }
  headers.push(["content-type", "application/grpc"], ["grpc-status", status ?? String(grpcStatus ?? httpToGrpcStatus(res.status))]);
  message ??= res.body.length > 0 ? percentEncode(decoder.decode(res.body)) : undefined;
  if (message !== undefined) headers.push(["grpc-message", message]);
  res.status = 200;
  res.headers = headers;
  res.body = EMPTY;
  delete res.trailers;
  return res;
}
