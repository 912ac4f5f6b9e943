// Virtual host domains. A sidecar reaches a service by its FQDN and, inside the cluster domain, by the short
// forms Kubernetes DNS resolves (`reviews`, `reviews.foo`, `reviews.foo.svc`), each with and without `:port`,
// plus the service's addresses. A gateway serves the hosts its servers and VirtualServices agree on.
import { isIP } from "node:net";
import { hostsOverlap, wildcardCovers } from "../registry/hosts.js";
import type { RegistryService } from "../registry/types.js";

/** IPv6 addresses are bracketed in authorities. */
function authorityHost(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

function withPort(host: string, port: number): string[] {
  const h = authorityHost(host);
  return [h, `${h}:${port}`];
}

/**
 * Short forms of a Kubernetes service host seen from a proxy in `proxyNamespace` (Istio's alt virtual hosts):
 * same namespace `name`, `name.ns.svc`, `name.ns`; another namespace `name.ns`, `name.ns.svc`. Other hosts have none.
 */
export function kubernetesShortNames(hostname: string, proxyNamespace: string, domainSuffix: string): string[] {
  const suffix = `.svc.${domainSuffix}`;
  if (!hostname.endsWith(suffix)) return [];
  const nameNs = hostname.slice(0, -suffix.length);
  const dot = nameNs.indexOf(".");
  if (dot <= 0 || dot === nameNs.length - 1 || nameNs.indexOf(".", dot + 1) >= 0) return [];
  const name = nameNs.slice(0, dot);
  const ns = nameNs.slice(dot + 1);
  return ns === proxyNamespace ? [name, `${nameNs}.svc`, nameNs] : [nameNs, `${nameNs}.svc`];
}

/** Every domain a sidecar in `proxyNamespace` matches for `service` on `port`, in Istio's order. */
export function sidecarServiceDomains(service: RegistryService, port: number, proxyNamespace: string, domainSuffix: string): string[] {
  const out = withPort(service.hostname, port);
  for (const alt of kubernetesShortNames(service.hostname, proxyNamespace, domainSuffix)) out.push(...withPort(alt, port));
  for (const address of service.addresses) {
    if (address === "" || address.includes("/") || address === "0.0.0.0" || address === "::") continue;
    out.push(...withPort(address, port));
  }
  return out;
}

/** Server hosts usable by a VirtualService in `vsNamespace` (`ns/host`: `*` any, `.` the Gateway's namespace). */
export function serverHostsFor(serverHosts: readonly string[], vsNamespace: string, gatewayNamespace: string): string[] {
  const out: string[] = [];
  for (const h of serverHosts) {
    const slash = h.indexOf("/");
    if (slash < 0) {
      out.push(h);
      continue;
    }
    const ns = h.slice(0, slash);
    if (ns === "*" || ns === vsNamespace || (ns === "." && vsNamespace === gatewayNamespace)) out.push(h.slice(slash + 1));
  }
  return out;
}

/** Istio's host intersection: for each overlapping pair, the more specific of the two. */
export function intersectHosts(serverHosts: readonly string[], vsHosts: readonly string[]): string[] {
  const out: string[] = [];
  for (const s of serverHosts) {
    for (const v of vsHosts) {
      if (!hostsOverlap(s, v)) continue;
      const chosen = s === v ? s : wildcardCovers(s, v) ? v : wildcardCovers(v, s) ? s : s.length >= v.length ? s : v;
      if (!out.includes(chosen)) out.push(chosen);
    }
  }
  return out;
}
