// Building blocks of Istio's Go-side validation: host names, ports, durations, IPs, regexes, header names.
// Each returns an error message, or undefined when the value is fine.
import { isIP } from "node:net";
import { RE2JS } from "re2js";
import type { FieldPath, Issue } from "../errors.js";

/** Collects issues under a base path: `report(["spec", "hosts", 0], message)`. */
export class Issues {
  readonly list: Issue[] = [];
  add(path: FieldPath, message: string | undefined): void {
    if (message !== undefined) this.list.push({ path, message });
  }
}

export type Obj = Record<string, unknown>;

export function obj(v: unknown): Obj | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : undefined;
}
export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
export function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}
export function num(v: unknown): number {
  return typeof v === "number" ? v : 0;
}

// Istio's label format tolerates upper case (pkg/config/labels).
const DNS1123_LABEL = /^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const WILDCARD_LABEL = /^(?:\*|(?:\*|\*-)?[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)$/;

export function isDNS1123Label(s: string): boolean {
  return s.length <= 63 && DNS1123_LABEL.test(s);
}

function dnsPreconditions(domain: string): string | undefined {
  if (domain.length === 0) return "empty domain name not allowed";
  if (domain.length > 255) return `domain name ${JSON.stringify(domain)} too long (max 255)`;
  return undefined;
}

function dns1123Labels(whole: string, domain: string): string | undefined {
  const labels = domain.split(".");
  const tld = labels[labels.length - 1]!;
  if (/^[0-9]+$/.test(tld)) return `domain name ${JSON.stringify(whole)} invalid (top level domain ${JSON.stringify(tld)} cannot be all-numeric)`;
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (i === labels.length - 1 && label === "") continue; // trailing dot
    if (!isDNS1123Label(label)) return `domain name ${JSON.stringify(whole)} invalid (label ${JSON.stringify(label)} invalid)`;
  }
  return undefined;
}

export function validateFQDN(fqdn: string): string | undefined {
  return dnsPreconditions(fqdn) ?? dns1123Labels(fqdn, fqdn);
}

/** A host that may carry a wildcard in its first label: `*`, `*.example.com`, `*x`, `reviews`. */
export function validateWildcardDomain(domain: string): string | undefined {
  const pre = dnsPreconditions(domain);
  if (pre) return pre;
  const dot = domain.indexOf(".");
  const first = dot < 0 ? domain : domain.slice(0, dot);
  if (first.length > 63 || !WILDCARD_LABEL.test(first)) return `domain name ${JSON.stringify(domain)} invalid (label ${JSON.stringify(first)} invalid)`;
  return dot < 0 ? undefined : dns1123Labels(domain, domain.slice(dot + 1));
}

/** `namespace/host` as Gateway servers and Sidecar egress list hosts; Gateways also accept a bare host. */
export function validateNamespaceSlashHost(host: string, isGateway: boolean): string | undefined {
  const slash = host.indexOf("/");
  if (slash < 0) {
    if (isGateway) return validateWildcardDomain(host);
    return `host ${JSON.stringify(host)} must be of the form namespace/dnsName`;
  }
  const ns = host.slice(0, slash);
  const name = host.slice(slash + 1);
  if (ns === "" || name === "") return `namespace and host name in ${JSON.stringify(host)} must not be empty`;
  const nsOk = ns === "*" || ns === "." || (!isGateway && ns === "~") || isDNS1123Label(ns);
  if (!nsOk) return `invalid namespace ${JSON.stringify(ns)} in host ${JSON.stringify(host)}`;
  return name === "*" ? undefined : validateWildcardDomain(name);
}

export function validatePort(port: number): string | undefined {
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? undefined : `port number ${port} must be in the range 1..65535`;
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, "μs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds of a Go/CEL duration (`1h30m`, `0.5s`, `250ms`), or undefined if it is not one. */
export function parseDurationMs(s: string): number | undefined {
  const m = /^([-+]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/.exec(s);
  if (!m) return s === "0" ? 0 : undefined;
  let total = 0;
  for (const part of s.replace(/^[-+]/, "").matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    total += Number(part[1]) * DURATION_UNITS[part[2]!]!;
  }
  return m[1] === "-" ? -total : total;
}

/** Istio's duration rule: at least 1ms, whole milliseconds. */
export function validateDuration(s: string): string | undefined {
  const ms = parseDurationMs(s);
  if (ms === undefined) return `invalid duration ${JSON.stringify(s)} (examples: 250ms, 5s, 1m30s)`;
  if (ms < 1) return `duration ${s} must be at least 1ms`;
  if (Math.abs(ms - Math.round(ms)) > 1e-9) return `duration ${s} must be a whole number of milliseconds`;
  return undefined;
}

export function validateIPOrCIDR(s: string): string | undefined {
  const slash = s.indexOf("/");
  if (slash < 0) return isIP(s) ? undefined : `bad IP address ${JSON.stringify(s)}`;
  const ip = s.slice(0, slash);
  const bits = s.slice(slash + 1);
  const family = isIP(ip);
  const max = family === 4 ? 32 : 128;
  if (!family || !/^\d{1,3}$/.test(bits) || Number(bits) > max) return `bad CIDR range ${JSON.stringify(s)}`;
  return undefined;
}

/** RE2 syntax, as Envoy compiles it. Halyard's data plane uses its own engine with the same syntax. */
export function validateRegex(re: string): string | undefined {
  if (re === "") return "regex must not be empty";
  if (re.length > 1024) return "regex is too large, max length allowed is 1024";
  try {
    RE2JS.compile(re);
    return undefined;
  } catch (e) {
    return `invalid RE2 regex: ${e instanceof Error ? e.message : String(e)}`;
  }
}

const HEADER_NAME = /^[-_A-Za-z0-9]+$/;

export function validateHeaderName(name: string): string | undefined {
  if (name === "") return "header name must not be empty";
  return HEADER_NAME.test(name) ? undefined : `header name ${JSON.stringify(name)} is not a valid header name`;
}

const PROTOCOLS: Record<string, "http" | "tls" | "tcp" | "udp"> = {
  http: "http",
  http2: "http",
  http_proxy: "http",
  grpc: "http",
  "grpc-web": "http",
  https: "tls",
  tls: "tls",
  tcp: "tcp",
  mongo: "tcp",
  redis: "tcp",
  mysql: "tcp",
  udp: "udp",
};

/** Istio protocol names (case-insensitive) and their family, or undefined if unsupported. */
export function protocolFamily(protocol: string): "http" | "tls" | "tcp" | "udp" | undefined {
  return PROTOCOLS[protocol.toLowerCase()];
}

export function validateLabels(labels: unknown): string | undefined {
  for (const [k, v] of Object.entries(obj(labels) ?? {})) {
    if (k === "") return "label keys must not be empty";
    if (k.includes("*") || str(v).includes("*")) return `wildcard is not supported in labels: ${k}=${str(v)}`;
  }
  return undefined;
}
