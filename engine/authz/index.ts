// engine/authz — Istio AuthorizationPolicy semantics as pure functions over a precompiled
// configuration. No I/O, no ABI; the halyard.authz filter calls it. Configuration format and
// semantics: engine/authz/CONFIG.md.
//
//   decodeAuthzConfig(json: ArrayBuffer): AuthzConfigResult        { ok, config, error }
//   decodeAuthzConfigString(json: string) / decodeAuthzConfigValue(v: JsonValue)
//   AuthzConfig { policies, custom/deny/allow/audit: ActionRules, pathNormalization, trustDomain,
//                 debugHeader, warnings (unsupported fields dropped/ignored) }
//   class AuthzRequest — fields or overridable fetch*() hooks (lazy, at most once per request):
//     method, authority, rawPath, sourceAddress, remoteAddress, destinationAddress, destinationPort,
//     peerPrincipal (URI SAN), sni, jwtPayload (JsonValue), addHeader(name, value); reset() reuses it
//   authorize(config, request, out: AuthzDecision): AuthzDecision
//     AuthzDecision { allowed, reason, entry (RuleEntry: policy, rule, envoyId, label), audit,
//                     shadowCustom/shadowDeny/shadowAllow (dry-run), policyId, policyLabel,
//                     responseDetails }
//   normalizePath(raw, mode, out: NormalizedPath): bool   (Istio's path normalization options)
export { AuthzConfigResult, decodeAuthzConfig, decodeAuthzConfigString, decodeAuthzConfigValue } from "./decode";
export {
  ActionRules, Attr, AuthzAction, AuthzConfig, Condition, ConditionList, Policy, Rule, RuleEntry, authzActionName,
} from "./config";
export { AuthzDecision, DecisionReason, ShadowResult, decisionReasonName } from "./decision";
export { authorize, ruleMatches } from "./evaluate";
export { AuthzRequest } from "./request";
export { NormalizedPath, PathNormalization, normalizePath, parsePathNormalization, pathNormalizationName } from "./path";
export { CidrRange, IpAddress, parseCidr, parseIp, parseSocketAddress } from "./ip";
export { PathTemplate } from "./path_template";
