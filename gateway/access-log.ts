// Envoy's default access log format, one line per request, for HCM access_log (stdout, stderr or file sinks).
// Formatting is portable; sinks are supplied by the embedder (see access-log-node.ts). Cheap on the hot path: the
// line is built from values the HCM already has and handed to a buffered sink.
import type { HeaderMap } from "../wasm/host/index.js";
import type { SocketAddr } from "./bootstrap/types.js";

export interface AccessLogEntry {
  startMs: number;
  requestHeaders: HeaderMap;
  responseHeaders: HeaderMap;
  protocol: string;
  status: number;
  flags: readonly string[];
  bytesReceived: number;
  bytesSent: number;
  durationMs: number;
  upstream?: SocketAddr | undefined;
}

export type AccessLogSink = (line: string) => void;

// The order Envoy prints response flags in.
const FLAG_ORDER = ["LH", "UH", "UT", "LR", "UR", "UF", "UC", "UO", "NR", "DI", "FI", "RL", "UAEX", "RLSE", "DC", "URX", "SI", "IH", "DPE", "UMSDR", "RFCF", "NFCF", "DT", "UPE", "NC", "OM", "DF", "DO", "DR"];

export function formatFlags(flags: readonly string[]): string {
  if (flags.length === 0) return "-";
  if (flags.length === 1) return flags[0]!;
  return [...new Set(flags)].sort((a, b) => rank(a) - rank(b)).join(",");
}

function rank(flag: string): number {
  const i = FLAG_ORDER.indexOf(flag);
  return i < 0 ? FLAG_ORDER.length : i;
}

function header(h: HeaderMap, name: string): string {
  for (const [k, v] of h) if (k === name) return v;
  return "-";
}

/**
 * [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS%
 * %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%"
 * "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"
 */
export function formatDefault(e: AccessLogEntry): string {
  const req = e.requestHeaders;
  const original = header(req, "x-envoy-original-path");
  const path = original !== "-" ? original : header(req, ":path");
  const upstream = e.upstream ? `${e.upstream.address.includes(":") ? `[${e.upstream.address}]` : e.upstream.address}:${e.upstream.port}` : "-";
  return (
    `[${new Date(e.startMs).toISOString()}] "${header(req, ":method")} ${path} ${e.protocol}" ${e.status} ${formatFlags(e.flags)} ` +
    `${e.bytesReceived} ${e.bytesSent} ${Math.round(e.durationMs)} ${header(e.responseHeaders, "x-envoy-upstream-service-time")} ` +
    `"${header(req, "x-forwarded-for")}" "${header(req, "user-agent")}" "${header(req, "x-request-id")}" "${header(req, ":authority")}" "${upstream}"\n`
  );
}
