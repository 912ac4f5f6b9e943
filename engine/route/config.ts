// The decoded, precomputed route configuration (see CONFIG.md for the JSON it comes from).
// Everything a request needs is resolved here once: lower-cased strings, compiled regexes,
// cumulative weights, merged header operations, per-million percentages.
import { Regex } from "./regex";
import { RouteIndex } from "./route_index";
import { StringMatcher } from "./string_match";

/** Header mutations; `set` and `add` are flattened name/value pairs, names lower-case.
 *  Apply in this order: remove, then set (overwrite), then add (append). Shared, read-only. */
export class HeaderOps {
  constructor(
    public set: string[] = [],
    public add: string[] = [],
    public remove: string[] = [],
  ) {}

  get isEmpty(): bool {
    return this.set.length == 0 && this.add.length == 0 && this.remove.length == 0;
  }

  /** `this` followed by `later` (later sets win because they are applied last). */
  concat(later: HeaderOps): HeaderOps {
    if (later.isEmpty) return this;
    if (this.isEmpty) return later;
    return new HeaderOps(this.set.concat(later.set), this.add.concat(later.add), this.remove.concat(later.remove));
  }
}

export const NO_HEADER_OPS = new HeaderOps();

export class HeaderMatcher {
  constructor(
    public name: string,
    public matcher: StringMatcher,
    /** without_headers: the result is inverted. */
    public invert: bool,
  ) {}
}

export class QueryParamMatcher {
  constructor(public name: string, public matcher: StringMatcher) {}
}

/** One entry of a route's `match` list (its fields are ANDed). */
export class MatchEntry {
  /** route name, or "<route name>.<match name>" as Istio names the Envoy route. */
  routeName: string = "";
  uri: StringMatcher | null = null;
  ignoreUriCase: bool = false;
  /** uri.exact / uri.prefix lower-cased when ignoreUriCase. */
  uriLower: string = "";
  scheme: StringMatcher | null = null;
  method: StringMatcher | null = null;
  authority: StringMatcher | null = null;
  headers: HeaderMatcher[] = [];
  queryParams: QueryParamMatcher[] = [];
  /** 0 = any destination port. */
  port: i32 = 0;
}

export class Destination {
  cluster: string = "";
  weight: u32 = 0;
  /** Running total of weights up to and including this destination. */
  cumulative: u64 = 0;
  /** Authority rewrite from the destination (used when the route has none). */
  authority: string = "";
  /** Route-level operations followed by this destination's. */
  requestHeaders: HeaderOps = NO_HEADER_OPS;
  responseHeaders: HeaderOps = NO_HEADER_OPS;
}

export enum DerivePort {
  None = 0,
  FromProtocolDefault = 1,
  FromRequestPort = 2,
}

export class RedirectAction {
  uri: string = "";
  uriHasQuery: bool = false;
  authority: string = "";
  scheme: string = "";
  /** Explicit port, 0 = none. */
  port: i32 = 0;
  derivePort: DerivePort = DerivePort.None;
  code: i32 = 301;
}

export class DirectResponseAction {
  status: i32 = 200;
  body: ArrayBuffer = new ArrayBuffer(0);
}

export class RewriteAction {
  /** Prefix rewrite; "" = none. */
  uri: string = "";
  uriRegex: Regex | null = null;
  uriRegexSubstitution: string = "";
  authority: string = "";
}

export class RetryPolicy {
  constructor(
    /** Number of retries (Envoy num_retries); a disabled policy is represented by null. */
    public attempts: i32,
    /** 0 = no per-try timeout. */
    public perTryTimeoutMs: i64,
    public retryOn: string,
    public retriableStatusCodes: i32[],
  ) {}
}

export class FaultPolicy {
  hasDelay: bool = false;
  delayMs: i64 = 0;
  delayPerMillion: u32 = 0;
  hasAbort: bool = false;
  /** 0 when the abort is a gRPC one. */
  abortHttpStatus: i32 = 0;
  /** -1 when the abort is an HTTP one. */
  abortGrpcStatus: i32 = -1;
  abortPerMillion: u32 = 0;
}

export class MirrorPolicy {
  constructor(public cluster: string, public perMillion: u32) {}
}

export class CorsPolicy {
  allowOrigins: StringMatcher[] = [];
  /** Some allow_origins entry matches the literal "*": every origin is allowed (Envoy). */
  allowsAnyOrigin: bool = false;
  allowMethods: string = "";
  allowHeaders: string = "";
  exposeHeaders: string = "";
  /** Seconds as a decimal string, "" = unset. */
  maxAge: string = "";
  allowCredentials: bool = false;
  forwardNotMatchingPreflights: bool = true;
}

export enum ActionKind {
  Route = 1,
  Redirect = 2,
  DirectResponse = 3,
}

export class Route {
  name: string = "";
  matches: MatchEntry[] = [];
  action: ActionKind = ActionKind.Route;
  destinations: Destination[] = [];
  totalWeight: u64 = 0;
  redirect: RedirectAction | null = null;
  directResponse: DirectResponseAction | null = null;
  rewrite: RewriteAction | null = null;
  /** 0 = no timeout. */
  timeoutMs: i64 = 0;
  /** null = retries disabled. */
  retries: RetryPolicy | null = null;
  fault: FaultPolicy | null = null;
  mirrors: MirrorPolicy[] = [];
  /** All mirror clusters, reused when every mirror is at 100%. */
  mirrorClusters: string[] = [];
  mirrorsAllFull: bool = true;
  cors: CorsPolicy | null = null;
  /** Route-level operations (destinations carry their merged copies). */
  requestHeaders: HeaderOps = NO_HEADER_OPS;
  responseHeaders: HeaderOps = NO_HEADER_OPS;
}

export class VirtualHost {
  name: string = "";
  domains: string[] = [];
  /** Scoped configurations only: the scope (RouteConfiguration) whose route metadata holds the routes. */
  scope: string = "";
  routes: Route[] = [];
  /** Built once the routes are decoded. */
  index: RouteIndex = new RouteIndex([]);
}

/** A wildcard domain: `*<suffix>` or `<prefix>*`, stored without the star. */
export class WildcardDomain {
  constructor(public affix: string, public host: VirtualHost) {}
}

export class RouteTable {
  virtualHosts: VirtualHost[] = [];
  exactDomains: Map<string, VirtualHost> = new Map();
  /** Longest suffix first. */
  suffixDomains: WildcardDomain[] = [];
  /** Longest prefix first. */
  prefixDomains: WildcardDomain[] = [];
  catchAll: VirtualHost | null = null;
  ignorePortInHostMatching: bool = false;
  /** `"scoped": true`: virtual hosts carry a scope instead of routes (decodeScopeRoutes loads them). */
  scoped: bool = false;
  /** One-entry cache of the last selection: consecutive requests mostly share an authority. */
  lastAuthority: string | null = null;
  lastHost: VirtualHost | null = null;
}
