// IST0145: servers of two Gateways with the same workload selector listen on the same port with overlapping
// hosts; only one of them can be used.
import type { Gateway } from "../../config/types.js";
import { hostsOverlap } from "../../registry/hosts.js";
import type { Analyzer } from "../context.js";
import { messages, type AnalysisMessage } from "../messages.js";

export const conflictingGateways: Analyzer = (ctx) => {
  // selector~port -> gateway "ns/name" -> the hosts its servers on that port serve
  const listeners = new Map<string, Map<string, string[]>>();
  for (const gw of ctx.config.gateways) {
    for (const server of gw.spec.servers ?? []) {
      const key = `${selectorString(gw)}~${server.port.number}`;
      const byGateway = listeners.get(key) ?? new Map<string, string[]>();
      const name = gatewayName(gw);
      byGateway.set(name, [...(byGateway.get(name) ?? []), ...server.hosts]);
      listeners.set(key, byGateway);
    }
  }

  const out: AnalysisMessage[] = [];
  for (const gw of ctx.config.gateways) {
    const self = gatewayName(gw);
    const selector = selectorString(gw);
    for (const server of gw.spec.servers ?? []) {
      const conflicts = new Set<string>();
      for (const [other, hosts] of listeners.get(`${selector}~${server.port.number}`) ?? []) {
        if (other !== self && server.hosts.some((h) => hosts.some((o) => hostsOverlap(bareHost(h), bareHost(o))))) conflicts.add(other);
      }
      if (conflicts.size === 0) continue;
      out.push(messages.conflictingGateways(ctx.origin(gw), [...conflicts].sort().join(","), selector, String(server.port.number), server.hosts.join(",")));
    }
  }
  return out;
};

function gatewayName(gw: Gateway): string {
  return `${gw.metadata.namespace}/${gw.metadata.name}`;
}

/** A Kubernetes label selector's string form: `k1=v1,k2=v2`, keys sorted. */
function selectorString(gw: Gateway): string {
  return Object.entries(gw.spec.selector ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

/** Server hosts may be `namespace/host`; the namespace part says which VirtualServices bind, not what is served. */
function bareHost(host: string): string {
  const slash = host.indexOf("/");
  return slash < 0 ? host : host.slice(slash + 1);
}
