// Outlier detection (consecutive 5xx and consecutive gateway failures) as Envoy runs it with
// split_external_local_origin_errors off: connect failures, resets and timeouts count as the 503/504 they become.
// An ejected host stays out for base_ejection_time x times ejected (capped by max_ejection_time) and comes back on
// the first interval tick after that; each tick a healthy host's ejection multiplier decays by one. Portable.
import type { OutlierDetectionConfig } from "./bootstrap/types.js";

export interface OutlierHost {
  ejected: boolean;
  ejectedUntilMs: number;
  timesEjected: number;
  consecutive5xx: number;
  consecutiveGatewayFailure: number;
}

export const DEFAULT_OUTLIER_DETECTION: OutlierDetectionConfig = {
  consecutive5xx: 5,
  consecutiveGatewayFailure: 5,
  enforcingConsecutive5xx: 100,
  enforcingConsecutiveGatewayFailure: 0,
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionTimeMs: 300_000,
  maxEjectionPercent: 10,
  alwaysEjectOneHost: false,
};

export class OutlierDetector<H extends OutlierHost> {
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly config: OutlierDetectionConfig,
    private readonly hosts: readonly H[],
    /** Called whenever a host is ejected or brought back. */
    private readonly onChange: () => void,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {
    this.timer = setInterval(() => this.tick(), config.intervalMs);
    (this.timer as { unref?: () => void }).unref?.();
  }

  /** One finished attempt on `host`: the HTTP status it produced (local-origin failures as 503/504). */
  report(host: H, status: number): void {
    if (status < 500) {
      host.consecutive5xx = 0;
      host.consecutiveGatewayFailure = 0;
      return;
    }
    host.consecutive5xx++;
    if (status === 502 || status === 503 || status === 504) host.consecutiveGatewayFailure++;
    else host.consecutiveGatewayFailure = 0;
    if (host.consecutive5xx >= this.config.consecutive5xx) {
      host.consecutive5xx = 0;
      this.maybeEject(host, this.config.enforcingConsecutive5xx);
    } else if (host.consecutiveGatewayFailure >= this.config.consecutiveGatewayFailure) {
      host.consecutiveGatewayFailure = 0;
      this.maybeEject(host, this.config.enforcingConsecutiveGatewayFailure);
    }
  }

  /** Brings back hosts whose ejection time is over; exposed for tests that cannot wait for the interval. */
  tick(): void {
    const now = this.now();
    let changed = false;
    for (const h of this.hosts) {
      if (h.ejected) {
        if (now >= h.ejectedUntilMs) {
          h.ejected = false;
          h.consecutive5xx = 0;
          h.consecutiveGatewayFailure = 0;
          changed = true;
        }
      } else if (h.timesEjected > 0) {
        h.timesEjected--;
      }
    }
    if (changed) this.onChange();
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private maybeEject(host: H, enforcingPercent: number): void {
    if (host.ejected || this.random() * 100 >= enforcingPercent) return;
    const ejected = this.hosts.reduce((n, h) => n + (h.ejected ? 1 : 0), 0);
    const percentAfter = (100 * (ejected + 1)) / this.hosts.length;
    const allowed = percentAfter <= this.config.maxEjectionPercent || (this.config.alwaysEjectOneHost && ejected === 0);
    if (!allowed) return;
    host.ejected = true;
    host.timesEjected++;
    const base = this.config.baseEjectionTimeMs;
    host.ejectedUntilMs = this.now() + Math.min(base * host.timesEjected, Math.max(base, this.config.maxEjectionTimeMs));
    this.onChange();
  }
}
