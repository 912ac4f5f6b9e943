// DiscoveryResponses written from pre-encoded parts. A state-of-the-world response repeats the same resources to
// every proxy that shares them; toBinary would re-encode each Any per stream. Here the resources come already
// encoded (control/xds/snapshot.ts, encodedSelection) and only the few per-stream fields are written around them —
// the same bytes toBinary produces (fields in number order). The message object still carries every field, so
// code that reads it (tests, the REST path) sees an ordinary DiscoveryResponse.
import type { DeltaDiscoveryResponse, DiscoveryResponse } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import { varintSize, writeVarint } from "./snapshot.js";

export { deltaResourceEntry } from "./snapshot.js";

const ENCODE = Symbol("halyard.xds.encode");
const PARTS = Symbol("halyard.xds.parts");

/** Where an encoding is written: a buffer of exactly the size asked for. */
export type Allocate = (size: number) => Uint8Array;

const allocUnsafe: Allocate = (size) => Buffer.allocUnsafe(size);

interface WithEncoding {
  [ENCODE]?: (alloc: Allocate) => Uint8Array;
  [PARTS]?: () => Uint8Array[];
}

/**
 * Marks `message` as encodable by `encode` (which must return exactly what toBinary would, written into a buffer
 * from `alloc` when it writes a new one).
 */
export function attachEncoding<T extends object>(message: T, encode: (alloc: Allocate) => Uint8Array): T {
  Object.defineProperty(message, ENCODE, { value: encode, enumerable: false });
  return message;
}

/**
 * Marks `message` as encodable by `parts`: its encoding is those byte ranges one after the other. Most of them are
 * the shared resources' bytes (the same objects for every stream), so a transport that writes them as they are
 * sends a multi-megabyte response without copying it per stream.
 */
export function attachEncodedParts<T extends object>(message: T, parts: () => Uint8Array[]): T {
  Object.defineProperty(message, PARTS, { value: parts, enumerable: false });
  return attachEncoding(message, (alloc) => concatInto(parts(), alloc));
}

/** The message's pre-computed encoding, if it has one. */
export function attachedEncoding(message: unknown, alloc: Allocate = allocUnsafe): Uint8Array | undefined {
  const encode = (message as WithEncoding | null)?.[ENCODE];
  return encode ? encode(alloc) : undefined;
}

/** The message's encoding as parts (see attachEncodedParts), if it was attached that way. Parts must not be written to. */
export function attachedParts(message: unknown): Uint8Array[] | undefined {
  return (message as WithEncoding | null)?.[PARTS]?.();
}

/** The parts one after the other, in one buffer from `alloc`. */
export function concatInto(parts: readonly Uint8Array[], alloc: Allocate): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = alloc(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A message whose encoding is already done: what a send queue hands to the transport. */
export function encodedMessage(bytes: Uint8Array): object {
  return attachEncoding({}, () => bytes);
}

const utf8 = new TextEncoder();

function stringField(field: number, value: string): Uint8Array {
  if (value === "") return new Uint8Array(0);
  const text = utf8.encode(value);
  const out = new Uint8Array(1 + varintSize(text.length) + text.length);
  out[0] = (field << 3) | 2;
  out.set(text, writeVarint(out, 1, text.length));
  return out;
}

/** DiscoveryResponse: version_info = 1, resources = 2 (`resources`: encoded entries), type_url = 4, nonce = 5, control_plane = 6. */
export function encodeDiscoveryResponse(
  response: Pick<DiscoveryResponse, "versionInfo" | "typeUrl" | "nonce" | "canary" | "controlPlane">,
  resources: readonly Uint8Array[],
  alloc: Allocate = allocUnsafe,
): Uint8Array {
  return concatInto(discoveryResponseParts(response, resources), alloc);
}

/** encodeDiscoveryResponse's bytes as parts: a few per-stream fields around `resources` (not copied). */
export function discoveryResponseParts(
  response: Pick<DiscoveryResponse, "versionInfo" | "typeUrl" | "nonce" | "canary" | "controlPlane">,
  resources: readonly Uint8Array[],
): Uint8Array[] {
  if (response.canary) throw new Error("encodeDiscoveryResponse: canary responses are not pre-encoded");
  const head = stringField(1, response.versionInfo);
  const identifier = stringField(1, response.controlPlane?.identifier ?? "");
  const controlPlane = response.controlPlane ? new Uint8Array(1 + varintSize(identifier.length) + identifier.length) : new Uint8Array(0);
  if (response.controlPlane) {
    controlPlane[0] = (6 << 3) | 2;
    controlPlane.set(identifier, writeVarint(controlPlane, 1, identifier.length));
  }
  return [head, ...resources, stringField(4, response.typeUrl), stringField(5, response.nonce), controlPlane];
}

/**
 * DeltaDiscoveryResponse: system_version_info = 1, resources = 2 (`resources`: encoded entries, see
 * deltaResourceEntry), type_url = 4, nonce = 5, removed_resources = 6, control_plane = 7 — field order as toBinary.
 */
export function encodeDeltaDiscoveryResponse(
  response: Pick<DeltaDiscoveryResponse, "systemVersionInfo" | "typeUrl" | "nonce" | "removedResources" | "removedResourceNames" | "controlPlane">,
  resources: readonly Uint8Array[],
  alloc: Allocate = allocUnsafe,
): Uint8Array {
  return concatInto(deltaDiscoveryResponseParts(response, resources), alloc);
}

/** encodeDeltaDiscoveryResponse's bytes as parts: a few per-stream fields around `resources` (not copied). */
export function deltaDiscoveryResponseParts(
  response: Pick<DeltaDiscoveryResponse, "systemVersionInfo" | "typeUrl" | "nonce" | "removedResources" | "removedResourceNames" | "controlPlane">,
  resources: readonly Uint8Array[],
): Uint8Array[] {
  if (response.removedResourceNames.length > 0) throw new Error("encodeDeltaDiscoveryResponse: removed_resource_names are not pre-encoded");
  const identifier = stringField(1, response.controlPlane?.identifier ?? "");
  const controlPlane = response.controlPlane ? new Uint8Array(1 + varintSize(identifier.length) + identifier.length) : new Uint8Array(0);
  if (response.controlPlane) {
    controlPlane[0] = (7 << 3) | 2;
    controlPlane.set(identifier, writeVarint(controlPlane, 1, identifier.length));
  }
  return [
    stringField(1, response.systemVersionInfo),
    ...resources,
    stringField(4, response.typeUrl),
    stringField(5, response.nonce),
    ...response.removedResources.map((n) => stringFieldAlways(6, n)),
    controlPlane,
  ];
}

/** A repeated string element: written even when empty. */
function stringFieldAlways(field: number, value: string): Uint8Array {
  const text = utf8.encode(value);
  const out = new Uint8Array(1 + varintSize(text.length) + text.length);
  out[0] = (field << 3) | 2;
  out.set(text, writeVarint(out, 1, text.length));
  return out;
}
