// RING_HASH as Envoy builds it (equal weights, xxHash64): each host gets ceil(min_ring_size / hosts) points hashed
// from "address:port_i"; a request's hash picks the first point at or after it, wrapping around. Without a hash the
// pick is random. A retry host predicate asking for another host walks to the following points. Portable.
import { xxHash64 } from "./xxhash64.js";
import { defaultRandom, type LbContext, type LbHost, type LoadBalancer, type Random } from "./types.js";

export class RingHashLb<H extends LbHost> implements LoadBalancer<H> {
  private readonly hashes: BigUint64Array;
  private readonly owners: H[];

  constructor(hosts: readonly H[], minRingSize = 1024, maxRingSize = 8 * 1024 * 1024, private readonly random: Random = defaultRandom) {
    const n = hosts.length;
    const perHost = n === 0 ? 0 : Math.max(1, Math.min(Math.ceil(minRingSize / n), Math.floor(maxRingSize / n)));
    const points: Array<{ hash: bigint; host: H }> = [];
    for (const host of hosts) {
      for (let i = 0; i < perHost; i++) points.push({ hash: xxHash64(`${host.key}_${i}`), host });
    }
    points.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
    this.hashes = BigUint64Array.from(points, (p) => p.hash);
    this.owners = points.map((p) => p.host);
  }

  get size(): number {
    return this.owners.length;
  }

  choose(ctx: LbContext): H | undefined {
    const size = this.owners.length;
    if (size === 0) return undefined;
    const h = ctx.hash ?? BigInt(this.random()) * 0x1_0000_0001n;
    // First point with hash >= h.
    let lo = 0;
    let hi = size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.hashes[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    return this.owners[(lo + ctx.attempt) % size];
  }
}
