// The compiled authorization configuration: every value is already a matcher, every rule knows
// its Envoy policy id, and rules are grouped per action in the order Envoy's RBAC engine tries
// them (policy ids sorted, as in its std::map). Nothing here is built per request.
import { CidrRange } from "./ip";
import { PathNormalization } from "./path";
import { PathTemplate } from "./path_template";
import { StringMatcher } from "./string_match";

export enum AuthzAction {
  Allow = 0,
  Deny = 1,
  Audit = 2,
  Custom = 3,
}

export function authzActionName(a: AuthzAction): string {
  switch (a) {
    case AuthzAction.Allow: return "ALLOW";
    case AuthzAction.Deny: return "DENY";
    case AuthzAction.Audit: return "AUDIT";
    default: return "CUSTOM";
  }
}

/** The request attribute a condition reads. */
export enum Attr {
  SourceIp = 0,
  RemoteIp = 1,
  SourceNamespace = 2,
  SourcePrincipal = 3,
  RequestPrincipal = 4,
  RequestAudiences = 5,
  RequestPresenter = 6,
  RequestClaim = 7,
  RequestHeader = 8,
  DestinationIp = 9,
  DestinationPort = 10,
  ConnectionSni = 11,
  Host = 12,
  Method = 13,
  Path = 14,
}

export enum ValueKind {
  /** StringMatcher against a string attribute. */
  Str = 0,
  Cidr = 1,
  Port = 2,
  Template = 3,
  /** requestPrincipals / request.auth.principal: iss and sub matched separately. */
  IssSub = 4,
}

export class ValueMatcher {
  kind: ValueKind = ValueKind.Str;
  str: StringMatcher | null = null;
  cidr: CidrRange | null = null;
  port: i32 = -1;
  template: PathTemplate | null = null;
  iss: StringMatcher | null = null;
  sub: StringMatcher | null = null;
}

/** One field (or one `when`): OR over values, then NOT(OR over notValues); both must hold. */
export class Condition {
  /** Header name (lower case) for RequestHeader. */
  key: string = "";
  /** Claim path for RequestClaim, e.g. ["groups"] or ["realm_access", "roles"]. */
  claimPath: string[] = [];
  values: ValueMatcher[] = [];
  notValues: ValueMatcher[] = [];
  constructor(public attr: Attr) {}
}

/** Conditions that must all hold. */
export class ConditionList {
  items: Condition[] = [];
}

export class Rule {
  /** Any one must hold; a rule without `from` gets one empty list (matches any source). */
  froms: ConditionList[] = [];
  /** Any one must hold; a rule without `to` gets one empty list. */
  tos: ConditionList[] = [];
  /** All must hold. */
  whens: ConditionList = new ConditionList();
  /** False for the never-matching placeholder of a policy without rules (spec: {}). */
  canMatch: bool = true;
  /** Shortcuts for the evaluator, set by seal(). */
  flags: u8 = 0;
  static readonly NEVER: u8 = 1;
  static readonly ANY_TO: u8 = 2;
  static readonly ANY_FROM: u8 = 4;
  static readonly NO_WHEN: u8 = 8;
  constructor(public index: i32) {}

  /** Computes `flags` once the rule is complete. */
  seal(): Rule {
    let f: u8 = 0;
    if (!this.canMatch) f |= Rule.NEVER;
    if (this.tos.length == 1 && this.tos[0].items.length == 0) f |= Rule.ANY_TO;
    if (this.froms.length == 1 && this.froms[0].items.length == 0) f |= Rule.ANY_FROM;
    if (this.whens.items.length == 0) f |= Rule.NO_WHEN;
    this.flags = f;
    return this;
  }
}

export class Policy {
  name: string = "";
  namespace: string = "";
  action: AuthzAction = AuthzAction.Allow;
  provider: string = "";
  dryRun: bool = false;
  rules: Rule[] = [];
}

/** One rule of one policy, as Envoy's RBAC filter names it. */
export class RuleEntry {
  /** "ns[<ns>]-policy[<name>]-rule[<i>]" — the key Envoy logs and reports. */
  envoyId: string;
  /** "<ns>/<name>#<i>" — Halyard's short form (properties, logs). */
  label: string;
  constructor(public policy: Policy, public rule: Rule) {
    const i = rule.index.toString();
    this.envoyId = "ns[" + policy.namespace + "]-policy[" + policy.name + "]-rule[" + i + "]";
    this.label = policy.namespace + "/" + policy.name + "#" + i;
  }
}

/** The rules of one action, enforced and dry-run kept apart. */
export class ActionRules {
  enforced: RuleEntry[] = [];
  dryRun: RuleEntry[] = [];
  /** Some enforced policy of this action exists (even one whose rules were all dropped). */
  hasEnforcedPolicy: bool = false;
  hasDryRunPolicy: bool = false;
}

export class AuthzConfig {
  policies: Policy[] = [];
  custom: ActionRules = new ActionRules();
  deny: ActionRules = new ActionRules();
  allow: ActionRules = new ActionRules();
  audit: ActionRules = new ActionRules();
  pathNormalization: PathNormalization = PathNormalization.MergeSlashes;
  trustDomain: string = "cluster.local";
  trustDomainAliases: string[] = [];
  /** Response header carrying the decision (debugging only); "" = none. */
  debugHeader: string = "";
  /** One line per rule or field the compiler dropped as unsupported (fail closed / widened). */
  warnings: string[] = [];
}
