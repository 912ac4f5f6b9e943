// The destinations a VirtualService sends traffic to, each with the path of its `host` field.
import type { FieldPath } from "../../config/errors.js";
import type { Destination, VirtualService } from "../../config/types.js";

export interface RouteDestination {
  destination: Destination;
  /** Path of `destination.host` (or `mirror.host`), where messages about it point. */
  hostPath: FieldPath;
}

/** Route destinations in Istio's order: tcp, tls, then http routes. */
export function routeDestinations(vs: VirtualService): RouteDestination[] {
  const out: RouteDestination[] = [];
  for (const kind of ["tcp", "tls", "http"] as const) {
    (vs.spec[kind] ?? []).forEach((rule, i) => {
      (rule.route ?? []).forEach((rd, j) => {
        if (rd?.destination) out.push({ destination: rd.destination, hostPath: ["spec", kind, i, "route", j, "destination", "host"] });
      });
    });
  }
  return out;
}

/** HTTP mirror destinations: the single `mirror` and the `mirrors` list. */
export function mirrorDestinations(vs: VirtualService): RouteDestination[] {
  const out: RouteDestination[] = [];
  (vs.spec.http ?? []).forEach((rule, i) => {
    if (rule.mirror) out.push({ destination: rule.mirror, hostPath: ["spec", "http", i, "mirror", "host"] });
    (rule.mirrors ?? []).forEach((m, j) => {
      if (m?.destination) out.push({ destination: m.destination, hostPath: ["spec", "http", i, "mirrors", j, "destination", "host"] });
    });
  });
  return out;
}
