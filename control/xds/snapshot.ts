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
  /** 128 bits of that hash: resource sets add these up into an order-free version (see SetDigest). */
  readonly digest: SetDigest;
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

/**
 * A multiset hash of a resource set: four 32-bit lanes, each the sum (mod 2^32) of the resources' digests. Sums
 * do not care about order or about how a set was assembled, so a shared base plus a node's own resources has the
 * version the same resources would have in one piece, computed in the size of the node's part.
 */
export type SetDigest = readonly [number, number, number, number];

const ZERO_DIGEST: SetDigest = [0, 0, 0, 0];

function addDigests(a: SetDigest, b: SetDigest): SetDigest {
  return [(a[0] + b[0]) >>> 0, (a[1] + b[1]) >>> 0, (a[2] + b[2]) >>> 0, (a[3] + b[3]) >>> 0];
}

function subtractDigests(a: SetDigest, b: SetDigest): SetDigest {
  return [(a[0] - b[0]) >>> 0, (a[1] - b[1]) >>> 0, (a[2] - b[2]) >>> 0, (a[3] - b[3]) >>> 0];
}

function digestOf(sha256: Buffer): SetDigest {
  return [sha256.readUInt32BE(8), sha256.readUInt32BE(12), sha256.readUInt32BE(16), sha256.readUInt32BE(20)];
}

const EMPTY_VERSION = hash([]);

function setVersion(size: number, digest: SetDigest): string {
  return size === 0 ? EMPTY_VERSION : hash([`${size}:${digest.join(",")}`]);
}

/** Encodes one resource (the name comes from the message; its bytes carry it, so the hash covers it). */
export function encodeResource(type: ResourceType, message: Message, where: string): CachedResource {
  if (message?.$typeName !== type.schema.typeName) {
    throw new SnapshotError(`snapshot: ${where}: expected ${type.schema.typeName}, got ${message?.$typeName ?? typeof message}`);
  }
  const name = type.nameOf(message);
  if (name === "") throw new SnapshotError(`snapshot: ${where}: resource has no name`);
  let bytes: Uint8Array;
  try {
    bytes = toBinary(type.schema, message);
  } catch (e) {
    throw new SnapshotError(`snapshot: ${type.short} "${name}": cannot encode: ${e instanceof Error ? e.message : String(e)}`);
  }
  const sha = createHash("sha256").update(bytes).digest();
  return {
    name,
    typeUrl: type.typeUrl,
    message,
    bytes,
    any: create(AnySchema, { typeUrl: type.typeUrl, value: bytes }),
    version: sha.toString("hex", 0, 8),
    digest: digestOf(sha),
  };
}

/**
 * Encodes each message object once: the same object handed in again (a resource shared by many nodes, or kept
 * from an earlier build) returns the same CachedResource. Messages must not be changed after they are encoded.
 */
export class ResourceEncoder {
  readonly #encoded = new WeakMap<Message, CachedResource>();

  encode(typeUrl: string, message: Message, where = "resource"): CachedResource {
    const known = this.#encoded.get(message);
    if (known && known.typeUrl === typeUrl) return known;
    const type = resourceType(typeUrl);
    if (!type) throw new SnapshotError(`snapshot: unsupported type URL "${typeUrl}" (known: ${RESOURCE_TYPES.map((t) => t.typeUrl).join(", ")})`);
    const cached = encodeResource(type, message, where);
    this.#encoded.set(message, cached);
    return cached;
  }
}

/**
 * One type's resources. Besides the TypeSnapshot view it keeps what every stream serving it would otherwise
 * recompute: the resources in name order and, once asked for, their encoding as DiscoveryResponse.resources.
 */
class ResourceSet implements TypeSnapshot {
  readonly version: string;
  #sorted: CachedResource[] | undefined;
  #body: EncodedBody | undefined;
  #deltaBody: EncodedBody | undefined;

  constructor(
    readonly typeUrl: string,
    readonly resources: ReadonlyMap<string, CachedResource>,
    readonly digest: SetDigest,
  ) {
    this.version = setVersion(resources.size, digest);
  }

  sorted(): CachedResource[] {
    return (this.#sorted ??= [...this.resources.values()].sort(byResourceName));
  }

  /** This set's name order, when computed: a set replacing some resources keeps it (the names stay). */
  sortedIfKnown(): CachedResource[] | undefined {
    return this.#sorted;
  }

  withSorted(sorted: CachedResource[]): this {
    this.#sorted = sorted;
    return this;
  }

  /** The sorted resources as DiscoveryResponse field 2 entries, with where each one starts (plus the end). */
  body(): EncodedBody {
    return (this.#body ??= encodeBody(this.sorted(), resourcesEntry));
  }

  /** The same as DeltaDiscoveryResponse field 2 entries (Resource: version, Any, name). */
  deltaBody(): EncodedBody {
    return (this.#deltaBody ??= encodeBody(this.sorted(), deltaResourceEntry));
  }
}

interface EncodedBody {
  bytes: Uint8Array;
  /** Where each entry starts, plus the end. */
  offsets: Uint32Array;
}

function encodeBody(sorted: readonly CachedResource[], entry: (r: CachedResource) => Uint8Array): EncodedBody {
  const entries = sorted.map(entry);
  const offsets = new Uint32Array(entries.length + 1);
  let at = 0;
  entries.forEach((e, i) => {
    offsets[i] = at;
    at += e.length;
  });
  offsets[entries.length] = at;
  return { bytes: Buffer.concat(entries, at), offsets };
}

/** A shared set plus one node's own resources (no name in both), served as one set. */
class LayeredResourceSet implements TypeSnapshot {
  readonly version: string;
  readonly resources: ReadonlyMap<string, CachedResource>;
  /** The node's resources in name order, each with its position among the base's sorted resources. */
  readonly #overlay: { resource: CachedResource; at: number }[];

  constructor(
    readonly base: ResourceSet,
    overlay: readonly CachedResource[],
  ) {
    const own = new Map<string, CachedResource>();
    let digest = base.digest;
    for (const r of overlay) {
      if (base.resources.has(r.name) || own.has(r.name)) throw new SnapshotError(`snapshot: ${r.typeUrl}: duplicate resource name "${r.name}"`);
      own.set(r.name, r);
      digest = addDigests(digest, r.digest);
    }
    this.resources = new MergedMap(base.resources, own);
    this.version = setVersion(this.resources.size, digest);
    const sortedBase = base.sorted();
    this.#overlay = [...own.values()].sort(byResourceName).map((resource) => ({ resource, at: lowerBound(sortedBase, resource.name) }));
  }

  get typeUrl(): string {
    return this.base.typeUrl;
  }

  /** The node's own resources (not in the base). */
  ownResources(): CachedResource[] {
    return this.#overlay.map((o) => o.resource);
  }

  sorted(): CachedResource[] {
    const base = this.base.sorted();
    const out: CachedResource[] = [];
    let from = 0;
    for (const { resource, at } of this.#overlay) {
      for (let i = from; i < at; i++) out.push(base[i]!);
      out.push(resource);
      from = at;
    }
    for (let i = from; i < base.length; i++) out.push(base[i]!);
    return out;
  }

  /** The base's encoded body cut where the node's resources go (nothing cached: it is per node). */
  bodyParts(delta = false): Uint8Array[] {
    const { bytes, offsets } = delta ? this.base.deltaBody() : this.base.body();
    const entry = delta ? deltaResourceEntry : resourcesEntry;
    const parts: Uint8Array[] = [];
    let from = 0;
    for (const { resource, at } of this.#overlay) {
      if (offsets[at]! > from) parts.push(bytes.subarray(from, offsets[at]));
      parts.push(entry(resource));
      from = offsets[at]!;
    }
    if (bytes.length > from) parts.push(bytes.subarray(from));
    return parts;
  }
}

/** Two maps with disjoint keys as one read-only map. */
class MergedMap<K, V> implements ReadonlyMap<K, V> {
  constructor(
    private readonly first: ReadonlyMap<K, V>,
    private readonly second: ReadonlyMap<K, V>,
  ) {}
  get size(): number {
    return this.first.size + this.second.size;
  }
  get(key: K): V | undefined {
    return this.first.get(key) ?? this.second.get(key);
  }
  has(key: K): boolean {
    return this.first.has(key) || this.second.has(key);
  }
  *entries(): MapIterator<[K, V]> {
    yield* this.first.entries();
    yield* this.second.entries();
  }
  *keys(): MapIterator<K> {
    yield* this.first.keys();
    yield* this.second.keys();
  }
  *values(): MapIterator<V> {
    yield* this.first.values();
    yield* this.second.values();
  }
  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }
  forEach(callback: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) callback.call(thisArg, v, k, this);
  }
}

/**
 * A map with some of its values replaced (never keys added or removed): same keys, same order, the replaced
 * values. Patches of patches are flattened into a plain Map past a small depth, so look-ups stay short.
 */
class PatchedMap implements ReadonlyMap<string, CachedResource> {
  static readonly MAX_DEPTH = 4;

  static of(base: ReadonlyMap<string, CachedResource>, replacements: readonly CachedResource[]): ReadonlyMap<string, CachedResource> {
    const depth = base instanceof PatchedMap ? base.depth + 1 : 1;
    if (depth > PatchedMap.MAX_DEPTH) {
      const map = new Map(base);
      for (const r of replacements) map.set(r.name, r);
      return map;
    }
    return new PatchedMap(base, new Map(replacements.map((r) => [r.name, r])), depth);
  }

  private constructor(
    private readonly base: ReadonlyMap<string, CachedResource>,
    private readonly patch: ReadonlyMap<string, CachedResource>,
    readonly depth: number,
  ) {}
  get size(): number {
    return this.base.size;
  }
  get(key: string): CachedResource | undefined {
    return this.patch.get(key) ?? this.base.get(key);
  }
  has(key: string): boolean {
    return this.base.has(key);
  }
  *entries(): MapIterator<[string, CachedResource]> {
    for (const [k, v] of this.base) yield [k, this.patch.get(k) ?? v];
  }
  keys(): MapIterator<string> {
    return this.base.keys();
  }
  *values(): MapIterator<CachedResource> {
    for (const [k, v] of this.base) yield this.patch.get(k) ?? v;
  }
  [Symbol.iterator](): MapIterator<[string, CachedResource]> {
    return this.entries();
  }
  forEach(callback: (value: CachedResource, key: string, map: ReadonlyMap<string, CachedResource>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) callback.call(thisArg, v, k, this);
  }
}

function lowerBound(sorted: readonly CachedResource[], name: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]!.name < name) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** One resource as DiscoveryResponse field 2 (resources): tag, length, then the Any (type_url = 1, value = 2). */
function resourcesEntry(r: CachedResource): Uint8Array {
  const typeUrl = Buffer.from(r.typeUrl);
  const anyLength = anySize(typeUrl, r.bytes);
  const out = Buffer.allocUnsafe(1 + varintSize(anyLength) + anyLength);
  writeAny(out, 0, 0x12, anyLength, typeUrl, r.bytes);
  return out;
}

/** The length of an Any's fields: type_url = 1, value = 2. */
function anySize(typeUrl: Buffer, bytes: Uint8Array): number {
  return 1 + varintSize(typeUrl.length) + typeUrl.length + 1 + varintSize(bytes.length) + bytes.length;
}

/** An Any as field `tag` (its length `anyLength` from anySize) at `at`; returns where it ends. */
function writeAny(out: Buffer, at: number, tag: number, anyLength: number, typeUrl: Buffer, bytes: Uint8Array): number {
  out[at++] = tag;
  at = writeVarint(out, at, anyLength);
  out[at++] = 0x0a;
  at = writeVarint(out, at, typeUrl.length);
  at += typeUrl.copy(out, at);
  out[at++] = 0x12;
  at = writeVarint(out, at, bytes.length);
  out.set(bytes, at);
  return at + bytes.length;
}

/** Each resource's DeltaDiscoveryResponse.resources entry, written once (every stream sends the same bytes). */
const deltaEntries = new WeakMap<CachedResource, Uint8Array>();

/** DeltaDiscoveryResponse field 2: a Resource with version = 1, resource = 2 (the Any), name = 3. */
export function deltaResourceEntry(r: CachedResource): Uint8Array {
  let entry = deltaEntries.get(r);
  if (entry) return entry;
  const version = Buffer.from(r.version);
  const typeUrl = Buffer.from(r.typeUrl);
  const name = Buffer.from(r.name);
  const anyLength = anySize(typeUrl, r.bytes);
  const fieldsLength =
    (version.length ? 1 + varintSize(version.length) + version.length : 0) + 1 + varintSize(anyLength) + anyLength + 1 + varintSize(name.length) + name.length;
  const out = Buffer.allocUnsafe(1 + varintSize(fieldsLength) + fieldsLength);
  let at = 0;
  out[at++] = 0x12;
  at = writeVarint(out, at, fieldsLength);
  if (version.length) {
    out[at++] = 0x0a;
    at = writeVarint(out, at, version.length);
    at += version.copy(out, at);
  }
  at = writeAny(out, at, 0x12, anyLength, typeUrl, r.bytes);
  out[at++] = 0x1a;
  at = writeVarint(out, at, name.length);
  name.copy(out, at);
  deltaEntries.set(r, out);
  return out;
}

/**
 * A delta response carrying every resource of the type, encoded as DeltaDiscoveryResponse.resources in name order:
 * cut from the shared set's encoding (what a new stream's first wildcard or all-covering response sends).
 */
export function encodedDeltaAll(type: TypeSnapshot): Uint8Array[] {
  if (type instanceof ResourceSet) return [type.deltaBody().bytes];
  if (type instanceof LayeredResourceSet) return type.bodyParts(true);
  return sortedResources(type).map(deltaResourceEntry);
}

export function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

export function writeVarint(out: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}

/** A type's resources as one set; names must be unique. */
export function typeSnapshot(typeUrl: string, resources: readonly CachedResource[]): TypeSnapshot {
  const map = new Map<string, CachedResource>();
  let digest = ZERO_DIGEST;
  for (const r of resources) {
    if (map.has(r.name)) throw new SnapshotError(`snapshot: ${typeUrl}: duplicate resource name "${r.name}"`);
    map.set(r.name, r);
    digest = addDigests(digest, r.digest);
  }
  return new ResourceSet(typeUrl, map, digest);
}

/**
 * `base` (typically shared by many nodes) plus a node's own `overlay` resources, without copying the base. Same
 * version as typeSnapshot() over all of them. Throws SnapshotError when the overlay repeats a name.
 */
export function layeredTypeSnapshot(base: TypeSnapshot, overlay: readonly CachedResource[]): TypeSnapshot {
  if (overlay.length === 0) return base;
  const root = base instanceof ResourceSet ? base : typeSnapshot(base.typeUrl, [...base.resources.values()]);
  if (!(root instanceof ResourceSet)) throw new SnapshotError(`snapshot: ${base.typeUrl}: a layered set cannot be a base`);
  return new LayeredResourceSet(root, overlay);
}

/**
 * `base` with some of its resources replaced by new ones of the same names: the same set, order and version as
 * typeSnapshot() over the base's resources with those replaced, in the size of the replacement (one edited
 * resource among thousands). Undefined when `base` is not a plain set, a replacement names no resource of it, or two
 * replacements name the same one.
 */
export function replacedTypeSnapshot(base: TypeSnapshot, replacements: readonly CachedResource[]): TypeSnapshot | undefined {
  if (!(base instanceof ResourceSet)) return undefined;
  if (replacements.length > 1 && new Set(replacements.map((r) => r.name)).size !== replacements.length) return undefined;
  let digest = base.digest;
  for (const r of replacements) {
    const old = base.resources.get(r.name);
    if (!old) return undefined;
    digest = addDigests(subtractDigests(digest, old.digest), r.digest);
  }
  // The base's map with a few values replaced, not copied (a weight edit patches 1-2 of ~3 000 per class).
  const set = new ResourceSet(base.typeUrl, PatchedMap.of(base.resources, replacements), digest);
  // What a push diffs from the base is known already (kept by the base, weakly: the new set does not hold it).
  const changed = replacements.filter((r) => base.resources.get(r.name)!.version !== r.version).map((r) => r.name);
  perPair(changes, base, set, () => changed);
  perPair(removals, base, set, () => []);
  const sortedBase = base.sortedIfKnown();
  if (sortedBase) {
    const sorted = sortedBase.slice();
    for (const r of replacements) sorted[lowerBound(sorted, r.name)] = r;
    set.withSorted(sorted);
  }
  return set;
}

/** A snapshot of prepared type snapshots (one per type URL). */
export function snapshotOf(types: readonly TypeSnapshot[]): Snapshot {
  return { types: new Map(types.map((t) => [t.typeUrl, t])) };
}

export function isSnapshot(value: unknown): value is Snapshot {
  return typeof value === "object" && value !== null && (value as Snapshot).types instanceof Map;
}

export function buildSnapshot(input: SnapshotResources, encoder?: ResourceEncoder): Snapshot {
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
  for (const [type, messages] of entries) types.set(type.typeUrl, buildTypeSnapshot(type, messages, encoder));
  return { types };
}

function buildTypeSnapshot(type: ResourceType, messages: readonly Message[], encoder: ResourceEncoder | undefined): TypeSnapshot {
  const resources: CachedResource[] = [];
  const names = new Set<string>();
  for (const [i, message] of messages.entries()) {
    const where = `${type.short}[${i}]`;
    const r = encoder && message?.$typeName === type.schema.typeName ? encoder.encode(type.typeUrl, message, where) : encodeResource(type, message, where);
    if (names.has(r.name)) throw new SnapshotError(`snapshot: ${where}: duplicate resource name "${r.name}"`);
    names.add(r.name);
    resources.push(r);
  }
  return typeSnapshot(type.typeUrl, resources);
}

function hash(parts: readonly (string | Uint8Array)[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex").slice(0, 16);
}

/** The type's resources in `snapshot`, or an empty set with the empty version. */
export function typeSnapshotOf(snapshot: Snapshot | undefined, typeUrl: string): TypeSnapshot {
  return snapshot?.types.get(typeUrl) ?? emptyType(typeUrl);
}

const EMPTY_TYPES = new Map<string, TypeSnapshot>();

function emptyType(typeUrl: string): TypeSnapshot {
  let t = EMPTY_TYPES.get(typeUrl);
  if (!t) {
    t = new ResourceSet(typeUrl, new Map(), ZERO_DIGEST);
    // Clients may name any type URL; only the served ones are kept.
    if (resourceType(typeUrl)) EMPTY_TYPES.set(typeUrl, t);
  }
  return t;
}

/**
 * A fingerprint of what a subscription sees: the type version for a wildcard subscription, else a digest of the
 * named resources' versions (absent ones included), so a change elsewhere in the type is not a change for it.
 */
export function subscriptionFingerprint(type: TypeSnapshot, subscription: Subscription): string {
  if (subscription.wildcard) return type.version;
  return memoized(fingerprints, type, subscription, () => namedFingerprint(type, subscription));
}

/**
 * Per (type snapshot, subscription) results: a stream re-arms its watch on every ACK with the same subscription
 * object (sotw.ts keeps an unchanged one, frozen), and the type is shared, so an EDS subscription naming thousands of
 * clusters is walked once per change, not once per ACK.
 */
const fingerprints = new WeakMap<TypeSnapshot, WeakMap<Subscription, string>>();
const coverage = new WeakMap<TypeSnapshot, WeakMap<Subscription, boolean>>();

function memoized<V>(memo: WeakMap<TypeSnapshot, WeakMap<Subscription, V>>, type: TypeSnapshot, subscription: Subscription, compute: () => V): V {
  // Only frozen subscriptions are known not to change (delta streams edit theirs in place).
  if (!Object.isFrozen(subscription)) return compute();
  let bySubscription = memo.get(type);
  if (!bySubscription) memo.set(type, (bySubscription = new WeakMap()));
  if (bySubscription.has(subscription)) return bySubscription.get(subscription)!;
  const v = compute();
  bySubscription.set(subscription, v);
  return v;
}

function namedFingerprint(type: TypeSnapshot, subscription: Subscription): string {
  let digest = ZERO_DIGEST;
  for (const n of subscription.names) {
    const r = type.resources.get(n);
    digest = addDigests(digest, r ? r.digest : digestOf(createHash("sha256").update(`\0absent\0${n}`).digest()));
  }
  return `${subscription.names.size}:${digest.join(",")}`;
}

export interface Subscription {
  /** Every resource of the type, plus `names` (which then changes nothing). */
  wildcard: boolean;
  names: ReadonlySet<string>;
}

/** The resources a subscription selects, in name order. */
export function selectResources(type: TypeSnapshot, subscription: Subscription): CachedResource[] {
  if (coversType(type, subscription)) return sortedResources(type);
  const out: CachedResource[] = [];
  for (const n of subscription.names) {
    const r = type.resources.get(n);
    if (r) out.push(r);
  }
  return out.sort(byResourceName);
}

/** Whether the subscription selects every resource of the type (wildcard, or names that include them all). */
export function coversType(type: TypeSnapshot, subscription: Subscription): boolean {
  if (subscription.wildcard) return true;
  if (subscription.names.size < type.resources.size) return false;
  return memoized(coverage, type, subscription, () => {
    let present = 0;
    for (const n of subscription.names) if (type.resources.has(n)) present++;
    return present === type.resources.size;
  });
}

export function sortedResources(type: TypeSnapshot): CachedResource[] {
  if (type instanceof ResourceSet || type instanceof LayeredResourceSet) return type.sorted();
  return [...type.resources.values()].sort(byResourceName);
}

/**
 * What a subscription selects, encoded as DiscoveryResponse.resources (field 2, repeated Any) in name order: the
 * same bytes toBinary writes for `selectResources(...).map((r) => r.any)`, mostly cut from the shared set's
 * encoding instead of re-encoded per stream.
 */
export function encodedSelection(type: TypeSnapshot, subscription: Subscription): Uint8Array[] {
  if (coversType(type, subscription)) {
    if (type instanceof ResourceSet) return [type.body().bytes];
    if (type instanceof LayeredResourceSet) return type.bodyParts();
  }
  return selectResources(type, subscription).map(resourcesEntry);
}

/** Whether a subscription selects the resource named `name`. */
function selects(subscription: Subscription, name: string): boolean {
  return subscription.wildcard || subscription.names.has(name);
}

/** Per (earlier, later) type snapshot: the names whose resource is new or changed in the later one. */
const changes = new WeakMap<TypeSnapshot, WeakMap<TypeSnapshot, string[]>>();

export function changedNames(earlier: TypeSnapshot, later: TypeSnapshot): string[] {
  return perPair(changes, earlier, later, () => {
    const names: string[] = [];
    if (earlier instanceof LayeredResourceSet && later instanceof LayeredResourceSet) {
      // Per-node sets over shared bases: the bases' diff (shared by every node) plus the nodes' own resources.
      const candidates = [...changedNames(earlier.base, later.base), ...later.ownResources().map((r) => r.name)];
      for (const name of candidates) if (earlier.resources.get(name)?.version !== later.resources.get(name)!.version) names.push(name);
    } else for (const [name, r] of later.resources) if (earlier.resources.get(name)?.version !== r.version) names.push(name);
    return names;
  });
}

/** `compute()` once per (earlier, later) pair of type snapshots, for as long as both live. */
function perPair<V>(memo: WeakMap<TypeSnapshot, WeakMap<TypeSnapshot, V>>, earlier: TypeSnapshot, later: TypeSnapshot, compute: () => V): V {
  let byLater = memo.get(earlier);
  if (!byLater) memo.set(earlier, (byLater = new WeakMap()));
  let v = byLater.get(later);
  if (v === undefined) byLater.set(later, (v = compute()));
  return v;
}

/** Per (earlier, later) type snapshot: the names in the earlier one that the later one no longer has. */
const removals = new WeakMap<TypeSnapshot, WeakMap<TypeSnapshot, string[]>>();

export function removedNames(earlier: TypeSnapshot, later: TypeSnapshot): string[] {
  return perPair(removals, earlier, later, () => {
    const names: string[] = [];
    if (earlier instanceof LayeredResourceSet && later instanceof LayeredResourceSet) {
      const candidates = [...removedNames(earlier.base, later.base), ...earlier.ownResources().map((r) => r.name)];
      for (const name of candidates) if (!later.resources.has(name)) names.push(name);
    } else if (earlier !== later) for (const name of earlier.resources.keys()) if (!later.resources.has(name)) names.push(name);
    return names;
  });
}

/**
 * What a state-of-the-world response of a type that is not full-state (RDS, EDS) needs to carry, in name order:
 * the selected resources that are new or changed since `sent` (the type snapshot the stream last answered from,
 * with the subscription it answered), plus the selected ones that subscription did not cover.
 */
export function changedSelection(sent: TypeSnapshot, sentSubscription: Subscription, type: TypeSnapshot, subscription: Subscription): CachedResource[] {
  const out = new Map<string, CachedResource>();
  if (sent !== type) {
    for (const name of changedNames(sent, type)) if (selects(subscription, name)) out.set(name, type.resources.get(name)!);
  }
  if (sentSubscription !== subscription) {
    const candidates = subscription.wildcard ? type.resources.keys() : subscription.names.values();
    for (const name of candidates) {
      if (selects(sentSubscription, name) || out.has(name)) continue;
      const r = type.resources.get(name);
      if (r) out.set(name, r);
    }
  }
  return [...out.values()].sort(byResourceName);
}

/** Each resource's DiscoveryResponse.resources entry, written once per resource (many streams send the same one). */
const entries = new WeakMap<CachedResource, Uint8Array>();

/** `resources` encoded as DiscoveryResponse.resources: the bytes toBinary writes for their `any`s, in this order. */
export function encodedResources(resources: readonly CachedResource[]): Uint8Array[] {
  return resources.map((r) => {
    let entry = entries.get(r);
    if (!entry) entries.set(r, (entry = resourcesEntry(r)));
    return entry;
  });
}

function byResourceName(a: CachedResource, b: CachedResource): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
