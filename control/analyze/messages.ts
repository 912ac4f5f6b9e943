// Analysis messages with istioctl's codes, levels and wording (Istio's pkg/config/analysis/msg/messages.yaml),
// printed as istioctl prints them: `Error [IST0101] (VirtualService ns/name file:line) Referenced ...`.

export type Level = "Error" | "Warning" | "Info";

const LEVEL_ORDER: Record<Level, number> = { Error: 0, Warning: 1, Info: 2 };

/** The resource a message is about, and the line it points at. */
export interface Origin {
  kind: string;
  namespace: string;
  name: string;
  file: string;
  line: number;
}

export interface AnalysisMessage {
  code: string;
  level: Level;
  text: string;
  origin: Origin;
}

export const DOCUMENTATION_BASE = "https://istio.io/latest/docs/reference/config/analysis";

/** Go's %q for the strings these messages quote. */
const quote = (s: string) => JSON.stringify(s);

const message = (code: string, level: Level, text: string, origin: Origin): AnalysisMessage => ({ code, level, text, origin });

export const messages = {
  referencedResourceNotFound: (o: Origin, refType: string, refValue: string) =>
    message("IST0101", "Error", `Referenced ${refType} not found: ${quote(refValue)}`, o),
  conflictingMeshGatewayVirtualServiceHosts: (o: Origin, virtualServices: string, host: string) =>
    message(
      "IST0109",
      "Error",
      `The VirtualServices ${virtualServices} associated with mesh gateway define the same host ${host} which can lead to undefined behavior. This can be fixed by merging the conflicting VirtualServices into a single resource.`,
      o,
    ),
  virtualServiceDestinationPortSelectorRequired: (o: Origin, host: string, ports: readonly number[]) =>
    message(
      "IST0112",
      "Error",
      `This VirtualService routes to a service ${quote(host)} that exposes multiple ports [${ports.join(" ")}]. Specifying a port in the destination is required to disambiguate.`,
      o,
    ),
  virtualServiceUnreachableRule: (o: Origin, rule: string, reason: string) =>
    message("IST0130", "Warning", `VirtualService rule ${rule} not used (${reason}).`, o),
  virtualServiceIneffectiveMatch: (o: Origin, rule: string, match: string, duplicateOf: string) =>
    message("IST0131", "Info", `VirtualService rule ${rule} match ${match} is not used (duplicate/overlapping match in rule ${duplicateOf}).`, o),
  conflictingGateways: (o: Origin, gateways: string, selector: string, port: string, hosts: string) =>
    message("IST0145", "Error", `Conflict with gateways ${gateways} (workload selector ${selector}, port ${port}, hosts ${hosts}).`, o),
  destinationRuleSubsetNotSelectPods: (o: Origin, subset: string) =>
    message("IST0173", "Error", `The Subset ${subset} defined in the DestinationRule does not select any pods. Which may lead to 503 UH (NoHealthyUpstream).`, o),
  unknownDestinationRuleHost: (o: Origin, host: string) =>
    message("IST0174", "Warning", `The host ${host} defined in the DestinationRule does not match any services in the mesh.`, o),
};

export function originName(o: Origin): string {
  return `${o.kind} ${o.namespace}/${o.name}`;
}

export function originReference(o: Origin): string {
  return `${o.file}:${o.line}`;
}

/** istioctl's log format. */
export function formatMessage(m: AnalysisMessage): string {
  return `${m.level} [${m.code}] (${originName(m.origin)} ${originReference(m.origin)}) ${m.text}`;
}

/** istioctl's JSON shape for one message (keys in the order Go's encoder writes a map: sorted). */
export function messageJSON(m: AnalysisMessage): Record<string, string> {
  return {
    code: m.code,
    documentationUrl: `${DOCUMENTATION_BASE}/${m.code.toLowerCase()}/`,
    level: m.level,
    message: m.text,
    origin: originName(m.origin),
    reference: originReference(m.origin),
  };
}

/** istioctl's order (level, code, resource, text) without duplicates. */
export function sortAndDedupe(list: readonly AnalysisMessage[]): AnalysisMessage[] {
  const sorted = [...list].sort(
    (a, b) =>
      LEVEL_ORDER[a.level] - LEVEL_ORDER[b.level] ||
      compare(a.code, b.code) ||
      compare(originName(a.origin), originName(b.origin)) ||
      compare(formatMessage(a), formatMessage(b)),
  );
  return sorted.filter((m, i) => i === 0 || formatMessage(m) !== formatMessage(sorted[i - 1]!));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
