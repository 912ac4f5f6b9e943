// halyard.authz — Istio AuthorizationPolicy as Envoy's RBAC filters (and Istio's CUSTOM
// placeholder) enforce it. On request headers it asks engine/authz; a denial is Envoy's local
// reply (403 "RBAC: access denied", details rbac_access_denied_matched_policy[<id>]); an allowed
// request continues with :path normalized as Envoy's HCM would have done. The decision is
// published as properties (README.md) for access logs and `halyard xcheck`.
import { AuthzConfig, AuthzDecision, DecisionReason, ShadowResult, authorize, decodeAuthzConfig } from "../../engine/authz/index";
import {
  Action, HeaderPair, HttpContext, MapType, RootContext, logDebug, logError, logWarn, registerRootContext, replaceHeader,
  sendLocalResponse, setProperty,
} from "../abi/index";
import { HostAuthzRequest } from "./attributes";

export const AUTHZ_ROOT_ID = "halyard.authz";

/** Properties set on every request this filter decides (one path segment each, as halyard.jwt). */
export const PROP_RESULT = "halyard.authz.result";
export const PROP_POLICY = "halyard.authz.policy";
export const PROP_AUDIT = "halyard.authz.audit";
export const PROP_SHADOW_CUSTOM = "halyard.authz.shadow_custom";
export const PROP_SHADOW_DENY = "halyard.authz.shadow_deny";
export const PROP_SHADOW_ALLOW = "halyard.authz.shadow_allow";

const DENIED_BODY = "RBAC: access denied";
const GRPC_PERMISSION_DENIED: u32 = 7;

const ALLOWED = String.UTF8.encode("allowed");
const DENIED = String.UTF8.encode("denied");

class AuthzRoot extends RootContext {
  config: AuthzConfig = new AuthzConfig();
  /** One request object and one decision for the whole VM: a decision completes inside one callback. */
  readonly request: HostAuthzRequest = new HostAuthzRequest();
  readonly decision: AuthzDecision = new AuthzDecision();

  onConfigure(pluginConfigurationSize: usize): bool {
    const result = decodeAuthzConfig(this.getPluginConfiguration(pluginConfigurationSize));
    const config = result.config;
    if (!config) {
      logError(AUTHZ_ROOT_ID + ": invalid configuration: " + result.error);
      return false;
    }
    for (let i = 0; i < config.warnings.length; i++) logWarn(AUTHZ_ROOT_ID + ": " + config.warnings[i]);
    this.config = config;
    return true;
  }

  createHttpContext(contextId: u32): HttpContext | null {
    return new AuthzHttp(contextId, this);
  }
}

/** "allowed <ns/name#rule>" / "denied <ns/name#rule>" ("none" when no rule decided). */
function shadowText(s: ShadowResult): string {
  const e = s.entry;
  return (s.allowed ? "allowed " : "denied ") + (e ? e.label : "none");
}

function decisionText(d: AuthzDecision): string {
  const label = d.policyLabel;
  return (d.allowed ? "allowed " : "denied ") + (label.length ? label : "none");
}

class AuthzHttp extends HttpContext {
  /** Debug header value to add to the response (only when the config names a debug header). */
  private debugValue: string = "";

  constructor(contextId: u32, private authz: AuthzRoot) {
    super(contextId, authz);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): Action {
    const root = this.authz;
    const config = root.config;
    const req = root.request;
    req.reset();
    const d = authorize(config, req, root.decision);
    publish(d);

    if (d.reason == DecisionReason.InvalidPath) {
      sendLocalResponse(400, d.responseDetails, null, []);
      return Action.Pause;
    }
    if (!d.allowed) {
      if (d.reason == DecisionReason.CustomMatched) {
        const e = d.entry!;
        logWarn(
          AUTHZ_ROOT_ID + ": CUSTOM policy " + e.label + " matched but its provider \"" + e.policy.provider +
            "\" is not available (Halyard has no ext_authz); denying",
        );
      } else {
        logDebug(AUTHZ_ROOT_ID + ": denied by " + d.policyId);
      }
      const headers: HeaderPair[] = [];
      if (config.debugHeader.length) headers.push(new HeaderPair(config.debugHeader, decisionText(d)));
      sendLocalResponse(403, d.responseDetails, String.UTF8.encode(DENIED_BODY), headers, GRPC_PERMISSION_DENIED);
      return Action.Pause;
    }

    // Envoy's HCM normalizes :path before any filter, and the normalized path is what the
    // upstream receives; without that rewrite the policy would judge one path and forward another.
    const path = req.getPath(config.pathNormalization);
    if (path.changed) replaceHeader(MapType.HttpRequestHeaders, ":path", path.path + path.query);
    if (config.debugHeader.length) this.debugValue = decisionText(d);
    return Action.Continue;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): Action {
    if (this.debugValue.length) replaceHeader(MapType.HttpResponseHeaders, this.authz.config.debugHeader, this.debugValue);
    return Action.Continue;
  }
}

function publish(d: AuthzDecision): void {
  setProperty([PROP_RESULT], d.allowed ? ALLOWED : DENIED);
  const e = d.entry;
  if (e) setProperty([PROP_POLICY], String.UTF8.encode(e.label));
  const a = d.audit;
  if (a) setProperty([PROP_AUDIT], String.UTF8.encode(a.label));
  if (d.shadowCustom.evaluated) setProperty([PROP_SHADOW_CUSTOM], String.UTF8.encode(shadowText(d.shadowCustom)));
  if (d.shadowDeny.evaluated) setProperty([PROP_SHADOW_DENY], String.UTF8.encode(shadowText(d.shadowDeny)));
  if (d.shadowAllow.evaluated) setProperty([PROP_SHADOW_ALLOW], String.UTF8.encode(shadowText(d.shadowAllow)));
}

registerRootContext(AUTHZ_ROOT_ID, (contextId: u32): RootContext => new AuthzRoot(contextId));
