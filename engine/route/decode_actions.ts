// Decoding of what a route does: destinations, redirect, direct_response, rewrite, retries,
// fault, mirrors, cors and header operations.
import { base64urlDecode } from "../crypto/base64url";
import { JsonValue } from "../json/index";
import {
  CorsPolicy, DerivePort, Destination, DirectResponseAction, FaultPolicy, HeaderOps, MirrorPolicy,
  NO_HEADER_OPS, RedirectAction, RetryPolicy, RewriteAction,
} from "./config";
import { EmptyMatch, decodeStringMatch } from "./decode_match";
import { Reader, indexPath, joinPath } from "../json/reader";
import { grpcStatusCode, grpcStatusNames } from "./grpc_status";
import { compilePattern } from "./regex";
import { DEFAULT_RETRY_ON, parseRetryOn } from "./retry";
import { asciiLower, indexOrEnd } from "./text";

const MAX_DURATION_MS: i64 = 315576000000000; // protobuf Duration's limit (10 000 years)

/** Istio Percent (0..100, double) as Envoy's FractionalPercent per million (truncated, as Istio). */
export function decodePercent(d: Reader, obj: JsonValue, key: string, path: string, def: f64): u32 {
  const p = d.number(obj, key, path, def, 0, 100);
  return <u32>(p * 10000.0);
}

// ---- header operations ----

function decodeHeaderMap(d: Reader, obj: JsonValue, key: string, path: string): string[] {
  const out: string[] = [];
  const map = d.object(obj, key, path);
  if (!map) return out;
  const mapPath = joinPath(path, key);
  for (let i = 0, n = map.length; i < n; i++) {
    const name = checkHeaderName(d, map.keyAt(i), joinPath(mapPath, map.keyAt(i)));
    if (d.failed) return out;
    const v = map.at(i)!;
    if (!v.isString()) {
      d.fail(joinPath(mapPath, map.keyAt(i)), "expected a string header value, got " + v.kindName());
      return out;
    }
    out.push(name);
    out.push(v.stringValue);
  }
  return out;
}

function checkHeaderName(d: Reader, name: string, path: string): string {
  const lower = asciiLower(name);
  if (lower.length == 0) d.fail(path, "header name must not be empty");
  else if (lower.charCodeAt(0) == 0x3a || lower == "host") {
    d.fail(path, "pseudo-headers and host cannot be set here; use rewrite.authority / rewrite.uri");
  }
  return lower;
}

function decodeHeaderOpsSide(d: Reader, v: JsonValue, path: string): HeaderOps {
  if (!d.isObject(v, path) || !d.onlyKnown(v, path, ["set", "add", "remove"])) return NO_HEADER_OPS;
  const set = decodeHeaderMap(d, v, "set", path);
  const add = decodeHeaderMap(d, v, "add", path);
  const removeRaw = d.stringArray(v, "remove", path);
  const remove: string[] = [];
  for (let i = 0; i < removeRaw.length; i++) remove.push(checkHeaderName(d, removeRaw[i], indexPath(joinPath(path, "remove"), i)));
  const ops = new HeaderOps(set, add, remove);
  return ops.isEmpty ? NO_HEADER_OPS : ops;
}

export class HeaderOpsPair {
  request: HeaderOps = NO_HEADER_OPS;
  response: HeaderOps = NO_HEADER_OPS;
}

/** `headers: {request: {set, add, remove}, response: {...}}`. */
export function decodeHeaderOps(d: Reader, obj: JsonValue, path: string): HeaderOpsPair {
  const pair = new HeaderOpsPair();
  const h = d.object(obj, "headers", path);
  if (!h) return pair;
  const hp = joinPath(path, "headers");
  if (!d.onlyKnown(h, hp, ["request", "response"])) return pair;
  const req = d.member(h, "request");
  if (req) pair.request = decodeHeaderOpsSide(d, req, joinPath(hp, "request"));
  const resp = d.member(h, "response");
  if (resp) pair.response = decodeHeaderOpsSide(d, resp, joinPath(hp, "response"));
  return pair;
}

// ---- destinations ----

/** Decodes `route` (destinations), merging route-level header operations into each. Zero-weight
 *  destinations are dropped when others remain; a lone destination's weight is ignored. */
export function decodeDestinations(d: Reader, items: JsonValue[], path: string, routeOps: HeaderOpsPair): Destination[] {
  const all: Destination[] = [];
  if (items.length == 0) {
    d.fail(path, "needs at least one destination");
    return all;
  }
  for (let i = 0; i < items.length; i++) {
    const dp = indexPath(path, i);
    const v = unchecked(items[i]);
    if (!d.isObject(v, dp) || !d.onlyKnown(v, dp, ["cluster", "weight", "headers", "authority"])) return all;
    const dest = new Destination();
    dest.cluster = d.requiredString(v, "cluster", dp);
    dest.weight = <u32>d.integer(v, "weight", dp, 0, 0, 0xffffffff);
    dest.authority = d.string(v, "authority", dp);
    const ops = decodeHeaderOps(d, v, dp);
    dest.requestHeaders = routeOps.request.concat(ops.request);
    dest.responseHeaders = routeOps.response.concat(ops.response);
    if (d.failed) return all;
    all.push(dest);
  }
  if (all.length == 1) {
    unchecked(all[0]).cumulative = 1;
    return all;
  }
  const kept: Destination[] = [];
  let total: u64 = 0;
  for (let i = 0; i < all.length; i++) {
    const dest = unchecked(all[i]);
    if (dest.weight == 0) continue;
    total += dest.weight;
    dest.cumulative = total;
    kept.push(dest);
  }
  if (kept.length == 0) d.fail(path, "all " + all.length.toString() + " destinations have weight 0");
  return kept;
}

// ---- redirect / direct response / rewrite ----

export function decodeRedirect(d: Reader, v: JsonValue, path: string): RedirectAction | null {
  if (!d.isObject(v, path)) return null;
  if (!d.onlyKnown(v, path, ["uri", "authority", "scheme", "port", "derive_port", "redirect_code"])) return null;
  const r = new RedirectAction();
  r.uri = d.string(v, "uri", path);
  r.uriHasQuery = indexOrEnd(r.uri, 0x3f, 0) < r.uri.length;
  r.authority = d.string(v, "authority", path);
  r.scheme = d.string(v, "scheme", path);
  r.port = <i32>d.integer(v, "port", path, 0, 1, 65535);
  const derive = d.string(v, "derive_port", path);
  if (derive.length) {
    if (r.port != 0) d.fail(joinPath(path, "derive_port"), "give either port or derive_port, not both");
    else if (derive == "FROM_PROTOCOL_DEFAULT") r.derivePort = DerivePort.FromProtocolDefault;
    else if (derive == "FROM_REQUEST_PORT") r.derivePort = DerivePort.FromRequestPort;
    else d.fail(joinPath(path, "derive_port"), "expected FROM_PROTOCOL_DEFAULT or FROM_REQUEST_PORT, got \"" + derive + "\"");
  }
  const code = <i32>d.integer(v, "redirect_code", path, 301, 0, 999);
  if (!d.failed) {
    if (code == 0) r.code = 301;
    else if (code == 301 || code == 302 || code == 303 || code == 307 || code == 308) r.code = code;
    else d.fail(joinPath(path, "redirect_code"), "must be one of 301, 302, 303, 307, 308 (got " + code.toString() + ")");
  }
  return d.failed ? null : r;
}

export function decodeDirectResponse(d: Reader, v: JsonValue, path: string): DirectResponseAction | null {
  if (!d.isObject(v, path) || !d.onlyKnown(v, path, ["status", "body"])) return null;
  const r = new DirectResponseAction();
  if (!d.member(v, "status")) {
    d.fail(joinPath(path, "status"), "required field is missing");
    return null;
  }
  r.status = <i32>d.integer(v, "status", path, 200, 200, 599);
  const body = d.object(v, "body", path);
  if (body) {
    const bp = joinPath(path, "body");
    if (!d.onlyKnown(body, bp, ["string", "bytes"])) return null;
    if (body.length != 1) {
      d.fail(bp, "give exactly one of string, bytes");
      return null;
    }
    if (body.has("string")) {
      r.body = String.UTF8.encode(d.string(body, "string", bp));
    } else {
      const b64 = d.string(body, "bytes", bp);
      const bytes = decodeBase64(b64);
      if (!bytes) {
        d.fail(joinPath(bp, "bytes"), "not valid base64");
        return null;
      }
      r.body = bytes.buffer;
    }
  }
  return d.failed ? null : r;
}

/** Standard or URL-safe base64, padding optional. */
function decodeBase64(s: string): Uint8Array | null {
  return base64urlDecode(s.replaceAll("+", "-").replaceAll("/", "_"));
}

export function decodeRewrite(d: Reader, v: JsonValue, path: string): RewriteAction | null {
  if (!d.isObject(v, path) || !d.onlyKnown(v, path, ["uri", "uri_regex", "authority"])) return null;
  const r = new RewriteAction();
  r.uri = d.string(v, "uri", path);
  r.authority = d.string(v, "authority", path);
  const rx = d.object(v, "uri_regex", path);
  if (rx) {
    const rp = joinPath(path, "uri_regex");
    if (r.uri.length) {
      d.fail(rp, "give either uri or uri_regex, not both");
      return null;
    }
    if (!d.onlyKnown(rx, rp, ["match", "rewrite"])) return null;
    const pattern = d.requiredString(rx, "match", rp);
    if (!d.member(rx, "rewrite")) {
      d.fail(joinPath(rp, "rewrite"), "required field is missing");
      return null;
    }
    r.uriRegexSubstitution = d.string(rx, "rewrite", rp);
    if (d.failed) return null;
    const compiled = compilePattern(pattern);
    if (!compiled.regex) {
      d.fail(joinPath(rp, "match"), compiled.error);
      return null;
    }
    const problem = compiled.regex!.checkSubstitution(r.uriRegexSubstitution);
    if (problem.length) {
      d.fail(joinPath(rp, "rewrite"), problem);
      return null;
    }
    r.uriRegex = compiled.regex;
  }
  return d.failed ? null : r;
}

// ---- retries / fault / mirrors ----

export function decodeRetries(d: Reader, v: JsonValue, path: string): RetryPolicy | null {
  if (!d.isObject(v, path) || !d.onlyKnown(v, path, ["attempts", "per_try_timeout_ms", "retry_on"])) return null;
  const attempts = <i32>d.integer(v, "attempts", path, 0, I32.MIN_VALUE, I32.MAX_VALUE);
  const perTry = d.integer(v, "per_try_timeout_ms", path, 0, 0, MAX_DURATION_MS);
  const spec = d.string(v, "retry_on", path);
  if (d.failed || attempts <= 0) return null; // Istio: attempts <= 0 disables retries
  if (spec.length == 0) return new RetryPolicy(attempts, perTry, DEFAULT_RETRY_ON, [503]);
  const parsed = parseRetryOn(spec);
  if (parsed.invalid.length) {
    d.fail(joinPath(path, "retry_on"), "\"" + parsed.invalid + "\" is not a retry condition or an HTTP status code");
    return null;
  }
  return new RetryPolicy(attempts, perTry, parsed.retryOn, parsed.codes);
}

export function decodeFault(d: Reader, v: JsonValue, path: string): FaultPolicy | null {
  if (!d.isObject(v, path) || !d.onlyKnown(v, path, ["delay", "abort"])) return null;
  const f = new FaultPolicy();
  const delay = d.object(v, "delay", path);
  if (delay) {
    const dp = joinPath(path, "delay");
    if (!d.onlyKnown(delay, dp, ["fixed_delay_ms", "percentage"])) return null;
    if (!d.member(delay, "fixed_delay_ms")) {
      d.fail(joinPath(dp, "fixed_delay_ms"), "required field is missing");
      return null;
    }
    f.hasDelay = true;
    f.delayMs = d.integer(delay, "fixed_delay_ms", dp, 0, 0, MAX_DURATION_MS);
    f.delayPerMillion = decodePercent(d, delay, "percentage", dp, 0); // unset = 0% (Istio)
  }
  const abort = d.object(v, "abort", path);
  if (abort) {
    const ap = joinPath(path, "abort");
    if (!d.onlyKnown(abort, ap, ["http_status", "grpc_status", "percentage"])) return null;
    const hasHttp = d.member(abort, "http_status") !== null;
    const hasGrpc = d.member(abort, "grpc_status") !== null;
    if (hasHttp == hasGrpc) {
      d.fail(ap, "give exactly one of http_status, grpc_status");
      return null;
    }
    f.hasAbort = true;
    if (hasHttp) {
      f.abortHttpStatus = <i32>d.integer(abort, "http_status", ap, 0, 200, 599);
    } else {
      const name = d.string(abort, "grpc_status", ap);
      f.abortGrpcStatus = grpcStatusCode(name);
      if (!d.failed && f.abortGrpcStatus < 0) {
        d.fail(joinPath(ap, "grpc_status"), "unknown gRPC status \"" + name + "\" (expected one of " + grpcStatusNames() + ")");
      }
    }
    f.abortPerMillion = decodePercent(d, abort, "percentage", ap, 0);
  }
  if (!d.failed && !f.hasDelay && !f.hasAbort) d.fail(path, "give delay, abort or both");
  return d.failed ? null : f;
}

/** Mirrors with percentage 0 are dropped (Istio does not mirror them at all). */
export function decodeMirrors(d: Reader, items: JsonValue[], path: string, out: MirrorPolicy[]): void {
  for (let i = 0; i < items.length; i++) {
    const mp = indexPath(path, i);
    const v = unchecked(items[i]);
    if (!d.isObject(v, mp) || !d.onlyKnown(v, mp, ["cluster", "percentage"])) return;
    const cluster = d.requiredString(v, "cluster", mp);
    const perMillion = decodePercent(d, v, "percentage", mp, 100);
    if (d.failed) return;
    if (perMillion > 0) out.push(new MirrorPolicy(cluster, perMillion));
  }
}

// ---- cors ----

export function decodeCors(d: Reader, v: JsonValue, path: string): CorsPolicy | null {
  const fields = [
    "allow_origins", "allow_methods", "allow_headers", "expose_headers", "max_age_s",
    "allow_credentials", "unmatched_preflights",
  ];
  if (!d.isObject(v, path) || !d.onlyKnown(v, path, fields)) return null;
  const c = new CorsPolicy();
  const origins = d.array(v, "allow_origins", path);
  if (origins) {
    const op = joinPath(path, "allow_origins");
    for (let i = 0; i < origins.length; i++) {
      const m = decodeStringMatch(d, unchecked(origins[i]), indexPath(op, i), EmptyMatch.Error);
      if (!m) return null;
      c.allowOrigins.push(m);
      if (m.matches("*")) c.allowsAnyOrigin = true;
    }
  }
  c.allowMethods = d.stringArray(v, "allow_methods", path).join(",");
  c.allowHeaders = d.stringArray(v, "allow_headers", path).join(",");
  c.exposeHeaders = d.stringArray(v, "expose_headers", path).join(",");
  if (d.member(v, "max_age_s")) c.maxAge = d.integer(v, "max_age_s", path, 0, 0, I32.MAX_VALUE).toString();
  c.allowCredentials = d.bool(v, "allow_credentials", path);
  const unmatched = d.string(v, "unmatched_preflights", path, "FORWARD");
  if (unmatched == "IGNORE") c.forwardNotMatchingPreflights = false;
  else if (unmatched != "FORWARD" && unmatched != "UNSPECIFIED") {
    d.fail(joinPath(path, "unmatched_preflights"), "expected FORWARD or IGNORE, got \"" + unmatched + "\"");
  }
  return d.failed ? null : c;
}
