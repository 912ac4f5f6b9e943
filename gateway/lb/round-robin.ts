// ROUND_ROBIN with equal weights: hosts in turn. Portable.
import type { LbHost, LoadBalancer } from "./types.js";

export class RoundRobinLb<H extends LbHost> implements LoadBalancer<H> {
  private next = 0;
  constructor(private readonly hosts: readonly H[]) {}

  choose(): H | undefined {
    const n = this.hosts.length;
    if (n === 0) return undefined;
    const h = this.hosts[this.next % n]!;
    this.next = (this.next + 1) % n;
    return h;
  }
}
