// JSON configuration (engine/authz/CONFIG.md) -> AuthzConfig. Validation follows Istio's
// AuthorizationPolicy validation (bad input is refused with one line naming the field); the
// translation of each field follows Istio's RBAC generator (pilot/pkg/security/authz/model).
import { JsonKind, JsonValue, parseJson, parseJsonString } from "../json/index";
import {
  ActionRules, Attr, AuthzAction, AuthzConfig, Condition, ConditionList, Policy, Rule, RuleEntry, ValueKind, ValueMatcher,
} from "./config";
import { parseCidr } from "./ip";
import { parsePathNormalization } from "./path";
import { PathTemplate, containsPathTemplate } from "./path_template";
import { Reader, indexPath, joinPath } from "../json/reader";
import { MatchKind, StringMatcher, compileValue } from "./string_match";
import { expandTrustDomains } from "./trust_domain";

export class AuthzConfigResult {
  constructor(public config: AuthzConfig | null, public error: string) {}
  get ok(): bool {
    return this.config !== null;
  }
}

const TOP_KEYS = ["policies", "path_normalization", "trust_domain", "trust_domain_aliases", "debug_header"];
const POLICY_KEYS = ["name", "namespace", "action", "provider", "dry_run", "rules"];
const RULE_KEYS = ["from", "to", "when"];
const SOURCE_KEYS = [
  "principals", "notPrincipals", "requestPrincipals", "notRequestPrincipals", "namespaces", "notNamespaces",
  "ipBlocks", "notIpBlocks", "remoteIpBlocks", "notRemoteIpBlocks", "serviceAccounts", "notServiceAccounts",
];
const OPERATION_KEYS = ["hosts", "notHosts", "ports", "notPorts", "methods", "notMethods", "paths", "notPaths"];
const WHEN_KEYS = ["key", "values", "notValues"];

/** Why a field cannot be evaluated by Halyard although Istio accepts it ("" = supported). */
function unsupportedKey(key: string): string {
  if (key.startsWith("experimental.envoy.filters.")) return "Envoy filter metadata (" + key + ") is not available in Halyard";
  if (key.startsWith("request.experimental.inline.headers")) return key + " is not supported";
  if (key == "source.serviceAccount") return "source.serviceAccount is not supported";
  return "";
}

class Compiler {
  r: Reader = new Reader();
  config: AuthzConfig = new AuthzConfig();
  /** [trust_domain, ...aliases]. */
  domains: string[] = [];

  // ---- value compilation ----

  private principal(v: string): ValueMatcher {
    const m = new ValueMatcher();
    if (v == "*") m.str = new StringMatcher(MatchKind.NonEmpty, "");
    else if (v.startsWith("*")) m.str = new StringMatcher(MatchKind.PrefixAndSuffix, "spiffe://", false, v.substring(1));
    else if (v.endsWith("*")) m.str = new StringMatcher(MatchKind.Prefix, "spiffe://" + v.substring(0, v.length - 1));
    else m.str = new StringMatcher(MatchKind.Exact, "spiffe://" + v);
    return m;
  }

  private namespace(v: string): ValueMatcher {
    const m = new ValueMatcher();
    m.str = new StringMatcher(MatchKind.Glob, "*/ns/" + v + "/*");
    return m;
  }

  /** Istio's requestPrincipals: "<iss>/<sub>" split at the last '/', wildcards per side. */
  private requestPrincipal(v: string): ValueMatcher {
    const m = new ValueMatcher();
    m.kind = ValueKind.IssSub;
    const any = new StringMatcher(MatchKind.NonEmpty, "");
    const idx = v.lastIndexOf("/");
    const found = idx >= 0;
    const iss = found ? v.substring(0, idx) : v;
    const sub = found ? v.substring(idx + 1) : "";
    if (v == "*") {
      m.iss = any;
      m.sub = any;
    } else if (v.startsWith("*")) {
      if (found) {
        m.iss = iss == "*" ? any : new StringMatcher(MatchKind.Suffix, iss.substring(1));
        m.sub = new StringMatcher(MatchKind.Exact, sub);
      } else {
        m.iss = any;
        m.sub = new StringMatcher(MatchKind.Suffix, v.substring(1));
      }
    } else if (v.endsWith("*")) {
      if (found) {
        m.iss = new StringMatcher(MatchKind.Exact, iss);
        m.sub = sub == "*" ? any : new StringMatcher(MatchKind.Prefix, sub.substring(0, sub.length - 1));
      } else {
        m.iss = new StringMatcher(MatchKind.Prefix, v.substring(0, v.length - 1));
        m.sub = any;
      }
    } else {
      m.iss = new StringMatcher(MatchKind.Exact, iss);
      m.sub = new StringMatcher(MatchKind.Exact, sub);
    }
    return m;
  }

  private str(v: string, presentForStar: bool, ignoreCase: bool = false): ValueMatcher {
    const m = new ValueMatcher();
    m.str = compileValue(v, presentForStar, ignoreCase);
    return m;
  }

  private cidr(v: string, where: string): ValueMatcher | null {
    const c = parseCidr(v);
    if (!c) {
      this.r.fail(where, (v.includes("/") ? "bad CIDR range " : "bad IP address ") + "\"" + v + "\"");
      return null;
    }
    const m = new ValueMatcher();
    m.kind = ValueKind.Cidr;
    m.cidr = c;
    return m;
  }

  private port(v: string, where: string): ValueMatcher | null {
    let n: i32 = 0;
    let ok = v.length > 0 && v.length <= 5;
    for (let i = 0; ok && i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c < 0x30 || c > 0x39) ok = false;
      else n = n * 10 + (c - 0x30);
    }
    if (!ok || n > 65535) {
      this.r.fail(where, "bad port \"" + v + "\" (expected an integer 0-65535)");
      return null;
    }
    const m = new ValueMatcher();
    m.kind = ValueKind.Port;
    m.port = n;
    return m;
  }

  private path(v: string, where: string): ValueMatcher | null {
    if (!containsPathTemplate(v)) {
      if (v.includes("{") || v.includes("}")) {
        // Istio's CheckValidPathTemplate: braces only as whole {*} / {**} segments.
        this.r.fail(where, "invalid path \"" + v + "\": '{' or '}' outside a {*} or {**} segment");
        return null;
      }
      return this.str(v, false);
    }
    const t = PathTemplate.compile(v);
    if (!t.template) {
      this.r.fail(where, "invalid path template \"" + v + "\": " + t.error);
      return null;
    }
    const m = new ValueMatcher();
    m.kind = ValueKind.Template;
    m.template = t.template;
    return m;
  }

  private value(attr: Attr, v: string, where: string): ValueMatcher | null {
    switch (attr) {
      case Attr.SourceIp:
      case Attr.RemoteIp:
      case Attr.DestinationIp:
        return this.cidr(v, where);
      case Attr.DestinationPort:
        return this.port(v, where);
      case Attr.SourcePrincipal:
        return this.principal(v);
      case Attr.SourceNamespace:
        return this.namespace(v);
      case Attr.RequestPrincipal:
        return this.requestPrincipal(v);
      case Attr.Path:
        return this.path(v, where);
      case Attr.Host:
        return this.str(v, true, true);
      case Attr.Method:
      case Attr.RequestHeader:
        return this.str(v, true);
      default: // audiences, presenter, claims, SNI
        return this.str(v, false);
    }
  }

  /** Compiles one field into `list` (skipped when it has neither values nor notValues). */
  private field(
    list: ConditionList, attr: Attr, values: string[], notValues: string[], valuesWhere: string, notValuesWhere: string,
    key: string = "", claimPath: string[] = [],
  ): bool {
    if (values.length == 0 && notValues.length == 0) return true;
    if (attr == Attr.SourcePrincipal) {
      values = expandTrustDomains(values, this.domains);
      notValues = expandTrustDomains(notValues, this.domains);
    }
    const c = new Condition(attr);
    c.key = key;
    c.claimPath = claimPath;
    for (let i = 0; i < values.length; i++) {
      const m = this.value(attr, values[i], indexPath(valuesWhere, i));
      if (!m) return false;
      c.values.push(m);
    }
    for (let i = 0; i < notValues.length; i++) {
      const m = this.value(attr, notValues[i], indexPath(notValuesWhere, i));
      if (!m) return false;
      c.notValues.push(m);
    }
    list.items.push(c);
    return true;
  }

  // ---- rule sections ----

  /** The first unsupported field of the ALLOW rule being compiled ("" = none). */
  private unsupported: string = "";

  /** Records an unsupported field: ALLOW drops the rule (fails closed), others ignore the field. */
  private noteUnsupported(policy: Policy, where: string, reason: string): void {
    if (policy.action == AuthzAction.Allow) {
      if (!this.unsupported.length) this.unsupported = where + ": " + reason;
    } else {
      this.config.warnings.push(where + ": " + reason + "; field ignored (the " + actionWord(policy.action) + " rule widens)");
    }
  }

  private source(policy: Policy, v: JsonValue, where: string, out: ConditionList): bool {
    const r = this.r;
    if (!r.isObject(v, where) || !r.onlyKnown(v, where, SOURCE_KEYS)) return false;
    const principals = r.stringList(v, "principals", where);
    const notPrincipals = r.stringList(v, "notPrincipals", where);
    const reqPrincipals = r.stringList(v, "requestPrincipals", where);
    const notReqPrincipals = r.stringList(v, "notRequestPrincipals", where);
    const namespaces = r.stringList(v, "namespaces", where);
    const notNamespaces = r.stringList(v, "notNamespaces", where);
    const ipBlocks = r.stringList(v, "ipBlocks", where);
    const notIpBlocks = r.stringList(v, "notIpBlocks", where);
    const remote = r.stringList(v, "remoteIpBlocks", where);
    const notRemote = r.stringList(v, "notRemoteIpBlocks", where);
    const sas = r.stringList(v, "serviceAccounts", where);
    const notSas = r.stringList(v, "notServiceAccounts", where);
    if (r.failed) return false;
    if (principals.length + notPrincipals.length + reqPrincipals.length + notReqPrincipals.length + namespaces.length +
      notNamespaces.length + ipBlocks.length + notIpBlocks.length + remote.length + notRemote.length + sas.length +
      notSas.length == 0) {
      return r.fail(where, "`from.source` must not be empty");
    }
    if (sas.length + notSas.length > 0) {
      if (principals.length + notPrincipals.length + namespaces.length + notNamespaces.length > 0) {
        return r.fail(where, "cannot set serviceAccounts with namespaces or principals");
      }
      this.noteUnsupported(policy, joinPath(where, "serviceAccounts"), "serviceAccounts is not supported");
    }
    const w = where;
    return this.field(out, Attr.SourcePrincipal, principals, notPrincipals, joinPath(w, "principals"), joinPath(w, "notPrincipals")) &&
      this.field(out, Attr.RequestPrincipal, reqPrincipals, notReqPrincipals, joinPath(w, "requestPrincipals"), joinPath(w, "notRequestPrincipals")) &&
      this.field(out, Attr.SourceNamespace, namespaces, notNamespaces, joinPath(w, "namespaces"), joinPath(w, "notNamespaces")) &&
      this.field(out, Attr.SourceIp, ipBlocks, notIpBlocks, joinPath(w, "ipBlocks"), joinPath(w, "notIpBlocks")) &&
      this.field(out, Attr.RemoteIp, remote, notRemote, joinPath(w, "remoteIpBlocks"), joinPath(w, "notRemoteIpBlocks"));
  }

  private operation(v: JsonValue, where: string, out: ConditionList): bool {
    const r = this.r;
    if (!r.isObject(v, where) || !r.onlyKnown(v, where, OPERATION_KEYS)) return false;
    const hosts = r.stringList(v, "hosts", where);
    const notHosts = r.stringList(v, "notHosts", where);
    const ports = r.stringList(v, "ports", where);
    const notPorts = r.stringList(v, "notPorts", where);
    const methods = r.stringList(v, "methods", where);
    const notMethods = r.stringList(v, "notMethods", where);
    const paths = r.stringList(v, "paths", where);
    const notPaths = r.stringList(v, "notPaths", where);
    if (r.failed) return false;
    if (hosts.length + notHosts.length + ports.length + notPorts.length + methods.length + notMethods.length +
      paths.length + notPaths.length == 0) {
      return r.fail(where, "`to.operation` must not be empty");
    }
    const w = where;
    return this.field(out, Attr.Host, hosts, notHosts, joinPath(w, "hosts"), joinPath(w, "notHosts")) &&
      this.field(out, Attr.Method, methods, notMethods, joinPath(w, "methods"), joinPath(w, "notMethods")) &&
      this.field(out, Attr.Path, paths, notPaths, joinPath(w, "paths"), joinPath(w, "notPaths")) &&
      this.field(out, Attr.DestinationPort, ports, notPorts, joinPath(w, "ports"), joinPath(w, "notPorts"));
  }

  private when(policy: Policy, v: JsonValue, where: string, out: ConditionList): bool {
    const r = this.r;
    if (!r.isObject(v, where) || !r.onlyKnown(v, where, WHEN_KEYS)) return false;
    const key = r.requiredString(v, "key", where);
    const values = r.stringList(v, "values", where);
    const notValues = r.stringList(v, "notValues", where);
    if (r.failed) return false;
    if (values.length == 0 && notValues.length == 0) {
      return r.fail(where, "at least one of `values` or `notValues` must be set for key " + key);
    }
    const vw = joinPath(where, "values");
    const nw = joinPath(where, "notValues");
    const reason = unsupportedKey(key);
    if (reason.length) {
      this.noteUnsupported(policy, where, reason);
      return true;
    }
    if (key == "source.ip") return this.field(out, Attr.SourceIp, values, notValues, vw, nw);
    if (key == "remote.ip") return this.field(out, Attr.RemoteIp, values, notValues, vw, nw);
    if (key == "source.namespace") return this.field(out, Attr.SourceNamespace, values, notValues, vw, nw);
    if (key == "source.principal") return this.field(out, Attr.SourcePrincipal, values, notValues, vw, nw);
    if (key == "request.auth.principal") return this.field(out, Attr.RequestPrincipal, values, notValues, vw, nw);
    if (key == "request.auth.audiences") return this.field(out, Attr.RequestAudiences, values, notValues, vw, nw);
    if (key == "request.auth.presenter") return this.field(out, Attr.RequestPresenter, values, notValues, vw, nw);
    if (key == "destination.ip") return this.field(out, Attr.DestinationIp, values, notValues, vw, nw);
    if (key == "destination.port") return this.field(out, Attr.DestinationPort, values, notValues, vw, nw);
    if (key == "connection.sni") return this.field(out, Attr.ConnectionSni, values, notValues, vw, nw);
    if (key.startsWith("request.headers")) {
      const names = bracketNames(key.substring(15));
      if (names === null || names!.length != 1) return r.fail(joinPath(where, "key"), "bad key (" + key + "): should have format request.headers[<name>]");
      return this.field(out, Attr.RequestHeader, values, notValues, vw, nw, names![0].toLowerCase());
    }
    if (key.startsWith("request.auth.claims")) {
      const names = bracketNames(key.substring(19));
      if (names === null) return r.fail(joinPath(where, "key"), "bad key (" + key + "): should have format request.auth.claims[<name>] or request.auth.claims[<a>][<b>]");
      return this.field(out, Attr.RequestClaim, values, notValues, vw, nw, "", names!);
    }
    if (key == "destination.namespace") return r.fail(joinPath(where, "key"), "attribute destination.namespace is replaced by the metadata.namespace");
    if (key.startsWith("destination.labels")) return r.fail(joinPath(where, "key"), "attribute " + key + " is replaced by the workload selector");
    if (key == "destination.name" || key == "destination.user") return r.fail(joinPath(where, "key"), "deprecated attribute " + key + ": only supported in v1alpha1");
    return r.fail(joinPath(where, "key"), "unknown attribute: " + key);
  }

  /** Compiles one rule; null with r.failed on error, null without it when an ALLOW rule is dropped. */
  private rule(policy: Policy, v: JsonValue, index: i32, where: string): Rule | null {
    const r = this.r;
    if (v.kind == JsonKind.Null) {
      r.fail(where, "`rule` must not be null");
      return null;
    }
    if (!r.isObject(v, where) || !r.onlyKnown(v, where, RULE_KEYS)) return null;
    this.unsupported = "";
    const rule = new Rule(index);
    const from = r.array(v, "from", where);
    const to = r.array(v, "to", where);
    const when = r.array(v, "when", where);
    if (r.failed) return null;
    if (from) {
      const fw = joinPath(where, "from");
      if (from.length == 0) {
        r.fail(fw, "`from` must not be empty");
        return null;
      }
      for (let i = 0; i < from.length; i++) {
        const item = from[i];
        const iw = indexPath(fw, i);
        if (!r.isObject(item, iw) || !r.onlyKnown(item, iw, ["source"])) return null;
        const src = r.member(item, "source");
        if (!src) {
          r.fail(joinPath(iw, "source"), "`from.source` must not be null");
          return null;
        }
        const list = new ConditionList();
        if (!this.source(policy, src, joinPath(iw, "source"), list)) return null;
        rule.froms.push(list);
      }
    } else {
      rule.froms.push(new ConditionList());
    }
    if (to) {
      const tw = joinPath(where, "to");
      if (to.length == 0) {
        r.fail(tw, "`to` must not be empty");
        return null;
      }
      for (let i = 0; i < to.length; i++) {
        const item = to[i];
        const iw = indexPath(tw, i);
        if (!r.isObject(item, iw) || !r.onlyKnown(item, iw, ["operation"])) return null;
        const op = r.member(item, "operation");
        if (!op) {
          r.fail(joinPath(iw, "operation"), "`to.operation` must not be null");
          return null;
        }
        const list = new ConditionList();
        if (!this.operation(op, joinPath(iw, "operation"), list)) return null;
        rule.tos.push(list);
      }
    } else {
      rule.tos.push(new ConditionList());
    }
    if (when) {
      const ww = joinPath(where, "when");
      for (let i = 0; i < when.length; i++) {
        const item = when[i];
        if (item.kind == JsonKind.Null) {
          r.fail(indexPath(ww, i), "when field cannot be null");
          return null;
        }
        if (!this.when(policy, item, indexPath(ww, i), rule.whens)) return null;
      }
    }
    if (this.unsupported.length) {
      this.config.warnings.push(this.unsupported + "; ALLOW rule dropped (fails closed)");
      return null;
    }
    return rule.seal();
  }

  private policy(v: JsonValue, index: i32): bool {
    const r = this.r;
    let where = indexPath("policies", index);
    if (!r.isObject(v, where) || !r.onlyKnown(v, where, POLICY_KEYS)) return false;
    const p = new Policy();
    p.name = r.requiredString(v, "name", where);
    p.namespace = r.requiredString(v, "namespace", where);
    if (r.failed) return false;
    where += "(" + p.namespace + "/" + p.name + ")";
    const action = r.string(v, "action", where, "ALLOW");
    if (r.failed) return false;
    if (action == "ALLOW") p.action = AuthzAction.Allow;
    else if (action == "DENY") p.action = AuthzAction.Deny;
    else if (action == "AUDIT") p.action = AuthzAction.Audit;
    else if (action == "CUSTOM") p.action = AuthzAction.Custom;
    else return r.fail(joinPath(where, "action"), "expected ALLOW, DENY, AUDIT or CUSTOM, got \"" + action + "\"");
    const provider = r.member(v, "provider");
    if (provider) {
      const pw = joinPath(where, "provider");
      if (p.action != AuthzAction.Custom) return r.fail(pw, "`provider` must not be with non CUSTOM action, found " + action);
      if (!r.isObject(provider, pw) || !r.onlyKnown(provider, pw, ["name"])) return false;
      p.provider = r.requiredString(provider, "name", pw);
      if (r.failed) return false;
    } else if (p.action == AuthzAction.Custom) {
      return r.fail(joinPath(where, "provider"), "CUSTOM action requires a provider");
    }
    p.dryRun = r.bool(v, "dry_run", where);
    const rules = r.array(v, "rules", where);
    if (r.failed) return false;
    if (!rules && p.action == AuthzAction.Deny) {
      return r.fail(joinPath(where, "rules"),
        "DENY action without `rules` is meaningless as it will never be triggered, add an empty rule `{}` if you want it be triggered for every request");
    }
    for (let i = 0; i < this.config.policies.length; i++) {
      const q = this.config.policies[i];
      if (q.name == p.name && q.namespace == p.namespace) return r.fail(where, "policy " + p.namespace + "/" + p.name + " is listed twice");
    }
    if (rules && rules.length > 0) {
      const rw = joinPath(where, "rules");
      for (let i = 0; i < rules.length; i++) {
        const rule = this.rule(p, rules[i], i, indexPath(rw, i));
        if (r.failed) return false;
        if (rule) p.rules.push(rule);
      }
    } else {
      // spec: {} — a policy that exists but never matches (Istio's rbacPolicyMatchNever).
      const never = new Rule(0);
      never.canMatch = false;
      p.rules.push(never.seal());
    }
    this.config.policies.push(p);
    return true;
  }

  compile(root: JsonValue): AuthzConfigResult {
    const r = this.r;
    const c = this.config;
    if (!r.isObject(root, "configuration") || !r.onlyKnown(root, "", TOP_KEYS)) return new AuthzConfigResult(null, r.error);
    const mode = r.string(root, "path_normalization", "", "MERGE_SLASHES");
    if (!r.failed) {
      const m = parsePathNormalization(mode);
      if (m < 0) r.fail("path_normalization", "expected NONE, BASE, MERGE_SLASHES or DECODE_AND_MERGE_SLASHES, got \"" + mode + "\"");
      else c.pathNormalization = m;
    }
    c.trustDomain = r.string(root, "trust_domain", "", "cluster.local");
    if (!r.failed && c.trustDomain.length == 0) r.fail("trust_domain", "must not be empty");
    c.trustDomainAliases = r.stringList(root, "trust_domain_aliases", "");
    c.debugHeader = r.string(root, "debug_header", "").toLowerCase();
    if (r.failed) return new AuthzConfigResult(null, r.error);
    this.domains = [c.trustDomain].concat(c.trustDomainAliases);
    const policies = r.array(root, "policies", "");
    if (policies) {
      for (let i = 0; i < policies.length; i++) {
        if (!this.policy(policies[i], i)) return new AuthzConfigResult(null, r.error);
      }
    }
    if (r.failed) return new AuthzConfigResult(null, r.error);
    group(c);
    return new AuthzConfigResult(c, "");
  }
}

function actionWord(a: AuthzAction): string {
  if (a == AuthzAction.Deny) return "DENY";
  if (a == AuthzAction.Audit) return "AUDIT";
  return "CUSTOM";
}

/** "[a][b]" -> ["a", "b"]; null when malformed or a name is empty. */
function bracketNames(s: string): string[] | null {
  const out = new Array<string>();
  let i = 0;
  const n = s.length;
  if (n == 0) return null;
  while (i < n) {
    if (s.charCodeAt(i) != 0x5b) return null;
    const close = s.indexOf("]", i + 1);
    if (close < 0) return null;
    const name = s.substring(i + 1, close);
    if (name.length == 0 || name.includes("[")) return null;
    out.push(name);
    i = close + 1;
  }
  return out;
}

function rulesOf(c: AuthzConfig, a: AuthzAction): ActionRules {
  switch (a) {
    case AuthzAction.Allow: return c.allow;
    case AuthzAction.Deny: return c.deny;
    case AuthzAction.Audit: return c.audit;
    default: return c.custom;
  }
}

function byEnvoyId(a: RuleEntry, b: RuleEntry): i32 {
  const x = a.envoyId;
  const y = b.envoyId;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Groups rules per action, enforced and dry-run apart, each sorted by Envoy policy id. */
function group(c: AuthzConfig): void {
  for (let i = 0; i < c.policies.length; i++) {
    const p = c.policies[i];
    const set = rulesOf(c, p.action);
    if (p.dryRun) set.hasDryRunPolicy = true;
    else set.hasEnforcedPolicy = true;
    for (let k = 0; k < p.rules.length; k++) {
      const e = new RuleEntry(p, p.rules[k]);
      if (p.dryRun) set.dryRun.push(e);
      else set.enforced.push(e);
    }
  }
  const sets = [c.custom, c.deny, c.allow, c.audit];
  for (let i = 0; i < sets.length; i++) {
    sets[i].enforced.sort(byEnvoyId);
    sets[i].dryRun.sort(byEnvoyId);
  }
}

export function decodeAuthzConfigValue(v: JsonValue): AuthzConfigResult {
  return new Compiler().compile(v);
}

/** UTF-8 JSON bytes; empty input is a configuration without policies (everything allowed). */
export function decodeAuthzConfig(json: ArrayBuffer): AuthzConfigResult {
  if (json.byteLength == 0) return new AuthzConfigResult(new AuthzConfig(), "");
  const p = parseJson(json);
  if (!p.ok) return new AuthzConfigResult(null, "configuration is not valid JSON: " + p.describe());
  return decodeAuthzConfigValue(p.value!);
}

export function decodeAuthzConfigString(json: string): AuthzConfigResult {
  if (json.length == 0) return new AuthzConfigResult(new AuthzConfig(), "");
  const p = parseJsonString(json);
  if (!p.ok) return new AuthzConfigResult(null, "configuration is not valid JSON: " + p.describe());
  return decodeAuthzConfigValue(p.value!);
}
