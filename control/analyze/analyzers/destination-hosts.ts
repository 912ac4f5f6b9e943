// IST0101 host / mirror host / host:port and IST0112: every VirtualService destination names a service the
// registry has (visible from the VirtualService's namespace), and a port it exposes (needed when it has several).
import type { Analyzer } from "../context.js";
import { messages, type AnalysisMessage } from "../messages.js";
import { mirrorDestinations, routeDestinations, type RouteDestination } from "./destinations.js";

export const destinationHosts: Analyzer = (ctx) => {
  const out: AnalysisMessage[] = [];
  for (const vs of ctx.config.virtualServices) {
    const check = (d: RouteDestination, refType: string) => {
      const host = d.destination.host;
      const origin = ctx.origin(vs, d.hostPath);
      const service = ctx.registry.byHost(host, vs.metadata.namespace);
      if (!service) {
        out.push(messages.referencedResourceNotFound(origin, refType, host));
        return;
      }
      const port = d.destination.port?.number;
      const numbers = service.ports.map((p) => p.number);
      if (port === undefined) {
        if (numbers.length > 1) out.push(messages.virtualServiceDestinationPortSelectorRequired(origin, host, numbers));
      } else if (!numbers.includes(port)) {
        out.push(messages.referencedResourceNotFound(origin, "host:port", `${host}:${port}`));
      }
    };
    for (const d of routeDestinations(vs)) check(d, "host");
    for (const d of mirrorDestinations(vs)) check(d, "mirror host");
  }
  return out;
};
