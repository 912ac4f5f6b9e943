// LEAST_REQUEST with equal weights, as Envoy does it: sample choice_count hosts at random (power of two choices by
// default) and keep the one with the fewest active requests; a tie keeps the earlier sample. Portable.
import { defaultRandom, type LbHost, type LoadBalancer, type Random } from "./types.js";

export class LeastRequestLb<H extends LbHost> implements LoadBalancer<H> {
  constructor(
    private readonly hosts: readonly H[],
    private readonly choiceCount = 2,
    private readonly random: Random = defaultRandom,
  ) {}

  choose(): H | undefined {
    const n = this.hosts.length;
    if (n === 0) return undefined;
    let best = this.hosts[this.random() % n]!;
    for (let i = 1; i < this.choiceCount; i++) {
      const h = this.hosts[this.random() % n]!;
      if (h.activeRequests < best.activeRequests) best = h;
    }
    return best;
  }
}
