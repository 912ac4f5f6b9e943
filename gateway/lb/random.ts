// RANDOM: a uniformly random host. Portable.
import { defaultRandom, type LbHost, type LoadBalancer, type Random } from "./types.js";

export class RandomLb<H extends LbHost> implements LoadBalancer<H> {
  constructor(private readonly hosts: readonly H[], private readonly random: Random = defaultRandom) {}

  choose(): H | undefined {
    const n = this.hosts.length;
    return n === 0 ? undefined : this.hosts[this.random() % n];
  }
}
