// Scoped configurations (`"scoped": true`, engine/route/CONFIG.md): the plugin configuration lists virtual hosts
// with a scope each; a virtual host's routes live in its scope's RouteConfiguration, as the `default` route's
// metadata. Per request, the first halyard filter (fault or route) chooses the virtual host by authority, states
// it as `x-halyard-scope` (or removes a client's header when none matches) and clears the route cache so the
// router re-selects the scope; every filter then reads `xds.route_metadata`, finds {routes, digest} and decides
// on the routes decoded once per (scope, digest). A filter-state marker tells a later filter of the same request
// that a halyard filter has already written the header (a client cannot set filter state).
import { proxy_get_property, proxy_remove_header_map_value } from "../abi/imports";
import { MapType, WasmResult } from "../abi/types";
import { decodeScopeRoutesValue, RouteTable, selectVirtualHost, VirtualHost } from "../../engine/route/index";
import { parseJsonBytes } from "../../engine/json/index";
import { SCOPE_HEADER } from "./control_headers";
import { callForeignNamed, EncodedName, replaceHeaderNamed, setPropertyNamed } from "./encoded";
import { findRouteMetadata, RouteMetadata } from "./route_metadata";
import { hostHasFaults, hostNeedsDestinationPort, hostWithoutFaults } from "./table";

const SCOPE = new EncodedName(SCOPE_HEADER);
/** Filter state: the scope a halyard filter wrote for this request ("" = none matched, header removed). */
const SCOPE_MARKER = new EncodedName("halyard.scope");
const ROUTE_METADATA_PATH = String.UTF8.encode("xds\0route_metadata");

/** One decoded virtual host per scope (a new digest replaces the scope's entry, so a config edit leaves no stale
 *  routes behind); all are dropped at once when either bound is passed. */
const MAX_CACHED_SCOPES: i32 = 2048;
const MAX_CACHED_BYTES: usize = 16 << 20;

const RET_PTR: usize = memory.data(8);
const RET_SIZE: usize = memory.data(8);

/** A scope's routes as a filter uses them, with the facts that let it skip work per request. */
export class ScopedHost {
  constructor(public host: VirtualHost, public needsPort: bool, public hasFaults: bool, public digest: string, public bytes: usize) {}
}

export enum ScopeOutcome {
  /** `host` is the scope's decoded virtual host. */
  Host = 0,
  /** No virtual host matches the authority: no_route, as in an unscoped table. */
  NoHost = 1,
  /** The route metadata is missing or invalid: `error` says why; answer 500. */
  Failed = 2,
}

export class ScopeResolver {
  host: ScopedHost | null = null;
  error: string = "";
  private readonly cache: Map<string, ScopedHost> = new Map();
  private cachedBytes: usize = 0;
  private readonly metadata: RouteMetadata = new RouteMetadata();

  /** `keepFaults`: halyard.fault keeps each route's fault, halyard.route drops them (faults are fault's job). */
  constructor(private readonly keepFaults: bool) {}

  resolve(table: RouteTable, authority: string): ScopeOutcome {
    this.host = null;
    this.error = "";
    const vh = selectVirtualHost(table, authority);
    const scope = vh ? vh.scope : "";
    if (!markerSays(scope)) {
      if (vh) replaceHeaderNamed(MapType.HttpRequestHeaders, SCOPE, scope);
      else proxy_remove_header_map_value(MapType.HttpRequestHeaders, changetype<usize>(SCOPE.bytes), SCOPE.bytes.byteLength);
      setPropertyNamed(SCOPE_MARKER, scope);
      clearRouteCache();
    }
    if (!vh) return ScopeOutcome.NoHost;
    return this.load(vh);
  }

  private load(vh: VirtualHost): ScopeOutcome {
    store<usize>(RET_PTR, 0);
    store<usize>(RET_SIZE, 0);
    const status = proxy_get_property(changetype<usize>(ROUTE_METADATA_PATH), ROUTE_METADATA_PATH.byteLength, RET_PTR, RET_SIZE);
    const ptr = load<usize>(RET_PTR);
    const size = load<usize>(RET_SIZE);
    if (status != WasmResult.Ok || !ptr || size == 0) {
      if (ptr) heap.free(ptr);
      this.error = "scope \"" + vh.scope + "\": the route has no metadata (property xds.route_metadata: " +
        (status == WasmResult.Ok ? "empty" : "status " + status.toString()) + ")";
      return ScopeOutcome.Failed;
    }
    const outcome = this.loadFrom(vh, ptr, size);
    heap.free(ptr);
    return outcome;
  }

  private loadFrom(vh: VirtualHost, ptr: usize, size: usize): ScopeOutcome {
    const m = this.metadata;
    if (!findRouteMetadata(ptr, size, m)) {
      this.error = "scope \"" + vh.scope + "\": " + m.error;
      return ScopeOutcome.Failed;
    }
    const digest = m.digest();
    const cached = this.cache.has(vh.scope) ? this.cache.get(vh.scope) : null;
    if (cached && cached.digest == digest) {
      this.host = cached;
      return ScopeOutcome.Host;
    }
    if (cached) {
      this.cache.delete(vh.scope);
      this.cachedBytes -= cached.bytes;
    }
    const parsed = parseJsonBytes(m.routesPtr, m.routesLen);
    if (!parsed.ok) {
      this.error = "route config: scope(" + vh.scope + ").routes: invalid JSON: " + parsed.describe();
      return ScopeOutcome.Failed;
    }
    const decoded = decodeScopeRoutesValue(parsed.value!, vh.name, vh.scope);
    const host = decoded.host;
    if (!host) {
      this.error = decoded.error;
      return ScopeOutcome.Failed;
    }
    const scoped = new ScopedHost(host, hostNeedsDestinationPort(host), hostHasFaults(host), digest, <usize>m.routesLen);
    if (!this.keepFaults) hostWithoutFaults(host);
    if (this.cache.size >= MAX_CACHED_SCOPES || this.cachedBytes + <usize>m.routesLen > MAX_CACHED_BYTES) {
      this.cache.clear();
      this.cachedBytes = 0;
    }
    this.cache.set(vh.scope, scoped);
    this.cachedBytes += <usize>m.routesLen;
    this.host = scoped;
    return ScopeOutcome.Host;
  }
}

const CLEAR_ROUTE_CACHE = new EncodedName("clear_route_cache");

/** Asks the host to re-resolve the route (and so the scope). NotFound / Unimplemented (older hosts) are fine. */
export function clearRouteCache(): u32 {
  return callForeignNamed(CLEAR_ROUTE_CACHE);
}

/** Whether a halyard filter of this request already wrote `scope` as the scope header. */
function markerSays(scope: string): bool {
  store<usize>(RET_PTR, 0);
  store<usize>(RET_SIZE, 0);
  const status = proxy_get_property(changetype<usize>(SCOPE_MARKER.bytes), SCOPE_MARKER.bytes.byteLength, RET_PTR, RET_SIZE);
  const ptr = load<usize>(RET_PTR);
  if (status != WasmResult.Ok) {
    if (ptr) heap.free(ptr);
    return false;
  }
  const size = load<usize>(RET_SIZE);
  const same = ptr ? String.UTF8.decodeUnsafe(ptr, size) == scope : scope.length == 0;
  if (ptr) heap.free(ptr);
  return same;
}
