// The engine's AuthzRequest with its hooks wired to the host: each attribute is one hostcall,
// made only when a policy condition reads it (the engine caches the answer per request).
import { JsonValue, parseJson } from "../../engine/json/index";
import { AuthzRequest } from "../../engine/authz/index";
import { HeaderPair, MapType, getHeader, getHeaderMapPairs, getProperty, getPropertyString, logWarn } from "../abi/index";

/** Set by halyard.jwt after verification (filters/jwt/README.md): the token's payload JSON. */
export const PROP_JWT_PAYLOAD = "halyard.jwt.payload";

const SOURCE_ADDRESS = ["source", "address"];
const SOURCE_PRINCIPAL = ["source", "principal"];
const PEER_URI_SAN = ["connection", "uri_san_peer_certificate"];
const DESTINATION_ADDRESS = ["destination", "address"];
const DESTINATION_PORT = ["destination", "port"];
const SNI = ["connection", "requested_server_name"];
const JWT_PAYLOAD = [PROP_JWT_PAYLOAD];

export class HostAuthzRequest extends AuthzRequest {
  /** All request headers, fetched once when a request.headers[...] condition needs them. */
  private pairs: HeaderPair[] | null = null;

  reset(): AuthzRequest {
    this.pairs = null;
    return super.reset();
  }

  fetchMethod(): string | null {
    return getHeader(MapType.HttpRequestHeaders, ":method");
  }

  fetchAuthority(): string | null {
    const a = getHeader(MapType.HttpRequestHeaders, ":authority");
    return a !== null ? a : getHeader(MapType.HttpRequestHeaders, "host");
  }

  fetchPath(): string | null {
    return getHeader(MapType.HttpRequestHeaders, ":path");
  }

  fetchSourceAddress(): string | null {
    return getPropertyString(SOURCE_ADDRESS);
  }

  /** Istio's remote.ip with numTrustedProxies = 0: the downstream peer itself. */
  fetchRemoteAddress(): string | null {
    return getPropertyString(SOURCE_ADDRESS);
  }

  fetchDestinationAddress(): string | null {
    return getPropertyString(DESTINATION_ADDRESS);
  }

  fetchDestinationPort(): i64 {
    const b = getProperty(DESTINATION_PORT);
    if (!b || b.byteLength != 8) return -1;
    return load<i64>(changetype<usize>(b));
  }

  /** The peer certificate's URI SAN (Envoy's authenticated principal_name); null without mTLS. */
  fetchPeerPrincipal(): string | null {
    const san = getPropertyString(PEER_URI_SAN);
    return san !== null && san.length > 0 ? san : getPropertyString(SOURCE_PRINCIPAL);
  }

  fetchSni(): string | null {
    return getPropertyString(SNI);
  }

  fetchJwtPayload(): JsonValue | null {
    const bytes = getProperty(JWT_PAYLOAD);
    if (!bytes) return null;
    const parsed = parseJson(bytes);
    if (!parsed.ok) {
      // halyard.jwt only publishes verified payloads; treat garbage as "no token" (fails closed
      // for ALLOW rules on claims) and say so.
      logWarn("halyard.authz: property " + PROP_JWT_PAYLOAD + " is not valid JSON (" + parsed.describe() + "); ignoring it");
      return null;
    }
    return parsed.value;
  }

  /** Envoy's header matching sees all values of a header joined with ','. */
  fetchHeader(lowerName: string): string | null {
    let pairs = this.pairs;
    if (!pairs) pairs = this.pairs = getHeaderMapPairs(MapType.HttpRequestHeaders);
    let joined: string | null = null;
    for (let i = 0, n = pairs.length; i < n; i++) {
      const p = unchecked(pairs[i]);
      if (p.key == lowerName) joined = joined === null ? p.value : joined! + "," + p.value;
    }
    return joined;
  }
}
