// Evaluating a request against the compiled policies, in the order Istio's filter chain does:
//   path normalization (HCM; %00 -> 400)
//   CUSTOM   (no ext_authz provider in Halyard: a matching rule denies)
//   AUDIT    (never changes the decision; records the first matching rule)
//   DENY     (any matching rule denies)
//   ALLOW    (with enforced ALLOW policies, a request is allowed only if one rule matches)
// Within an action, rules are tried in Envoy's RBAC order (sorted policy ids). A dry-run
// policy goes to that action's shadow engine, which runs when the filter is reached (as Envoy's
// shadow rules do) and never changes the decision.
import { JsonKind, JsonValue } from "../json/index";
import { ActionRules, Attr, AuthzConfig, Condition, ConditionList, Rule, RuleEntry, ValueMatcher } from "./config";
import { AuthzDecision, DecisionReason, ShadowResult } from "./decision";
import { PathNormalization } from "./path";
import { arrayAt, arrayLength, ptrField } from "./layout";
import { anyCidr, anyPath, anyPort, anyString } from "./raw";
import { AuthzRequest } from "./request";
import { StringMatcher } from "./string_match";

// ---- JWT-based attributes (read from the parsed payload; only when a policy uses them) ----

function stringClaim(payload: JsonValue | null, name: string): string | null {
  if (!payload) return null;
  const v = payload.get(name);
  return v && v.kind == JsonKind.String ? v.stringValue : null;
}

function issSubAny(list: ValueMatcher[], payload: JsonValue | null): bool {
  const iss = stringClaim(payload, "iss");
  const sub = stringClaim(payload, "sub");
  if (iss === null || sub === null) return false;
  for (let i = 0, n = list.length; i < n; i++) {
    const m = unchecked(list[i]);
    if (m.iss!.matches(iss) && m.sub!.matches(sub)) return true;
  }
  return false;
}

/** The claim at `path` inside the payload (nested objects), or null. */
function claimAt(payload: JsonValue | null, path: string[]): JsonValue | null {
  let v = payload;
  for (let i = 0, n = path.length; i < n && v; i++) {
    if (v.kind != JsonKind.Object) return null;
    v = v.get(unchecked(path[i]));
  }
  return v;
}

/** A string claim matches directly; a list claim matches when any string element does. */
function claimMatches(m: StringMatcher, claim: JsonValue): bool {
  if (claim.kind == JsonKind.String) return m.matches(claim.stringValue);
  if (claim.kind != JsonKind.Array) return false;
  for (let i = 0, n = claim.length; i < n; i++) {
    const e = claim.at(i)!;
    if (e.kind == JsonKind.String && m.matches(e.stringValue)) return true;
  }
  return false;
}

function claimAny(list: ValueMatcher[], claim: JsonValue | null): bool {
  if (!claim) return false;
  for (let i = 0, n = list.length; i < n; i++) {
    if (claimMatches(unchecked(list[i]).str!, claim!)) return true;
  }
  return false;
}

const AUD: string[] = ["aud"];
const AZP: string[] = ["azp"];

function jwtAny(attr: i32, c: usize, list: usize, r: usize): bool {
  const req = changetype<AuthzRequest>(r);
  const values = changetype<ValueMatcher[]>(list);
  const payload = req.getJwtPayload();
  if (attr == Attr.RequestPrincipal) return issSubAny(values, payload);
  if (attr == Attr.RequestAudiences) return claimAny(values, claimAt(payload, AUD));
  if (attr == Attr.RequestPresenter) return claimAny(values, claimAt(payload, AZP));
  return claimAny(values, claimAt(payload, changetype<Condition>(c).claimPath));
}

// ---- the rule walk, over raw pointers (see raw.ts) ----

// `r` is the AuthzRequest as a raw pointer: firstMatch keeps the managed reference alive on its
// shadow-stack frame while these run, so they need no frames of their own.

/** OR over `list` (a ValueMatcher[]) for condition `c`'s attribute. */
function anyMatches(c: usize, list: usize, r: usize, mode: PathNormalization): bool {
  const attr = load<i32>(c + offsetof<Condition>("attr"));
  switch (attr) {
    case Attr.SourceIp: return anyCidr(list, changetype<usize>(changetype<AuthzRequest>(r).getSourceIp()));
    case Attr.RemoteIp: return anyCidr(list, changetype<usize>(changetype<AuthzRequest>(r).getRemoteIp()));
    case Attr.DestinationIp: return anyCidr(list, changetype<usize>(changetype<AuthzRequest>(r).getDestinationIp()));
    case Attr.DestinationPort: return anyPort(list, changetype<AuthzRequest>(r).getDestinationPort());
    case Attr.SourcePrincipal:
    case Attr.SourceNamespace: return anyString(list, changetype<usize>(changetype<AuthzRequest>(r).getPeerPrincipal()));
    case Attr.ConnectionSni: return anyString(list, changetype<usize>(changetype<AuthzRequest>(r).getSni()));
    case Attr.Host: return anyString(list, changetype<usize>(changetype<AuthzRequest>(r).getHostLower()));
    case Attr.Method: return anyString(list, changetype<usize>(changetype<AuthzRequest>(r).getMethod()));
    case Attr.RequestHeader: return anyString(list, headerPtr(c, r));
    case Attr.Path: return anyPath(list, changetype<usize>(changetype<AuthzRequest>(r).getPath(mode).path));
    default: return jwtAny(attr, c, list, r);
  }
}

function headerPtr(c: usize, r: usize): usize {
  const name = changetype<string>(ptrField(c, offsetof<Condition>("key")));
  return changetype<usize>(changetype<AuthzRequest>(r).getHeader(name));
}

@inline function conditionHolds(c: usize, r: usize, mode: PathNormalization): bool {
  const values = ptrField(c, offsetof<Condition>("values"));
  if (arrayLength(values) > 0 && !anyMatches(c, values, r, mode)) return false;
  const notValues = ptrField(c, offsetof<Condition>("notValues"));
  return arrayLength(notValues) == 0 || !anyMatches(c, notValues, r, mode);
}

/** All conditions of a ConditionList. */
@inline function allHold(list: usize, r: usize, mode: PathNormalization): bool {
  const items = ptrField(list, offsetof<ConditionList>("items"));
  for (let i = 0, n = arrayLength(items); i < n; i++) {
    if (!conditionHolds(arrayAt(items, i), r, mode)) return false;
  }
  return true;
}

/** Any of a ConditionList[]. */
@inline function anyListHolds(lists: usize, r: usize, mode: PathNormalization): bool {
  for (let i = 0, n = arrayLength(lists); i < n; i++) {
    if (allHold(arrayAt(lists, i), r, mode)) return true;
  }
  return false;
}

function ruleMatchesRaw(rule: usize, r: usize, mode: PathNormalization): bool {
  const flags = load<u8>(rule + offsetof<Rule>("flags"));
  if (flags & Rule.NEVER) return false;
  return (flags & Rule.ANY_TO || anyListHolds(ptrField(rule, offsetof<Rule>("tos")), r, mode)) &&
    (flags & Rule.ANY_FROM || anyListHolds(ptrField(rule, offsetof<Rule>("froms")), r, mode)) &&
    (flags & Rule.NO_WHEN || allHold(ptrField(rule, offsetof<Rule>("whens")), r, mode));
}

/** One of its froms, one of its tos and all of its whens. */
export function ruleMatches(rule: Rule, req: AuthzRequest, mode: PathNormalization): bool {
  const matched = ruleMatchesRaw(changetype<usize>(rule), changetype<usize>(req), mode);
  keepAlive(req);
  return matched;
}

/** A use after the raw walk, so `req` stays on this function's shadow-stack frame during it. */
@inline function keepAlive(req: AuthzRequest): void {
  if (changetype<usize>(req) == 0) unreachable();
}

/** The first matching entry in Envoy's order, or null. */
function firstMatch(entries: RuleEntry[], req: AuthzRequest, mode: PathNormalization): RuleEntry | null {
  const list = changetype<usize>(entries);
  const r = changetype<usize>(req);
  let found: usize = 0;
  for (let i = 0, n = arrayLength(list); i < n; i++) {
    const e = arrayAt(list, i);
    if (ruleMatchesRaw(ptrField(e, offsetof<RuleEntry>("rule")), r, mode)) {
      found = e;
      break;
    }
  }
  keepAlive(req);
  return changetype<RuleEntry | null>(found);
}

/** Shadow engine of a DENY-like action (CUSTOM, DENY): a match means "would deny". */
function shadowDenying(set: ActionRules, req: AuthzRequest, mode: PathNormalization, out: ShadowResult): void {
  if (!set.hasDryRunPolicy) return;
  out.evaluated = true;
  out.entry = firstMatch(set.dryRun, req, mode);
  out.allowed = out.entry === null;
}

/** Decides `req` into `out` (reset first) and returns it. */
export function authorize(config: AuthzConfig, req: AuthzRequest, out: AuthzDecision): AuthzDecision {
  out.reset();
  const mode = config.pathNormalization;
  if (mode != PathNormalization.None && !req.getPath(mode).ok) {
    out.allowed = false;
    out.reason = DecisionReason.InvalidPath;
    return out;
  }

  const custom = config.custom;
  shadowDenying(custom, req, mode, out.shadowCustom);
  if (custom.hasEnforcedPolicy) {
    const e = firstMatch(custom.enforced, req, mode);
    if (e) {
      out.allowed = false;
      out.reason = DecisionReason.CustomMatched;
      out.entry = e;
      return out;
    }
  }

  if (config.audit.hasEnforcedPolicy) out.audit = firstMatch(config.audit.enforced, req, mode);

  const deny = config.deny;
  shadowDenying(deny, req, mode, out.shadowDeny);
  if (deny.hasEnforcedPolicy) {
    const e = firstMatch(deny.enforced, req, mode);
    if (e) {
      out.allowed = false;
      out.reason = DecisionReason.DenyMatched;
      out.entry = e;
      return out;
    }
  }

  const allow = config.allow;
  if (allow.hasDryRunPolicy) {
    const s = out.shadowAllow;
    s.evaluated = true;
    s.entry = firstMatch(allow.dryRun, req, mode);
    s.allowed = s.entry !== null;
  }
  if (allow.hasEnforcedPolicy) {
    const e = firstMatch(allow.enforced, req, mode);
    out.entry = e;
    out.allowed = e !== null;
    out.reason = e ? DecisionReason.AllowMatched : DecisionReason.AllowNotMatched;
    return out;
  }
  out.allowed = true;
  out.reason = custom.hasEnforcedPolicy || deny.hasEnforcedPolicy ? DecisionReason.NoDenyMatched : DecisionReason.NoPolicies;
  return out;
}
