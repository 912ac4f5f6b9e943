// States a `route` decision in Envoy's own terms on the request headers, so Envoy's router and the
// Hono gateway's router execute it identically: the cluster in x-halyard-cluster (read by the RDS
// route's cluster_header), timeouts and retries as x-envoy-* request headers, rewrites of :path /
// :authority, and the route's request header operations.
import { MapType } from "../abi/index";
import { Decision } from "../../engine/route/index";
import {
  CLUSTER_HEADER, MAX_RETRIES_HEADER, ORIGINAL_PATH_HEADER, PER_TRY_TIMEOUT_HEADER, RETRIABLE_STATUS_CODES_HEADER,
  RETRY_ON_HEADER, TIMEOUT_HEADER,
} from "./control_headers";
import { EncodedName, replaceHeaderNamed, replaceHeaderNamedI64 } from "./encoded";
import { applyHeaderOps } from "./header_ops";

const REQ = MapType.HttpRequestHeaders;
const CLUSTER = new EncodedName(CLUSTER_HEADER);
const TIMEOUT = new EncodedName(TIMEOUT_HEADER);
const MAX_RETRIES = new EncodedName(MAX_RETRIES_HEADER);
const RETRY_ON = new EncodedName(RETRY_ON_HEADER);
const RETRIABLE_STATUS_CODES = new EncodedName(RETRIABLE_STATUS_CODES_HEADER);
const PER_TRY_TIMEOUT = new EncodedName(PER_TRY_TIMEOUT_HEADER);
const ORIGINAL_PATH = new EncodedName(ORIGINAL_PATH_HEADER);
const PATH = new EncodedName(":path");
const AUTHORITY = new EncodedName(":authority");

/** `originalPath` is the :path the client sent (kept in x-envoy-original-path on a rewrite). */
export function writeRouteDecision(d: Decision, originalPath: string): void {
  // Header operations first, so a route's `set` can never override the router's inputs below.
  applyHeaderOps(REQ, d.requestHeaders);
  replaceHeaderNamed(REQ, CLUSTER, d.cluster);
  // Envoy reads 0 as "no timeout"; always stating it overrides any timeout on the RDS route.
  replaceHeaderNamedI64(REQ, TIMEOUT, d.timeoutMs);
  const retries = d.retries;
  if (retries) {
    replaceHeaderNamedI64(REQ, MAX_RETRIES, retries.attempts);
    if (retries.retryOn.length) replaceHeaderNamed(REQ, RETRY_ON, retries.retryOn);
    const codes = retries.retriableStatusCodes;
    if (codes.length) replaceHeaderNamed(REQ, RETRIABLE_STATUS_CODES, joinCodes(codes));
    if (retries.perTryTimeoutMs > 0) replaceHeaderNamedI64(REQ, PER_TRY_TIMEOUT, retries.perTryTimeoutMs);
  } else {
    replaceHeaderNamed(REQ, MAX_RETRIES, "0");
  }
  if (d.pathRewritten) {
    replaceHeaderNamed(REQ, ORIGINAL_PATH, originalPath);
    replaceHeaderNamed(REQ, PATH, d.path);
  }
  if (d.authorityRewritten) replaceHeaderNamed(REQ, AUTHORITY, d.authority);
}

// Retry policies are shared config objects: the last one's codes string is reused.
let lastCodes: i32[] | null = null;
let lastCodesText = "";

function joinCodes(codes: i32[]): string {
  if (codes === lastCodes) return lastCodesText;
  let s = "";
  for (let i = 0, n = codes.length; i < n; i++) {
    if (i) s += ",";
    s += unchecked(codes[i]).toString();
  }
  lastCodes = codes;
  lastCodesText = s;
  return s;
}
