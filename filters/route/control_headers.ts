// Request headers that steer the router. A client must not be able to set them: the route filter
// strips them before deciding, then writes its own (filters decide, routers execute).

/** The RDS route reads the chosen cluster from this header (`cluster_header: x-halyard-cluster`). */
export const CLUSTER_HEADER = "x-halyard-cluster";
/** Scoped configurations: the chosen virtual host's scope, read by the HCM's scope key builder. */
export const SCOPE_HEADER = "x-halyard-scope";

export const TIMEOUT_HEADER = "x-envoy-upstream-rq-timeout-ms";
export const PER_TRY_TIMEOUT_HEADER = "x-envoy-upstream-rq-per-try-timeout-ms";
export const MAX_RETRIES_HEADER = "x-envoy-max-retries";
export const RETRY_ON_HEADER = "x-envoy-retry-on";
export const RETRIABLE_STATUS_CODES_HEADER = "x-envoy-retriable-status-codes";
export const ORIGINAL_PATH_HEADER = "x-envoy-original-path";

// x-envoy-* headers Envoy's connection manager itself sets after sanitizing the request, before
// any filter runs: they are trusted and kept.
const HCM_OWNED: string[] = [
  "x-envoy-internal",
  "x-envoy-external-address",
  "x-envoy-downstream-service-cluster",
  "x-envoy-downstream-service-node",
];

const X_ENVOY: string = "x-envoy-";
const X_ENVOY_LEN: i32 = 8;
const CLUSTER_HEADER_LEN: i32 = 17;
const SCOPE_HEADER_LEN: i32 = 15;

/** Whether a lower-case header name (raw UTF-8 at ptr/len) may be a control header. Cheap byte
 *  check so the common case decodes nothing. */
export function maybeControlHeader(ptr: usize, len: i32): bool {
  if ((len == CLUSTER_HEADER_LEN || len == SCOPE_HEADER_LEN) && load<u8>(ptr) == 0x78 /* x */ && load<u8>(ptr + 2) == 0x68 /* h */) return true;
  if (len <= X_ENVOY_LEN) return false;
  // "x-envoy-" as two little-endian words: "x-en" and "voy-".
  return load<u32>(ptr) == 0x6e652d78 && load<u32>(ptr + 4) == 0x2d796f76;
}

/** Exact test on a decoded lower-case name. */
export function isControlHeader(name: string): bool {
  if (name == CLUSTER_HEADER || name == SCOPE_HEADER) return true;
  if (name.length <= X_ENVOY_LEN || !name.startsWith(X_ENVOY)) return false;
  return !HCM_OWNED.includes(name);
}

/** Headers the router consumes rather than forwards (what a mirrored copy leaves out). */
export function isRouterInput(name: string): bool {
  return name == CLUSTER_HEADER || name == SCOPE_HEADER || name == TIMEOUT_HEADER || name == PER_TRY_TIMEOUT_HEADER ||
    name == MAX_RETRIES_HEADER || name == RETRY_ON_HEADER || name == RETRIABLE_STATUS_CODES_HEADER;
}
