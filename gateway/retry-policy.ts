// Envoy's retry policy: retry_on conditions (route config, or x-envoy-retry-on / x-envoy-retry-grpc-on set by a
// filter), x-envoy-max-retries, x-envoy-retriable-status-codes, and the fully jittered exponential back-off.
// Portable.
import type { HeaderMap } from "../wasm/host/index.js";
import type { RetryPolicyConfig } from "./bootstrap/types.js";

export const RETRY_ON = {
  "5xx": 1 << 0,
  "gateway-error": 1 << 1,
  reset: 1 << 2,
  "connect-failure": 1 << 3,
  "refused-stream": 1 << 4,
  "retriable-4xx": 1 << 5,
  "retriable-status-codes": 1 << 6,
  cancelled: 1 << 7,
  "deadline-exceeded": 1 << 8,
  internal: 1 << 9,
  "resource-exhausted": 1 << 10,
  unavailable: 1 << 11,
} as const;
export type RetryOnName = keyof typeof RETRY_ON;

const GRPC_RETRY: Array<[number, number]> = [
  [1, RETRY_ON.cancelled],
  [4, RETRY_ON["deadline-exceeded"]],
  [8, RETRY_ON["resource-exhausted"]],
  [13, RETRY_ON.internal],
  [14, RETRY_ON.unavailable],
];
const RESET_RETRY = RETRY_ON["5xx"] | RETRY_ON["gateway-error"] | RETRY_ON.reset;

export const DEFAULT_BACKOFF_BASE_MS = 25;

/** Bits for a comma-separated retry_on; `unknown` receives names that are not Envoy retry conditions. */
export function parseRetryOn(value: string, unknown?: (name: string) => void): number {
  let bits = 0;
  for (const raw of value.split(",")) {
    const name = raw.trim();
    if (!name) continue;
    const bit = (RETRY_ON as Record<string, number>)[name];
    if (bit !== undefined) bits |= bit;
    else unknown?.(name);
  }
  return bits;
}

// A filter (halyard.route) sets the same few x-envoy-retry-on values on every request: parse each once.
const parsedRetryOn = new Map<string, number>();
const PARSED_RETRY_ON_MAX = 256;

function headerRetryOn(value: string): number {
  let bits = parsedRetryOn.get(value);
  if (bits === undefined) {
    bits = parseRetryOn(value);
    if (parsedRetryOn.size >= PARSED_RETRY_ON_MAX) parsedRetryOn.clear();
    parsedRetryOn.set(value, bits);
  }
  return bits;
}

/** The policy one request runs with: the route's merged with what its request headers ask for. */
export interface EffectiveRetryPolicy {
  retryOn: number;
  retriesAllowed: number;
  retriableStatusCodes: number[];
  previousHosts: boolean;
  hostSelectionMaxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

const NO_RETRY: EffectiveRetryPolicy = Object.freeze({
  retryOn: 0,
  retriesAllowed: 0,
  retriableStatusCodes: [],
  previousHosts: false,
  hostSelectionMaxAttempts: 1,
  backoffBaseMs: DEFAULT_BACKOFF_BASE_MS,
  backoffMaxMs: DEFAULT_BACKOFF_BASE_MS * 10,
}) as EffectiveRetryPolicy;

export interface RetryHeaders {
  retryOn?: string | undefined;
  grpcRetryOn?: string | undefined;
  maxRetries?: string | undefined;
  retriableStatusCodes?: string | undefined;
}

/** As Envoy's RetryStateImpl: header conditions OR into the route's; x-envoy-max-retries wins when retries apply. */
export function effectiveRetryPolicy(route: RetryPolicyConfig | undefined, h: RetryHeaders): EffectiveRetryPolicy {
  if (!route && h.retryOn === undefined && h.grpcRetryOn === undefined) return NO_RETRY;
  let retryOn = route?.retryOn ?? 0;
  if (h.retryOn !== undefined) retryOn |= headerRetryOn(h.retryOn);
  if (h.grpcRetryOn !== undefined) retryOn |= headerRetryOn(h.grpcRetryOn);
  let retries = route?.numRetries ?? 1;
  if (retryOn !== 0 && h.maxRetries !== undefined && /^\s*\d+\s*$/.test(h.maxRetries)) retries = Number(h.maxRetries);
  let codes = route?.retriableStatusCodes ?? [];
  if (h.retriableStatusCodes !== undefined) {
    codes = [...codes];
    for (const c of h.retriableStatusCodes.split(",")) if (/^\s*\d+\s*$/.test(c)) codes.push(Number(c));
  }
  const base = route?.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS;
  return {
    retryOn,
    retriesAllowed: retryOn === 0 ? 0 : retries,
    retriableStatusCodes: codes,
    previousHosts: route?.previousHosts ?? false,
    hostSelectionMaxAttempts: route?.hostSelectionMaxAttempts ?? 1,
    backoffBaseMs: base,
    backoffMaxMs: route?.backoffMaxMs ?? base * 10,
  };
}

/** Would Envoy retry this upstream response? */
export function retriableResponse(p: EffectiveRetryPolicy, status: number, headers: HeaderMap): boolean {
  const on = p.retryOn;
  if (on === 0) return false;
  let grpcStatus: string | undefined;
  for (const [k, v] of headers) {
    // Never retried: Envoy's own overload and rate-limit answers.
    if (k === "x-envoy-overloaded" || k === "x-envoy-ratelimited") return false;
    if (k === "grpc-status") grpcStatus = v;
  }
  if (on & RETRY_ON["5xx"] && status >= 500 && status < 600) return true;
  if (on & RETRY_ON["gateway-error"] && (status === 502 || status === 503 || status === 504)) return true;
  if (on & RETRY_ON["retriable-4xx"] && status === 409) return true;
  if (on & RETRY_ON["retriable-status-codes"] && p.retriableStatusCodes.includes(status)) return true;
  if (grpcStatus !== undefined) {
    const code = Number(grpcStatus);
    for (const [c, bit] of GRPC_RETRY) if (code === c && on & bit) return true;
  }
  return false;
}

/** Would Envoy retry after this failure? refused-stream never applies to HTTP/1 upstreams. */
export function retriableFailure(p: EffectiveRetryPolicy, kind: "connect_failure" | "reset" | "per_try_timeout"): boolean {
  if (p.retryOn & RESET_RETRY) return true;
  return kind === "connect_failure" && (p.retryOn & RETRY_ON["connect-failure"]) !== 0;
}

/**
 * Envoy's JitteredExponentialBackOffStrategy: the n-th retry waits a uniformly random time below
 * base x (2^n - 1), never more than max.
 */
export class Backoff {
  private retry = 1;
  constructor(private readonly baseMs: number, private readonly maxMs: number, private readonly random: () => number = Math.random) {}

  nextMs(): number {
    const ceiling = ((2 ** this.retry) - 1) * this.baseMs;
    if (ceiling <= this.maxMs) this.retry++;
    return Math.min(Math.floor(this.random() * ceiling), this.maxMs);
  }
}
