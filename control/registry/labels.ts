// Label selection and the topology labels Istio adds to every workload's own labels, so that subsets and
// selectors can pick endpoints by locality and network.
import type { Locality } from "./types.js";

/** Every selector label is present with the same value (an empty selector selects everything). */
export function selectorMatches(selector: Readonly<Record<string, string>> | undefined, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(selector ?? {})) if (labels[k] !== v) return false;
  return true;
}

export const LABEL_REGION = "topology.kubernetes.io/region";
export const LABEL_ZONE = "topology.kubernetes.io/zone";
export const LABEL_SUBZONE = "topology.istio.io/subzone";
export const LABEL_NETWORK = "topology.istio.io/network";

/** `us-east1/us-east1-b/rack7` -> region, zone, subzone (missing parts empty). */
export function parseLocality(locality: string | undefined): Locality {
  const [region = "", zone = "", subzone = ""] = (locality ?? "").split("/");
  return { region, zone, subzone };
}

/** The workload's labels plus topology labels for its locality and network (as Istio's AugmentLabels). */
export function augmentLabels(labels: Readonly<Record<string, string>> | undefined, locality: Locality, network: string): Record<string, string> {
  const out: Record<string, string> = { ...labels };
  if (locality.region) out[LABEL_REGION] = locality.region;
  if (locality.zone) out[LABEL_ZONE] = locality.zone;
  if (locality.subzone) out[LABEL_SUBZONE] = locality.subzone;
  if (network) out[LABEL_NETWORK] = network;
  return out;
}
