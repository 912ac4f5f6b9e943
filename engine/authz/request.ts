// The request as the authorization engine sees it. Attributes are pulled lazily through the
// fetch*() hooks — the halyard.authz filter overrides them with hostcalls, tests set fields —
// and each is fetched and parsed at most once per request, only if a condition reads it.
// reset() readies the object for the next request without allocating (a filter keeps one).
import { JsonValue } from "../json/index";
import { IpAddress, parseSocketAddressInto } from "./ip";
import { NormalizedPath, PathNormalization, normalizePath } from "./path";
import { asciiLower } from "./string_match";

const F_METHOD: u32 = 1 << 0;
const F_HOST: u32 = 1 << 1;
const F_PATH: u32 = 1 << 2;
const F_SOURCE: u32 = 1 << 3;
const F_REMOTE: u32 = 1 << 4;
const F_DEST: u32 = 1 << 5;
const F_PORT: u32 = 1 << 6;
const F_PRINCIPAL: u32 = 1 << 7;
const F_SNI: u32 = 1 << 8;
const F_JWT: u32 = 1 << 9;
const F_SOURCE_OK: u32 = 1 << 10;
const F_REMOTE_OK: u32 = 1 << 11;
const F_DEST_OK: u32 = 1 << 12;

export class AuthzRequest {
  // ---- Inputs read by the default hooks. ----
  method: string | null = null;
  /** :authority (host[:port]). */
  authority: string | null = null;
  /** :path as received, query included. */
  rawPath: string | null = null;
  /** Envoy's source.address ("ip:port" / "[ip]:port" / "ip"). */
  sourceAddress: string | null = null;
  /** The original client address; when null, source.address (Istio's numTrustedProxies = 0). */
  remoteAddress: string | null = null;
  destinationAddress: string | null = null;
  /** -1 when unknown. */
  destinationPort: i64 = -1;
  /** The peer certificate's URI SAN, e.g. "spiffe://cluster.local/ns/foo/sa/bar"; null without mTLS. */
  peerPrincipal: string | null = null;
  sni: string | null = null;
  /** Claims of the verified JWT (what the jwt filter stores in halyard.jwt.payload); null when none. */
  jwtPayload: JsonValue | null = null;
  /** Lower-case names and values (allocated on first addHeader); repeated names are joined with ','. */
  headerNames: string[] | null = null;
  headerValues: string[] | null = null;

  // ---- Hooks: override to read attributes on demand. ----
  fetchMethod(): string | null { return this.method; }
  fetchAuthority(): string | null { return this.authority; }
  fetchPath(): string | null { return this.rawPath; }
  fetchSourceAddress(): string | null { return this.sourceAddress; }
  fetchRemoteAddress(): string | null {
    const r = this.remoteAddress;
    return r !== null ? r : this.fetchSourceAddress();
  }
  fetchDestinationAddress(): string | null { return this.destinationAddress; }
  fetchDestinationPort(): i64 { return this.destinationPort; }
  fetchPeerPrincipal(): string | null { return this.peerPrincipal; }
  fetchSni(): string | null { return this.sni; }
  fetchJwtPayload(): JsonValue | null { return this.jwtPayload; }
  /** Envoy's view of a header: all values joined with ','; null when absent. */
  fetchHeader(lowerName: string): string | null {
    const names = this.headerNames;
    if (!names) return null;
    const values = this.headerValues!;
    let joined: string | null = null;
    for (let i = 0, n = names.length; i < n; i++) {
      if (unchecked(names[i]) == lowerName) {
        const v = unchecked(values[i]);
        joined = joined === null ? v : joined! + "," + v;
      }
    }
    return joined;
  }

  addHeader(name: string, value: string): AuthzRequest {
    let names = this.headerNames;
    if (!names) {
      names = this.headerNames = new Array<string>();
      this.headerValues = new Array<string>();
    }
    names.push(asciiLower(name));
    this.headerValues!.push(value);
    return this;
  }

  // ---- Cached, parsed views used by the engine. ----
  private loaded: u32 = 0;
  private cMethod: string | null = null;
  private cHostLower: string | null = null;
  private cPath: NormalizedPath = new NormalizedPath();
  private cSource: IpAddress = new IpAddress();
  private cRemote: IpAddress = new IpAddress();
  private cDest: IpAddress = new IpAddress();
  private cPort: i64 = -1;
  private cPrincipal: string | null = null;
  private cSni: string | null = null;
  private cJwt: JsonValue | null = null;
  /** Headers already looked up (allocated on the first lookup). */
  private cacheNames: string[] | null = null;
  private cacheValues: Array<string | null> | null = null;

  /** Forgets inputs and cached views so the object can serve the next request. */
  reset(): AuthzRequest {
    this.method = null;
    this.authority = null;
    this.rawPath = null;
    this.sourceAddress = null;
    this.remoteAddress = null;
    this.destinationAddress = null;
    this.destinationPort = -1;
    this.peerPrincipal = null;
    this.sni = null;
    this.jwtPayload = null;
    const names = this.headerNames;
    if (names) {
      names.length = 0;
      this.headerValues!.length = 0;
    }
    this.loaded = 0;
    this.cMethod = null;
    this.cHostLower = null;
    this.cPrincipal = null;
    this.cSni = null;
    this.cJwt = null;
    const cache = this.cacheNames;
    if (cache) {
      cache.length = 0;
      this.cacheValues!.length = 0;
    }
    return this;
  }

  @inline getMethod(): string | null {
    return this.loaded & F_METHOD ? this.cMethod : this.loadMethod();
  }

  private loadMethod(): string | null {
    this.loaded |= F_METHOD;
    return (this.cMethod = this.fetchMethod());
  }

  /** :authority lower-cased (hosts match case-insensitively). */
  @inline getHostLower(): string | null {
    return this.loaded & F_HOST ? this.cHostLower : this.loadHost();
  }

  private loadHost(): string | null {
    this.loaded |= F_HOST;
    const a = this.fetchAuthority();
    return (this.cHostLower = a === null ? null : asciiLower(a!));
  }

  /** The normalized path (no query); `ok` false when the path must be rejected. */
  @inline getPath(mode: PathNormalization): NormalizedPath {
    return this.loaded & F_PATH ? this.cPath : this.loadPath(mode);
  }

  private loadPath(mode: PathNormalization): NormalizedPath {
    this.loaded |= F_PATH;
    const raw = this.fetchPath();
    normalizePath(raw === null ? "" : raw!, mode, this.cPath);
    return this.cPath;
  }

  @inline private address(flag: u32, okFlag: u32, which: i32, out: IpAddress): IpAddress | null {
    if (!(this.loaded & flag)) this.loadAddress(flag, okFlag, which, out);
    return this.loaded & okFlag ? out : null;
  }

  private loadAddress(flag: u32, okFlag: u32, which: i32, out: IpAddress): void {
    this.loaded |= flag;
    const a = which == 0 ? this.fetchSourceAddress() : which == 1 ? this.fetchRemoteAddress() : this.fetchDestinationAddress();
    if (a !== null && parseSocketAddressInto(a!, out)) this.loaded |= okFlag;
  }

  getSourceIp(): IpAddress | null {
    return this.address(F_SOURCE, F_SOURCE_OK, 0, this.cSource);
  }

  getRemoteIp(): IpAddress | null {
    return this.address(F_REMOTE, F_REMOTE_OK, 1, this.cRemote);
  }

  getDestinationIp(): IpAddress | null {
    return this.address(F_DEST, F_DEST_OK, 2, this.cDest);
  }

  @inline getDestinationPort(): i64 {
    return this.loaded & F_PORT ? this.cPort : this.loadPort();
  }

  private loadPort(): i64 {
    this.loaded |= F_PORT;
    return (this.cPort = this.fetchDestinationPort());
  }

  @inline getPeerPrincipal(): string | null {
    return this.loaded & F_PRINCIPAL ? this.cPrincipal : this.loadPrincipal();
  }

  private loadPrincipal(): string | null {
    this.loaded |= F_PRINCIPAL;
    const p = this.fetchPeerPrincipal();
    return (this.cPrincipal = p !== null && p!.length == 0 ? null : p);
  }

  @inline getSni(): string | null {
    return this.loaded & F_SNI ? this.cSni : this.loadSni();
  }

  private loadSni(): string | null {
    this.loaded |= F_SNI;
    return (this.cSni = this.fetchSni());
  }

  @inline getJwtPayload(): JsonValue | null {
    return this.loaded & F_JWT ? this.cJwt : this.loadJwt();
  }

  private loadJwt(): JsonValue | null {
    this.loaded |= F_JWT;
    const j = this.fetchJwtPayload();
    return (this.cJwt = j !== null && j!.isObject() ? j : null);
  }

  getHeader(lowerName: string): string | null {
    let names = this.cacheNames;
    if (!names) {
      names = this.cacheNames = new Array<string>();
      this.cacheValues = new Array<string | null>();
    }
    const values = this.cacheValues!;
    for (let i = 0, n = names.length; i < n; i++) {
      if (unchecked(names[i]) == lowerName) return unchecked(values[i]);
    }
    const v = this.fetchHeader(lowerName);
    names.push(lowerName);
    values.push(v);
    return v;
  }
}
