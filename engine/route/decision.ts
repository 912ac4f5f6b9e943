// What the engine decided for one request, in Envoy's terms. The route filter turns this into
// the cluster header, x-envoy-* headers and local responses; header operation lists and the
// retry policy are shared with the config and must be treated as read-only.
import { HeaderOps, NO_HEADER_OPS, RetryPolicy } from "./config";

export enum DecisionKind {
  NoRoute = 0,
  Route = 1,
  Redirect = 2,
  DirectResponse = 3,
}

const NO_STRINGS: string[] = [];
const EMPTY_BODY = new ArrayBuffer(0);

export class Decision {
  kind: DecisionKind = DecisionKind.NoRoute;
  /** Name of the virtual host and of the route that matched ("" when none). */
  virtualHost: string = "";
  routeName: string = "";

  // ---- kind == Route ----
  cluster: string = "";
  /** Path to send upstream (the request's own path when not rewritten). */
  path: string = "";
  pathRewritten: bool = false;
  /** Authority to send upstream (the request's own when not rewritten). */
  authority: string = "";
  authorityRewritten: bool = false;
  /** 0 = no timeout. */
  timeoutMs: i64 = 0;
  /** null = no retries (disabled by config, or the request is aborted by a fault). */
  retries: RetryPolicy | null = null;
  /** Clusters to shadow this request to (percentages already decided). */
  mirrors: string[] = NO_STRINGS;

  // ---- all kinds except NoRoute ----
  /** Route-level then destination-level operations. Request ones only matter for kind Route. */
  requestHeaders: HeaderOps = NO_HEADER_OPS;
  responseHeaders: HeaderOps = NO_HEADER_OPS;
  /** Fault injection: wait delayMs first (0 = no delay), then, if abortHttpStatus > 0 or
   *  abortGrpcStatus >= 0, answer locally with it instead of going upstream. */
  delayMs: i64 = 0;
  abortHttpStatus: i32 = 0;
  abortGrpcStatus: i32 = -1;

  // ---- kind == Redirect ----
  redirectStatus: i32 = 0;
  location: string = "";

  // ---- kind == DirectResponse (also a CORS preflight answer) ----
  status: i32 = 0;
  body: ArrayBuffer = EMPTY_BODY;

  // ---- CORS ----
  /** The request is a CORS preflight answered locally (kind DirectResponse, status 200). */
  corsPreflight: bool = false;
  /** Flattened name/value pairs to set on the response (upstream or local). */
  corsHeaders: string[] = NO_STRINGS;

  get aborted(): bool {
    return this.abortHttpStatus > 0 || this.abortGrpcStatus >= 0;
  }

  /** Back to the initial state, so one Decision can be reused across requests. */
  reset(): Decision {
    this.kind = DecisionKind.NoRoute;
    this.virtualHost = "";
    this.routeName = "";
    this.cluster = "";
    this.path = "";
    this.pathRewritten = false;
    this.authority = "";
    this.authorityRewritten = false;
    this.timeoutMs = 0;
    this.retries = null;
    this.mirrors = NO_STRINGS;
    this.requestHeaders = NO_HEADER_OPS;
    this.responseHeaders = NO_HEADER_OPS;
    this.delayMs = 0;
    this.abortHttpStatus = 0;
    this.abortGrpcStatus = -1;
    this.redirectStatus = 0;
    this.location = "";
    this.status = 0;
    this.body = EMPTY_BODY;
    this.corsPreflight = false;
    this.corsHeaders = NO_STRINGS;
    return this;
  }
}

export function decisionKindName(kind: DecisionKind): string {
  switch (kind) {
    case DecisionKind.Route: return "route";
    case DecisionKind.Redirect: return "redirect";
    case DecisionKind.DirectResponse: return "direct_response";
    default: return "no_route";
  }
}
