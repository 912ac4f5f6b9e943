// Envoy attributes for proxy_get_property. The guest passes path segments joined by NUL
// ("request\0headers\0x-foo"); values are encoded the way Envoy serializes CEL values:
// strings raw, integers int64 little-endian, doubles float64 little-endian, bools one byte,
// timestamps and durations int64 nanoseconds, maps in the header-pairs format, `node` as the
// envoy.config.core.v3.Node protobuf.
import { encodeNode } from "./envoy-node.js";
import { serializePairs } from "./pairs.js";
import type { HeaderMap, PropertyValue, ResponseInfo, StreamInfo } from "./types.js";
import { FOLD_NONE, FOLD_NUL_TO_DOT, internUtf8 } from "./intern.js";
import { encodeUtf8 } from "./utf8.js";

/** What get_property needs from the plugin. */
export interface PluginScope {
  readonly name: string;
  readonly rootId: string;
  readonly vmId: string;
  readonly properties: Record<string, PropertyValue>;
}

/** What get_property needs from the stream (absent in the root context). */
export interface StreamScope {
  readonly info: StreamInfo;
  readonly requestHeaders: HeaderMap | null;
  readonly requestTrailers: HeaderMap | null;
  readonly responseHeaders: HeaderMap | null;
  readonly responseTrailers: HeaderMap | null;
  readonly responseInfo: ResponseInfo;
  readonly requestBodyBytes: number;
  readonly responseBodyBytes: number;
  readonly startTime: Date;
  /** Nanoseconds since the stream started (monotonic). */
  readonly durationNs: bigint;
  /** Values the guest stored with proxy_set_property, keyed by dotted path. */
  readonly setProperties: Map<string, Uint8Array>;
  /** setProperties.get without creating the map. */
  storedProperty(dottedPath: string): Uint8Array | undefined;
}

/** A decoded value before encoding; a HeaderMap encodes as serialized pairs. */
type Raw = PropertyValue | Date | HeaderMap | null | undefined;

// Envoy's ResponseFlag bits (envoy/stream_info/stream_info.h), by their access-log short names.
const RESPONSE_FLAG_BITS: Record<string, number> = {
  LH: 0x1, UH: 0x2, UT: 0x4, LR: 0x8, UR: 0x10, UF: 0x20, UC: 0x40, UO: 0x80, NR: 0x100, DI: 0x200,
  FI: 0x400, RL: 0x800, UAEX: 0x1000, RLSE: 0x2000, DC: 0x4000, URX: 0x8000, SI: 0x10000, IH: 0x20000,
  DPE: 0x40000, UMSDR: 0x80000, RFCF: 0x100000, NFCF: 0x200000, DT: 0x400000, UPE: 0x800000,
  NC: 0x1000000, OM: 0x2000000, DF: 0x4000000,
};

/**
 * The property at `path` (NUL-separated segments), or null when there is none: encoded bytes, or
 * a string, whose encoding is its UTF-8 bytes (the hostcall writes it straight into guest memory).
 */
export function getProperty(rawPath: Uint8Array, plugin: PluginScope, stream: StreamScope | null): Uint8Array | string | null {
  let end = rawPath.length;
  while (end > 0 && rawPath[end - 1] === 0) end--;
  if (end === 0) return null;
  const dotted = internUtf8(rawPath, null, 0, end, FOLD_NUL_TO_DOT);
  // A request-wide filter state (StreamInfo.filterState) is where set_property stored, when present.
  const stored = stream === null ? undefined : (stream.info.filterState?.get(dotted) ?? stream.storedProperty(dotted));
  if (stored) return stored;
  const override = stream?.info.properties?.[dotted] ?? plugin.properties[dotted];
  if (override !== undefined) return typeof override === "string" ? override : encodeValue(override);
  const value = builtin(splitPath(rawPath, end), plugin, stream);
  if (value === undefined || value === null) return null;
  return typeof value === "string" ? value : encodeValue(value);
}

/**
 * proxy_set_property with the path already dotted (GuestMemory.path): later get_property calls on
 * the same stream (or, with StreamInfo.filterState, any stream of the request) read it back. False when
 * there is no path segment or no stream.
 */
export function setProperty(dottedPath: string, value: Uint8Array, stream: StreamScope | null): boolean {
  if (dottedPath === "" || !stream) return false;
  (stream.info.filterState ?? stream.setProperties).set(dottedPath, value);
  return true;
}

export function encodeValue(v: Exclude<Raw, null | undefined>): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === "string") return encodeUtf8(v);
  if (typeof v === "boolean") return Uint8Array.of(v ? 1 : 0);
  if (typeof v === "bigint") return int64(v);
  if (typeof v === "number") {
    if (Number.isInteger(v)) return int64(BigInt(v));
    const out = new Uint8Array(8);
    new DataView(out.buffer).setFloat64(0, v, true);
    return out;
  }
  if (v instanceof Date) return int64(BigInt(v.getTime()) * 1_000_000n);
  return serializePairs(v);
}

function int64(v: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, BigInt.asIntN(64, v), true);
  return out;
}

/** The NUL-separated segments of raw[0..end) (end excludes trailing NULs and is > 0). */
function splitPath(raw: Uint8Array, end: number): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i <= end; i++) {
    if (i === end || raw[i] === 0) {
      parts.push(internUtf8(raw, null, start, i, FOLD_NONE));
      start = i + 1;
    }
  }
  return parts;
}

function builtin(parts: string[], plugin: PluginScope, s: StreamScope | null): Raw {
  const [head, field, ...rest] = parts;
  switch (head) {
    case "plugin_name":
      return plugin.name;
    case "plugin_root_id":
      return plugin.rootId;
    case "plugin_vm_id":
      return plugin.vmId;
    case "node":
      return nodeProperty(field, rest, plugin.properties);
    case "cluster_name":
      return s?.info.clusterName;
    case "route_name":
      return routeName(s);
    case "xds":
      if (field === "cluster_name") return s?.info.clusterName;
      if (field === "route_name") return routeName(s);
      if (field === "route_metadata") return s?.info.route?.()?.metadata;
      return undefined;
  }
  if (!s) return undefined;
  switch (head) {
    case "request":
      return requestProperty(field, rest, s);
    case "response":
      return responseProperty(field, rest, s);
    case "source":
      return endpoint(field, s.info.source?.address, s.info.source?.port, field === "principal" ? s.info.source?.principal : undefined);
    case "destination":
      return endpoint(field, s.info.destination?.address, s.info.destination?.port);
    case "upstream":
      return upstreamProperty(field, s);
    case "connection":
      return connectionProperty(field, s.info);
  }
  return undefined;
}

/** The live route's name when the embedder resolves routes per read (StreamInfo.route), else the static one. */
function routeName(s: StreamScope | null): string | undefined {
  if (!s) return undefined;
  const route = s.info.route;
  return route ? route()?.name : s.info.routeName;
}

function header(map: HeaderMap | null, name: string): string | undefined {
  if (!map) return undefined;
  for (let i = 0; i < map.length; i++) if (map[i][0] === name) return map[i][1];
  return undefined;
}

function mapProperty(map: HeaderMap | null | undefined, rest: string[]): Raw {
  if (!map) return undefined;
  if (rest.length === 0) return map;
  return header(map, rest.join(".").toLowerCase());
}

function headersBytes(map: HeaderMap | null): number {
  let n = 0;
  if (map) for (const [k, v] of map) n += k.length + v.length;
  return n;
}

function requestProperty(field: string | undefined, rest: string[], s: StreamScope): Raw {
  const req = s.info.request ?? {};
  const live = s.requestHeaders ?? req.headers ?? null;
  const path = header(live, ":path") ?? req.path;
  switch (field) {
    case "path":
      return path;
    case "url_path":
      return path === undefined ? undefined : path.split("?")[0];
    case "query": {
      if (path === undefined) return undefined;
      const q = path.indexOf("?");
      return q < 0 ? "" : path.slice(q + 1);
    }
    case "host":
      return header(live, ":authority") ?? header(live, "host") ?? req.host;
    case "scheme":
      return header(live, ":scheme") ?? req.scheme;
    case "method":
      return header(live, ":method") ?? req.method;
    case "headers":
      return mapProperty(live, rest);
    case "referer":
      return header(live, "referer");
    case "useragent":
      return header(live, "user-agent");
    case "id":
      return header(live, "x-request-id") ?? req.id;
    case "protocol":
      return req.protocol;
    case "time":
      return req.time ?? s.startTime;
    case "duration":
      return s.durationNs;
    case "size":
      return s.requestBodyBytes;
    case "total_size":
      return s.requestBodyBytes + headersBytes(live) + headersBytes(s.requestTrailers);
  }
  return undefined;
}

function responseProperty(field: string | undefined, rest: string[], s: StreamScope): Raw {
  const r = s.responseInfo;
  switch (field) {
    case "code": {
      if (r.code !== undefined) return r.code;
      const status = header(s.responseHeaders, ":status");
      return status === undefined ? undefined : Number(status);
    }
    case "code_details":
      return r.codeDetails;
    case "flags":
      return (r.flags ?? []).reduce((bits, f) => bits + (RESPONSE_FLAG_BITS[f] ?? 0), 0);
    case "grpc_status": {
      const g = header(s.responseTrailers, "grpc-status") ?? header(s.responseHeaders, "grpc-status");
      return g === undefined ? undefined : Number(g);
    }
    case "headers":
      return mapProperty(s.responseHeaders, rest);
    case "trailers":
      return mapProperty(s.responseTrailers, rest);
    case "size":
      return s.responseBodyBytes;
    case "total_size":
      return r.bytesSent ?? s.responseBodyBytes + headersBytes(s.responseHeaders) + headersBytes(s.responseTrailers);
  }
  return undefined;
}

/** Envoy's *.address attributes carry the port too ("10.0.0.1:80", "[::1]:80"). */
function hostPort(address: string, port: number | undefined): string {
  if (port === undefined) return address;
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

function endpoint(field: string | undefined, address: string | undefined, port: number | undefined, principal?: string): Raw {
  if (field === "address") return address === undefined ? undefined : hostPort(address, port);
  if (field === "port") return port;
  if (field === "principal") return principal;
  return undefined;
}

function upstreamProperty(field: string | undefined, s: StreamScope): Raw {
  const up = s.info.upstream;
  if (field === "address") {
    if (up?.address !== undefined) return hostPort(up.address, up.port);
    return s.responseInfo.upstreamAddress;
  }
  if (field === "port") {
    if (up?.port !== undefined) return up.port;
    const m = /:(\d+)$/.exec(s.responseInfo.upstreamAddress ?? "");
    return m ? Number(m[1]) : undefined;
  }
  return undefined;
}

function connectionProperty(field: string | undefined, info: StreamInfo): Raw {
  const c = info.connection;
  switch (field) {
    case "id":
      return c?.id;
    case "mtls":
      return c?.mtls ?? false;
    case "requested_server_name":
      return c?.requestedServerName;
    case "tls_version":
      return c?.tlsVersion;
    case "uri_san_local_certificate":
      return c?.uriSanLocalCertificate;
    case "uri_san_peer_certificate":
      return c?.uriSanPeerCertificate;
    case "subject_peer_certificate":
      return c?.subjectPeerCertificate;
    case "dns_san_peer_certificate":
      return c?.dnsSanPeerCertificate;
  }
  return undefined;
}

/** `node` is the Node protobuf; `node.id`, `node.cluster`, `node.metadata.X` come from plugin properties. */
function nodeProperty(field: string | undefined, rest: string[], props: Record<string, PropertyValue>): Raw {
  if (field === undefined) {
    const hasNode = Object.keys(props).some((k) => k.startsWith("node."));
    return hasNode ? encodeNode(props) : undefined;
  }
  if (field === "metadata" && rest.length === 0) {
    const hasMetadata = Object.keys(props).some((k) => k.startsWith("node.metadata."));
    return hasMetadata ? encodeNode(props, "metadata") : undefined;
  }
  return undefined;
}
