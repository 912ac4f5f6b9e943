// A snapshot: everything one proxy is served, per type URL, each resource encoded once (bytes + Any) and
// versioned by a hash of its bytes, so building the same content twice gives the same versions.
import { createHash } from "node:crypto";
import { create, toBinary, type Message } from "@bufbuild/protobuf";
import { AnySchema, type Any } from "@bufbuild/protobuf/wkt";
import { RESOURCE_TYPES, resourceType, resourceTypeByShortName, type ResourceType } from "./resource-types.js";

export interface CachedResource {
  readonly name: string;
  readonly typeUrl: string;
  readonly message: Message;
  /** The message's binary encoding. */
  readonly bytes: Uint8Array;
  /** The message packed for DiscoveryResponse.resources / Resource.resource. */
  readonly any: Any;
  /** Hash of `bytes`. */
  readonly version: string;
}

export interface TypeSnapshot {
  readonly typeUrl: string;
  /** Hash over every resource's name and version: equal content, equal version. */
  readonly version: string;
  readonly resources: ReadonlyMap<string, CachedResource>;
}

export interface Snapshot {
  /** Type URL → that type's resources. A type that is absent serves as an empty set. */
  readonly types: ReadonlyMap<string, TypeSnapshot>;
}

/** Resources as a translator produces them: by short type name, or by type URL. */
export type SnapshotResources =
  | Partial<Record<"listeners" | "routes" | "clusters" | "endpoints" | "secrets", readonly Message[]>>
  | ReadonlyMap<string, readonly Message[]>;

export class SnapshotError extends Error {
  override name = "SnapshotError";
}

const EMPTY_VERSION = hash([]);

export function buildSnapshot(input: SnapshotResources): Snapshot {
  const types = new Map<string, TypeSnapshot>();
  const entries: [ResourceType, readonly Message[]][] = [];
  if (input instanceof Map) {
    for (const [typeUrl, messages] of input) {
      const type = resourceType(typeUrl);
      if (!type) throw new SnapshotError(`snapshot: unsupported type URL "${typeUrl}" (known: ${RESOURCE_TYPES.map((t) => t.typeUrl).join(", ")})`);
      entries.push([type, messages]);
    }
  } else {
    for (const [short, messages] of Object.entries(input)) {
      const type = resourceTypeByShortName(short);
      if (!type) throw new SnapshotError(`snapshot: unknown resource kind "${short}" (known: ${RESOURCE_TYPES.map((t) => t.short).join(", ")})`);
      if (messages) entries.push([type, messages]);
    }
  }
  for (const [type, messages] of entries) types.set(type.typeUrl, buildTypeSnapshot(type, messages));
  return { types };
}

function buildTypeSnapshot(type: ResourceType, messages: readonly Message[]): TypeSnapshot {
  const resources = new Map<string, CachedResource>();
  for (const [i, message] of messages.entries()) {
    if (message?.$typeName !== type.schema.typeName) {
      throw new SnapshotError(`snapshot: ${type.short}[${i}]: expected ${type.schema.typeName}, got ${message?.$typeName ?? typeof message}`);
    }
    const name = type.nameOf(message);
    if (name === "") throw new SnapshotError(`snapshot: ${type.short}[${i}]: resource has no name`);
    if (resources.has(name)) throw new SnapshotError(`snapshot: ${type.short}[${i}]: duplicate resource name "${name}"`);
    let bytes: Uint8Array;
    try {
      bytes = toBinary(type.schema, message);
    } catch (e) {
      throw new SnapshotError(`snapshot: ${type.short} "${name}": cannot encode: ${e instanceof Error ? e.message : String(e)}`);
    }
    resources.set(name, {
      name,
      typeUrl: type.typeUrl,
      message,
      bytes,
      any: create(AnySchema, { typeUrl: type.typeUrl, value: bytes }),
      version: hash([bytes]),
    });
  }
  return { typeUrl: type.typeUrl, version: typeVersion(resources), resources };
}

function typeVersion(resources: ReadonlyMap<string, CachedResource>): string {
  if (resources.size === 0) return EMPTY_VERSION;
  const names = [...resources.keys()].sort();
  return hash(names.map((n) => `${n}\0${resources.get(n)!.version}\0`));
}

function hash(parts: readonly (string | Uint8Array)[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex").slice(0, 16);
}

/** The type's resources in `snapshot`, or an empty set with the empty version. */
export function typeSnapshotOf(snapshot: Snapshot | undefined, typeUrl: string): TypeSnapshot {
  return snapshot?.types.get(typeUrl) ?? { typeUrl, version: EMPTY_VERSION, resources: new Map() };
}

/**
 * A fingerprint of what a subscription sees: the type version for a wildcard subscription, else the named
 * resources' versions (absent ones included), so a change elsewhere in the type is not a change for it.
 */
export function subscriptionFingerprint(type: TypeSnapshot, subscription: Subscription): string {
  if (subscription.wildcard) return type.version;
  return [...subscription.names]
    .sort()
    .map((n) => `${n}=${type.resources.get(n)?.version ?? "-"}`)
    .join(",");
}

export interface Subscription {
  /** Every resource of the type, plus `names` (which then changes nothing). */
  wildcard: boolean;
  names: ReadonlySet<string>;
}

/** The resources a subscription selects, in name order. */
export function selectResources(type: TypeSnapshot, subscription: Subscription): CachedResource[] {
  if (subscription.wildcard) return [...type.resources.values()].sort(byResourceName);
  const out: CachedResource[] = [];
  for (const n of subscription.names) {
    const r = type.resources.get(n);
    if (r) out.push(r);
  }
  return out.sort(byResourceName);
}

function byResourceName(a: CachedResource, b: CachedResource): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
