// Which apiVersion/kind pairs Halyard accepts: every served version of every Istio CRD, plus the Kubernetes kinds
// the service registry reads.
import { crdVersion } from "./crds.js";
import { endpointsSchema, serviceSchema } from "./k8s-schemas.js";
import type { Schema } from "./schema-types.js";

export interface KindInfo {
  group: string;
  version: string;
  kind: string;
  source: "istio" | "kubernetes";
  namespaced: boolean;
  /** Root schema; its `properties` cover everything but apiVersion, kind and metadata. */
  schema: Schema;
}

const KUBERNETES: KindInfo[] = [
  { group: "", version: "v1", kind: "Service", source: "kubernetes", namespaced: true, schema: serviceSchema },
  { group: "", version: "v1", kind: "Endpoints", source: "kubernetes", namespaced: true, schema: endpointsSchema },
];

export function lookupKind(apiVersion: string, kind: string): KindInfo | undefined {
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  const k8s = KUBERNETES.find((k) => k.group === group && k.version === version && k.kind === kind);
  if (k8s) return k8s;
  const crd = crdVersion(group, version, kind);
  return crd && { ...crd, source: "istio" };
}
