// MAGLEV (Eisenbud et al. 2016) as Envoy builds it with equal weights: a prime-sized lookup table filled from each
// host's permutation (offset = xxHash64(key, 0) % M, skip = xxHash64(key, 1) % (M - 1) + 1); a request's hash
// indexes the table. Without a hash the pick is random. Portable.
import { xxHash64 } from "./xxhash64.js";
import { defaultRandom, type LbContext, type LbHost, type LoadBalancer, type Random } from "./types.js";

export const DEFAULT_MAGLEV_TABLE_SIZE = 65537;

export class MaglevLb<H extends LbHost> implements LoadBalancer<H> {
  private readonly table: Int32Array;

  constructor(private readonly hosts: readonly H[], tableSize = DEFAULT_MAGLEV_TABLE_SIZE, private readonly random: Random = defaultRandom) {
    const m = tableSize;
    this.table = new Int32Array(hosts.length === 0 ? 0 : m).fill(-1);
    if (hosts.length === 0) return;
    const M = BigInt(m);
    const offset = hosts.map((h) => Number(xxHash64(h.key, 0n) % M));
    const skip = hosts.map((h) => Number(xxHash64(h.key, 1n) % (M - 1n)) + 1);
    const next = new Array<number>(hosts.length).fill(0);
    let filled = 0;
    while (filled < m) {
      for (let i = 0; i < hosts.length && filled < m; i++) {
        let c = (offset[i]! + skip[i]! * next[i]!) % m;
        while (this.table[c] !== -1) {
          next[i]!++;
          c = (offset[i]! + skip[i]! * next[i]!) % m;
        }
        this.table[c] = i;
        next[i]!++;
        filled++;
      }
    }
  }

  choose(ctx: LbContext): H | undefined {
    const m = this.table.length;
    if (m === 0) return undefined;
    const index = ctx.hash === undefined ? this.random() % m : Number((ctx.hash + BigInt(ctx.attempt)) % BigInt(m));
    return this.hosts[this.table[index]!];
  }
}
