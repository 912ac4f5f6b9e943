// The DNS part of a STRICT_DNS / LOGICAL_DNS cluster, checked as Envoy checks it: LOGICAL_DNS has exactly one
// endpoint; dns_refresh_rate (default 5 s), dns_failure_refresh_rate (max_interval defaults to 10 x base_interval),
// respect_dns_ttl, dns_lookup_family; typed_dns_resolver_config only as a CaresDnsResolverConfig with `resolvers`
// (IP socket addresses). What the gateway does with it at run time: gateway/dns-hosts.ts. Portable.
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import type { Duration } from "@bufbuild/protobuf/wkt";
import { Cluster_DiscoveryType, Cluster_DnsLookupFamily, type Cluster } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { CaresDnsResolverConfigSchema } from "../gen/envoy/extensions/network/dns_resolver/cares/v3/cares_dns_resolver_pb.js";
import type { FieldPath } from "./bootstrap/errors.js";
import type { DnsClusterConfig, DnsLookupFamily, EndpointConfig, SocketAddr } from "./bootstrap/types.js";
import { parseIp } from "./internal-address.js";

export const CARES_RESOLVER_TYPE = "envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig";
export const DEFAULT_DNS_REFRESH_MS = 5_000;
const DNS_PORT = 53;

const FAMILIES: Record<number, DnsLookupFamily> = {
  [Cluster_DnsLookupFamily.AUTO]: "AUTO",
  [Cluster_DnsLookupFamily.V4_ONLY]: "V4_ONLY",
  [Cluster_DnsLookupFamily.V6_ONLY]: "V6_ONLY",
  [Cluster_DnsLookupFamily.V4_PREFERRED]: "V4_PREFERRED",
  [Cluster_DnsLookupFamily.ALL]: "ALL",
};

type Fail = (path: FieldPath, message: string) => never;

const ms = (d: Duration): number => Number(d.seconds) * 1000 + Math.round(d.nanos / 1e6);

/** `{ dns }` for a STRICT_DNS / LOGICAL_DNS cluster, `{}` for other types (which ignore the dns_* fields, as Envoy). */
export function dnsPart(c: Cluster, path: FieldPath, endpoints: readonly EndpointConfig[], fail: Fail): { dns?: DnsClusterConfig } {
  const type = c.clusterDiscoveryType.case === "type" ? c.clusterDiscoveryType.value : undefined;
  if (type !== Cluster_DiscoveryType.STRICT_DNS && type !== Cluster_DiscoveryType.LOGICAL_DNS) return {};
  const kind = type === Cluster_DiscoveryType.STRICT_DNS ? "STRICT_DNS" : "LOGICAL_DNS";
  if (kind === "LOGICAL_DNS" && endpoints.length !== 1) {
    fail([...path, "load_assignment"], `cluster "${c.name}": LOGICAL_DNS clusters must have a single locality_lb_endpoint and a single lb_endpoint (found ${endpoints.length} endpoints)`);
  }
  const lookupFamily = FAMILIES[c.dnsLookupFamily];
  if (!lookupFamily) fail([...path, "dns_lookup_family"], `${c.dnsLookupFamily} is not a DnsLookupFamily value`);
  const config: DnsClusterConfig = {
    kind,
    lookupFamily,
    refreshRateMs: c.dnsRefreshRate ? Math.max(1, ms(c.dnsRefreshRate)) : DEFAULT_DNS_REFRESH_MS,
    respectTtl: c.respectDnsTtl,
  };
  const fr = c.dnsFailureRefreshRate;
  if (fr) {
    const fPath = [...path, "dns_failure_refresh_rate"];
    if (!fr.baseInterval) fail([...fPath, "base_interval"], "is required");
    const baseMs = Math.max(1, ms(fr.baseInterval));
    const maxMs = fr.maxInterval ? ms(fr.maxInterval) : 10 * baseMs;
    if (maxMs < baseMs) fail([...fPath, "max_interval"], `must not be less than base_interval (${baseMs} ms)`);
    config.failureRefresh = { baseMs, maxMs };
  }
  const resolvers = resolverAddresses(c, path, fail);
  if (resolvers) config.resolvers = resolvers;
  return { dns: config };
}

function resolverAddresses(c: Cluster, path: FieldPath, fail: Fail): SocketAddr[] | undefined {
  const t = c.typedDnsResolverConfig;
  if (!t) return undefined;
  const tPath = [...path, "typed_dns_resolver_config"];
  const cares = t.typedConfig ? anyUnpack(t.typedConfig, CaresDnsResolverConfigSchema) : undefined;
  if (!cares) fail([...tPath, "typed_config"], `a ${CARES_RESOLVER_TYPE} is required`);
  if (cares.resolvers.length === 0) fail([...tPath, "typed_config", "resolvers"], "at least one resolver is required");
  return cares.resolvers.map((a, i) => {
    const p = [...tPath, "typed_config", "resolvers", i];
    if (a.address.case !== "socketAddress") fail(p, "socket_address is required");
    const sa = a.address.value;
    if (!parseIp(sa.address)) fail([...p, "socket_address", "address"], `"${sa.address}" is not an IP address (a DNS server is named by IP)`);
    const port = sa.portSpecifier.case === "portValue" && sa.portSpecifier.value !== 0 ? sa.portSpecifier.value : DNS_PORT;
    if (port > 65535) fail([...p, "socket_address", "port_value"], `${port} is not a port (0-65535)`);
    return { address: sa.address, port };
  });
}
