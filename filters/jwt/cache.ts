// A bounded LRU of tokens that passed signature verification, so a client repeating its token
// costs a hash, a map lookup and one byte compare instead of a signature check. Entries hold the
// full token and compare it byte for byte: a hash collision is only ever a miss. Time validity is
// re-checked by the caller on every hit; the signature, issuer and audiences cannot change for a
// configuration (a new configuration builds a new cache).
import { VerifiedToken } from "./verified";

export const DEFAULT_CACHE_CAPACITY: i32 = 256;

const K1: u64 = 0x9e3779b97f4a7c15;
const K2: u64 = 0xc2b2ae3d27d4eb4f;

@inline function mix(h: u64, w: u64): u64 {
  h ^= w * K1;
  return rotl<u64>(h, 31) * K2;
}

/** 64-bit hash of the token bytes and the location they came from, eight bytes per step. */
export function tokenHash(token: Uint8Array, location: i32): u64 {
  const p = token.dataStart;
  const n = token.length;
  let h: u64 = (<u64>n << 32) ^ <u64>location ^ K2;
  let i = 0;
  for (; i + 8 <= n; i += 8) h = mix(h, load<u64>(p + <usize>i));
  let tail: u64 = 0;
  for (let s: u64 = 0; i < n; i++, s += 8) tail |= <u64>load<u8>(p + <usize>i) << s;
  h = mix(h, tail);
  // murmur3 finalizer
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccd;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53;
  return h ^ (h >> 33);
}

export class TokenCache {
  private map: Map<u64, VerifiedToken> = new Map();
  /** Most recently used first. */
  private head: VerifiedToken | null = null;
  private tail: VerifiedToken | null = null;

  constructor(public readonly capacity: i32 = DEFAULT_CACHE_CAPACITY) {}

  get size(): i32 {
    return this.map.size;
  }

  /** The entry for exactly these token bytes from this location, marked most recently used. */
  lookup(hash: u64, location: i32, token: Uint8Array): VerifiedToken | null {
    if (!this.map.has(hash)) return null;
    const e = this.map.get(hash);
    if (e.location != location || e.token.length != token.length) return null;
    if (memory.compare(e.token.dataStart, token.dataStart, <usize>token.length) != 0) return null;
    if (this.head !== e) {
      this.unlink(e);
      this.pushFront(e);
    }
    return e;
  }

  /** Adds (or replaces the entry with the same hash); evicts the least recently used when full. */
  insert(e: VerifiedToken): void {
    if (this.capacity <= 0) return;
    if (this.map.has(e.hash)) this.remove(this.map.get(e.hash));
    while (this.map.size >= this.capacity) this.remove(this.tail!);
    this.map.set(e.hash, e);
    this.pushFront(e);
  }

  remove(e: VerifiedToken): void {
    if (!this.map.has(e.hash) || this.map.get(e.hash) !== e) return;
    this.map.delete(e.hash);
    this.unlink(e);
  }

  private pushFront(e: VerifiedToken): void {
    e.prev = null;
    e.next = this.head;
    const h = this.head;
    if (h) h.prev = e;
    this.head = e;
    if (!this.tail) this.tail = e;
  }

  private unlink(e: VerifiedToken): void {
    const p = e.prev, n = e.next;
    if (p) p.next = n;
    else this.head = n;
    if (n) n.prev = p;
    else this.tail = p;
    e.prev = null;
    e.next = null;
  }
}
