// IST0101 host+subset / mirror+subset in destinationrule: a subset a VirtualService routes to is defined by a
// DestinationRule for that host. Hosts compare as Istio's analyzer compares them: `<name>.<ns>.svc.<domain>`
// as name and namespace, any other host as a name in the namespace of the resource that wrote it.
import type { Analyzer } from "../context.js";
import { messages, type AnalysisMessage } from "../messages.js";
import { mirrorDestinations, routeDestinations } from "./destinations.js";

export const destinationSubsets: Analyzer = (ctx) => {
  const { registry } = ctx;
  const suffix = `.svc.${registry.domainSuffix}`;
  const key = (namespace: string, host: string, subset: string) => {
    if (host.endsWith(suffix)) {
      const rest = host.slice(0, -suffix.length);
      const dot = rest.lastIndexOf(".");
      if (dot > 0 && dot < rest.length - 1) return `${rest.slice(dot + 1)}/${rest.slice(0, dot)}|${subset}`;
    }
    return `${namespace}/${host}|${subset}`;
  };

  const defined = new Set<string>();
  for (const dr of ctx.config.destinationRules) {
    const host = registry.resolveHost(dr.spec.host, dr.metadata.namespace);
    for (const subset of dr.spec.subsets ?? []) defined.add(key(dr.metadata.namespace, host, subset.name));
  }

  const out: AnalysisMessage[] = [];
  for (const vs of ctx.config.virtualServices) {
    const ns = vs.metadata.namespace;
    for (const [list, refType] of [[routeDestinations(vs), "host+subset in destinationrule"], [mirrorDestinations(vs), "mirror+subset in destinationrule"]] as const) {
      for (const { destination, hostPath } of list) {
        const subset = destination.subset ?? "";
        if (subset === "" || defined.has(key(ns, destination.host, subset))) continue;
        out.push(messages.referencedResourceNotFound(ctx.origin(vs, hostPath), refType, `${destination.host}+${subset}`));
      }
    }
  }
  return out;
};
