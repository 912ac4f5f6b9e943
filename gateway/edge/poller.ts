// REST-JSON polling driven by requests. A Workers isolate runs code only while it handles something, so instead of
// a timer loop (RestXdsClient.start) each request may start one poll round: when the interval has passed since the
// last round began and none is running; after a failed round, when the back-off has passed. The caller decides
// whether to wait for the round (no configuration yet) or hand it to ctx.waitUntil (serving the last good one).
// Portable.
import { Backoff, type BackoffOptions } from "../xds/backoff.js";

export interface PollerOptions {
  /** One round over the four xDS types; resolves false when a request failed. */
  pollOnce(): Promise<boolean>;
  intervalMs: number;
  backoff?: BackoffOptions;
  now?: () => number;
}

export class RequestDrivenPoller {
  private running: Promise<boolean> | undefined;
  private nextAt = -Infinity;
  private readonly backoff: Backoff;
  private readonly now: () => number;

  constructor(private readonly opts: PollerOptions) {
    this.backoff = new Backoff(opts.backoff ?? { baseMs: 500, maxMs: 30_000 });
    this.now = opts.now ?? Date.now;
  }

  /** The round in progress, else a new one (`started`) if it is due, else undefined. */
  poll(): { round: Promise<boolean>; started: boolean } | undefined {
    if (this.running) return { round: this.running, started: false };
    const started = this.now();
    if (started < this.nextAt) return undefined;
    this.nextAt = Infinity;
    const round = this.opts.pollOnce().catch(() => false).then((ok) => {
      if (ok) this.backoff.reset();
      this.nextAt = started + (ok ? this.opts.intervalMs : this.backoff.next());
      this.running = undefined;
      return ok;
    });
    this.running = round;
    return { round, started: true };
  }
}
