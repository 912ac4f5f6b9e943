// The server's DiscoveryRequest reader. A state-of-the-world ACK repeats the whole subscription (a sidecar's EDS
// ACK names thousands of clusters, 2 000 sidecars ACK every push): decoding those names into strings only to find
// them unchanged is most of what an ACK costs. Here resource_names (field 3) is left encoded: the request gets a
// digest of its raw bytes (`resourceNamesKey`), and the names are decoded only if something reads them.
import { fromBinary } from "@bufbuild/protobuf";
import { createHash } from "node:crypto";
import { DiscoveryRequestSchema, type DiscoveryRequest } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";

const NAMES_KEY = Symbol("halyard.xds.resourceNamesKey");
const RESOURCE_NAMES = 3;
const utf8 = new TextDecoder();

/** Digest of the request's raw resource_names (same bytes, same key); undefined if it was decoded normally. */
export function resourceNamesKey(request: DiscoveryRequest): string | undefined {
  return (request as { [NAMES_KEY]?: string })[NAMES_KEY];
}

function varint(buf: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    if (at >= buf.length) throw new Error("DiscoveryRequest: truncated varint");
    const b = buf[at++]!;
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [value, at];
    shift += 7;
    if (shift > 63) throw new Error("DiscoveryRequest: varint too long");
  }
}

/** Decodes a DiscoveryRequest, leaving resource_names encoded until read. Malformed input throws, as fromBinary does. */
export function readDiscoveryRequest(bytes: Uint8Array): DiscoveryRequest {
  const names: [number, number][] = [];
  const rest: Uint8Array[] = [];
  let at = 0;
  let restFrom = 0;
  while (at < bytes.length) {
    const start = at;
    const [tag, afterTag] = varint(bytes, at);
    const wireType = tag & 7;
    at = afterTag;
    if (wireType === 0) at = varint(bytes, at)[1];
    else if (wireType === 1) at += 8;
    else if (wireType === 5) at += 4;
    else if (wireType === 2) {
      const [len, afterLen] = varint(bytes, at);
      at = afterLen + len;
      if (at > bytes.length) throw new Error("DiscoveryRequest: field runs past the end");
      if (Math.floor(tag / 8) === RESOURCE_NAMES) {
        if (start > restFrom) rest.push(bytes.subarray(restFrom, start));
        restFrom = at;
        names.push([afterLen, at]);
      }
    } else return fromBinary(DiscoveryRequestSchema, bytes); // groups and the like: let the real decoder judge
    if (at > bytes.length) throw new Error("DiscoveryRequest: field runs past the end");
  }
  if (names.length === 0) return fromBinary(DiscoveryRequestSchema, bytes);
  if (bytes.length > restFrom) rest.push(bytes.subarray(restFrom));
  const request = fromBinary(DiscoveryRequestSchema, rest.length === 1 ? rest[0]! : Buffer.concat(rest));
  const hash = createHash("sha256");
  // Each name's bytes, then its length: different lists cannot hash alike by moving a boundary.
  for (const [from, to] of names) hash.update(bytes.subarray(from, to)).update(`\0${to - from}\0`);
  const key = hash.digest("base64");
  let decoded: string[] | undefined;
  Object.defineProperty(request, "resourceNames", {
    enumerable: true,
    configurable: true,
    get: () => (decoded ??= names.map(([from, to]) => utf8.decode(bytes.subarray(from, to)))),
    set: (v: string[]) => (decoded = v),
  });
  Object.defineProperty(request, NAMES_KEY, { value: key, enumerable: false });
  return request;
}
