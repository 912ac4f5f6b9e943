// Host names as Istio reads them: short names resolve against a namespace, `*.suffix` wildcards, and exportTo
// visibility.

export const DEFAULT_DOMAIN_SUFFIX = "cluster.local";

/** `reviews` in `foo` -> `reviews.foo.svc.cluster.local`; FQDNs and wildcards stay as they are. */
export function resolveShortName(host: string, namespace: string, domainSuffix = DEFAULT_DOMAIN_SUFFIX): string {
  if (host === "" || host.startsWith("*") || host.includes(".")) return host;
  return `${host}.${namespace}.svc.${domainSuffix}`;
}

/** The host of a Kubernetes Service. */
export function kubernetesServiceHost(name: string, namespace: string, domainSuffix = DEFAULT_DOMAIN_SUFFIX): string {
  return `${name}.${namespace}.svc.${domainSuffix}`;
}

/** Whether two hosts overlap, either side possibly a wildcard (Istio's host.Name.Matches). */
export function hostsOverlap(a: string, b: string): boolean {
  if (a === b) return true;
  const aWild = a.startsWith("*");
  const bWild = b.startsWith("*");
  if (aWild && bWild) return a.length > b.length ? a.endsWith(b.slice(1)) : b.endsWith(a.slice(1));
  if (aWild) return b.endsWith(a.slice(1));
  if (bWild) return a.endsWith(b.slice(1));
  return false;
}

/** Whether the wildcard host `*.example.com` (or `*`) covers `host` (itself possibly a narrower wildcard). */
export function wildcardCovers(wildcard: string, host: string): boolean {
  if (!wildcard.startsWith("*")) return false;
  const suffix = wildcard.slice(1);
  const bare = host.startsWith("*") ? host.slice(1) : host;
  return bare.endsWith(suffix);
}

/** exportTo visibility: empty or `*` means everywhere, `.` the owner's namespace, else the listed namespaces. */
export function isVisibleFrom(exportTo: readonly string[], ownerNamespace: string, fromNamespace: string): boolean {
  if (exportTo.length === 0) return true;
  return exportTo.some((e) => e === "*" || (e === "." ? ownerNamespace === fromNamespace : e === fromNamespace));
}
