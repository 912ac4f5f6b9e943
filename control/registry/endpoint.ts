// A WorkloadEntry (standalone, or inline in a ServiceEntry) as the endpoint of one service port.
import type { WorkloadEntrySpec } from "../config/types.js";
import { augmentLabels, parseLocality } from "./labels.js";
import type { ServiceEndpoint } from "./types.js";

/** Envoy's load-balancing weight when none is given. */
export const DEFAULT_WEIGHT = 1;

export function isUnixAddress(address: string): boolean {
  return address.startsWith("unix://");
}

export function workloadEndpoint(workload: WorkloadEntrySpec, servicePort: number, targetPort: number, workloadName: string): ServiceEndpoint {
  const address = workload.address ?? "";
  const locality = parseLocality(workload.locality);
  const network = workload.network ?? "";
  return {
    address,
    servicePort,
    // A Unix domain socket has no port.
    port: isUnixAddress(address) ? 0 : targetPort,
    labels: augmentLabels(workload.labels, locality, network),
    serviceAccount: workload.serviceAccount ?? "",
    locality,
    weight: workload.weight && workload.weight > 0 ? workload.weight : DEFAULT_WEIGHT,
    network,
    workloadName,
  };
}
