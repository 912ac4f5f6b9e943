// `x-kubernetes-validations` rules: CEL evaluated with @bufbuild/cel, `self` bound to the value at the rule's
// node (no `oldSelf`: validate has no previous object), plus the Kubernetes CEL library functions the Istio
// CRDs use. Values are converted the way the API server types them: schema integers become CEL ints.
import {
  celEnv,
  celError,
  celFunc,
  celMethod,
  CelScalar,
  isCelError,
  mapType,
  parse,
  plan,
  type CelEnv,
  type CelFunc,
  type CelMap,
  type CelResult,
} from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";
import { RE2JS } from "re2js";
import { parseRequestURI, URLParseError, type ParsedURL } from "./k8s-url.js";
import type { CelRule, Schema } from "./schema-types.js";

/** Kubernetes' per-expression runtime cost limit. */
export const RULE_COST_LIMIT = 1_000_000;
/** Kubernetes' per-object budget across all rules. */
export const DOCUMENT_COST_LIMIT = 10_000_000;

const URL_MARKER = "@halyard/url";
const URL_TYPE = mapType(CelScalar.STRING, CelScalar.DYN);

function urlValue(s: string): Map<string, string> {
  let u: ParsedURL;
  try {
    u = parseRequestURI(s);
  } catch (e) {
    throw e instanceof URLParseError ? new Error(`URL parse error during conversion from string: ${e.message}`) : e;
  }
  return new Map([
    [URL_MARKER, "1"],
    ["scheme", u.scheme],
    ["host", u.host],
    ["hostname", u.hostname],
    ["port", u.port],
    ["escapedPath", u.escapedPath],
    ["query", u.rawQuery],
  ]);
}

function urlField(m: CelMap, field: string): string {
  if (m.get(URL_MARKER) !== "1") throw new Error(`no such overload: ${field} on a non-URL value`);
  return String(m.get(field) ?? "");
}

const kubernetesLibrary: CelFunc[] = [
  celFunc("url", [CelScalar.STRING], URL_TYPE, (s) => urlValue(s)),
  celFunc("isURL", [CelScalar.STRING], CelScalar.BOOL, (s) => {
    try {
      parseRequestURI(s);
      return true;
    } catch {
      return false;
    }
  }),
  celMethod("getScheme", URL_TYPE, [], CelScalar.STRING, function () {
    return urlField(this, "scheme");
  }),
  celMethod("getHost", URL_TYPE, [], CelScalar.STRING, function () {
    return urlField(this, "host");
  }),
  celMethod("getHostname", URL_TYPE, [], CelScalar.STRING, function () {
    return urlField(this, "hostname");
  }),
  celMethod("getPort", URL_TYPE, [], CelScalar.STRING, function () {
    return urlField(this, "port");
  }),
  celMethod("getEscapedPath", URL_TYPE, [], CelScalar.STRING, function () {
    return urlField(this, "escapedPath");
  }),
];

let env: CelEnv | undefined;
function celEnvironment(): CelEnv {
  // `matches()` uses RE2 syntax and semantics, as in Kubernetes.
  env ??= celEnv({ funcs: [...strings, ...kubernetesLibrary], re2: { compile: (pattern) => RE2JS.compile(pattern) } });
  return env;
}

interface CompiledExpr {
  run: (bindings: { self: unknown }) => CelResult;
  /** Rough size of the expression and how deeply its comprehensions may nest; feed the cost estimate. */
  size: number;
  comprehensions: number;
}

const compiled = new Map<string, CompiledExpr | Error>();

function compile(source: string): CompiledExpr | Error {
  let c = compiled.get(source);
  if (c) return c;
  try {
    const run = plan(celEnvironment(), parse(source)) as CompiledExpr["run"];
    c = {
      run,
      size: source.split(/[^\w"']+/).filter(Boolean).length + 1,
      comprehensions: (source.match(/\.\s*(all|exists|exists_one|map|filter)\s*\(/g) ?? []).length,
    };
  } catch (e) {
    c = e instanceof Error ? e : new Error(String(e));
  }
  compiled.set(source, c);
  return c;
}

/** Converts plain data to CEL input, typed by the schema the way the API server does. */
export function toCel(value: unknown, schema: Schema | undefined): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === "number") {
    const wantsInt = schema?.type === "integer" || (schema?.type === undefined && Number.isInteger(value));
    return wantsInt && Number.isInteger(value) ? BigInt(value) : value;
  }
  if (Array.isArray(value)) return value.map((v) => toCel(v, schema?.items));
  if (typeof value === "object") {
    const m = new Map<string, unknown>();
    const extra = typeof schema?.additionalProperties === "object" ? schema.additionalProperties : undefined;
    for (const [k, v] of Object.entries(value)) m.set(k, toCel(v, schema?.properties?.[k] ?? extra));
    return m;
  }
  return value;
}

/** Largest collection anywhere in the value: the iteration count a comprehension over it can reach. */
function largestCollection(value: unknown, depth = 0): number {
  if (depth > 32 || value === null || typeof value !== "object") return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  let max = children.length;
  for (const c of children) max = Math.max(max, largestCollection(c, depth + 1));
  return max;
}

export interface RuleBudget {
  remaining: number;
}

export type RuleOutcome = { ok: true } | { ok: false; message: string };

/** Evaluates one rule against `value` (plain data at the rule's node, typed by `schema`). */
export function evaluateRule(rule: CelRule, value: unknown, schema: Schema, budget: RuleBudget): RuleOutcome {
  const expr = compile(rule.rule);
  if (expr instanceof Error) return { ok: false, message: `invalid validation rule ${JSON.stringify(rule.rule)}: ${expr.message}` };
  const n = largestCollection(value);
  const cost = expr.size * Math.pow(n + 1, expr.comprehensions);
  if (cost > RULE_COST_LIMIT) {
    return { ok: false, message: `validation rule too expensive for this value (estimated cost ${Math.round(cost)} exceeds ${RULE_COST_LIMIT}): ${ruleMessage(rule)}` };
  }
  if (cost > budget.remaining) {
    return { ok: false, message: `validation rules for this object exceed the evaluation budget of ${DOCUMENT_COST_LIMIT}` };
  }
  budget.remaining -= cost;
  const self = toCel(value, schema);
  const result = safeRun(expr, self);
  if (isCelError(result)) return { ok: false, message: `${failureMessage(rule, self)} (rule evaluation failed: ${result.message})` };
  if (result === true) return { ok: true };
  if (result === false) return { ok: false, message: failureMessage(rule, self) };
  return { ok: false, message: `validation rule ${JSON.stringify(rule.rule)} must evaluate to a bool` };
}

function safeRun(expr: CompiledExpr, self: unknown): CelResult {
  try {
    return expr.run({ self });
  } catch (e) {
    return celError(e);
  }
}

function failureMessage(rule: CelRule, self: unknown): string {
  if (rule.messageExpression) {
    const expr = compile(rule.messageExpression);
    if (!(expr instanceof Error)) {
      const msg = safeRun(expr, self);
      if (typeof msg === "string" && msg.trim() !== "" && !msg.includes("\n")) return msg;
    }
  }
  return ruleMessage(rule);
}

function ruleMessage(rule: CelRule): string {
  return rule.message ?? `failed rule: ${rule.rule.replace(/\s+/g, " ")}`;
}
