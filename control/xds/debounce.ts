// Coalesces bursts of triggers (config reloads, registry events) into one snapshot rebuild: `fn` runs `quietMs`
// after the last change, never twice at once, and once more if triggered while it ran. A burst that never goes
// quiet still runs at least every `maxDelayMs` after its first change, so pushes cannot be postponed forever.
// A trigger may say when its change happened (a config reload: the file event that started it), so the work between
// the change and the trigger counts toward the quiet period instead of adding to it, as istiod's debounce counts
// from the config event.
export interface Debounced {
  /** `changedAt`: when the change happened (Date.now() clock); default now. */
  trigger(changedAt?: number): void;
  /** Runs a pending call now; resolves when no call is running. */
  flush(): Promise<void>;
  /** Drops a pending call; a running one finishes. */
  cancel(): void;
}

export interface DebounceOptions {
  quietMs?: number;
  maxDelayMs?: number;
  /** Called with a failure of `fn` (the next trigger runs it again). */
  onError?: (e: unknown) => void;
}

export function debounce(fn: () => void | Promise<void>, options: DebounceOptions = {}): Debounced {
  const quietMs = options.quietMs ?? 100;
  const maxDelayMs = options.maxDelayMs ?? 10 * quietMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let firstTrigger: number | undefined;
  let lastChange: number | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  /** The newest change a run asked for while another was running: the next run's quiet period counts from it. */
  let againChange: number | undefined;

  const run = (): Promise<void> => {
    clearTimeout(timer);
    timer = undefined;
    const change = lastChange;
    firstTrigger = undefined;
    lastChange = undefined;
    if (running) {
      again = true;
      againChange = Math.max(againChange ?? 0, change ?? Date.now());
      return running;
    }
    running = (async () => {
      try {
        await fn();
      } catch (e) {
        options.onError?.(e);
      }
    })().finally(() => {
      running = undefined;
      if (again) {
        const change = againChange;
        again = false;
        againChange = undefined;
        trigger(change);
      }
    });
    return running;
  };

  const trigger = (changedAt?: number) => {
    const now = Date.now();
    const at = Math.min(changedAt ?? now, now);
    firstTrigger = Math.min(firstTrigger ?? at, at);
    lastChange = Math.max(lastChange ?? at, at);
    clearTimeout(timer);
    const wait = Math.max(0, Math.min(lastChange + quietMs, firstTrigger + maxDelayMs) - now);
    timer = setTimeout(run, wait);
  };

  return {
    trigger,
    flush: async () => {
      if (timer !== undefined) await run();
      while (running) await running;
    },
    cancel: () => {
      clearTimeout(timer);
      timer = undefined;
      firstTrigger = undefined;
      lastChange = undefined;
      again = false;
      againChange = undefined;
    },
  };
}
