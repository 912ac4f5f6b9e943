// halyard.jwt — Istio RequestAuthentication as Envoy's jwt_authn filter enforces it: a request
// without a token passes with no identity; a request carrying a token passes only if every token
// it carries verifies. Rejections are Envoy's local replies (401, or 403 for audiences, with its
// body text and www-authenticate challenge). On success the identity is published as properties
// for halyard.authz (README.md) and, per provider, the token is removed and payload/claims are
// written to headers.
import {
  Action, HeaderPair, HttpContext, MapType, MetricType, RootContext, addHeader, defineMetric, getCurrentTimeNanoseconds,
  incrementMetric, logError, logWarn, registerRootContext, removeHeader, replaceHeader, sendLocalResponse, setProperty,
} from "../abi/index";
import { JwtStatus, jwtStatusText } from "../../engine/jwt/index";
import { AuthResult, Authenticator } from "./authenticate";
import { DEFAULT_CACHE_CAPACITY } from "./cache";
import { JwtFilterConfig, LocationKind, parseJwtConfig } from "./config";
import { FoundToken, extractTokens, pathWithoutParam } from "./extract";
import { RawHeaders, fetchRequestHeaders } from "./raw_headers";
import { VerifiedToken } from "./verified";

export const JWT_ROOT_ID = "halyard.jwt";

/** Property names (one path segment each, which Envoy stores as filter state "wasm.<name>"). */
export const PROP_PAYLOAD = "halyard.jwt.payload";
export const PROP_PRINCIPAL = "halyard.jwt.principal";
export const PROP_AUDIENCES = "halyard.jwt.audiences";
export const PROP_PRESENTER = "halyard.jwt.presenter";

const MAX_URI_PATH_BYTES = 256; // Envoy's jwt_authn truncates the realm's path here

function bytesOf(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}

const H_METHOD = bytesOf(":method");
const H_PATH = bytesOf(":path");
const H_AUTHORITY = bytesOf(":authority");
const H_HOST = bytesOf("host");
const H_SCHEME = bytesOf(":scheme");
const H_FORWARDED_PROTO = bytesOf("x-forwarded-proto");
const H_ORIGIN = bytesOf("origin");
const H_ACR_METHOD = bytesOf("access-control-request-method");
const OPTIONS = bytesOf("OPTIONS");

class Metrics {
  allowed: u32 = 0;
  denied: u32 = 0;
  corsBypassed: u32 = 0;
  cacheHit: u32 = 0;
  cacheMiss: u32 = 0;

  define(): void {
    this.allowed = counter("jwt_authn.allowed");
    this.denied = counter("jwt_authn.denied");
    this.corsBypassed = counter("jwt_authn.cors_preflight_bypassed");
    this.cacheHit = counter("jwt_authn.jwt_cache_hit");
    this.cacheMiss = counter("jwt_authn.jwt_cache_miss");
  }
}

/** A counter id, or 0 when the host keeps no metrics (increments to 0 are then refused and ignored). */
function counter(name: string): u32 {
  const t = defineMetric(MetricType.Counter, name);
  return t.ok ? t.id : 0;
}

@inline function bump(id: u32): void {
  if (id) incrementMetric(id, 1);
}

class JwtRoot extends RootContext {
  config: JwtFilterConfig = new JwtFilterConfig();
  authenticator: Authenticator = new Authenticator(new JwtFilterConfig(), 0);
  sanitizeBytes: Uint8Array[] = [];
  metrics: Metrics = new Metrics();

  onConfigure(pluginConfigurationSize: usize): bool {
    const result = parseJwtConfig(this.getPluginConfiguration(pluginConfigurationSize));
    const config = result.config;
    if (!config) {
      logError(JWT_ROOT_ID + ": invalid configuration: " + result.error);
      return false;
    }
    for (let i = 0; i < config.providers.length; i++) {
      const skipped = config.providers[i].skippedKeys;
      for (let j = 0; j < skipped.length; j++) logWarn(JWT_ROOT_ID + ": ignoring " + skipped[j]);
    }
    this.config = config;
    this.authenticator = new Authenticator(config, DEFAULT_CACHE_CAPACITY);
    const sanitize: Uint8Array[] = [];
    for (let i = 0; i < config.sanitizeHeaders.length; i++) sanitize.push(bytesOf(config.sanitizeHeaders[i]));
    this.sanitizeBytes = sanitize;
    this.metrics.define();
    return true;
  }

  createHttpContext(contextId: u32): HttpContext | null {
    return new JwtHttp(contextId, this);
  }
}

class JwtHttp extends HttpContext {
  constructor(contextId: u32, private jwtRoot: JwtRoot) {
    super(contextId, jwtRoot);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): Action {
    const root = this.jwtRoot;
    const config = root.config;
    const metrics = root.metrics;
    const headers = fetchRequestHeaders();
    // Istio configures bypass_cors_preflight: a preflight carries no credentials.
    if (isCorsPreflight(headers)) {
      bump(metrics.corsBypassed);
      bump(metrics.allowed);
      return Action.Continue;
    }
    const sanitize = root.sanitizeBytes;
    for (let i = 0; i < sanitize.length; i++) {
      if (headers.has(sanitize[i])) removeHeader(MapType.HttpRequestHeaders, config.sanitizeHeaders[i]);
    }
    const tokens = extractTokens(config, headers);
    if (tokens.length == 0) {
      bump(metrics.allowed);
      return Action.Continue;
    }
    const now = getCurrentTimeNanoseconds() / 1_000_000_000;
    const verified: VerifiedToken[] = [];
    const verifiedFrom: FoundToken[] = [];
    for (let i = 0; i < tokens.length; i++) {
      const result: AuthResult = root.authenticator.authenticate(tokens[i], now);
      bump(result.cacheHit ? metrics.cacheHit : metrics.cacheMiss);
      if (result.status == JwtStatus.JwtMissed) continue; // an empty token is no token
      if (result.status != JwtStatus.Ok) {
        this.deny(result.status, headers);
        return Action.Pause;
      }
      verified.push(result.verified!);
      verifiedFrom.push(tokens[i]);
    }
    if (verified.length > 0) {
      forwardOrRemove(verified, verifiedFrom, headers);
      for (let i = 0; i < verified.length; i++) writeHeaders(verified[i]);
      publishIdentity(verified[0]);
    }
    bump(metrics.allowed);
    return Action.Continue;
  }

  private deny(status: JwtStatus, headers: RawHeaders): void {
    const config = this.jwtRoot.config;
    const text = jwtStatusText(status);
    const realm = config.realm.length > 0 ? config.realm : originalUri(headers);
    let challenge = "Bearer realm=\"" + realm + "\"";
    if (status != JwtStatus.JwtMissed) challenge += ", error=\"invalid_token\"";
    const code: u32 = status == JwtStatus.JwtAudienceNotAllowed ? 403 : 401;
    sendLocalResponse(
      code, "jwt_authn_access_denied{" + text.replaceAll(" ", "_") + "}", String.UTF8.encode(text),
      [new HeaderPair("www-authenticate", challenge)],
    );
    bump(this.jwtRoot.metrics.denied);
  }
}

function isCorsPreflight(headers: RawHeaders): bool {
  return headers.valueIs(H_METHOD, OPTIONS) && nonEmpty(headers.value(H_ORIGIN)) && nonEmpty(headers.value(H_ACR_METHOD));
}

function nonEmpty(v: Uint8Array | null): bool {
  return v !== null && v.length > 0;
}

/** Envoy's buildOriginalUri: x-forwarded-proto://host + path (at most 256 bytes of it). */
function originalUri(headers: RawHeaders): string {
  let scheme = headers.valueString(H_FORWARDED_PROTO);
  if (scheme === null) scheme = headers.valueString(H_SCHEME);
  let host = headers.valueString(H_AUTHORITY);
  if (host === null) host = headers.valueString(H_HOST);
  const path = headers.value(H_PATH);
  let pathText = "";
  if (path !== null) {
    const n = path.length < MAX_URI_PATH_BYTES ? path.length : MAX_URI_PATH_BYTES;
    pathText = String.UTF8.decodeUnsafe(path.dataStart, <usize>n);
  }
  return (scheme !== null ? scheme : "http") + "://" + (host !== null ? host : "") + pathText;
}

/** forward_original_token false: the token leaves with its header or query parameter (cookies stay, as in Envoy). */
function forwardOrRemove(verified: VerifiedToken[], from: FoundToken[], headers: RawHeaders): void {
  let path: Uint8Array | null = null;
  for (let i = 0; i < verified.length; i++) {
    if (verified[i].provider.forwardOriginalToken) continue;
    const location = from[i].location;
    if (location.kind == LocationKind.Header) {
      removeHeader(MapType.HttpRequestHeaders, location.name);
    } else if (location.kind == LocationKind.Param) {
      if (path === null) path = headers.value(H_PATH);
      if (path === null) continue;
      const updated = pathWithoutParam(path, location.nameBytes);
      replaceHeader(MapType.HttpRequestHeaders, ":path", updated);
      path = bytesOf(updated);
    }
  }
}

function writeHeaders(v: VerifiedToken): void {
  const payloadHeader = v.provider.outputPayloadToHeader;
  if (payloadHeader.length > 0) addHeader(MapType.HttpRequestHeaders, payloadHeader, v.payloadSegment);
  const names = v.claimHeaderNames;
  for (let i = 0; i < names.length; i++) addHeader(MapType.HttpRequestHeaders, names[i], v.claimHeaderValues[i]);
}

function publishIdentity(v: VerifiedToken): void {
  setProperty([PROP_PAYLOAD], v.payload);
  setProperty([PROP_PRINCIPAL], v.principalBytes);
  setProperty([PROP_AUDIENCES], v.audiencesJson);
  const presenter = v.presenter;
  if (presenter !== null) setProperty([PROP_PRESENTER], presenter);
}

registerRootContext(JWT_ROOT_ID, (contextId: u32): RootContext => new JwtRoot(contextId));
