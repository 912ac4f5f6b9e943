// What changed between two config versions, in the terms incremental translation needs: the host names whose
// services (registry content) or DestinationRules changed, or that something every proxy class depends on changed.
// Relies on unchanged documents being the same objects across versions (ParseCache + buildConfigSet keep them).
import type { ConfigSet } from "../config/config-set.js";
import type { ConfigDocument } from "../config/load.js";
import type { ServiceRegistry } from "../registry/registry.js";
import type { RegistryService } from "../registry/types.js";

export interface ConfigDelta {
  /** A change every translation may depend on (Sidecar, Gateway, policies, wildcard hosts): rebuild from scratch. */
  classWide: boolean;
  /** Hosts whose registry services or DestinationRule changed; whatever names them is re-translated. */
  hosts: ReadonlySet<string>;
}

/** Kinds whose effect on outbound translation is confined to the hosts they name. */
const REGISTRY_KINDS: ReadonlySet<string> = new Set(["ServiceEntry", "WorkloadEntry", "Service", "Endpoints"]);

/** Documents in exactly one of the two sets (by identity: an edited file's documents are new objects). */
function changedDocuments(prev: ConfigSet, next: ConfigSet): ConfigDocument[] {
  const before = new Set(prev.documents);
  const after = new Set(next.documents);
  const out: ConfigDocument[] = [];
  for (const d of next.documents) if (!before.has(d)) out.push(d);
  for (const d of prev.documents) if (!after.has(d)) out.push(d);
  return out;
}

/** Whether `next` has the same registry inputs as `prev` (no ServiceEntry, WorkloadEntry, Service or Endpoints
 *  added, removed or edited), so `prev`'s registry serves it unchanged. */
export function registryInputsUnchanged(prev: ConfigSet, next: ConfigSet): boolean {
  return !changedDocuments(prev, next).some((d) => REGISTRY_KINDS.has(d.kind));
}

/** Where a service was declared does not change what it translates to. */
const serviceContent = (services: readonly RegistryService[]) => JSON.stringify(services.map((s) => ({ ...s, origin: undefined })));

function byHostname(registry: ServiceRegistry): Map<string, RegistryService[]> {
  const out = new Map<string, RegistryService[]>();
  for (const s of registry.services) {
    const list = out.get(s.hostname);
    if (list) list.push(s);
    else out.set(s.hostname, [s]);
  }
  return out;
}

/** Host names whose registry services differ between the two registries (added, removed or changed). */
function changedServiceHosts(prev: ServiceRegistry, next: ServiceRegistry): Set<string> {
  const a = byHostname(prev);
  const b = byHostname(next);
  const out = new Set<string>();
  for (const [host, services] of b) {
    const old = a.get(host);
    if (!old || serviceContent(old) !== serviceContent(services)) out.add(host);
  }
  for (const host of a.keys()) if (!b.has(host)) out.add(host);
  return out;
}

export function configDelta(prev: ConfigSet, prevRegistry: ServiceRegistry, next: ConfigSet, nextRegistry: ServiceRegistry): ConfigDelta {
  const hosts = new Set<string>();
  const classWide = { classWide: true, hosts };
  if (prevRegistry.domainSuffix !== nextRegistry.domainSuffix) return classWide;
  let registryChanged = false;
  for (const doc of changedDocuments(prev, next)) {
    // A VirtualService is its own unit of translation (by identity); delegates are never reused.
    if (doc.kind === "VirtualService" && doc.info.source === "istio") continue;
    if (doc.kind === "DestinationRule" && doc.info.source === "istio") {
      const host = (doc.object.spec as { host?: unknown } | undefined)?.host;
      if (typeof host !== "string" || host.includes("*")) return classWide;
      hosts.add(nextRegistry.resolveHost(host, doc.namespace));
      continue;
    }
    if (REGISTRY_KINDS.has(doc.kind)) {
      registryChanged = true;
      continue;
    }
    return classWide;
  }
  if (registryChanged) {
    for (const host of changedServiceHosts(prevRegistry, nextRegistry)) {
      // A wildcard service covers other hosts' lookups.
      if (host.includes("*")) return classWide;
      hosts.add(host);
    }
  }
  return { classWide: false, hosts };
}
