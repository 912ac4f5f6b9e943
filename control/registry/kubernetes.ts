// Kubernetes Services as registry services (`<name>.<namespace>.svc.cluster.local`), with endpoints from their
// Endpoints object and, as Istio does, from the WorkloadEntries their selector matches.
import type { EndpointSubset, KubernetesEndpoints, KubernetesService, WorkloadEntry } from "../config/types.js";
import { DEFAULT_WEIGHT, workloadEndpoint } from "./endpoint.js";
import { kubernetesServiceHost } from "./hosts.js";
import { selectorMatches } from "./labels.js";
import { kubernetesPortProtocol } from "./protocol.js";
import type { Location, RegistryService, Resolution, ServiceEndpoint, ServicePort } from "./types.js";

/** Istio's annotation restricting a Kubernetes Service's visibility (comma-separated namespaces, `.` or `*`). */
export const EXPORT_TO_ANNOTATION = "networking.istio.io/exportTo";

type KubernetesServicePort = NonNullable<KubernetesService["spec"]["ports"]>[number];

export function kubernetesServices(
  services: readonly KubernetesService[],
  endpoints: readonly KubernetesEndpoints[],
  workloads: readonly WorkloadEntry[],
  domainSuffix: string,
): RegistryService[] {
  return services.map((svc) => {
    const { name, namespace } = svc.metadata;
    const eps = endpoints.find((e) => e.metadata.name === name && e.metadata.namespace === namespace);
    return convertService(svc, eps, workloads, domainSuffix);
  });
}

function convertService(svc: KubernetesService, eps: KubernetesEndpoints | undefined, workloads: readonly WorkloadEntry[], domainSuffix: string): RegistryService {
  const spec = svc.spec;
  const k8sPorts = spec.ports ?? [];
  const ports: ServicePort[] = k8sPorts.map((p) => ({
    number: p.port,
    name: p.name ?? "",
    protocol: kubernetesPortProtocol(p.port, p.name ?? "", p.protocol, p.appProtocol),
  }));
  const external = spec.type === "ExternalName";
  const headless = spec.clusterIP === "None";
  const resolution: Resolution = external ? "DNS" : headless ? "NONE" : "STATIC";
  const location: Location = external ? "MESH_EXTERNAL" : "MESH_INTERNAL";
  const selector = spec.selector ?? {};

  let endpoints: ServiceEndpoint[];
  if (external) {
    endpoints = k8sPorts.map((p) => workloadEndpoint({ address: spec.externalName ?? "" }, p.port, p.port, ""));
  } else {
    // A Service without a selector selects nothing; its endpoints are whatever its Endpoints object lists.
    const selected = Object.keys(selector).length === 0 ? [] : workloads.filter((we) => we.metadata.namespace === svc.metadata.namespace && we.spec.address && selectorMatches(selector, we.spec.labels ?? {}));
    endpoints = selected.flatMap((we) => workloadEntryEndpoints(we, k8sPorts));
    const taken = new Set(endpoints.map((e) => `${e.address}|${e.servicePort}`));
    for (const e of endpointsObjectEndpoints(eps, k8sPorts, selector)) {
      if (!taken.has(`${e.address}|${e.servicePort}`)) endpoints.push(e);
    }
  }

  const annotation = svc.metadata.annotations?.[EXPORT_TO_ANNOTATION];
  return {
    hostname: kubernetesServiceHost(svc.metadata.name, svc.metadata.namespace, domainSuffix),
    namespace: svc.metadata.namespace,
    ports,
    location,
    resolution,
    addresses: spec.clusterIP && !headless ? [spec.clusterIP] : [],
    exportTo: annotation ? annotation.split(",").map((s) => s.trim()).filter((s) => s !== "") : [],
    workloadSelector: { ...selector },
    endpoints,
    origin: { kind: "Service", namespace: svc.metadata.namespace, name: svc.metadata.name, file: svc.source.file, line: svc.source.line },
  };
}

/**
 * A WorkloadEntry selected by a Service serves each service port at: its own port of the same name, else the
 * Service's numeric targetPort, else its own port named by a named targetPort (none: it does not serve the port),
 * else the service port itself.
 */
function workloadEntryEndpoints(we: WorkloadEntry, ports: readonly KubernetesServicePort[]): ServiceEndpoint[] {
  const out: ServiceEndpoint[] = [];
  for (const p of ports) {
    const own = p.name ? we.spec.ports?.[p.name] : undefined;
    let target: number | undefined = own;
    if (target === undefined) {
      if (typeof p.targetPort === "number") target = p.targetPort;
      else if (typeof p.targetPort === "string" && p.targetPort !== "") {
        target = /^\d+$/.test(p.targetPort) ? Number(p.targetPort) : we.spec.ports?.[p.targetPort];
        if (target === undefined) continue;
      } else target = p.port;
    }
    out.push(workloadEndpoint(we.spec, p.port, target, we.metadata.name));
  }
  return out;
}

/**
 * Ready addresses of an Endpoints object. Its ports pair with the Service's by name (a single unnamed port pairs
 * with the single unnamed one). The Kubernetes endpoints controller lists only pods matching the Service's
 * selector, so those labels are what is known of each address.
 */
function endpointsObjectEndpoints(eps: KubernetesEndpoints | undefined, ports: readonly KubernetesServicePort[], selector: Record<string, string>): ServiceEndpoint[] {
  const out: ServiceEndpoint[] = [];
  for (const subset of eps?.subsets ?? []) {
    for (const p of ports) {
      const epPort = matchingEndpointPort(subset, p.name ?? "");
      if (!epPort) continue;
      for (const addr of subset.addresses ?? []) {
        const targetRef = addr.targetRef as { name?: unknown } | undefined;
        out.push({
          address: addr.ip,
          servicePort: p.port,
          port: epPort.port,
          labels: { ...selector },
          serviceAccount: "",
          locality: { region: "", zone: "", subzone: "" },
          weight: DEFAULT_WEIGHT,
          network: "",
          workloadName: typeof targetRef?.name === "string" ? targetRef.name : "",
        });
      }
    }
  }
  return out;
}

function matchingEndpointPort(subset: EndpointSubset, name: string): { port: number } | undefined {
  const ports = subset.ports ?? [];
  return ports.find((ep) => (ep.name ?? "") === name);
}
