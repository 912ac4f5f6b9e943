// IST0174: a DestinationRule's host matches no service visible from its namespace. IST0173: one of its subsets
// selects none of that service's endpoints (the workloads behind it: WorkloadEntries, ServiceEntry endpoints,
// Endpoints addresses), so traffic routed there fails with 503 UH.
import { selectorMatches } from "../../registry/labels.js";
import type { Analyzer } from "../context.js";
import { messages, type AnalysisMessage } from "../messages.js";

export const destinationRuleHosts: Analyzer = (ctx) => {
  const out: AnalysisMessage[] = [];
  for (const dr of ctx.config.destinationRules) {
    const service = ctx.registry.byHost(dr.spec.host, dr.metadata.namespace);
    if (!service) {
      out.push(messages.unknownDestinationRuleHost(ctx.origin(dr), dr.spec.host));
      continue;
    }
    for (const subset of dr.spec.subsets ?? []) {
      const selector = { ...service.workloadSelector, ...subset.labels };
      if (!service.endpoints.some((e) => selectorMatches(selector, e.labels))) {
        out.push(messages.destinationRuleSubsetNotSelectPods(ctx.origin(dr), subset.name));
      }
    }
  }
  return out;
};
