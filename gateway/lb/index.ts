// Load balancer factory by Envoy lb_policy. Portable.
import type { ClusterConfig } from "../bootstrap/types.js";
import { LeastRequestLb } from "./least-request.js";
import { MaglevLb } from "./maglev.js";
import { RandomLb } from "./random.js";
import { RingHashLb } from "./ring-hash.js";
import { RoundRobinLb } from "./round-robin.js";
import type { LbHost, LoadBalancer, Random } from "./types.js";

export type { LbContext, LbHost, LoadBalancer, Random } from "./types.js";

export function createLoadBalancer<H extends LbHost>(config: ClusterConfig, hosts: readonly H[], random?: Random): LoadBalancer<H> {
  switch (config.lbPolicy ?? "ROUND_ROBIN") {
    case "ROUND_ROBIN":
      return new RoundRobinLb(hosts);
    case "LEAST_REQUEST":
      return new LeastRequestLb(hosts, config.choiceCount ?? 2, random);
    case "RANDOM":
      return new RandomLb(hosts, random);
    case "RING_HASH":
      return new RingHashLb(hosts, config.ringSize?.min, config.ringSize?.max, random);
    case "MAGLEV":
      return new MaglevLb(hosts, config.maglevTableSize, random);
  }
}
