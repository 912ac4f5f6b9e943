// What `halyard x check` prints: the decision read off what the real filters did (headers the router would
// read, local responses, properties), as JSON or as a short summary; and counts over many samples.
import type { HeaderMap } from "../../wasm/host/index.js";
import { clusterHost } from "../translate/destinations.js";
import type { EngineRouteConfig } from "../translate/engine-config.js";
import type { Observation } from "./xcheck-chain.js";

export type Outcome = "route" | "redirect" | "direct_response" | "abort" | "deny" | "no_route" | "error";

export interface HeaderChanges {
  set?: Record<string, string>;
  removed?: string[];
}

export interface CheckResult {
  outcome: Outcome;
  status?: number;
  grpcStatus?: number;
  /** Why a filter answered locally when it is not one of the outcomes above (e.g. a trapped filter). */
  details?: string;
  route?: string;
  cluster?: string;
  host?: string;
  path?: string;
  authority?: string;
  timeoutMs?: number;
  retries?: { attempts: number; perTryTimeoutMs?: number; retryOn?: string; retriableStatusCodes?: number[] };
  delayMs?: number;
  mirrors?: string[];
  requestHeaders?: HeaderChanges;
  responseHeaders?: HeaderChanges;
  location?: string;
  /** Present when halyard.jwt or halyard.authz ran: the caller identity the filters were shown. */
  principal?: string;
  /** `<iss>/<sub>` of the token halyard.jwt verified. */
  requestPrincipal?: string;
  /** The AuthorizationPolicy rule that decided (allowed by an ALLOW rule, denied by a DENY/CUSTOM rule). */
  policy?: { namespace: string; name: string; rule: number };
  /** Why a security filter denied: its response body (`Jwt is expired`, `RBAC: access denied`). */
  reason?: string;
}

export interface SampleSummary {
  samples: number;
  outcomes: Partial<Record<Outcome, number>>;
  clusters: Record<string, number>;
  delayed: number;
}

/** Headers only the router reads: reported as cluster / timeout / retries, not as header changes. */
const ROUTER_INPUTS = new Set([
  "x-halyard-cluster",
  "x-envoy-upstream-rq-timeout-ms",
  "x-envoy-upstream-rq-per-try-timeout-ms",
  "x-envoy-max-retries",
  "x-envoy-retry-on",
  "x-envoy-retriable-status-codes",
]);

const get = (h: HeaderMap, name: string) => h.find(([k]) => k === name)?.[1];

function diff(before: HeaderMap, after: HeaderMap, skip: (name: string) => boolean): HeaderChanges | undefined {
  const set: Record<string, string> = {};
  const removed: string[] = [];
  const afterNames = new Set(after.map(([k]) => k));
  for (const [k, v] of after) {
    if (skip(k)) continue;
    const old = before.filter(([b]) => b === k).map(([, bv]) => bv);
    if (!old.includes(v) || after.filter(([a]) => a === k).length > old.length) set[k] = v;
  }
  for (const [k] of before) if (!skip(k) && !afterNames.has(k) && !removed.includes(k)) removed.push(k);
  if (Object.keys(set).length === 0 && removed.length === 0) return undefined;
  return { ...(Object.keys(set).length ? { set } : {}), ...(removed.length ? { removed } : {}) };
}

/** Names the route config's response operations remove anywhere: put on the probe response to see them go. */
export function responseRemovals(config: EngineRouteConfig): string[] {
  const names = new Set<string>();
  for (const vh of config.virtual_hosts) {
    for (const r of vh.routes) {
      for (const n of r.headers?.response?.remove ?? []) names.add(n);
      for (const d of r.route ?? []) for (const n of d.headers?.response?.remove ?? []) names.add(n);
    }
  }
  return [...names];
}

/**
 * The configured delay of the route the filters matched. The fault filter says only that it delayed (DI);
 * route matching is deterministic, so the route the route filter names is the one the fault filter drew for.
 */
function delayOf(config: EngineRouteConfig, obs: Observation): number | undefined {
  if (obs.route.virtual_host === undefined) {
    // A filter build that records no decision metadata: only a delay the whole config agrees on can be named.
    const all = new Set(config.virtual_hosts.flatMap((v) => v.routes.flatMap((r) => (r.fault?.delay ? [r.fault.delay.fixed_delay_ms] : []))));
    return all.size === 1 ? [...all][0] : undefined;
  }
  const vh = config.virtual_hosts.find((v) => v.name === obs.route.virtual_host);
  const name = obs.route.name ?? "";
  const candidates = (vh?.routes ?? []).filter((r) => {
    const base = r.name ?? "";
    return name === base || (base !== "" && name.startsWith(`${base}.`)) || (base === "" && (r.match ?? []).some((m) => m.name === name));
  });
  return candidates.find((r) => r.fault?.delay)?.fault?.delay?.fixed_delay_ms;
}

/** `ns/name#3` → its parts (names cannot contain `/` or `#`). */
function parsePolicy(text: string): CheckResult["policy"] {
  const m = /^([^/]+)\/([^#]+)#(\d+)$/.exec(text);
  return m ? { namespace: m[1]!, name: m[2]!, rule: Number(m[3]) } : undefined;
}

function securityKeys(obs: Observation): Partial<CheckResult> {
  const s = obs.security;
  if (!s) return {};
  const policy = s.policy !== undefined ? parsePolicy(s.policy) : undefined;
  return {
    ...(s.principal !== undefined ? { principal: s.principal } : {}),
    ...(s.requestPrincipal !== undefined ? { requestPrincipal: s.requestPrincipal } : {}),
    ...(policy ? { policy } : {}),
  };
}

export function checkResult(obs: Observation, config: EngineRouteConfig): CheckResult {
  const base: Partial<CheckResult> = {};
  if (obs.route.name) base.route = obs.route.name;
  if (obs.delayed) {
    const ms = delayOf(config, obs);
    if (ms !== undefined) base.delayMs = ms;
  }
  const local = obs.local;
  if (local && (local.by === "jwt" || local.by === "authz")) {
    // 401/403 from halyard.jwt (Envoy's jwt_authn texts) or 403 from halyard.authz; 400 for an unnormalizable path.
    const denied = local.status === 401 || local.status === 403;
    return {
      outcome: denied ? "deny" : "error",
      status: local.status,
      details: local.details,
      ...(local.body.length > 0 ? { reason: new TextDecoder().decode(local.body) } : {}),
      ...base,
      ...securityKeys(obs),
    };
  }
  if (local) {
    const location = get(local.headers, "location");
    const setByResponse = diff([], local.headers, (k) => k === "location" || k === "content-type" || k === "content-length");
    let outcome: Outcome;
    if (local.by === "fault") outcome = local.details === "fault_filter_abort" ? "abort" : "error";
    else if (local.details === "route_not_found") outcome = "no_route";
    else if (local.details === "direct_response") outcome = location !== undefined ? "redirect" : "direct_response";
    else if (local.details === "cors_response") outcome = "direct_response";
    else outcome = local.status === 403 ? "deny" : "error";
    return {
      outcome,
      status: local.status,
      ...(local.grpcStatus !== undefined && outcome === "abort" ? { grpcStatus: local.grpcStatus } : {}),
      ...(outcome === "error" ? { details: local.details } : {}),
      ...base,
      ...(location !== undefined ? { location } : {}),
      ...(setByResponse && outcome !== "abort" && outcome !== "no_route" ? { responseHeaders: setByResponse } : {}),
      ...securityKeys(obs),
    };
  }

  const h = obs.requestAfter;
  const cluster = get(h, "x-halyard-cluster") ?? obs.route.cluster ?? "";
  const out: CheckResult = { outcome: "route", ...base, cluster };
  const host = clusterHost(cluster);
  if (host !== undefined) out.host = host;
  out.path = get(h, ":path") ?? "";
  out.authority = get(h, ":authority") ?? "";
  const timeout = get(h, "x-envoy-upstream-rq-timeout-ms");
  if (timeout !== undefined) out.timeoutMs = Number(timeout);
  const attempts = get(h, "x-envoy-max-retries");
  if (attempts !== undefined) {
    out.retries = { attempts: Number(attempts) };
    const perTry = get(h, "x-envoy-upstream-rq-per-try-timeout-ms");
    if (perTry !== undefined) out.retries.perTryTimeoutMs = Number(perTry);
    const on = get(h, "x-envoy-retry-on");
    if (on !== undefined) out.retries.retryOn = on;
    const codes = get(h, "x-envoy-retriable-status-codes");
    if (codes) out.retries.retriableStatusCodes = codes.split(",").map(Number);
  }
  if (obs.mirrors.length > 0) out.mirrors = [...obs.mirrors];
  const request = diff(obs.requestBefore, h, (k) => k.startsWith(":") || ROUTER_INPUTS.has(k));
  if (request) out.requestHeaders = request;
  if (obs.responseBefore && obs.responseAfter) {
    const response = diff(obs.responseBefore, obs.responseAfter, (k) => k.startsWith(":"));
    if (response) out.responseHeaders = response;
  }
  return Object.assign(out, securityKeys(obs));
}

export class SampleCounter {
  readonly summary: SampleSummary = { samples: 0, outcomes: {}, clusters: {}, delayed: 0 };

  add(r: CheckResult): void {
    const s = this.summary;
    s.samples++;
    s.outcomes[r.outcome] = (s.outcomes[r.outcome] ?? 0) + 1;
    if (r.cluster) s.clusters[r.cluster] = (s.clusters[r.cluster] ?? 0) + 1;
    if (r.delayMs !== undefined) s.delayed++;
  }
}

// ---- human-readable ----

function headerLines(label: string, c: HeaderChanges | undefined): string[] {
  if (!c) return [];
  const parts = [...Object.entries(c.set ?? {}).map(([k, v]) => `${k}: ${v}`), ...(c.removed ?? []).map((k) => `-${k}`)];
  return [`${label}${parts.join(", ")}`];
}

export function formatResult(r: CheckResult): string {
  const lines: string[] = [];
  const pad = (k: string) => `${k}:`.padEnd(18);
  let head = r.outcome;
  if (r.status !== undefined) head += ` ${r.status}`;
  if (r.grpcStatus !== undefined) head += ` (grpc-status ${r.grpcStatus})`;
  if (r.details) head += ` (${r.details})`;
  lines.push(`${pad("outcome")}${head}`);
  if (r.route) lines.push(`${pad("route")}${r.route}`);
  if (r.delayMs !== undefined) lines.push(`${pad("delay")}${r.delayMs} ms (fault injected)`);
  if (r.location) lines.push(`${pad("location")}${r.location}`);
  if (r.cluster) lines.push(`${pad("cluster")}${r.cluster}`);
  if (r.host) lines.push(`${pad("host")}${r.host}`);
  if (r.outcome === "route") lines.push(`${pad("upstream request")}${r.authority}${r.path}`);
  if (r.timeoutMs !== undefined) lines.push(`${pad("timeout")}${r.timeoutMs === 0 ? "none" : `${r.timeoutMs} ms`}`);
  if (r.retries) {
    const t = r.retries;
    lines.push(
      `${pad("retries")}${t.attempts === 0 ? "none" : `${t.attempts}${t.perTryTimeoutMs ? `, ${t.perTryTimeoutMs} ms per try` : ""}${t.retryOn ? `, on ${t.retryOn}` : ""}${t.retriableStatusCodes ? ` (codes ${t.retriableStatusCodes.join(",")})` : ""}`}`,
    );
  }
  if (r.mirrors) lines.push(`${pad("mirrors")}${r.mirrors.join(", ")}`);
  if (r.reason) lines.push(`${pad("reason")}${r.reason}`);
  if (r.principal) lines.push(`${pad("principal")}${r.principal}`);
  if (r.requestPrincipal) lines.push(`${pad("jwt principal")}${r.requestPrincipal}`);
  if (r.policy) lines.push(`${pad("policy")}${r.policy.namespace}/${r.policy.name} rule ${r.policy.rule}`);
  lines.push(...headerLines(pad("request headers"), r.requestHeaders));
  lines.push(...headerLines(pad("response headers"), r.responseHeaders));
  return lines.join("\n") + "\n";
}

export function formatSummary(s: SampleSummary): string {
  const pct = (n: number) => `${((100 * n) / s.samples).toFixed(1)}%`;
  const rows = (m: Record<string, number>) =>
    Object.entries(m)
      .sort(([, a], [, b]) => b - a)
      .map(([k, n]) => `  ${String(n).padStart(7)}  ${pct(n).padStart(6)}  ${k}`);
  return [
    `${s.samples} samples`,
    "outcomes:",
    ...rows(s.outcomes as Record<string, number>),
    ...(Object.keys(s.clusters).length ? ["clusters:", ...rows(s.clusters)] : []),
    `delayed: ${s.delayed} (${pct(s.delayed)})`,
    "",
  ].join("\n");
}
