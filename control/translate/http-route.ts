// One Istio `http[]` entry as one route engine route, for one proxy and listener port. Match entries that do not
// apply to the proxy (or to other ports) are dropped; a route left without any is dropped.
import type { FieldPath } from "../config/errors.js";
import type {
  CorsPolicy,
  Headers,
  HTTPFaultInjection,
  HTTPMatchRequest,
  HTTPRoute,
  HTTPRouteDestination,
  Percent,
  StringMatch,
} from "../config/types.js";
import type { IssueCollector } from "../registry/issues.js";
import type { SourcedRoute } from "./delegate.js";
import type { ClusterResolver } from "./destinations.js";
import { durationMs, durationSeconds } from "./duration.js";
import type {
  EngineCors,
  EngineDestination,
  EngineFault,
  EngineHeaderOps,
  EngineHeaderSide,
  EngineMatch,
  EngineMirror,
  EngineRoute,
  EngineStringMatch,
} from "./engine-config.js";
import type { Proxy } from "./proxy.js";
import { matchAppliesTo } from "./selection.js";

export interface RouteContext {
  proxy: Proxy;
  gatewayNames: ReadonlySet<string>;
  listenerPort: number;
  clusters: ClusterResolver;
  issues: IssueCollector;
}

export interface TranslatedRoute {
  route: EngineRoute;
  /** Matches every request: routes after it are never reached (Istio stops there). */
  catchAll: boolean;
}

export function translateHttpRoute(src: SourcedRoute, ctx: RouteContext): TranslatedRoute | undefined {
  const { http, vs, path } = src;
  const warn = (p: FieldPath, message: string) => ctx.issues.add(vs, [...path, ...p], message);

  const route: EngineRoute = {};
  if (http.name) route.name = http.name;
  let catchAll = true;
  if (http.match && http.match.length > 0) {
    const applicable = http.match.filter(
      (m) => !(m.port && m.port !== ctx.listenerPort) && matchAppliesTo(m, ctx.proxy, ctx.gatewayNames, vs.metadata.namespace),
    );
    if (applicable.length === 0) return undefined;
    route.match = applicable.map(convertMatch);
    catchAll = route.match.some(isUnconditional);
  }

  const headers = convertHeaders(http.headers, (p, m) => warn(["headers", ...p], m));
  if (headers.ops) route.headers = headers.ops;
  const fault = convertFault(http.fault, (p, m) => warn(["fault", ...p], m));
  if (fault) route.fault = fault;

  if (http.redirect) {
    const r = http.redirect;
    route.redirect = {
      ...(r.uri !== undefined ? { uri: r.uri } : {}),
      ...(r.authority !== undefined ? { authority: r.authority } : {}),
      ...(r.scheme !== undefined ? { scheme: r.scheme } : {}),
      ...(r.port ? { port: r.port } : {}),
      ...(r.derivePort === "FROM_PROTOCOL_DEFAULT" || r.derivePort === "FROM_REQUEST_PORT" ? { derive_port: r.derivePort } : {}),
      ...(r.redirectCode ? { redirect_code: r.redirectCode } : {}),
    };
    return { route, catchAll };
  }
  if (http.directResponse) {
    const d = http.directResponse;
    route.direct_response = { status: d.status };
    if (d.body?.string !== undefined) route.direct_response.body = { string: d.body.string };
    else if (d.body?.bytes !== undefined) route.direct_response.body = { bytes: d.body.bytes };
    return { route, catchAll };
  }
  if (!http.route || http.route.length === 0) {
    warn([], "route has no destination, redirect or direct response: skipped");
    return undefined;
  }

  const destinations = convertDestinations(http.route, src, ctx, warn);
  if (!destinations) return undefined;
  route.route = destinations;

  const rewrite = http.rewrite;
  const authority = rewrite?.authority ?? headers.authority;
  if (rewrite?.uri !== undefined || rewrite?.uriRegexRewrite || authority !== undefined) {
    route.rewrite = {
      ...(rewrite?.uri !== undefined ? { uri: rewrite.uri } : {}),
      ...(rewrite?.uriRegexRewrite ? { uri_regex: { match: rewrite.uriRegexRewrite.match ?? "", rewrite: rewrite.uriRegexRewrite.rewrite ?? "" } } : {}),
      ...(authority !== undefined ? { authority } : {}),
    };
  }
  if (http.timeout !== undefined) {
    const ms = durationMs(http.timeout);
    if (ms === undefined) warn(["timeout"], `"${http.timeout}" is not a duration: no timeout`);
    else if (ms > 0) route.timeout_ms = ms;
  }
  if (http.retries) {
    const r = http.retries;
    route.retries = { attempts: r.attempts ?? 0 };
    if (r.perTryTimeout !== undefined) {
      const ms = durationMs(r.perTryTimeout);
      if (ms === undefined) warn(["retries", "perTryTimeout"], `"${r.perTryTimeout}" is not a duration: no per-try timeout`);
      else if (ms > 0) route.retries.per_try_timeout_ms = ms;
    }
    if (r.retryOn) route.retries.retry_on = r.retryOn;
    if (r.retryRemoteLocalities !== undefined) warn(["retries", "retryRemoteLocalities"], "not supported by halyard: ignored");
  }
  const mirrors = convertMirrors(http, src, ctx);
  if (mirrors.length > 0) route.mirrors = mirrors;
  if (http.corsPolicy) route.cors = convertCors(http.corsPolicy, (p, m) => warn(["corsPolicy", ...p], m));
  return { route, catchAll };
}

// ---- matches ----

function stringMatch(m: StringMatch): EngineStringMatch {
  if (m.exact !== undefined) return { exact: m.exact };
  if (m.prefix !== undefined) return { prefix: m.prefix };
  if (m.regex !== undefined) return { regex: m.regex };
  return {};
}

function stringMatchMap(map: Record<string, StringMatch> | undefined, lowerKeys: boolean): Record<string, EngineStringMatch> | undefined {
  if (!map || Object.keys(map).length === 0) return undefined;
  const out: Record<string, EngineStringMatch> = {};
  for (const [k, v] of Object.entries(map)) out[lowerKeys ? k.toLowerCase() : k] = stringMatch(v ?? {});
  return out;
}

export function convertMatch(m: HTTPMatchRequest): EngineMatch {
  const out: EngineMatch = {};
  if (m.name) out.name = m.name;
  if (m.uri) out.uri = stringMatch(m.uri);
  if (m.ignoreUriCase) out.ignore_uri_case = true;
  if (m.scheme) out.scheme = stringMatch(m.scheme);
  if (m.method) out.method = stringMatch(m.method);
  if (m.authority) out.authority = stringMatch(m.authority);
  const headers = stringMatchMap(m.headers, true);
  if (headers) out.headers = headers;
  const without = stringMatchMap(m.withoutHeaders, true);
  if (without) out.without_headers = without;
  const query = stringMatchMap(m.queryParams, false);
  if (query) out.query_params = query;
  if (m.port) out.port = m.port;
  return out;
}

/** Matches every request on this listener (its port, if any, is the listener's: the caller dropped others). */
function isUnconditional(m: EngineMatch): boolean {
  const { name: _name, port: _port, ignore_uri_case: _case, uri, ...rest } = m;
  const anyUri = !uri || (Object.keys(uri).length === 0) || uri.prefix === "/";
  return anyUri && Object.keys(rest).length === 0;
}

// ---- destinations and mirrors ----

function convertDestinations(
  list: HTTPRouteDestination[],
  src: SourcedRoute,
  ctx: RouteContext,
  warn: (p: FieldPath, m: string) => void,
): EngineDestination[] | undefined {
  const indexed = list.map((rd, i) => ({ rd, i }));
  // Istio: a lone destination takes all traffic whatever its weight; otherwise zero-weight ones are dropped.
  const kept = indexed.length === 1 ? indexed : indexed.filter(({ rd }) => (rd.weight ?? 0) > 0);
  if (kept.length === 0) {
    warn(["route"], "every destination has weight 0: route skipped");
    return undefined;
  }
  return kept.map(({ rd, i }) => {
    const dest: EngineDestination = {
      cluster: ctx.clusters.resolve(rd.destination, src.vs, [...src.path, "route", i, "destination"], ctx.listenerPort),
    };
    if (kept.length > 1) dest.weight = rd.weight ?? 0;
    const headers = convertHeaders(rd.headers, (p, m) => warn(["route", i, "headers", ...p], m));
    if (headers.ops) dest.headers = headers.ops;
    if (headers.authority !== undefined) dest.authority = headers.authority;
    return dest;
  });
}

function percentOf(p: Percent | undefined, legacy: unknown): number | undefined {
  if (p && typeof p.value === "number") return p.value;
  return typeof legacy === "number" ? legacy : undefined;
}

function convertMirrors(http: HTTPRoute, src: SourcedRoute, ctx: RouteContext): EngineMirror[] {
  const out: EngineMirror[] = [];
  const add = (cluster: string, percentage: number | undefined) => out.push(percentage === undefined ? { cluster } : { cluster, percentage });
  if (http.mirror) {
    const cluster = ctx.clusters.resolve(http.mirror, src.vs, [...src.path, "mirror"], ctx.listenerPort);
    add(cluster, percentOf(http.mirrorPercentage, http.mirrorPercent));
  }
  (http.mirrors ?? []).forEach((m, i) => {
    add(ctx.clusters.resolve(m.destination, src.vs, [...src.path, "mirrors", i, "destination"], ctx.listenerPort), percentOf(m.percentage, undefined));
  });
  return out;
}

// ---- headers, fault, cors ----

const isAuthority = (name: string) => name === "host" || name === ":authority";

/** Istio's header operations; a `host` / `:authority` set or add becomes the authority rewrite. */
export function convertHeaders(h: Headers | undefined, warn: (p: FieldPath, m: string) => void): { ops?: EngineHeaderOps; authority?: string } {
  if (!h) return {};
  let authority: string | undefined;
  const side = (ops: Headers["request"], which: "request" | "response"): EngineHeaderSide | undefined => {
    if (!ops) return undefined;
    const out: EngineHeaderSide = {};
    for (const verb of ["set", "add"] as const) {
      for (const [name, value] of Object.entries(ops[verb] ?? {})) {
        const lower = name.toLowerCase();
        if (which === "request" && isAuthority(lower)) authority = value;
        else if (lower.startsWith(":") || lower === "host") warn([which, verb, name], `${name} cannot be changed by header operations: ignored`);
        else (out[verb] ??= {})[lower] = value;
      }
    }
    for (const [i, name] of (ops.remove ?? []).entries()) {
      const lower = name.toLowerCase();
      if (lower.startsWith(":") || lower === "host") warn([which, "remove", i], `${name} cannot be removed: ignored`);
      else (out.remove ??= []).push(lower);
    }
    return Object.keys(out).length > 0 ? out : undefined;
  };
  const request = side(h.request, "request");
  const response = side(h.response, "response");
  const ops: EngineHeaderOps = { ...(request ? { request } : {}), ...(response ? { response } : {}) };
  return { ...(request || response ? { ops } : {}), ...(authority !== undefined ? { authority } : {}) };
}

export function convertFault(f: HTTPFaultInjection | undefined, warn: (p: FieldPath, m: string) => void): EngineFault | undefined {
  if (!f) return undefined;
  const out: EngineFault = {};
  if (f.delay) {
    const fixed = f.delay.fixedDelay;
    const ms = fixed === undefined ? undefined : durationMs(fixed);
    if (ms === undefined) warn(["delay"], fixed === undefined ? "only fixedDelay is supported: delay ignored" : `"${fixed}" is not a duration: delay ignored`);
    else {
      out.delay = { fixed_delay_ms: ms };
      const pct = percentOf(f.delay.percentage, f.delay.percent);
      if (pct !== undefined) out.delay.percentage = pct;
    }
  }
  if (f.abort) {
    const a = f.abort;
    const pct = percentOf(a.percentage, undefined);
    if (a.httpStatus !== undefined) out.abort = { http_status: a.httpStatus };
    else if (a.grpcStatus !== undefined) out.abort = { grpc_status: a.grpcStatus };
    else warn(["abort"], "only httpStatus and grpcStatus aborts are supported: abort ignored");
    if (out.abort && pct !== undefined) out.abort.percentage = pct;
  }
  return out.delay || out.abort ? out : undefined;
}

export function convertCors(c: CorsPolicy, warn: (p: FieldPath, m: string) => void): EngineCors {
  const out: EngineCors = {};
  const origins = [...(c.allowOrigins ?? []).map(stringMatch), ...((c.allowOrigin as string[] | undefined) ?? []).map((o) => ({ exact: o }))];
  if (origins.length > 0) out.allow_origins = origins;
  if (c.allowMethods?.length) out.allow_methods = [...c.allowMethods];
  if (c.allowHeaders?.length) out.allow_headers = [...c.allowHeaders];
  if (c.exposeHeaders?.length) out.expose_headers = [...c.exposeHeaders];
  if (c.maxAge !== undefined) {
    const s = durationSeconds(c.maxAge);
    if (s === undefined) warn(["maxAge"], `"${c.maxAge}" is not a duration: ignored`);
    else out.max_age_s = s;
  }
  if (c.allowCredentials !== undefined) out.allow_credentials = c.allowCredentials;
  const unmatched = c.unmatchedPreflights;
  if (unmatched === "FORWARD" || unmatched === "IGNORE") out.unmatched_preflights = unmatched;
  return out;
}
