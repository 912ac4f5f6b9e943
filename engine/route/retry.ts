// Istio's retry semantics (pilot retry.ConvertPolicy): the default policy, and how a user's
// `retryOn` splits into Envoy retry_on conditions and retriable status codes.
import { RetryPolicy } from "./config";
import { isDigits } from "./text";

export const DEFAULT_RETRY_ON = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";
export const DEFAULT_RETRY_ATTEMPTS: i32 = 2;

/** What a route without `retries` gets (Istio's default: 2 retries, 503 retriable). */
export const DEFAULT_RETRY_POLICY = new RetryPolicy(DEFAULT_RETRY_ATTEMPTS, 0, DEFAULT_RETRY_ON, [503]);

/** retryOn conditions Istio's validation accepts. */
const SUPPORTED_RETRY_ON: string[] = [
  "5xx", "gateway-error", "reset", "reset-before-request", "connect-failure", "envoy-ratelimited",
  "retriable-4xx", "refused-stream", "retriable-status-codes", "retriable-headers",
  "http3-post-connect-failure", "cancelled", "deadline-exceeded", "internal", "resource-exhausted",
  "unavailable",
];

/** HTTP status codes with a standard reason phrase (Go's http.StatusText, which Istio uses to
 *  tell a status code from a condition name). */
const KNOWN_STATUS_CODES: i32[] = [
  100, 101, 102, 103,
  200, 201, 202, 203, 204, 205, 206, 207, 208, 226,
  300, 301, 302, 303, 304, 305, 307, 308,
  400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418,
  421, 422, 423, 424, 425, 426, 428, 429, 431, 451,
  500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
];

export class RetryOnParse {
  retryOn: string = "";
  codes: i32[] = [];
  /** "" when every entry is valid, else the first invalid entry. */
  invalid: string = "";
}

/** Splits "5xx,503,reset" into conditions and status codes; adds retriable-status-codes when codes
 *  are given without it (Istio does the same). */
export function parseRetryOn(spec: string): RetryOnParse {
  const out = new RetryOnParse();
  const parts = spec.split(",");
  const conditions: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = unchecked(parts[i]).trim();
    if (part.length == 0) continue;
    if (isDigits(part) && part.length <= 3 && KNOWN_STATUS_CODES.includes(I32.parseInt(part))) {
      out.codes.push(I32.parseInt(part));
    } else if (SUPPORTED_RETRY_ON.includes(part)) {
      conditions.push(part);
    } else if (out.invalid.length == 0) {
      out.invalid = part;
    }
  }
  if (out.codes.length > 0 && !conditions.includes("retriable-status-codes")) conditions.push("retriable-status-codes");
  out.retryOn = conditions.join(",");
  return out;
}
