// Coalesces bursts of triggers (config reloads, registry events) into one snapshot rebuild: `fn` runs `quietMs`
// after the last trigger, never twice at once, and once more if triggered while it ran. A burst that never goes
// quiet still runs at least every `maxDelayMs`, so pushes cannot be postponed forever.
export interface Debounced {
  trigger(): void;
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
  let running: Promise<void> | undefined;
  let again = false;

  const run = (): Promise<void> => {
    clearTimeout(timer);
    timer = undefined;
    firstTrigger = undefined;
    if (running) {
      again = true;
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
        again = false;
        trigger();
      }
    });
    return running;
  };

  const trigger = () => {
    const now = Date.now();
    firstTrigger ??= now;
    clearTimeout(timer);
    const wait = Math.max(0, Math.min(quietMs, firstTrigger + maxDelayMs - now));
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
      again = false;
    },
  };
}
