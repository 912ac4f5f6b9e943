// The server's DiscoveryRequest reader. A state-of-the-world ACK repeats the whole subscription (a sidecar's EDS
// ACK names thousands of clusters, 2 000 sidecars ACK every push): decoding those names into strings only to find
// them unchanged is most of what an ACK costs. Here resource_names (field 3) is left encoded: the request gets a
// digest of its raw bytes (`resourceNamesKey`), and the names are decoded only if something reads them. Delta
// requests get the same for resource_names_subscribe (readDeltaDiscoveryRequest).
import { fromBinary } from "@bufbuild/protobuf";
import { createHash } from "node:crypto";
import {
  DeltaDiscoveryRequestSchema,
  DiscoveryRequestSchema,
  type DeltaDiscoveryRequest,
  type DiscoveryRequest,
} from "../../gen/envoy/service/discovery/v3/discovery_pb.js";

const NAMES_KEY = Symbol("halyard.xds.resourceNamesKey");
const HAS_STAR = Symbol("halyard.xds.namesHaveWildcard");
/** DiscoveryRequest.resource_names, DeltaDiscoveryRequest.resource_names_subscribe. */
const RESOURCE_NAMES = 3;
const SUBSCRIBE_NAMES = 3;
const utf8 = new TextDecoder();

/** Digest of the request's raw resource_names (same bytes, same key); undefined if it was decoded normally. */
export function resourceNamesKey(request: DiscoveryRequest): string | undefined {
  return (request as { [NAMES_KEY]?: string })[NAMES_KEY];
}

/** Where the last readVarint stopped: the scan below reads thousands of fields per request without a tuple each. */
let varintEnd = 0;

function readVarint(buf: Uint8Array, at: number, what: string): number {
  let value = 0;
  let shift = 0;
  for (;;) {
    if (at >= buf.length) throw new Error(`${what}: truncated varint`);
    const b = buf[at++]!;
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) {
      varintEnd = at;
      return value;
    }
    shift += 7;
    if (shift > 63) throw new Error(`${what}: varint too long`);
  }
}

/** Decodes a DiscoveryRequest, leaving resource_names encoded until read. Malformed input throws, as fromBinary does. */
export function readDiscoveryRequest(bytes: Uint8Array): DiscoveryRequest {
  return readWithLazyNames(bytes, "DiscoveryRequest", (b) => fromBinary(DiscoveryRequestSchema, b), RESOURCE_NAMES, "resourceNames");
}

/**
 * Decodes a DeltaDiscoveryRequest, leaving resource_names_subscribe (field 3) encoded until read: a new delta
 * stream subscribes to thousands of names (EDS, RDS), the same list as every proxy of its class, and decoding them
 * into strings per stream was most of the JS garbage of a full sync. `subscribeNamesKey` digests the raw list.
 */
export function readDeltaDiscoveryRequest(bytes: Uint8Array): DeltaDiscoveryRequest {
  return readWithLazyNames(bytes, "DeltaDiscoveryRequest", (b) => fromBinary(DeltaDiscoveryRequestSchema, b), SUBSCRIBE_NAMES, "resourceNamesSubscribe");
}

/** What a delta request's raw subscribe list is: its digest and whether it names "*"; undefined if it was decoded normally. */
export function subscribeNamesKey(request: DeltaDiscoveryRequest): { key: string; wildcard: boolean } | undefined {
  const key = (request as { [NAMES_KEY]?: string })[NAMES_KEY];
  return key === undefined ? undefined : { key, wildcard: (request as { [HAS_STAR]?: boolean })[HAS_STAR] === true };
}

/**
 * The names field is kept as the byte ranges of its records (tag, length, name; usually one contiguous run) and
 * nothing is made per name: a sidecar's first EDS and RDS requests name ~4 000 resources, and per-name objects
 * (offset pairs, views) made while 2 000 streams subscribe outlived young-generation collections and were most of
 * what the old generation collected during a full sync (bench/README.md). The key digests those records as they
 * are: length-prefixed, so two different lists never give the same bytes.
 */
function readWithLazyNames<T extends object>(bytes: Uint8Array, what: string, decode: (bytes: Uint8Array) => T, field: number, property: string): T {
  // Runs of consecutive name records: [from, to, from, to, ...].
  const runs: number[] = [];
  const rest: Uint8Array[] = [];
  let at = 0;
  let restFrom = 0;
  let star = false;
  while (at < bytes.length) {
    const start = at;
    const tag = readVarint(bytes, at, what);
    const wireType = tag & 7;
    at = varintEnd;
    if (wireType === 0) {
      readVarint(bytes, at, what);
      at = varintEnd;
    } else if (wireType === 1) at += 8;
    else if (wireType === 5) at += 4;
    else if (wireType === 2) {
      const len = readVarint(bytes, at, what);
      const body = varintEnd;
      at = body + len;
      if (at > bytes.length) throw new Error(`${what}: field runs past the end`);
      if (Math.floor(tag / 8) === field) {
        if (start > restFrom) rest.push(bytes.subarray(restFrom, start));
        restFrom = at;
        if (runs.length > 0 && runs[runs.length - 1] === start) runs[runs.length - 1] = at;
        else runs.push(start, at);
        if (len === 1 && bytes[body] === 0x2a) star = true;
      }
    } else return decode(bytes); // groups and the like: let the real decoder judge
    if (at > bytes.length) throw new Error(`${what}: field runs past the end`);
  }
  if (runs.length === 0) return decode(bytes);
  if (bytes.length > restFrom) rest.push(bytes.subarray(restFrom));
  const request = decode(rest.length === 1 ? rest[0]! : Buffer.concat(rest));
  const hash = createHash("sha256");
  for (let i = 0; i < runs.length; i += 2) hash.update(bytes.subarray(runs[i]!, runs[i + 1]!));
  const key = hash.digest("base64");
  let decoded: string[] | undefined;
  Object.defineProperty(request, property, {
    enumerable: true,
    configurable: true,
    get: () => (decoded ??= decodeNames(bytes, runs, what)),
    set: (v: string[]) => (decoded = v),
  });
  Object.defineProperty(request, NAMES_KEY, { value: key, enumerable: false });
  Object.defineProperty(request, HAS_STAR, { value: star, enumerable: false });
  return request;
}

/** The names in runs of records (already checked by the scan): each record is a tag, a length and UTF-8. */
function decodeNames(bytes: Uint8Array, runs: readonly number[], what: string): string[] {
  const names: string[] = [];
  for (let i = 0; i < runs.length; i += 2) {
    let at = runs[i]!;
    const end = runs[i + 1]!;
    while (at < end) {
      readVarint(bytes, at, what);
      const len = readVarint(bytes, varintEnd, what);
      at = varintEnd + len;
      names.push(utf8.decode(bytes.subarray(varintEnd, at)));
    }
  }
  return names;
}
