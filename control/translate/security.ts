// RequestAuthentication and AuthorizationPolicy → the configurations of halyard.jwt (filters/jwt/CONFIG.md) and
// halyard.authz (engine/authz/CONFIG.md) for one proxy (a sidecar's workload, or a gateway's).
//
// Which policies apply is Istio's WorkloadPolicyMatcher, for both kinds:
// - only policies in the proxy's namespace or in the root namespace (`istio-system`) are considered;
// - a proxy that is not a Kubernetes Gateway API gateway (no `gateway.networking.k8s.io/gateway-name` label)
//   takes the policies whose `selector.matchLabels` its labels satisfy, none meaning every workload (of the
//   namespace, or of the mesh from the root namespace); a policy with `targetRef(s)` never applies to it;
// - a Gateway API gateway takes policies whose `targetRef(s)` name its Gateway (kind Gateway, group
//   gateway.networking.k8s.io, in the policy's namespace = the gateway's), and — Istio's default
//   ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY — selector policies as above.
// All RequestAuthentications that apply combine (every jwtRule is a provider); AuthorizationPolicies are listed
// and the filter applies Istio's CUSTOM → DENY → ALLOW order itself.
import type { ConfigSet } from "../config/config-set.js";
import type { ConfigError } from "../config/errors.js";
import type {
  AuthorizationPolicy,
  AuthorizationRule,
  JWTRule,
  PolicyTargetReference,
  RequestAuthentication,
  WorkloadSelector,
} from "../config/types.js";
import { IssueCollector } from "../registry/issues.js";
import { selectorMatches } from "../registry/labels.js";
import { durationMs } from "./duration.js";
import { FAKE_JWKS, type JwksResolver, type JwksSource } from "./jwks.js";
import type { Proxy } from "./proxy.js";

export const DEFAULT_ROOT_NAMESPACE = "istio-system";
export const DEFAULT_TRUST_DOMAIN = "cluster.local";
/** The label Kubernetes Gateway API deployments carry (Istio: label.IoK8sNetworkingGatewayGatewayName). */
export const GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name";
const GATEWAY_API_GROUP = "gateway.networking.k8s.io";
const DRY_RUN_ANNOTATION = "istio.io/dry-run";

export type PathNormalization = "NONE" | "BASE" | "MERGE_SLASHES" | "DECODE_AND_MERGE_SLASHES";

export interface SecurityOptions {
  /** meshConfig rootNamespace. Default istio-system. */
  rootNamespace?: string;
  /** meshConfig trustDomain. Default cluster.local. */
  trustDomain?: string;
  trustDomainAliases?: string[];
  /** meshConfig pathNormalization; absent: the filter's default (MERGE_SLASHES). */
  pathNormalization?: PathNormalization;
  /** Where fetched `jwksUri` documents come from; without one every such provider gets FAKE_JWKS. */
  jwks?: Pick<JwksResolver, "jwksFor">;
}

// ---- the filter configurations, as their CONFIG.md files define them ----

export interface JwtProviderConfig {
  issuer: string;
  audiences?: string[];
  jwks: string;
  from_headers?: { name: string; prefix?: string }[];
  from_params?: string[];
  from_cookies?: string[];
  forward_original_token?: boolean;
  output_payload_to_header?: string;
  output_claim_to_headers?: { header: string; claim: string }[];
}

export interface JwtFilterConfig {
  providers: JwtProviderConfig[];
}

export interface AuthzSource {
  [field: string]: string[];
}
export interface AuthzRuleConfig {
  from?: { source: AuthzSource }[];
  to?: { operation: Record<string, string[]> }[];
  when?: { key: string; values?: string[]; notValues?: string[] }[];
}

export interface AuthzPolicyConfig {
  name: string;
  namespace: string;
  action: "ALLOW" | "DENY" | "AUDIT" | "CUSTOM";
  provider?: { name: string };
  dry_run?: boolean;
  rules: AuthzRuleConfig[] | null;
}

export interface AuthzFilterConfig {
  trust_domain: string;
  trust_domain_aliases?: string[];
  path_normalization?: PathNormalization;
  policies: AuthzPolicyConfig[];
}

export interface SecurityTranslation {
  /** The RequestAuthentications that apply, root namespace first, each in load order. */
  requestAuthentications: RequestAuthentication[];
  authorizationPolicies: AuthorizationPolicy[];
  /** halyard.jwt's configuration; undefined when no jwtRule applies (the proxy runs no halyard.jwt). */
  jwt: JwtFilterConfig | undefined;
  /** halyard.authz's configuration; undefined when no policy applies (the proxy runs no halyard.authz). */
  authz: AuthzFilterConfig | undefined;
  /** Every JWKS source the jwt config needed, fetched or not (for JwksResolver.resolve). */
  jwksSources: JwksSource[];
  warnings: ConfigError[];
}

// ---- selection ----

interface Targetable {
  selector?: WorkloadSelector;
  targetRef?: PolicyTargetReference;
  targetRefs?: PolicyTargetReference[];
}

function targetRefsOf(spec: Targetable): PolicyTargetReference[] {
  if (spec.targetRefs && spec.targetRefs.length > 0) return spec.targetRefs;
  return spec.targetRef ? [spec.targetRef] : [];
}

/** Istio's WorkloadPolicyMatcher.ShouldAttachPolicy, plus the namespace scope (own namespace or root). */
export function policyApplies(policyNamespace: string, spec: Targetable, proxy: Proxy, rootNamespace = DEFAULT_ROOT_NAMESPACE): boolean {
  if (policyNamespace !== proxy.namespace && policyNamespace !== rootNamespace) return false;
  const refs = targetRefsOf(spec);
  const selected = () => selectorMatches(spec.selector?.matchLabels, proxy.labels);
  const gatewayName = proxy.labels[GATEWAY_NAME_LABEL];
  if (gatewayName === undefined) return refs.length === 0 && selected();
  if (refs.length === 0) return selected();
  return refs.some(
    (r) =>
      policyNamespace === proxy.namespace &&
      (r.namespace === undefined || r.namespace === "" || r.namespace === proxy.namespace) &&
      r.kind === "Gateway" &&
      (r.group ?? "") === GATEWAY_API_GROUP &&
      r.name === gatewayName,
  );
}

/** Root namespace policies first (mesh-wide), then the proxy's namespace; load order within each. */
function select<T extends { metadata: { namespace: string }; spec: Targetable }>(all: readonly T[], proxy: Proxy, rootNamespace: string): T[] {
  const applies = all.filter((p) => policyApplies(p.metadata.namespace, p.spec, proxy, rootNamespace));
  return [...applies.filter((p) => p.metadata.namespace === rootNamespace), ...applies.filter((p) => p.metadata.namespace !== rootNamespace)];
}

export function selectRequestAuthentications(config: ConfigSet, proxy: Proxy, rootNamespace = DEFAULT_ROOT_NAMESPACE): RequestAuthentication[] {
  return select(config.requestAuthentications, proxy, rootNamespace);
}

export function selectAuthorizationPolicies(config: ConfigSet, proxy: Proxy, rootNamespace = DEFAULT_ROOT_NAMESPACE): AuthorizationPolicy[] {
  return select(config.authorizationPolicies, proxy, rootNamespace);
}

// ---- RequestAuthentication → halyard.jwt ----

/** Where the JWKS of a rule comes from when it is not inline: its jwksUri, else OpenID discovery of its issuer. */
export function jwksSourceOf(rule: JWTRule): JwksSource | undefined {
  if (rule.jwks) return undefined;
  const timeoutMs = rule.timeout ? durationMs(rule.timeout) : undefined;
  const t = timeoutMs !== undefined && timeoutMs > 0 ? { timeoutMs } : {};
  return rule.jwksUri ? { uri: rule.jwksUri, ...t } : { issuer: rule.issuer, ...t };
}

/** Every JWKS source any RequestAuthentication of the config names (what a control plane prefetches). */
export function configJwksSources(config: ConfigSet): JwksSource[] {
  const out: JwksSource[] = [];
  for (const ra of config.requestAuthentications) {
    for (const rule of ra.spec.jwtRules ?? []) {
      const s = jwksSourceOf(rule);
      if (s) out.push(s);
    }
  }
  return out;
}

function jwtProvider(rule: JWTRule, jwks: string): JwtProviderConfig {
  const p: JwtProviderConfig = { issuer: rule.issuer, jwks };
  if (rule.audiences?.length) p.audiences = [...rule.audiences];
  if (rule.fromHeaders?.length) p.from_headers = rule.fromHeaders.map((h) => (h.prefix !== undefined ? { name: h.name, prefix: h.prefix } : { name: h.name }));
  if (rule.fromParams?.length) p.from_params = [...rule.fromParams];
  if (rule.fromCookies?.length) p.from_cookies = [...rule.fromCookies];
  if (rule.forwardOriginalToken) p.forward_original_token = true;
  if (rule.outputPayloadToHeader) p.output_payload_to_header = rule.outputPayloadToHeader;
  if (rule.outputClaimToHeaders?.length) p.output_claim_to_headers = rule.outputClaimToHeaders.map((c) => ({ header: c.header, claim: c.claim }));
  return p;
}

// ---- AuthorizationPolicy → halyard.authz ----

const SOURCE_FIELDS = ["principals", "requestPrincipals", "namespaces", "serviceAccounts", "ipBlocks", "remoteIpBlocks"];
const OPERATION_FIELDS = ["hosts", "ports", "methods", "paths"];
const withNot = (fields: string[]) => fields.flatMap((f) => [f, `not${f[0]!.toUpperCase()}${f.slice(1)}`]);
const SOURCE_KEYS = new Set(withNot(SOURCE_FIELDS));
const OPERATION_KEYS = new Set(withNot(OPERATION_FIELDS));
/** Valid Istio the filter has no attribute for: handled like the filter's own unsupported fields. */
const UNSUPPORTED_SOURCE = new Set(["trustDomains", "notTrustDomains"]);
const UNSUPPORTED_WHEN = new Set(["source.trustDomain"]);

/** A rule no request matches (every address is both in and out of the blocks): an ALLOW rule that must fail closed. */
const NEVER_MATCHES: AuthzRuleConfig = { from: [{ source: { ipBlocks: ["0.0.0.0/0", "::/0"], notIpBlocks: ["0.0.0.0/0", "::/0"] } }] };

function pick(obj: Record<string, unknown>, keys: ReadonlySet<string>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(obj)) if (keys.has(k) && Array.isArray(v)) out[k] = v.map(String);
  return out;
}

function authzRule(rule: AuthorizationRule, action: string, warn: (path: (string | number)[], message: string) => void, index: number): AuthzRuleConfig {
  const out: AuthzRuleConfig = {};
  let unsupported = false;
  if (rule.from) {
    out.from = rule.from.map((f, i) => {
      for (const k of Object.keys(f.source ?? {})) {
        if (UNSUPPORTED_SOURCE.has(k)) {
          unsupported = true;
          warn(["spec", "rules", index, "from", i, "source", k], `${k} is not supported by Halyard; ${action === "ALLOW" ? "the ALLOW rule never matches (fails closed)" : `the field is ignored (the ${action} rule widens)`}`);
        }
      }
      return { source: pick(f.source ?? {}, SOURCE_KEYS) };
    });
  }
  if (rule.to) out.to = rule.to.map((t) => ({ operation: pick(t.operation ?? {}, OPERATION_KEYS) }));
  if (rule.when) {
    const kept: NonNullable<AuthzRuleConfig["when"]> = [];
    rule.when.forEach((c, i) => {
      if (UNSUPPORTED_WHEN.has(c.key)) {
        unsupported = true;
        warn(["spec", "rules", index, "when", i, "key"], `${c.key} is not supported by Halyard; ${action === "ALLOW" ? "the ALLOW rule never matches (fails closed)" : `the condition is ignored (the ${action} rule widens)`}`);
        return;
      }
      kept.push({ key: c.key, ...(c.values ? { values: [...c.values] } : {}), ...(c.notValues ? { notValues: [...c.notValues] } : {}) });
    });
    if (kept.length > 0) out.when = kept;
  }
  // A source left empty by the removal would be refused by the filter; with its field ignored it matches any
  // request, and so does the whole `from` (its entries OR).
  if (out.from?.some((f) => Object.keys(f.source).length === 0)) delete out.from;
  if (unsupported && action === "ALLOW") return NEVER_MATCHES;
  return out;
}

function authzPolicy(policy: AuthorizationPolicy, issues: IssueCollector): AuthzPolicyConfig {
  const action = policy.spec.action ?? "ALLOW";
  const warn = (path: (string | number)[], message: string) => issues.add(policy, path, message);
  const out: AuthzPolicyConfig = {
    name: policy.metadata.name,
    namespace: policy.metadata.namespace,
    action,
    rules: policy.spec.rules === undefined ? null : policy.spec.rules.map((r, i) => authzRule(r, action, warn, i)),
  };
  if (policy.spec.provider) out.provider = { name: policy.spec.provider.name };
  if (policy.metadata.annotations?.[DRY_RUN_ANNOTATION]?.toLowerCase() === "true") out.dry_run = true;
  return out;
}

// ---- the entry ----

export function translateSecurity(config: ConfigSet, proxy: Proxy, options: SecurityOptions = {}): SecurityTranslation {
  const rootNamespace = options.rootNamespace ?? DEFAULT_ROOT_NAMESPACE;
  const issues = new IssueCollector(config);
  const requestAuthentications = selectRequestAuthentications(config, proxy, rootNamespace);
  const authorizationPolicies = selectAuthorizationPolicies(config, proxy, rootNamespace);

  const providers: JwtProviderConfig[] = [];
  const jwksSources: JwksSource[] = [];
  for (const ra of requestAuthentications) {
    for (const rule of ra.spec.jwtRules ?? []) {
      const source = jwksSourceOf(rule);
      if (source) jwksSources.push(source);
      providers.push(jwtProvider(rule, rule.jwks ?? (source && options.jwks ? options.jwks.jwksFor(source) : FAKE_JWKS)));
    }
  }

  let authz: AuthzFilterConfig | undefined;
  if (authorizationPolicies.length > 0) {
    authz = { trust_domain: options.trustDomain ?? DEFAULT_TRUST_DOMAIN, policies: authorizationPolicies.map((p) => authzPolicy(p, issues)) };
    if (options.trustDomainAliases?.length) authz.trust_domain_aliases = [...options.trustDomainAliases];
    if (options.pathNormalization) authz.path_normalization = options.pathNormalization;
  }
  return {
    requestAuthentications,
    authorizationPolicies,
    jwt: providers.length > 0 ? { providers } : undefined,
    authz,
    jwksSources,
    warnings: issues.list,
  };
}
