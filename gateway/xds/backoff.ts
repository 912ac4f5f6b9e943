// Exponential back-off with full jitter, capped, as Envoy's JitteredExponentialBackOffStrategy: attempt n waits a
// random time in [0, min(base * 2^n, max)) and at least `minMs`. Portable.
export interface BackoffOptions {
  /** Default 500 ms (Envoy's xDS default). */
  baseMs?: number;
  /** Default 30 s (Envoy's xDS default). */
  maxMs?: number;
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.baseMs = opts.baseMs ?? 500;
    this.maxMs = Math.max(opts.maxMs ?? 30_000, this.baseMs);
    this.random = opts.random ?? Math.random;
  }

  /** The wait before the next try. */
  next(): number {
    const ceiling = Math.min(this.baseMs * 2 ** Math.min(this.attempt, 30), this.maxMs);
    this.attempt++;
    return Math.max(1, Math.floor(this.random() * ceiling));
  }

  reset(): void {
    this.attempt = 0;
  }
}
