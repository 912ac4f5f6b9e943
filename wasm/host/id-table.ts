// Per-VM registries keyed by a u32 id the host hands out in increasing order (context ids, http call tokens): an
// open-addressing table (linear probing, backward-shift deletion) instead of a Map.
//
// Why not a Map: every stream (or call) adds and removes an entry, so the Map's backing store is rehashed every few dozen
// streams, and V8 leaves each replaced store pointing at its successor (for iterators that were live) with its old
// entries still in it. Once one such dead store is promoted to old space, the scavenger treats its pointers as roots:
// the next store, the streams in it and everything they reach survive and get promoted in turn, a chain that lasts
// until a full GC. Under concurrency (32 requests in flight through the gateway) that tripled the per-request cost
// of a no-op filter. This table allocates only when it grows and never links old storage to new.
//
// Ids increase, so `id & mask` spreads the live window well. Id 0 is never used (the root context is 1, tokens
// start at 1) and marks a free slot.

const EMPTY = 0;

export class IdTable<T> {
  private keys: Float64Array;
  private vals: Array<T | undefined>;
  private mask: number;
  private count = 0;

  constructor(capacity = 64) {
    let cap = 8;
    while (cap < capacity) cap *= 2;
    this.keys = new Float64Array(cap);
    this.vals = new Array<T | undefined>(cap).fill(undefined);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  get(id: number): T | undefined {
    const keys = this.keys;
    const mask = this.mask;
    for (let i = id & mask; ; i = (i + 1) & mask) {
      const k = keys[i];
      if (k === id) return this.vals[i];
      if (k === EMPTY) return undefined;
    }
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** Adds or replaces the value under `id` (a positive u32). */
  set(id: number, value: T): this {
    if ((this.count + 1) * 2 > this.keys.length) this.grow();
    const keys = this.keys;
    const mask = this.mask;
    for (let i = id & mask; ; i = (i + 1) & mask) {
      const k = keys[i];
      if (k === id) {
        this.vals[i] = value;
        return this;
      }
      if (k === EMPTY) {
        keys[i] = id;
        this.vals[i] = value;
        this.count++;
        return this;
      }
    }
  }

  delete(id: number): boolean {
    const keys = this.keys;
    const vals = this.vals;
    const mask = this.mask;
    let hole = id & mask;
    while (keys[hole] !== id) {
      if (keys[hole] === EMPTY) return false;
      hole = (hole + 1) & mask;
    }
    // Backward shift: pull later entries of the probe run into the hole unless their home slot lies in (hole, j].
    for (let j = (hole + 1) & mask; keys[j] !== EMPTY; j = (j + 1) & mask) {
      const home = keys[j] & mask;
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      keys[hole] = keys[j];
      vals[hole] = vals[j];
      hole = j;
    }
    keys[hole] = EMPTY;
    vals[hole] = undefined;
    this.count--;
    return true;
  }

  /** A snapshot of the values (for teardown paths, not per request). */
  values(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] !== EMPTY) out.push(this.vals[i] as T);
    return out;
  }

  clear(): void {
    this.keys.fill(EMPTY);
    this.vals.fill(undefined);
    this.count = 0;
  }

  private grow(): void {
    const keys = this.keys;
    const vals = this.vals;
    const cap = keys.length * 2;
    this.keys = new Float64Array(cap);
    this.vals = new Array<T | undefined>(cap).fill(undefined);
    this.mask = cap - 1;
    this.count = 0;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== EMPTY) this.set(keys[i], vals[i] as T);
  }
}
