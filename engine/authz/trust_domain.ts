// Trust-domain aliasing for source principals, as Istio's trustdomain.Bundle does before it
// generates Envoy config: a principal "<td>/ns/<ns>/sa/<sa>" whose trust domain is the local one,
// one of its aliases, or "cluster.local" (which always means "the local trust domain") is
// expanded to one principal per trust domain of the bundle. Principals not in that 5-part form,
// or with "*" as trust domain, are kept as they are.

const CLUSTER_LOCAL = "cluster.local";

function prefixPattern(a: string, pattern: string): bool {
  return pattern.endsWith("*") && a.startsWith(pattern.substring(0, pattern.length - 1));
}

function suffixPattern(a: string, pattern: string): bool {
  return pattern.startsWith("*") && a.endsWith(pattern.substring(1));
}

/** Istio's stringMatch: either side may carry the wildcard. */
function matchesAny(a: string, list: string[]): bool {
  for (let i = 0; i < list.length; i++) {
    const s = list[i];
    if (a == s || s == "*" || prefixPattern(a, s) || prefixPattern(s, a) || suffixPattern(a, s) || suffixPattern(s, a)) {
      return true;
    }
  }
  return false;
}

/** `domains` is [trustDomain, ...aliases]. */
export function expandTrustDomains(principals: string[], domains: string[]): string[] {
  const out = new Array<string>();
  for (let i = 0; i < principals.length; i++) {
    const p = principals[i];
    const parts = p.split("/");
    if (parts.length != 5 || parts[0] == "*") {
      pushUnique(out, p);
      continue;
    }
    const td = parts[0];
    if (!(matchesAny(td, domains) || td == CLUSTER_LOCAL)) {
      pushUnique(out, p);
      continue;
    }
    const rest = p.substring(td.length);
    for (let k = 0; k < domains.length; k++) {
      const d = domains[k];
      pushUnique(out, suffixPattern(d, td) ? p : d + rest);
    }
  }
  return out;
}

function pushUnique(list: string[], s: string): void {
  if (!list.includes(s)) list.push(s);
}
