// The CORS filter's part of a decision (Envoy's cors filter with Istio's per-route policy).
import { CorsPolicy } from "./config";
import { Decision, DecisionKind } from "./decision";
import { Request } from "./request";

function pair(h: string[], name: string, value: string): void {
  h.push(name);
  h.push(value);
}

function originAllowed(policy: CorsPolicy, origin: string): bool {
  if (policy.allowsAnyOrigin) return true;
  const list = policy.allowOrigins;
  for (let i = 0, n = list.length; i < n; i++) {
    if (unchecked(list[i]).matches(origin)) return true;
  }
  return false;
}

/**
 * Fills `out.corsHeaders`. Returns true when the request is a preflight (OPTIONS with Origin and
 * Access-Control-Request-Method) answered locally: `out` becomes a 200 direct response. A
 * preflight from a disallowed origin is forwarded upstream unless unmatched_preflights is IGNORE.
 * An actual request from an allowed origin gets Access-Control-Allow-Origin (and credentials /
 * expose headers) on its response.
 */
export function applyCors(policy: CorsPolicy, req: Request, out: Decision): bool {
  const origin = req.header("origin");
  if (origin === null || origin.length == 0) return false;
  const allowed = originAllowed(policy, origin);
  const requestMethod = req.method == "OPTIONS" ? req.header("access-control-request-method") : null;
  const preflight = requestMethod !== null && requestMethod.length > 0;
  if (!preflight) {
    if (!allowed) return false;
    const h: string[] = ["access-control-allow-origin", origin];
    if (policy.allowCredentials) pair(h, "access-control-allow-credentials", "true");
    if (policy.exposeHeaders.length) pair(h, "access-control-expose-headers", policy.exposeHeaders);
    out.corsHeaders = h;
    return false;
  }
  if (!allowed && policy.forwardNotMatchingPreflights) return false;
  const h: string[] = [];
  if (allowed) pair(h, "access-control-allow-origin", origin);
  if (policy.allowCredentials) pair(h, "access-control-allow-credentials", "true");
  if (policy.allowMethods.length) {
    h.push("access-control-allow-methods");
    h.push(policy.allowMethods == "*" ? requestMethod! : policy.allowMethods);
  }
  if (policy.allowHeaders.length) {
    let value = policy.allowHeaders;
    if (value == "*") {
      const asked = req.header("access-control-request-headers");
      value = asked === null ? "" : asked;
    }
    if (value.length) pair(h, "access-control-allow-headers", value);
  }
  if (policy.maxAge.length) pair(h, "access-control-max-age", policy.maxAge);
  out.kind = DecisionKind.DirectResponse;
  out.status = 200;
  out.corsPreflight = true;
  out.corsHeaders = h;
  return true;
}
