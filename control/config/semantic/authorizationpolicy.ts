// AuthorizationPolicy checks Istio makes in Go (pkg/config/validation: ValidateAuthorizationPolicy and
// pkg/config/security: ValidateAttribute).
import type { FieldPath, Issue } from "../errors.js";
import type { ConfigDocument } from "../load.js";
import { arr, Issues, obj, str, validateIPOrCIDR, type Obj } from "./common.js";

const SOURCE_FIELDS = ["principals", "requestPrincipals", "namespaces", "serviceAccounts", "ipBlocks", "remoteIpBlocks", "trustDomains"];
const OPERATION_FIELDS = ["ports", "methods", "paths", "hosts"];
const notOf = (f: string) => `not${f[0]!.toUpperCase()}${f.slice(1)}`;
const ALL_SOURCE = SOURCE_FIELDS.flatMap((f) => [f, notOf(f)]);
const ALL_OPERATION = OPERATION_FIELDS.flatMap((f) => [f, notOf(f)]);

type AttributeValues = "any" | "ip" | "port";

/** `when` condition keys Istio understands and what their values must be. */
function attributeOf(key: string): { values: AttributeValues } | { error: string } {
  const exact: Record<string, AttributeValues> = {
    "source.ip": "ip",
    "remote.ip": "ip",
    "source.namespace": "any",
    "source.principal": "any",
    "source.serviceAccount": "any",
    "source.trustDomain": "any",
    "request.auth.principal": "any",
    "request.auth.audiences": "any",
    "request.auth.presenter": "any",
    "destination.ip": "ip",
    "destination.port": "port",
    "connection.sni": "any",
  };
  if (key in exact) return { values: exact[key]! };
  for (const prefix of ["request.headers", "request.auth.claims", "experimental.envoy.filters."]) {
    if (key.startsWith(prefix)) {
      const open = key.indexOf("[");
      return key.endsWith("]") && open > 0 && open < key.length - 2 ? { values: "any" } : { error: `bad key ${JSON.stringify(key)}: should have the form ${prefix.replace(/\.$/, ".a")}[b]` };
    }
  }
  if (key === "destination.namespace") return { error: `attribute ${key} is replaced by metadata.namespace` };
  if (key.startsWith("destination.labels")) return { error: `attribute ${key} is replaced by the workload selector` };
  if (key === "destination.name" || key === "destination.user") return { error: `deprecated attribute ${key}: only supported in v1alpha1` };
  return {
    error: `unknown attribute ${JSON.stringify(key)}; known: request.headers[...], source.ip, remote.ip, source.namespace, source.principal, source.serviceAccount, source.trustDomain, request.auth.principal, request.auth.audiences, request.auth.presenter, request.auth.claims[...], destination.ip, destination.port, connection.sni, experimental.envoy.filters.*`,
  };
}

function validatePortValue(v: string): string | undefined {
  return /^\d+$/.test(v) && Number(v) <= 65535 ? undefined : `bad port ${JSON.stringify(v)}`;
}

const UNSUPPORTED_TEMPLATE = /\/\{\w+=\*\*?\}|\{\w*\}|\/\*\*?|\*\*?\//;

export function checkAuthorizationPolicy(doc: ConfigDocument): Issue[] {
  const spec = obj(doc.object.spec) ?? {};
  const issues = new Issues();
  const action = str(spec.action) || "ALLOW";
  const rules = spec.rules;
  const provider = obj(spec.provider);

  if (action === "CUSTOM") {
    if (rules === undefined) issues.add(["spec", "rules"], "CUSTOM action without rules never triggers; add an empty rule {} to apply it to every request");
    else if (!provider || str(provider.name) === "") issues.add(["spec", "provider", "name"], "CUSTOM action needs provider.name");
  } else if (provider) {
    issues.add(["spec", "provider"], `provider may only be set with action CUSTOM, found ${action}`);
  }
  if (action === "DENY" && rules === undefined) issues.add(["spec", "rules"], "DENY action without rules never triggers; add an empty rule {} to apply it to every request");

  arr(rules).forEach((r, i) => {
    const rule = obj(r);
    const path: FieldPath = ["spec", "rules", i];
    if (!rule) return issues.add(path, "rule must not be null");
    if (Array.isArray(rule.from) && rule.from.length === 0) issues.add([...path, "from"], "from must not be empty when set");
    arr(rule.from).forEach((f, j) => checkSource(obj(obj(f)?.source), [...path, "from", j, "source"], action, issues));
    if (Array.isArray(rule.to) && rule.to.length === 0) issues.add([...path, "to"], "to must not be empty when set");
    arr(rule.to).forEach((t, j) => checkOperation(obj(obj(t)?.operation), [...path, "to", j, "operation"], issues));
    arr(rule.when).forEach((c, j) => checkCondition(obj(c) ?? {}, [...path, "when", j], action, issues));
  });
  return issues.list;
}

function checkValues(o: Obj, fields: string[], path: FieldPath, issues: Issues): void {
  for (const f of fields) {
    arr(o[f]).forEach((v, k) => {
      if (str(v) === "") issues.add([...path, f, k], "empty values are not allowed");
    });
  }
}

function checkSource(src: Obj | undefined, path: FieldPath, action: string, issues: Issues): void {
  if (!src) return issues.add(path, "from.source must be set");
  if (!ALL_SOURCE.some((f) => arr(src[f]).length > 0)) issues.add(path, "from.source must not be empty");
  checkValues(src, ALL_SOURCE, path, issues);
  for (const f of ["ipBlocks", "notIpBlocks", "remoteIpBlocks", "notRemoteIpBlocks"]) {
    arr(src[f]).forEach((v, k) => str(v) !== "" && issues.add([...path, f, k], validateIPOrCIDR(str(v))));
  }
  if (action === "CUSTOM") {
    for (const f of ["namespaces", "notNamespaces", "principals", "notPrincipals", "requestPrincipals", "notRequestPrincipals"]) {
      if (arr(src[f]).length) issues.add([...path, f], `${f} is not supported with the CUSTOM action`);
    }
  }
}

function checkOperation(op: Obj | undefined, path: FieldPath, issues: Issues): void {
  if (!op) return issues.add(path, "to.operation must be set");
  if (!ALL_OPERATION.some((f) => arr(op[f]).length > 0)) issues.add(path, "to.operation must not be empty");
  checkValues(op, ALL_OPERATION, path, issues);
  for (const f of ["ports", "notPorts"]) arr(op[f]).forEach((v, k) => issues.add([...path, f, k], validatePortValue(str(v))));
  for (const f of ["paths", "notPaths"]) {
    arr(op[f]).forEach((v, k) => {
      const p = str(v);
      if ((p.includes("{*}") || p.includes("{**}")) && UNSUPPORTED_TEMPLATE.test(p)) issues.add([...path, f, k], `invalid or unsupported path template ${JSON.stringify(p)}`);
    });
  }
}

function checkCondition(c: Obj, path: FieldPath, action: string, issues: Issues): void {
  const key = str(c.key);
  if (key === "") return issues.add([...path, "key"], "key must not be empty");
  const values = arr(c.values).map(str);
  const notValues = arr(c.notValues).map(str);
  if (!values.length && !notValues.length) issues.add(path, `at least one of values or notValues must be set for key ${key}`);
  const attr = attributeOf(key);
  if ("error" in attr) return issues.add([...path, "key"], attr.error);
  if (action === "CUSTOM" && (key === "source.namespace" || key === "source.principal" || key.startsWith("request.auth."))) {
    issues.add([...path, "key"], `${key} is not supported with the CUSTOM action`);
  }
  for (const [field, list] of [["values", values], ["notValues", notValues]] as const) {
    list.forEach((v, k) => {
      const p = [...path, field, k];
      if (v === "") return issues.add(p, "empty values are not allowed");
      if (attr.values === "ip") issues.add(p, validateIPOrCIDR(v));
      if (attr.values === "port") issues.add(p, validatePortValue(v));
    });
  }
}
