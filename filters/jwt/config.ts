// halyard.jwt configuration: the RequestAuthentication jwtRules that apply to this proxy, as the
// control plane translates them (CONFIG.md). Every field is checked here so that a bad rule is
// refused with one line naming it, instead of failing requests later.
import { JsonValue, parseJson } from "../../engine/json/index";
import { JwtProvider, JwtStatus, parseJwks } from "../../engine/jwt/index";
import { isHeaderName } from "./text";

export enum LocationKind { Header = 0, Param = 1, Cookie = 2 }

/** One place a token may be carried, shared by every provider that names it (as Envoy's extractor does). */
export class TokenLocation {
  /** Header names are lower-cased; params and cookies are case-sensitive. */
  nameBytes: Uint8Array;
  prefixBytes: Uint8Array;
  /** Indexes into JwtFilterConfig.providers of the providers that read tokens here. */
  providers: i32[] = [];
  constructor(public index: i32, public kind: LocationKind, public name: string, public prefix: string) {
    this.nameBytes = Uint8Array.wrap(String.UTF8.encode(name));
    this.prefixBytes = Uint8Array.wrap(String.UTF8.encode(prefix));
  }
}

export class ClaimToHeader {
  /** Nested claims are addressed with dots ("realm.role"), as Envoy's claim_to_headers does. */
  claimPath: string[];
  constructor(public header: string, public claim: string) {
    this.claimPath = claim.split(".");
  }
}

export class ProviderConfig {
  /** What engine/jwt verifies against: issuer, audiences, parsed JWKS, clock skew (Envoy's 60 s). */
  engine: JwtProvider = new JwtProvider();
  forwardOriginalToken: bool = false;
  outputPayloadToHeader: string = "";
  outputClaimToHeaders: ClaimToHeader[] = [];
  /** Token locations as configured (from_headers as parallel name/prefix lists). */
  fromHeaderNames: string[] = [];
  fromHeaderPrefixes: string[] = [];
  fromParams: string[] = [];
  fromCookies: string[] = [];
  /** JWKS keys that were skipped (the set stays usable); reported as warnings at configure. */
  skippedKeys: string[] = [];
  constructor(public index: i32) {}

  get issuer(): string { return this.engine.issuer; }
}

export class JwtFilterConfig {
  providers: ProviderConfig[] = [];
  /** Realm of the www-authenticate challenge; empty means the request URL (Envoy's behaviour). */
  realm: string = "";
  /** Distinct token locations in configuration order: headers first, then params, then cookies. */
  locations: TokenLocation[] = [];
  /** Headers this filter writes; removed from every request so a client cannot forge them. */
  sanitizeHeaders: string[] = [];
  hasParamLocations: bool = false;
  hasCookieLocations: bool = false;
}

export class JwtConfigResult {
  constructor(public config: JwtFilterConfig | null, public error: string) {}
}

const PROVIDER_FIELDS = [
  "issuer", "audiences", "jwks", "from_headers", "from_params", "from_cookies", "forward_original_token",
  "output_payload_to_header", "output_claim_to_headers", "timeout",
];

function fail(msg: string): JwtConfigResult {
  return new JwtConfigResult(null, msg);
}

/** Parses the plugin configuration bytes (JSON). */
export function parseJwtConfig(bytes: ArrayBuffer): JwtConfigResult {
  if (bytes.byteLength == 0) return fail("configuration is empty: expected {\"providers\": [...]}");
  const parsed = parseJson(bytes);
  if (!parsed.ok) return fail("configuration is not valid JSON: " + parsed.describe());
  const root = parsed.value!;
  if (!root.isObject()) return fail("configuration must be a JSON object, got " + root.kindName());
  const config = new JwtFilterConfig();
  for (let i = 0; i < root.length; i++) {
    const key = root.keyAt(i);
    const v = root.at(i)!;
    let err = "";
    if (key == "providers") {
      err = readProviders(v, config);
    } else if (key == "realm") {
      if (!v.isString()) err = "realm must be a string, got " + v.kindName();
      else if (v.stringValue.includes("\"")) err = "realm must not contain '\"'";
      else config.realm = v.stringValue;
    } else {
      err = "unknown field \"" + key + "\" (expected providers, realm)";
    }
    if (err.length) return fail(err);
  }
  if (!root.has("providers")) return fail("providers is required");
  buildLocations(config);
  return new JwtConfigResult(config, "");
}

function readProviders(v: JsonValue, config: JwtFilterConfig): string {
  if (!v.isArray()) return "providers must be an array, got " + v.kindName();
  if (v.length == 0) return "providers must not be empty";
  for (let i = 0; i < v.length; i++) {
    const p = new ProviderConfig(i);
    const err = readProvider(v.at(i)!, "providers[" + i.toString() + "]", p);
    if (err.length) return err;
    config.providers.push(p);
  }
  return "";
}

function readProvider(v: JsonValue, where: string, p: ProviderConfig): string {
  if (!v.isObject()) return where + " must be an object, got " + v.kindName();
  for (let i = 0; i < v.length; i++) {
    const k = v.keyAt(i);
    if (k == "jwks_uri" || k == "jwksUri") {
      return where + "." + k + " is not accepted here: the control plane fetches it and inlines the document as jwks";
    }
    if (!PROVIDER_FIELDS.includes(k)) return where + ": unknown field \"" + k + "\"";
  }
  const issuer = v.get("issuer");
  if (!issuer) return where + ".issuer is required";
  if (!issuer.isString() || issuer.stringValue.length == 0) return where + ".issuer must be a non-empty string";
  p.engine.issuer = issuer.stringValue;

  const audiences = v.get("audiences");
  if (audiences) {
    const err = readStrings(audiences, where + ".audiences", p.engine.audiences);
    if (err.length) return err;
  }

  const jwks = v.get("jwks");
  if (!jwks) return where + ".jwks is required (the JWKS document as a JSON string)";
  if (!jwks.isString()) return where + ".jwks must be a string holding the JWKS JSON, got " + jwks.kindName();
  const set = parseJwks(Uint8Array.wrap(String.UTF8.encode(jwks.stringValue)));
  if (set.status != JwtStatus.Ok) return where + ".jwks: " + set.describe();
  for (let i = 0; i < set.errors.length; i++) p.skippedKeys.push(where + ".jwks " + set.errors[i].describe());
  p.engine.jwks = set;

  const fromHeaders = v.get("from_headers");
  if (fromHeaders) {
    const err = readHeaderLocations(fromHeaders, where + ".from_headers", p);
    if (err.length) return err;
  }
  const fromParams = v.get("from_params");
  if (fromParams) {
    const err = readStrings(fromParams, where + ".from_params", p.fromParams);
    if (err.length) return err;
  }
  const fromCookies = v.get("from_cookies");
  if (fromCookies) {
    const err = readStrings(fromCookies, where + ".from_cookies", p.fromCookies);
    if (err.length) return err;
  }

  const forward = v.get("forward_original_token");
  if (forward) {
    if (!forward.isBool()) return where + ".forward_original_token must be a bool, got " + forward.kindName();
    p.forwardOriginalToken = forward.boolValue;
  }

  const payloadHeader = v.get("output_payload_to_header");
  if (payloadHeader) {
    if (!payloadHeader.isString()) return where + ".output_payload_to_header must be a string, got " + payloadHeader.kindName();
    const name = payloadHeader.stringValue;
    if (name.length > 0 && !isHeaderName(name)) return where + ".output_payload_to_header \"" + name + "\" is not a valid header name";
    p.outputPayloadToHeader = name.toLowerCase();
  }

  const claimHeaders = v.get("output_claim_to_headers");
  if (claimHeaders) {
    const err = readClaimHeaders(claimHeaders, where + ".output_claim_to_headers", p);
    if (err.length) return err;
  }

  const timeout = v.get("timeout");
  // The JWKS fetch timeout: used by the control plane when it resolves jwksUri, carried for completeness.
  if (timeout && !timeout.isString()) return where + ".timeout must be a duration string such as \"5s\", got " + timeout.kindName();
  return "";
}

function readStrings(v: JsonValue, where: string, out: string[]): string {
  if (!v.isArray()) return where + " must be an array of strings, got " + v.kindName();
  for (let i = 0; i < v.length; i++) {
    const item = v.at(i)!;
    const at = where + "[" + i.toString() + "]";
    if (!item.isString()) return at + " must be a string, got " + item.kindName();
    if (item.stringValue.length == 0) return at + " must not be empty";
    out.push(item.stringValue);
  }
  return "";
}

function readHeaderLocations(v: JsonValue, where: string, p: ProviderConfig): string {
  if (!v.isArray()) return where + " must be an array of {name, prefix}, got " + v.kindName();
  for (let i = 0; i < v.length; i++) {
    const item = v.at(i)!;
    const at = where + "[" + i.toString() + "]";
    if (!item.isObject()) return at + " must be an object {name, prefix}, got " + item.kindName();
    for (let j = 0; j < item.length; j++) {
      const k = item.keyAt(j);
      if (k != "name" && k != "prefix") return at + ": unknown field \"" + k + "\" (expected name, prefix)";
    }
    const name = item.get("name");
    if (!name) return at + ".name is required";
    if (!name.isString() || !isHeaderName(name.stringValue)) return at + ".name must be a valid header name";
    let prefix = "";
    const pv = item.get("prefix");
    if (pv) {
      if (!pv.isString()) return at + ".prefix must be a string, got " + pv.kindName();
      prefix = pv.stringValue;
    }
    p.fromHeaderNames.push(name.stringValue.toLowerCase());
    p.fromHeaderPrefixes.push(prefix);
  }
  return "";
}

function readClaimHeaders(v: JsonValue, where: string, p: ProviderConfig): string {
  if (!v.isArray()) return where + " must be an array of {header, claim}, got " + v.kindName();
  for (let i = 0; i < v.length; i++) {
    const item = v.at(i)!;
    const at = where + "[" + i.toString() + "]";
    if (!item.isObject()) return at + " must be an object {header, claim}, got " + item.kindName();
    for (let j = 0; j < item.length; j++) {
      const k = item.keyAt(j);
      if (k != "header" && k != "claim") return at + ": unknown field \"" + k + "\" (expected header, claim)";
    }
    const header = item.get("header");
    if (!header) return at + ".header is required";
    if (!header.isString() || !isHeaderName(header.stringValue)) return at + ".header must be a valid header name";
    const claim = item.get("claim");
    if (!claim) return at + ".claim is required";
    if (!claim.isString() || claim.stringValue.length == 0) return at + ".claim must be a non-empty string";
    p.outputClaimToHeaders.push(new ClaimToHeader(header.stringValue.toLowerCase(), claim.stringValue));
  }
  return "";
}

function findLocation(config: JwtFilterConfig, kind: LocationKind, name: string, prefix: string): TokenLocation {
  const all = config.locations;
  for (let i = 0; i < all.length; i++) {
    const l = all[i];
    if (l.kind == kind && l.name == name && l.prefix == prefix) return l;
  }
  const l = new TokenLocation(all.length, kind, name, prefix);
  all.push(l);
  return l;
}

function addProvider(l: TokenLocation, provider: i32): void {
  if (!l.providers.includes(provider)) l.providers.push(provider);
}

/** Merges the providers' locations; a provider naming none gets Envoy's defaults (Bearer header, access_token param). */
function buildLocations(config: JwtFilterConfig): void {
  const providers = config.providers;
  for (let kind = 0; kind < 3; kind++) {
    for (let i = 0; i < providers.length; i++) {
      const p = providers[i];
      const useDefaults = p.fromHeaderNames.length == 0 && p.fromParams.length == 0 && p.fromCookies.length == 0;
      if (kind == LocationKind.Header) {
        if (useDefaults) addProvider(findLocation(config, LocationKind.Header, "authorization", "Bearer "), i);
        for (let j = 0; j < p.fromHeaderNames.length; j++) {
          addProvider(findLocation(config, LocationKind.Header, p.fromHeaderNames[j], p.fromHeaderPrefixes[j]), i);
        }
      } else if (kind == LocationKind.Param) {
        if (useDefaults) addProvider(findLocation(config, LocationKind.Param, "access_token", ""), i);
        for (let j = 0; j < p.fromParams.length; j++) addProvider(findLocation(config, LocationKind.Param, p.fromParams[j], ""), i);
      } else {
        for (let j = 0; j < p.fromCookies.length; j++) addProvider(findLocation(config, LocationKind.Cookie, p.fromCookies[j], ""), i);
      }
    }
  }
  for (let i = 0; i < config.locations.length; i++) {
    const kind = config.locations[i].kind;
    if (kind == LocationKind.Param) config.hasParamLocations = true;
    if (kind == LocationKind.Cookie) config.hasCookieLocations = true;
  }
  for (let i = 0; i < providers.length; i++) {
    const p = providers[i];
    if (p.outputPayloadToHeader.length > 0) addUnique(config.sanitizeHeaders, p.outputPayloadToHeader);
    for (let j = 0; j < p.outputClaimToHeaders.length; j++) addUnique(config.sanitizeHeaders, p.outputClaimToHeaders[j].header);
  }
}

function addUnique(list: string[], s: string): void {
  if (!list.includes(s)) list.push(s);
}
