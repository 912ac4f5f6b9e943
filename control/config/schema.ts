// Structural-schema validation: the OpenAPI v3 subset Kubernetes CRDs use, including `x-kubernetes-*`
// extensions and CEL rules, applied to one document against its kind's schema (Istio's CRDs, vendored).
import { RE2JS } from "re2js";
import { DOCUMENT_COST_LIMIT, evaluateRule, type RuleBudget } from "./cel.js";
import type { FieldPath, Issue } from "./errors.js";
import type { KindInfo } from "./kinds.js";
import { metadataSchema } from "./metadata-schema.js";
import type { Schema } from "./schema-types.js";

export interface SchemaIssue extends Issue {
  /** Set when a CEL rule (rather than the structure) rejected the value. */
  rule?: boolean;
}

interface Walk {
  out: SchemaIssue[];
  /** Inside oneOf/anyOf/allOf/not: only value constraints count; no unknown-field checks, defaults or CEL. */
  branch: boolean;
  budget: RuleBudget;
}

const rootSchemas = new WeakMap<KindInfo, Schema>();

/** The kind's schema with the fields every Kubernetes object has. */
function rootSchemaOf(info: KindInfo): Schema {
  let s = rootSchemas.get(info);
  if (!s) {
    s = {
      ...info.schema,
      type: "object",
      required: [...new Set(["apiVersion", "kind", "metadata", ...(info.schema.required ?? [])])],
      properties: { ...info.schema.properties, apiVersion: { type: "string" }, kind: { type: "string" }, metadata: metadataSchema },
    };
    rootSchemas.set(info, s);
  }
  return s;
}

/**
 * Validates a whole document (apiVersion/kind/metadata/spec...) against its kind's schema. Applies schema
 * defaults to `object` in place, as the API server would before storing it.
 */
export function validateDocumentSchema(object: Record<string, unknown>, info: KindInfo): SchemaIssue[] {
  const walk: Walk = { out: [], branch: false, budget: { remaining: DOCUMENT_COST_LIMIT } };
  check(object, rootSchemaOf(info), [], walk);
  return walk.out;
}

/** Validates a value against any schema (for tests and callers with their own schemas). */
export function validateValue(value: unknown, schema: Schema, path: FieldPath = []): SchemaIssue[] {
  const walk: Walk = { out: [], branch: false, budget: { remaining: DOCUMENT_COST_LIMIT } };
  check(value, schema, path, walk);
  return walk.out;
}

function check(value: unknown, schema: Schema, path: FieldPath, w: Walk): void {
  const before = w.out.length;
  const issue = (message: string, at: FieldPath = path) => w.out.push({ path: at, message });

  if (value === null || value === undefined) {
    if (!schema.nullable && schema.type) issue(`must be of type ${schema.type}, got null`);
    return;
  }
  if (schema["x-kubernetes-int-or-string"]) {
    if (!(typeof value === "string" || (typeof value === "number" && Number.isInteger(value)))) {
      return void issue(`must be an integer or a string, got ${describe(value)}`);
    }
  } else if (schema.type && !hasType(value, schema.type)) {
    return void issue(`must be of type ${schema.type}, got ${describe(value)}`);
  }
  if (schema.enum && !schema.enum.some((e) => deepEqual(e, value))) {
    issue(`unsupported value ${JSON.stringify(value)}: must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(", ")}`);
  }
  if (typeof value === "string") checkString(value, schema, issue);
  else if (typeof value === "number") checkNumber(value, schema, issue);
  else if (Array.isArray(value)) checkArray(value, schema, path, w, issue);
  else if (typeof value === "object") checkObject(value as Record<string, unknown>, schema, path, w, issue);

  checkComposition(value, schema, issue, w);

  // Rules only run on values that are structurally well-formed (other rules may have failed below), so one
  // mistake is reported once and rules never see values of the wrong shape.
  const rules = schema["x-kubernetes-validations"];
  if (rules && !w.branch && w.out.slice(before).every((i) => i.rule)) {
    for (const rule of rules) {
      const r = evaluateRule(rule, value, schema, w.budget);
      if (!r.ok) w.out.push({ path: rule.fieldPath ? [...path, ...parseFieldPath(rule.fieldPath)] : path, message: r.message, rule: true });
    }
  }
}

function hasType(value: unknown, type: NonNullable<Schema["type"]>): boolean {
  switch (type) {
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value);
    case "array":
      return Array.isArray(value);
    case "string":
      return typeof value === "string";
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "boolean":
      return typeof value === "boolean";
  }
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? `integer ${value}` : `number ${value}`;
  if (typeof value === "string") return `string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value)}`;
  return typeof value;
}

// Kubernetes evaluates `pattern` with Go's RE2, so do we.
const patternCache = new Map<string, RE2JS | null>();
function compiledPattern(p: string): RE2JS | null {
  if (!patternCache.has(p)) {
    let re: RE2JS | null;
    try {
      re = RE2JS.compile(p);
    } catch {
      re = null;
    }
    patternCache.set(p, re);
  }
  return patternCache.get(p)!;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function checkString(value: string, schema: Schema, issue: (m: string) => void): void {
  const length = [...value].length;
  if (schema.minLength !== undefined && length < schema.minLength) {
    issue(schema.minLength === 1 ? "must not be empty" : `must be at least ${schema.minLength} characters long`);
  }
  if (schema.maxLength !== undefined && length > schema.maxLength) issue(`must be at most ${schema.maxLength} characters long`);
  if (schema.pattern !== undefined) {
    const re = compiledPattern(schema.pattern);
    if (re && !re.test(value)) issue(`must match the pattern ${schema.pattern}`);
  }
  if (schema.format === "date-time" && !(RFC3339.test(value) && !Number.isNaN(Date.parse(value)))) issue("must be an RFC 3339 date-time");
  if (schema.format === "byte" && !BASE64.test(value.replace(/\s/g, ""))) issue("must be base64-encoded bytes");
}

const INT_RANGES: Record<string, [number, number]> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
};

function checkNumber(value: number, schema: Schema, issue: (m: string) => void): void {
  const { minimum, maximum } = schema;
  if (minimum !== undefined) {
    if (schema.exclusiveMinimum ? value <= minimum : value < minimum) {
      issue(`must be greater than ${schema.exclusiveMinimum ? "" : "or equal to "}${minimum}`);
    }
  }
  if (maximum !== undefined) {
    if (schema.exclusiveMaximum ? value >= maximum : value > maximum) {
      issue(`must be less than ${schema.exclusiveMaximum ? "" : "or equal to "}${maximum}`);
    }
  }
  const range = schema.format ? INT_RANGES[schema.format] : undefined;
  if (range && (value < range[0] || value > range[1])) issue(`must fit in ${schema.format} (${range[0]}..${range[1]})`);
}

function checkArray(value: unknown[], schema: Schema, path: FieldPath, w: Walk, issue: (m: string, at?: FieldPath) => void): void {
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    issue(schema.minItems === 1 ? "must have at least 1 item" : `must have at least ${schema.minItems} items`);
  }
  if (schema.maxItems !== undefined && value.length > schema.maxItems) issue(`must have at most ${schema.maxItems} items`);
  if (schema.items) value.forEach((item, i) => check(item, schema.items!, [...path, i], w));
  const listType = schema["x-kubernetes-list-type"];
  if (!w.branch && (listType === "set" || listType === "map")) {
    const keys = listType === "map" ? (schema["x-kubernetes-list-map-keys"] ?? []) : undefined;
    const seen = new Set<string>();
    value.forEach((item, i) => {
      const key = keys ? JSON.stringify(Object.fromEntries(keys.map((k) => [k, (item as Record<string, unknown> | null)?.[k] ?? null]))) : JSON.stringify(item);
      if (seen.has(key)) issue(`duplicate value ${key}`, [...path, i]);
      seen.add(key);
    });
  }
}

function checkObject(
  value: Record<string, unknown>,
  schema: Schema,
  path: FieldPath,
  w: Walk,
  issue: (m: string, at?: FieldPath) => void,
): void {
  const keys = Object.keys(value);
  if (schema.minProperties !== undefined && keys.length < schema.minProperties) {
    issue(schema.minProperties === 1 ? "must have at least 1 entry" : `must have at least ${schema.minProperties} entries`);
  }
  if (schema.maxProperties !== undefined && keys.length > schema.maxProperties) issue(`must have at most ${schema.maxProperties} entries`);
  for (const req of schema.required ?? []) {
    if (!(req in value)) issue("required field is missing", [...path, req]);
  }
  const props = schema.properties ?? {};
  if (!w.branch) {
    for (const [name, sub] of Object.entries(props)) {
      if (!(name in value) && sub.default !== undefined) value[name] = structuredClone(sub.default);
    }
  }
  const extra = schema.additionalProperties;
  const allowUnknown = schema["x-kubernetes-preserve-unknown-fields"] === true || extra === true || typeof extra === "object";
  for (const key of keys) {
    const sub = props[key];
    if (sub) check(value[key], sub, [...path, key], w);
    else if (typeof extra === "object") check(value[key], extra, [...path, key], w);
    else if (!allowUnknown && !w.branch && schema.type === "object") issue(unknownFieldMessage(key, Object.keys(props)), [...path, key]);
  }
}

function unknownFieldMessage(key: string, known: string[]): string {
  const close = known.find((k) => k.toLowerCase() === key.toLowerCase()) ?? known.find((k) => editDistance(k, key) <= 2);
  if (close) return `unknown field ${JSON.stringify(key)} (did you mean ${JSON.stringify(close)}?)`;
  return known.length ? `unknown field ${JSON.stringify(key)}` : `unknown field ${JSON.stringify(key)}: no fields are allowed here`;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

function passes(value: unknown, schema: Schema, w: Walk): boolean {
  const sub: Walk = { out: [], branch: true, budget: w.budget };
  check(value, schema, [], sub);
  return sub.out.length === 0;
}

/** Field names a branch demands (`required: [x]`), which is how CRDs express mutually exclusive fields. */
function requiredNames(branches: Schema[]): string[] {
  return [...new Set(branches.flatMap((b) => b.required ?? []))];
}

function checkComposition(value: unknown, schema: Schema, issue: (m: string) => void, w: Walk): void {
  for (const sub of schema.allOf ?? []) checkComposition(value, sub, issue, w);
  if (schema.allOf?.some((sub) => !sub.oneOf && !sub.anyOf && !sub.allOf && !passes(value, sub, w))) {
    issue("does not satisfy all the required constraints");
  }
  if (schema.oneOf) {
    const matching = schema.oneOf.filter((b) => passes(value, b, w));
    if (matching.length > 1) {
      const names = requiredNames(matching);
      issue(names.length > 1 ? `only one of ${names.join(", ")} may be set` : "matches more than one allowed form");
    } else if (matching.length === 0) {
      const names = requiredNames(schema.oneOf);
      issue(names.length ? `exactly one of ${names.join(", ")} must be set` : "does not match any allowed form");
    }
  }
  if (schema.anyOf && !schema["x-kubernetes-int-or-string"] && !schema.anyOf.some((b) => passes(value, b, w))) {
    const names = requiredNames(schema.anyOf);
    issue(names.length ? `at least one of ${names.join(", ")} must be set` : "does not match any allowed form");
  }
  if (schema.not && passes(value, schema.not, w)) {
    const names = requiredNames(schema.not.anyOf ?? [schema.not]);
    issue(names.length ? `${names.join(", ")} must not be set here` : "matches a form that is not allowed");
  }
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A rule's `fieldPath` such as `.spec.ports` or `.ports['http']`, relative to the rule's node. */
function parseFieldPath(fp: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of fp.matchAll(/\.([^.[\]]+)|\[(?:'([^']*)'|(\d+))\]/g)) out.push(m[1] ?? m[2] ?? Number(m[3]));
  return out;
}
