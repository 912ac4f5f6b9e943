// DNS for STRICT_DNS / LOGICAL_DNS clusters on Node. With CaresDnsResolverConfig.resolvers: a node:dns Resolver
// (c-ares, as Envoy's default resolver) asking those servers, answers with their TTLs. Without: the system resolver
// (getaddrinfo through dns.lookup: /etc/hosts, nsswitch, so `localhost` works), which reports no TTL. Node-only.
import { lookup, Resolver } from "node:dns/promises";
import { isIPv6 } from "node:net";
import type { SocketAddr } from "./bootstrap/types.js";
import type { DnsAnswer, DnsResolver, DnsResolverFactory } from "./dns.js";

/** Per try; c-ares' own default (5 s x 4 tries) would leave a dead server's failure unnoticed for 20 s. */
const QUERY_TIMEOUT_MS = 2_000;
const QUERY_TRIES = 2;

class ServerResolver implements DnsResolver {
  private readonly resolver = new Resolver({ timeout: QUERY_TIMEOUT_MS, tries: QUERY_TRIES });

  constructor(servers: readonly SocketAddr[]) {
    this.resolver.setServers(servers.map((s) => (isIPv6(s.address) ? `[${s.address}]:${s.port}` : `${s.address}:${s.port}`)));
  }

  async query(name: string, family: 4 | 6): Promise<DnsAnswer> {
    const records = family === 4 ? await this.resolver.resolve4(name, { ttl: true }) : await this.resolver.resolve6(name, { ttl: true });
    if (records.length === 0) return { addresses: [] };
    return { addresses: records.map((r) => r.address), ttlSeconds: Math.min(...records.map((r) => r.ttl)) };
  }

  close(): void {
    this.resolver.cancel();
  }
}

class SystemResolver implements DnsResolver {
  async query(name: string, family: 4 | 6): Promise<DnsAnswer> {
    const found = await lookup(name, { all: true, family });
    return { addresses: found.filter((a) => a.family === family).map((a) => a.address) };
  }

  close(): void {}
}

export const nodeDnsResolvers: DnsResolverFactory = (servers) => (servers && servers.length > 0 ? new ServerResolver(servers) : new SystemResolver());
