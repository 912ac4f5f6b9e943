// ServiceEntries (with inline endpoints, or selecting WorkloadEntries) as registry services, the way Istio's
// serviceentry controller converts them: one service per host, one endpoint per workload and service port.
import { isIP } from "node:net";
import type { ServiceEntry, ServicePort as ServiceEntryPort, WorkloadEntry, WorkloadEntrySpec } from "../config/types.js";
import { isUnixAddress, workloadEndpoint } from "./endpoint.js";
import type { IssueCollector } from "./issues.js";
import { selectorMatches } from "./labels.js";
import { parseProtocol } from "./protocol.js";
import type { RegistryService, ServiceEndpoint, ServicePort } from "./types.js";

export function serviceEntryServices(entries: readonly ServiceEntry[], workloads: readonly WorkloadEntry[], issues: IssueCollector): RegistryService[] {
  return entries.flatMap((se) => convertServiceEntry(se, workloads, issues));
}

function convertServiceEntry(se: ServiceEntry, workloads: readonly WorkloadEntry[], issues: IssueCollector): RegistryService[] {
  const spec = se.spec;
  const resolution = spec.resolution ?? "NONE";
  const sePorts = spec.ports ?? [];
  const ports: ServicePort[] = sePorts.map((p) => ({ number: p.number, name: p.name, protocol: parseProtocol(p.protocol ?? "") }));
  const selector = spec.workloadSelector?.labels;

  const endpoints: ServiceEndpoint[] = [];
  if (selector) {
    for (const we of workloads) {
      if (we.metadata.namespace !== se.metadata.namespace || !we.spec.address) continue;
      if (!selectorMatches(selector, we.spec.labels ?? {})) continue;
      endpoints.push(...endpointsOf(we.spec, sePorts, we.metadata.name));
    }
  } else {
    (spec.endpoints ?? []).forEach((ep, i) => {
      if (checkInlineEndpoint(se, ep, i, issues)) endpoints.push(...endpointsOf(ep, sePorts, ""));
    });
  }

  return spec.hosts.map((hostname) => ({
    hostname,
    namespace: se.metadata.namespace,
    ports,
    location: spec.location ?? "MESH_EXTERNAL",
    resolution,
    addresses: [...(spec.addresses ?? [])],
    exportTo: [...(spec.exportTo ?? [])],
    workloadSelector: { ...selector },
    endpoints: endpoints.length > 0 || !resolvesHostByDNS(spec, hostname) ? endpoints : hostAsEndpoints(hostname, sePorts),
    origin: { kind: "ServiceEntry", namespace: se.metadata.namespace, name: se.metadata.name, file: se.source.file, line: se.source.line },
  }));
}

/** The endpoints a workload contributes: one per service port, at the workload's own port for it if it names one. */
function endpointsOf(workload: WorkloadEntrySpec, ports: readonly ServiceEntryPort[], workloadName: string): ServiceEndpoint[] {
  return ports.map((p) => workloadEndpoint(workload, p.number, workload.ports?.[p.name] ?? p.targetPort ?? p.number, workloadName));
}

/** A DNS ServiceEntry without endpoints sends traffic to its host name, resolved by DNS. */
function resolvesHostByDNS(spec: ServiceEntry["spec"], hostname: string): boolean {
  const dns = spec.resolution === "DNS" || spec.resolution === "DNS_ROUND_ROBIN";
  return dns && !spec.workloadSelector && !hostname.startsWith("*");
}

function hostAsEndpoints(hostname: string, ports: readonly ServiceEntryPort[]): ServiceEndpoint[] {
  return ports.map((p) => workloadEndpoint({ address: hostname }, p.number, p.targetPort ?? p.number, ""));
}

/** Istio's Go-side ServiceEntry checks on endpoints that the CRD schema cannot express. */
function checkInlineEndpoint(se: ServiceEntry, ep: WorkloadEntrySpec, index: number, issues: IssueCollector): boolean {
  let ok = true;
  const declared = new Set((se.spec.ports ?? []).map((p) => p.name));
  for (const name of Object.keys(ep.ports ?? {})) {
    if (!declared.has(name)) {
      issues.add(se, ["spec", "endpoints", index, "ports", name], `endpoint port "${name}" is not declared in spec.ports`);
      ok = false;
    }
  }
  const address = ep.address ?? "";
  if (se.spec.resolution === "STATIC" && address !== "" && !isIP(address) && !isUnixAddress(address)) {
    issues.add(se, ["spec", "endpoints", index, "address"], `STATIC resolution needs an IP address or unix:// socket, got "${address}"`);
    ok = false;
  }
  // A network-only endpoint (reached through that network's gateway) has no address to route to here.
  return ok && address !== "";
}
