// VirtualService checks Istio makes in Go (pkg/config/validation: ValidateVirtualService and friends).
import { isIP } from "node:net";
import type { FieldPath, Issue } from "../errors.js";
import type { ConfigDocument } from "../load.js";
import {
  arr,
  isDNS1123Label,
  Issues,
  num,
  obj,
  str,
  validateDuration,
  validateFQDN,
  validateHeaderName,
  validateIPOrCIDR,
  validateLabels,
  validatePort,
  validateRegex,
  parseDurationMs,
  validateWildcardDomain,
  type Obj,
} from "./common.js";

const RETRY_ON = new Set([
  "5xx", "gateway-error", "reset", "reset-before-request", "connect-failure", "retriable-4xx", "refused-stream",
  "retriable-status-codes", "retriable-headers", "envoy-ratelimited", "http3-post-connect-failure",
  "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable",
]);
const HTTP_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE"]);
const GRPC_STATUSES = new Set([
  "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
  "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
  "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
]);
const JWT_CLAIM_HEADER = /^@request\.auth\.claims(\.|\[)/;

export function checkVirtualService(doc: ConfigDocument): Issue[] {
  const spec = obj(doc.object.spec) ?? {};
  const issues = new Issues();
  const at = (...p: FieldPath) => ["spec", ...p];
  const hosts = arr(spec.hosts).map(str);
  const gateways = arr(spec.gateways).map(str);
  const isDelegate = hosts.length === 0;
  const appliesToGateway = gateways.length > 0 && !gateways.includes("mesh");
  const appliesToMesh = gateways.length === 0 || gateways.includes("mesh");

  if (isDelegate) {
    if (gateways.length) issues.add(at("gateways"), "a delegate VirtualService (no hosts) must not list gateways");
    if (arr(spec.tls).length) issues.add(at("tls"), "a delegate VirtualService (no hosts) must not have tls routes");
    if (arr(spec.tcp).length) issues.add(at("tcp"), "a delegate VirtualService (no hosts) must not have tcp routes");
  }
  gateways.forEach((g, i) => issues.add(at("gateways", i), validateGatewayName(g)));

  let hostsValid = true;
  hosts.forEach((h, i) => {
    const err = validateWildcardDomain(h);
    if (err && !isIP(h)) {
      issues.add(at("hosts", i), err);
      hostsValid = false;
    } else if (appliesToMesh && h === "*") {
      issues.add(at("hosts", i), 'wildcard host "*" is not allowed for VirtualServices bound to the mesh');
      hostsValid = false;
    }
  });
  if (hostsValid) {
    for (let i = 0; i < hosts.length; i++) {
      for (let j = i + 1; j < hosts.length; j++) {
        if (hostMatches(hosts[i]!, hosts[j]!)) issues.add(at("hosts", j), `duplicate hosts in VirtualService: ${hosts[i]} and ${hosts[j]}`);
      }
    }
  }

  if (!arr(spec.http).length && !arr(spec.tcp).length && !arr(spec.tls).length) {
    issues.add(["spec"], "at least one of http, tcp or tls routes is required");
  }
  arr(spec.http).forEach((r, i) => checkHTTPRoute(obj(r), at("http", i), isDelegate, appliesToGateway, issues));
  arr(spec.tls).forEach((r, i) => checkTLSRoute(obj(r), at("tls", i), hosts, issues));
  arr(spec.tcp).forEach((r, i) => checkTCPRoute(obj(r), at("tcp", i), issues));
  checkExportTo(arr(spec.exportTo).map(str), doc.namespace, at("exportTo"), issues);
  return issues.list;
}

/** Host name matching with wildcards, as Istio's host.Name.Matches. */
function hostMatches(a: string, b: string): boolean {
  if (a === b) return true;
  const aw = a.startsWith("*");
  const bw = b.startsWith("*");
  if (aw && bw) return a.length > b.length ? a.endsWith(b.slice(1)) : b.endsWith(a.slice(1));
  if (aw) return b.endsWith(a.slice(1));
  if (bw) return a.endsWith(b.slice(1));
  return false;
}

export function validateGatewayName(name: string): string | undefined {
  if (name === "mesh") return undefined;
  const slash = name.indexOf("/");
  if (slash < 0) return validateFQDN(name);
  const ns = name.slice(0, slash);
  const gw = name.slice(slash + 1);
  if (!ns || !gw) return "gateway namespace and name must not be empty";
  if (!isDNS1123Label(ns)) return `invalid namespace ${JSON.stringify(ns)} in gateway reference`;
  if (!isDNS1123Label(gw)) return `invalid gateway name ${JSON.stringify(gw)}`;
  return undefined;
}

function checkHTTPRoute(route: Obj | undefined, path: FieldPath, isDelegate: boolean, appliesToGateway: boolean, issues: Issues): void {
  if (!route) return issues.add(path, "http route must not be null");
  const actions = (["route", "redirect", "directResponse", "delegate"] as const).filter((k) =>
    k === "route" ? arr(route.route).length > 0 : route[k] !== undefined && route[k] !== null,
  );
  if (actions.length === 0) issues.add(path, "one of route, redirect, directResponse or delegate is required");
  else if (actions.length > 1) issues.add([...path, actions[1]!], `only one of route, redirect, directResponse, delegate may be set (found ${actions.join(" and ")})`);
  if (route.redirect) {
    if (route.fault) issues.add([...path, "fault"], "a route with a redirect cannot also inject faults");
    if (route.rewrite) issues.add([...path, "rewrite"], "a route with a redirect cannot also rewrite");
  }
  if (isDelegate && route.delegate) issues.add([...path, "delegate"], "a delegate VirtualService cannot delegate again");

  arr(route.match).forEach((m, i) => checkMatch(obj(m), [...path, "match", i], route.delegate !== undefined || isDelegate, appliesToGateway, issues));
  checkHeaderOperations(obj(route.headers), [...path, "headers"], issues);
  checkDestinations(arr(route.route), [...path, "route"], issues);
  if (route.redirect) checkRedirect(obj(route.redirect)!, [...path, "redirect"], issues);
  if (route.directResponse) checkDirectResponse(obj(route.directResponse)!, [...path, "directResponse"], issues);
  if (route.rewrite) checkRewrite(obj(route.rewrite)!, [...path, "rewrite"], issues);
  if (route.timeout !== undefined) issues.add([...path, "timeout"], validateDuration(str(route.timeout)));
  if (route.retries) checkRetries(obj(route.retries)!, [...path, "retries"], issues);
  if (route.fault) checkFault(obj(route.fault)!, [...path, "fault"], issues);
  if (route.corsPolicy) checkCors(obj(route.corsPolicy)!, [...path, "corsPolicy"], issues);
  if (route.mirror) checkDestination(obj(route.mirror)!, [...path, "mirror"], issues);
  const mirrorPct = obj(route.mirrorPercentage);
  if (mirrorPct) checkPercent(num(mirrorPct.value), [...path, "mirrorPercentage", "value"], false, issues);
  arr(route.mirrors).forEach((m, i) => {
    const mirror = obj(m)!;
    checkDestination(obj(mirror.destination)!, [...path, "mirrors", i, "destination"], issues);
    const pct = obj(mirror.percentage);
    if (pct) checkPercent(num(pct.value), [...path, "mirrors", i, "percentage", "value"], false, issues);
  });
}

function checkMatch(match: Obj | undefined, path: FieldPath, delegating: boolean, appliesToGateway: boolean, issues: Issues): void {
  if (!match) return;
  for (const field of ["uri", "scheme", "method", "authority"]) {
    checkStringMatch(obj(match[field]), [...path, field], delegating, issues);
  }
  for (const field of ["headers", "withoutHeaders"]) {
    for (const [name, sm] of Object.entries(obj(match[field]) ?? {})) {
      const p = [...path, field, name];
      if (JWT_CLAIM_HEADER.test(name)) {
        if (!appliesToGateway) issues.add(p, `JWT claim based routing (${name}) is only supported for VirtualServices bound to gateways`);
      } else {
        issues.add(p, validateHeaderName(name));
      }
      checkStringMatch(obj(sm), p, delegating, issues);
    }
  }
  for (const [name, sm] of Object.entries(obj(match.queryParams) ?? {})) checkStringMatch(obj(sm), [...path, "queryParams", name], delegating, issues);
  if (match.port !== undefined) issues.add([...path, "port"], validatePort(num(match.port)));
  issues.add([...path, "sourceLabels"], validateLabels(match.sourceLabels));
  arr(match.gateways).forEach((g, i) => issues.add([...path, "gateways", i], validateGatewayName(str(g))));
  const ns = str(match.sourceNamespace);
  if (ns && !isDNS1123Label(ns)) issues.add([...path, "sourceNamespace"], `sourceNamespace ${JSON.stringify(ns)} is not a valid namespace name`);
}

function checkStringMatch(sm: Obj | undefined, path: FieldPath, delegating: boolean, issues: Issues): void {
  if (!sm) return;
  if (sm.prefix !== undefined && str(sm.prefix) === "") issues.add([...path, "prefix"], "prefix match must not be empty");
  if (sm.regex !== undefined) {
    if (delegating) issues.add([...path, "regex"], "regex matches are not supported on routes that delegate or are delegated to");
    else issues.add([...path, "regex"], validateRegex(str(sm.regex)));
  }
}

function checkHeaderOperations(headers: Obj | undefined, path: FieldPath, issues: Issues): void {
  if (!headers) return;
  for (const dir of ["request", "response"] as const) {
    const ops = obj(headers[dir]);
    if (!ops) continue;
    for (const op of ["set", "add"] as const) {
      for (const [name, value] of Object.entries(obj(ops[op]) ?? {})) {
        const p = [...path, dir, op, name];
        issues.add(p, dir === "request" ? validateSettableRequestHeader(name) : validateModifiableHeader(name));
        if (/[\x00-\x08\x0a-\x1f\x7f]/.test(str(value))) issues.add(p, "header value must not contain control characters");
      }
    }
    arr(ops.remove).forEach((name, i) => issues.add([...path, dir, "remove", i], validateModifiableHeader(str(name))));
  }
}

function validateSettableRequestHeader(name: string): string | undefined {
  if (name === "") return "header name must not be empty";
  const lower = name.toLowerCase();
  if ((name.startsWith(":") || lower === "host") && lower !== ":authority" && lower !== "host") return `invalid header ${JSON.stringify(name)}: header cannot have ":" prefix`;
  return undefined;
}

function validateModifiableHeader(name: string): string | undefined {
  if (name === "") return "header name must not be empty";
  if (name.toLowerCase() === "host") return `invalid header ${JSON.stringify(name)}: cannot set Host header`;
  if (name.startsWith(":")) return `invalid header ${JSON.stringify(name)}: header cannot have ":" prefix`;
  return undefined;
}

function checkDestinations(routes: unknown[], path: FieldPath, issues: Issues): void {
  let total = 0;
  routes.forEach((r, i) => {
    const rd = obj(r);
    if (!rd) return issues.add([...path, i], "route destination must not be null");
    checkDestination(obj(rd.destination)!, [...path, i, "destination"], issues);
    checkHeaderOperations(obj(rd.headers), [...path, i, "headers"], issues);
    const w = num(rd.weight);
    if (w < 0) issues.add([...path, i, "weight"], `weight ${w} must not be negative`);
    total += w;
  });
  if (routes.length > 1 && total === 0) issues.add(path, "total destination weight must be greater than 0 when routing to several destinations");
}

export function checkDestination(dest: Obj, path: FieldPath, issues: Issues): void {
  const host = str(dest.host);
  if (host === "*") issues.add([...path, "host"], 'destination host must not be "*"');
  else issues.add([...path, "host"], validateWildcardDomain(host));
  if (dest.subset !== undefined) {
    const subset = str(dest.subset);
    issues.add([...path, "subset"], subset === "" ? "subset name must not be empty" : isDNS1123Label(subset) ? undefined : `invalid subset name ${JSON.stringify(subset)}`);
  }
  const port = obj(dest.port);
  if (port) issues.add([...path, "port", "number"], validatePort(num(port.number)));
}

function checkRedirect(r: Obj, path: FieldPath, issues: Issues): void {
  if (!r.uri && !r.authority && r.port === undefined && !r.scheme && !r.derivePort) {
    issues.add(path, "redirect must specify uri, authority, scheme, or port");
  }
  const code = num(r.redirectCode);
  if (r.redirectCode !== undefined && code !== 0 && (code < 300 || code > 399)) issues.add([...path, "redirectCode"], `${code} is not a valid redirect code, must be 3xx`);
  if (r.scheme !== undefined && r.scheme !== "http" && r.scheme !== "https") issues.add([...path, "scheme"], 'invalid redirect scheme, must be "http" or "https"');
  if (r.port !== undefined) issues.add([...path, "port"], validatePort(num(r.port)));
}

function checkDirectResponse(d: Obj, path: FieldPath, issues: Issues): void {
  const status = num(d.status);
  if (status < 200 || status > 599) issues.add([...path, "status"], `HTTP status ${status} is not in range 200-599`);
  const body = obj(d.body);
  const size = body ? (typeof body.string === "string" ? Buffer.byteLength(body.string) : typeof body.bytes === "string" ? Math.floor((body.bytes.length * 3) / 4) : 0) : 0;
  if (size > 1024 * 1024) issues.add([...path, "body"], "direct response body must be smaller than 1MB");
}

function checkRewrite(r: Obj, path: FieldPath, issues: Issues): void {
  const regexRewrite = obj(r.uriRegexRewrite);
  if (r.uri && regexRewrite) issues.add(path, "rewrite may only contain one of uri or uriRegexRewrite");
  if (!r.uri && !regexRewrite && !r.authority) issues.add(path, "rewrite must specify at least one of uri, uriRegexRewrite or authority");
  if (regexRewrite) {
    if (!regexRewrite.match || regexRewrite.rewrite === undefined || regexRewrite.rewrite === "") {
      issues.add([...path, "uriRegexRewrite"], "uriRegexRewrite requires both match and rewrite");
    } else {
      issues.add([...path, "uriRegexRewrite", "match"], validateRegex(str(regexRewrite.match)));
    }
  }
}

function checkRetries(r: Obj, path: FieldPath, issues: Issues): void {
  const attempts = num(r.attempts);
  if (attempts < 0) issues.add([...path, "attempts"], "attempts must not be negative");
  if (attempts === 0 && (r.perTryTimeout !== undefined || r.retryOn !== undefined || r.retryRemoteLocalities !== undefined)) {
    issues.add([...path, "attempts"], "retry policy configured while attempts is 0 (retries disabled)");
  }
  if (r.perTryTimeout !== undefined) issues.add([...path, "perTryTimeout"], validateDuration(str(r.perTryTimeout)));
  if (typeof r.retryOn === "string" && r.retryOn !== "") {
    for (const policy of r.retryOn.split(",")) {
      const code = /^\d{3}$/.test(policy) ? Number(policy) : 0;
      if (!RETRY_ON.has(policy) && !(code >= 100 && code <= 599)) issues.add([...path, "retryOn"], `${JSON.stringify(policy)} is not a valid retryOn policy`);
    }
  }
}

function checkPercent(value: number, path: FieldPath, fault: boolean, issues: Issues): void {
  if (value < 0 || value > 100) issues.add(path, `percentage ${value} must be in the range 0..100`);
  else if (fault && value > 0 && value < 0.0001) issues.add(path, `percentage ${value} must be 0 or at least 0.0001`);
}

function checkFault(f: Obj, path: FieldPath, issues: Issues): void {
  const abort = obj(f.abort);
  const delay = obj(f.delay);
  if (!abort && !delay) issues.add(path, "fault injection needs an abort and/or a delay");
  if (abort) {
    const p = [...path, "abort"];
    const pct = obj(abort.percentage);
    if (pct) checkPercent(num(pct.value), [...p, "percentage", "value"], true, issues);
    if (abort.httpStatus !== undefined) {
      const s = num(abort.httpStatus);
      if (s < 200 || s > 599) issues.add([...p, "httpStatus"], `HTTP status ${s} is not in range 200-599`);
    } else if (abort.grpcStatus !== undefined) {
      if (!GRPC_STATUSES.has(str(abort.grpcStatus))) issues.add([...p, "grpcStatus"], `gRPC status ${JSON.stringify(abort.grpcStatus)} is not supported (e.g. NOT_FOUND, UNAVAILABLE)`);
    } else if (abort.http2Error !== undefined) {
      issues.add([...p, "http2Error"], "HTTP/2 abort fault injection is not supported");
    } else {
      issues.add(p, "abort needs httpStatus or grpcStatus");
    }
  }
  if (delay) {
    const p = [...path, "delay"];
    const pct = obj(delay.percentage);
    if (pct) checkPercent(num(pct.value), [...p, "percentage", "value"], true, issues);
    if (delay.percent !== undefined) checkPercent(num(delay.percent), [...p, "percent"], true, issues);
    if (delay.fixedDelay !== undefined) issues.add([...p, "fixedDelay"], validateDuration(str(delay.fixedDelay)));
    else if (delay.exponentialDelay !== undefined) issues.add([...p, "exponentialDelay"], "exponentialDelay is not supported");
    else issues.add(p, "delay needs fixedDelay");
  }
}

function checkCors(c: Obj, path: FieldPath, issues: Issues): void {
  arr(c.allowOrigins).forEach((o, i) => {
    const sm = obj(o) ?? {};
    const p = [...path, "allowOrigins", i];
    const value = str(sm.exact ?? sm.prefix ?? sm.regex);
    if (value === "") issues.add(p, "allowOrigins entries need a non-empty exact, prefix or regex");
    else if (sm.regex !== undefined) issues.add([...p, "regex"], validateRegex(value));
  });
  arr(c.allowMethods).forEach((m, i) => {
    if (!HTTP_METHODS.has(str(m))) issues.add([...path, "allowMethods", i], `${JSON.stringify(m)} is not a supported HTTP method`);
  });
  for (const field of ["allowHeaders", "exposeHeaders"]) {
    arr(c[field]).forEach((h, i) => {
      if (h !== "*") issues.add([...path, field, i], validateHeaderName(str(h)));
    });
  }
  if (c.maxAge !== undefined) {
    const err = validateDuration(str(c.maxAge));
    issues.add([...path, "maxAge"], err);
    if (!err && (parseDurationMs(str(c.maxAge)) ?? 0) % 1000 !== 0) issues.add([...path, "maxAge"], "maxAge is accurate only to seconds precision");
  }
}

function checkTLSRoute(route: Obj | undefined, path: FieldPath, hosts: string[], issues: Issues): void {
  if (!route) return issues.add(path, "tls route must not be null");
  const matches = arr(route.match);
  if (!matches.length) issues.add([...path, "match"], "a TLS route needs at least one match");
  matches.forEach((m, i) => {
    const match = obj(m) ?? {};
    const p = [...path, "match", i];
    const sni = arr(match.sniHosts).map(str);
    if (!sni.length) issues.add([...p, "sniHosts"], "a TLS match needs at least one SNI host");
    sni.forEach((h, j) => {
      const err = validateWildcardDomain(h);
      if (err) return issues.add([...p, "sniHosts", j], isIP(h) ? undefined : err);
      if (!hosts.some((vh) => sniSubsetOf(h, vh))) issues.add([...p, "sniHosts", j], `SNI host ${JSON.stringify(h)} is not a subset of any of the VirtualService hosts`);
    });
    checkL4Match(match, p, issues);
  });
  if (!arr(route.route).length) issues.add([...path, "route"], "a TLS route needs a route");
  checkDestinations(arr(route.route), [...path, "route"], issues);
}

function sniSubsetOf(sni: string, host: string): boolean {
  if (host === "*" || sni === host) return true;
  if (host.startsWith("*")) return sni.endsWith(host.slice(1)) && (!sni.startsWith("*") || sni.length >= host.length);
  return false;
}

function checkTCPRoute(route: Obj | undefined, path: FieldPath, issues: Issues): void {
  if (!route) return issues.add(path, "tcp route must not be null");
  arr(route.match).forEach((m, i) => checkL4Match(obj(m) ?? {}, [...path, "match", i], issues));
  if (!arr(route.route).length) issues.add([...path, "route"], "a TCP route needs a route");
  checkDestinations(arr(route.route), [...path, "route"], issues);
}

function checkL4Match(match: Obj, path: FieldPath, issues: Issues): void {
  arr(match.destinationSubnets).forEach((s, i) => issues.add([...path, "destinationSubnets", i], validateIPOrCIDR(str(s))));
  if (match.port !== undefined && num(match.port) !== 0) issues.add([...path, "port"], validatePort(num(match.port)));
  issues.add([...path, "sourceLabels"], validateLabels(match.sourceLabels));
  arr(match.gateways).forEach((g, i) => issues.add([...path, "gateways", i], validateGatewayName(str(g))));
}

export function checkExportTo(exportTo: string[], namespace: string, path: FieldPath, issues: Issues): void {
  const seen = new Set<string>();
  exportTo.forEach((e, i) => {
    const key = e === "." ? namespace : e;
    if (seen.has(key)) issues.add([...path, i], `duplicate exportTo entry ${JSON.stringify(e)}`);
    else if (e !== "." && e !== "*" && e !== "~" && !isDNS1123Label(e)) issues.add([...path, i], `exportTo entry ${JSON.stringify(e)} must be ".", "*" or a namespace`);
    seen.add(key);
  });
  if (seen.has("*") && exportTo.length > 1) issues.add(path, 'exportTo "*" cannot be combined with other entries');
}
