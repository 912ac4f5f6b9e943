// What a load balancer sees of an upstream host, and what it is asked with. Portable.
import type { SocketAddr } from "../bootstrap/types.js";

export interface LbHost {
  readonly address: SocketAddr;
  /** "address:port", the string Envoy hashes for ring hash and maglev. */
  readonly key: string;
  /** Requests dispatched to this host and not yet finished (Envoy's rq_active). */
  readonly activeRequests: number;
}

export interface LbContext {
  /** The request's hash from the route's hash_policy; undefined when no policy produced one. */
  hash?: bigint;
  /** How many times host selection was already retried for this attempt (retry host predicates). */
  attempt: number;
}

export interface LoadBalancer<H extends LbHost = LbHost> {
  /** undefined only when there are no hosts. */
  choose(ctx: LbContext): H | undefined;
}

/** A uniformly random 32-bit unsigned integer. */
export type Random = () => number;

export const defaultRandom: Random = () => (Math.random() * 0x1_0000_0000) >>> 0;
