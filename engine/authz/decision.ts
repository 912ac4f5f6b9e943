// The outcome of one authorization check. Filled in place (a filter can reuse one object).
import { RuleEntry } from "./config";

export enum DecisionReason {
  /** No enforced CUSTOM/DENY/ALLOW policy applies: allowed. */
  NoPolicies = 0,
  /** An ALLOW rule matched: allowed. */
  AllowMatched = 1,
  /** There are DENY policies but none matched, and there are no ALLOW policies: allowed. */
  NoDenyMatched = 2,
  /** ALLOW policies exist and none matched: denied. */
  AllowNotMatched = 3,
  /** A DENY rule matched: denied. */
  DenyMatched = 4,
  /** A CUSTOM rule matched; Halyard has no ext_authz provider, so: denied. */
  CustomMatched = 5,
  /** The path could not be normalized (contains %00): rejected with 400 before any policy. */
  InvalidPath = 6,
}

export function decisionReasonName(r: DecisionReason): string {
  switch (r) {
    case DecisionReason.NoPolicies: return "no_policies";
    case DecisionReason.AllowMatched: return "allow_matched";
    case DecisionReason.NoDenyMatched: return "no_deny_matched";
    case DecisionReason.AllowNotMatched: return "allow_not_matched";
    case DecisionReason.DenyMatched: return "deny_matched";
    case DecisionReason.CustomMatched: return "custom_matched";
    default: return "invalid_path";
  }
}

/** A dry-run engine's verdict, as Envoy's shadow RBAC engine reports it. */
export class ShadowResult {
  /** Some dry-run policy of this action exists (otherwise nothing was evaluated). */
  evaluated: bool = false;
  /** What the shadow engine would have decided. */
  allowed: bool = true;
  /** The dry-run rule that decided, or null (ALLOW: none matched; DENY: none matched). */
  entry: RuleEntry | null = null;

  reset(): void {
    this.evaluated = false;
    this.allowed = true;
    this.entry = null;
  }

  /** Envoy's shadow_effective_policy_id ("none" when no rule matched). */
  get policyId(): string {
    const e = this.entry;
    return e ? e.envoyId : "none";
  }
}

export class AuthzDecision {
  allowed: bool = true;
  reason: DecisionReason = DecisionReason.NoPolicies;
  /** The rule that decided (DENY/CUSTOM/ALLOW match), or null. */
  entry: RuleEntry | null = null;
  /** An AUDIT rule matched (Envoy sets access_log_hint); the first one in Envoy's order. */
  audit: RuleEntry | null = null;
  shadowCustom: ShadowResult = new ShadowResult();
  shadowDeny: ShadowResult = new ShadowResult();
  shadowAllow: ShadowResult = new ShadowResult();

  reset(): AuthzDecision {
    this.allowed = true;
    this.reason = DecisionReason.NoPolicies;
    this.entry = null;
    this.audit = null;
    this.shadowCustom.reset();
    this.shadowDeny.reset();
    this.shadowAllow.reset();
    return this;
  }

  /** Envoy's effective policy id: the deciding rule's id, or "none". */
  get policyId(): string {
    const e = this.entry;
    return e ? e.envoyId : "none";
  }

  /** "ns/name#rule" of the deciding rule, or "". */
  get policyLabel(): string {
    const e = this.entry;
    return e ? e.label : "";
  }

  /** Envoy's response code details for a denial: rbac_access_denied_matched_policy[<id>]. */
  get responseDetails(): string {
    if (this.reason == DecisionReason.InvalidPath) return "path_normalization_failed";
    return "rbac_access_denied_matched_policy[" + this.policyId + "]";
  }
}
