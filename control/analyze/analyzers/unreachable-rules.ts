// IST0130 / IST0131: VirtualService rules that can never match because earlier rules already take their traffic,
// found as Istio's validation finds them: a rule after a catch-all rule (no match), matches identical to earlier
// ones, and URI prefix matches covered by an earlier, shorter prefix with the same other conditions.
import type { HTTPMatchRequest, StringMatch, VirtualService } from "../../config/types.js";
import type { Analyzer, AnalysisContext } from "../context.js";
import { messages, type AnalysisMessage } from "../messages.js";

interface Rule {
  name?: string;
  match?: readonly unknown[];
}

type Report = { unreachable(rule: string, reason: string): void; ineffective(rule: string, match: string, duplicateOf: string): void };

export const unreachableRules: Analyzer = (ctx) => {
  const out: AnalysisMessage[] = [];
  for (const vs of ctx.config.virtualServices) {
    const report = reporter(ctx, vs, out);
    analyzeRules(vs.spec.http ?? [], true, report);
    analyzeRules(vs.spec.tcp ?? [], false, report);
    analyzeRules(vs.spec.tls ?? [], false, report);
  }
  return out;
};

function reporter(ctx: AnalysisContext, vs: VirtualService, out: AnalysisMessage[]): Report {
  const origin = ctx.origin(vs);
  return {
    unreachable: (rule, reason) => out.push(messages.virtualServiceUnreachableRule(origin, rule, reason)),
    ineffective: (rule, match, dup) => out.push(messages.virtualServiceIneffectiveMatch(origin, rule, match, dup)),
  };
}

/** `"name"` for a named HTTP rule or match, else `#index`. */
function label(item: { name?: unknown } | undefined, index: number, named: boolean): string {
  return named && typeof item?.name === "string" && item.name !== "" ? JSON.stringify(item.name) : `#${index}`;
}

function analyzeRules(rules: readonly Rule[], http: boolean, report: Report): void {
  const seen = new Map<string, number>();
  let catchAll = -1;
  const prefixMatches: PrefixMatch[] = [];
  rules.forEach((rule, ruleIndex) => {
    if (!rule) return;
    const ruleName = label(rule, ruleIndex, http);
    const matches = rule.match ?? [];
    if (matches.length === 0) {
      if (catchAll >= 0) report.unreachable(ruleName, "only the last rule can have no matches");
      catchAll = ruleIndex;
      return;
    }
    let duplicates = 0;
    matches.forEach((match, matchIndex) => {
      if (catchAll >= 0) {
        report.unreachable(ruleName, "route without matches defined before");
        return;
      }
      const key = canonical(match, http);
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        report.ineffective(ruleName, label(match as { name?: unknown }, matchIndex, http), label(rules[earlier], earlier, http));
        duplicates++;
        return;
      }
      seen.set(key, ruleIndex);
      if (http) {
        const p = prefixMatch(match as HTTPMatchRequest, ruleName, label(match as { name?: unknown }, matchIndex, true));
        if (p) prefixMatches.push(p);
      }
    });
    if (duplicates === matches.length) report.unreachable(ruleName, "all matches used by prior rules");
  });
  for (let i = 0; i < prefixMatches.length; i++) {
    for (let j = i + 1; j < prefixMatches.length; j++) {
      const a = prefixMatches[i]!;
      const b = prefixMatches[j]!;
      if (a.prefix === b.prefix || !covers(a, b)) continue;
      report.ineffective(b.rule, `${b.match} of prefix ${b.prefix}`, `${a.match} of prefix ${a.prefix} on ${a.rule}`);
    }
  }
}

/**
 * A match's identity for duplicate detection: its JSON with empty values dropped (as Go's encoder omits them)
 * and keys sorted; an HTTP match's name is not part of what it matches.
 */
function canonical(match: unknown, http: boolean): string {
  const value = http && match && typeof match === "object" ? { ...(match as object), name: undefined } : match;
  return JSON.stringify(normalize(value) ?? null);
}

function normalize(v: unknown): unknown {
  if (v === null || v === undefined || v === false || v === 0 || v === "") return undefined;
  if (Array.isArray(v)) {
    const items = v.map((x) => normalize(x) ?? null);
    return items.length ? items : undefined;
  }
  if (typeof v === "object") {
    const entries = Object.keys(v as object)
      .sort()
      .map((k) => [k, normalize((v as Record<string, unknown>)[k])] as const)
      .filter(([, x]) => x !== undefined);
    return entries.length ? Object.fromEntries(entries) : undefined;
  }
  return v;
}

// ---- overlapping URI prefixes (Istio's OverlappingMatchValidationForHTTPRoute) ----

interface PrefixMatch {
  rule: string;
  match: string;
  prefix: string;
  port: number;
  method: string;
  authority: string;
  headers: Map<string, string>;
  queryParams: Map<string, string>;
  withoutHeaders: Map<string, string>;
}

/** `exact:v` / `prefix:v`, "" for any other kind of match. */
function exactOrPrefix(m: StringMatch | undefined): string {
  if (m?.exact) return `exact:${m.exact}`;
  if (m?.prefix) return `prefix:${m.prefix}`;
  return "";
}

function stringMatches(map: Record<string, StringMatch> | undefined): Map<string, string> {
  return new Map(Object.entries(map ?? {}).map(([k, v]) => [k, exactOrPrefix(v)]));
}

function prefixMatch(m: HTTPMatchRequest | undefined, rule: string, match: string): PrefixMatch | undefined {
  const prefix = m?.uri?.prefix;
  if (!m || !prefix) return undefined;
  return {
    rule,
    match,
    prefix,
    port: m.port ?? 0,
    // Istio's validation treats a match without a method as a GET.
    method: exactOrPrefix(m.method) || "exact:GET",
    authority: exactOrPrefix(m.authority),
    headers: stringMatches(m.headers),
    queryParams: stringMatches(m.queryParams),
    withoutHeaders: stringMatches(m.withoutHeaders),
  };
}

/** Whether the earlier match `a` takes all traffic of the later match `b`. */
function covers(a: PrefixMatch, b: PrefixMatch): boolean {
  if (!b.prefix.startsWith(a.prefix) || a.port !== b.port) return false;
  if (a.method !== b.method && !a.method.startsWith(b.method)) return false;
  if (a.authority !== b.authority && !a.authority.startsWith(b.authority)) return false;
  return mapCovers(a.headers, b.headers) && mapCovers(a.queryParams, b.queryParams) && mapCovers(a.withoutHeaders, b.withoutHeaders);
}

function mapCovers(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const other = b.get(k);
    if (other === undefined || (v !== other && !v.startsWith(other))) return false;
  }
  return true;
}
