// Streams paused by an injected delay, resumed from the root context's tick. The tick period is
// set to the time until the earliest deadline while delays are pending, and stopped when none are.
import { setTickPeriodMilliseconds } from "../abi/index";
import { nowNanoseconds } from "./clock";

const NS_PER_MS: u64 = 1000000;
/** Longest single tick wait; deadlines further out are re-checked at this period. */
const MAX_PERIOD_MS: u64 = 1000;

export class DelayedStream {
  constructor(
    public contextId: u32,
    public dueNs: u64,
    /** Abort to apply after the delay (0 / -1 = none). */
    public abortHttpStatus: i32,
    public abortGrpcStatus: i32,
    public grpcRequest: bool,
  ) {}
}

export class DelayQueue {
  private pending: DelayedStream[] = [];
  private periodMs: u32 = 0;

  get size(): i32 {
    return this.pending.length;
  }

  add(stream: DelayedStream): void {
    this.pending.push(stream);
    this.schedule();
  }

  has(contextId: u32): bool {
    const p = this.pending;
    for (let i = 0, n = p.length; i < n; i++) if (unchecked(p[i]).contextId == contextId) return true;
    return false;
  }

  /** Forgets a stream that ended while delayed. */
  cancel(contextId: u32): void {
    const p = this.pending;
    for (let i = p.length - 1; i >= 0; i--) {
      if (unchecked(p[i]).contextId == contextId) p.splice(i, 1);
    }
    if (p.length == 0) this.schedule();
  }

  /** Removes and returns the streams whose deadline has passed, then re-arms the tick. */
  takeDue(): DelayedStream[] {
    const now = nowNanoseconds();
    const due: DelayedStream[] = [];
    const keep: DelayedStream[] = [];
    const p = this.pending;
    for (let i = 0, n = p.length; i < n; i++) {
      const s = unchecked(p[i]);
      if (s.dueNs <= now) due.push(s);
      else keep.push(s);
    }
    this.pending = keep;
    this.schedule();
    return due;
  }

  private schedule(): void {
    const p = this.pending;
    let period: u32 = 0;
    if (p.length) {
      let earliest = unchecked(p[0]).dueNs;
      for (let i = 1, n = p.length; i < n; i++) earliest = min(earliest, unchecked(p[i]).dueNs);
      const now = nowNanoseconds();
      const waitMs = earliest > now ? (earliest - now) / NS_PER_MS + 1 : 1;
      period = <u32>max<u64>(1, min<u64>(waitMs, MAX_PERIOD_MS));
    }
    // An equal period needs no re-arm: the running timer fires no later than the new deadline.
    if (period == this.periodMs) return;
    this.periodMs = period;
    setTickPeriodMilliseconds(period);
  }
}
