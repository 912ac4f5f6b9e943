// Virtual host selection by authority, in Envoy's order: exact domain, then the longest
// `*suffix` wildcard, then the longest `prefix*` wildcard, then `*`. A wildcard never matches
// an empty remainder (`*.example.com` matches a.example.com, not example.com).
import { RouteTable, VirtualHost, WildcardDomain } from "./config";
import { asciiLower, isDigits, regionEquals } from "./text";

export function selectVirtualHost(table: RouteTable, authority: string): VirtualHost | null {
  const last = table.lastAuthority;
  if (last !== null && last == authority) return table.lastHost;
  const vh = lookup(table, authority);
  table.lastAuthority = authority;
  table.lastHost = vh;
  return vh;
}

function lookup(table: RouteTable, authority: string): VirtualHost | null {
  let host = table.ignorePortInHostMatching ? stripPort(authority) : authority;
  host = asciiLower(host);
  const exact = table.exactDomains;
  if (exact.has(host)) return exact.get(host);
  const n = host.length;
  const suffixes = table.suffixDomains;
  for (let i = 0, m = suffixes.length; i < m; i++) {
    const w: WildcardDomain = unchecked(suffixes[i]);
    const len = w.affix.length;
    if (n > len && regionEquals(host, n - len, w.affix)) return w.host;
  }
  const prefixes = table.prefixDomains;
  for (let i = 0, m = prefixes.length; i < m; i++) {
    const w: WildcardDomain = unchecked(prefixes[i]);
    if (n > w.affix.length && regionEquals(host, 0, w.affix)) return w.host;
  }
  return table.catchAll;
}

/** `host:port` -> `host`, `[v6]:port` -> `[v6]`; anything else is returned unchanged. */
export function stripPort(authority: string): string {
  const colon = authority.lastIndexOf(":");
  if (colon < 0) return authority;
  if (authority.charCodeAt(0) == 0x5b) {
    // IPv6 literal: only a colon right after the closing bracket starts a port.
    if (colon == 0 || authority.charCodeAt(colon - 1) != 0x5d) return authority;
  } else if (authority.indexOf(":") != colon) {
    return authority; // bare IPv6 without brackets has no port
  }
  return isDigits(authority.substring(colon + 1)) ? authority.substring(0, colon) : authority;
}
