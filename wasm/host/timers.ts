// The per-root-context tick timer (proxy_set_tick_period_milliseconds). It never keeps a Node
// process alive: the interval handle is unref'd when the runtime supports it (workerd has no unref).

export class TickTimer {
  private handle: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly onTick: () => void) {}

  get periodSet(): boolean {
    return this.handle !== undefined;
  }

  /** 0 stops the timer; any other value (re)starts it with that period. */
  set(periodMs: number): void {
    this.stop();
    if (periodMs <= 0) return;
    const handle = setInterval(this.onTick, periodMs);
    (handle as { unref?: () => void }).unref?.();
    this.handle = handle;
  }

  stop(): void {
    if (this.handle !== undefined) clearInterval(this.handle);
    this.handle = undefined;
  }
}

/** A one-shot timeout that does not keep the process alive. */
export function unrefTimeout(fn: () => void, ms: number): () => void {
  const handle = setTimeout(fn, ms);
  (handle as { unref?: () => void }).unref?.();
  return () => clearTimeout(handle);
}
