// Resolving one endpoint name of a STRICT_DNS / LOGICAL_DNS cluster over and over, as Envoy does: at start, then
// every dns_refresh_rate (or, with respect_dns_ttl, the answer's smallest TTL, at least 1 s); after a failure every
// dns_failure_refresh_rate (doubling from base_interval up to max_interval), else dns_refresh_rate. The lookup family
// picks which queries are made. "No such name / no such records" is an answer (no addresses), anything else (a
// timeout, a refused or failed query) a failure that leaves the caller's hosts as they were. Portable: the queries
// themselves come from a DnsResolver (node:dns in dns-node.ts; Workers have none).
import type { DnsClusterConfig, DnsLookupFamily, SocketAddr } from "./bootstrap/types.js";
import { parseIp } from "./internal-address.js";

export interface DnsAnswer {
  /** In the resolver's order (the first is the preferred one). */
  addresses: string[];
  /** The smallest TTL of the records, when the resolver knows it (getaddrinfo does not). */
  ttlSeconds?: number;
}

/** One query for one address family. Rejects with an Error whose `code` is ENOTFOUND / ENODATA when there are no records. */
export interface DnsResolver {
  query(name: string, family: 4 | 6): Promise<DnsAnswer>;
  /** Cancels queries in flight. */
  close(): void;
}

/** A resolver for one cluster: with `servers` (CaresDnsResolverConfig.resolvers) or the system's (undefined). */
export type DnsResolverFactory = (servers: readonly SocketAddr[] | undefined) => DnsResolver;

const MIN_TTL_REFRESH_MS = 1_000;
const NO_RECORDS = new Set(["ENOTFOUND", "ENODATA", "NOTFOUND", "NODATA"]);

function noRecords(e: unknown): boolean {
  return NO_RECORDS.has(String((e as { code?: unknown } | null)?.code ?? ""));
}

async function orEmpty(q: Promise<DnsAnswer>): Promise<DnsAnswer> {
  try {
    return await q;
  } catch (e) {
    if (noRecords(e)) return { addresses: [] };
    throw e;
  }
}

function merge(a: DnsAnswer, b: DnsAnswer): DnsAnswer {
  const ttls = [a.ttlSeconds, b.ttlSeconds].filter((t): t is number => t !== undefined);
  return { addresses: [...a.addresses, ...b.addresses], ...(ttls.length > 0 ? { ttlSeconds: Math.min(...ttls) } : {}) };
}

/** The addresses of `name` for a dns_lookup_family (AUTO: IPv6, else IPv4; V4_PREFERRED: IPv4, else IPv6). */
export async function resolveFamily(resolver: DnsResolver, name: string, family: DnsLookupFamily): Promise<DnsAnswer> {
  const q = (f: 4 | 6) => orEmpty(resolver.query(name, f));
  switch (family) {
    case "V4_ONLY":
      return q(4);
    case "V6_ONLY":
      return q(6);
    case "AUTO": {
      const v6 = await q(6);
      return v6.addresses.length > 0 ? v6 : q(4);
    }
    case "V4_PREFERRED": {
      const v4 = await q(4);
      return v4.addresses.length > 0 ? v4 : q(6);
    }
    case "ALL": {
      const [v4, v6] = await Promise.allSettled([q(4), q(6)]);
      if (v4.status === "rejected" && v6.status === "rejected") throw v4.reason;
      const ok = (r: PromiseSettledResult<DnsAnswer>) => (r.status === "fulfilled" ? r.value : { addresses: [] });
      return merge(ok(v4), ok(v6));
    }
  }
}

/** Resolves one name until closed, reporting each successful answer (the first failure of a run is reported, all are retried). */
export class DnsRefresher {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;
  private closed = false;

  constructor(
    private readonly name: string,
    private readonly config: DnsClusterConfig,
    private readonly resolver: DnsResolver,
    private readonly onAnswer: (addresses: string[]) => void,
    private readonly onFailure: (message: string) => void = () => {},
  ) {}

  start(): void {
    // An IP literal needs no DNS (what getaddrinfo answers for it, and c-ares too).
    if (parseIp(this.name)) {
      this.onAnswer([this.name.startsWith("[") ? this.name.slice(1, -1) : this.name]);
      return;
    }
    void this.run();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private async run(): Promise<void> {
    let nextMs: number;
    try {
      const answer = await resolveFamily(this.resolver, this.name, this.config.lookupFamily);
      if (this.closed) return;
      this.failures = 0;
      this.onAnswer([...new Set(answer.addresses)]);
      const ttl = answer.ttlSeconds;
      nextMs = this.config.respectTtl && ttl !== undefined && ttl > 0 ? Math.max(ttl * 1000, MIN_TTL_REFRESH_MS) : this.config.refreshRateMs;
    } catch (e) {
      if (this.closed) return;
      // Logged once per run of failures, not at every retry.
      if (++this.failures === 1) this.onFailure(`${this.name}: ${e instanceof Error ? e.message : String(e)}`);
      const f = this.config.failureRefresh;
      nextMs = f ? Math.min(f.baseMs * 2 ** Math.min(this.failures - 1, 30), f.maxMs) : this.config.refreshRateMs;
    }
    this.timer = setTimeout(() => void this.run(), nextMs);
    (this.timer as { unref?: () => void }).unref?.();
  }
}
