// Durations as Go and Istio write them ("24h", "1h30m", "90s", "500ms") and back, for flags and error messages.

import { exactDurationMs } from "../translate/duration.js";

/** Milliseconds, or undefined when `text` is not a positive duration. */
export function parseDuration(text: string): number | undefined {
  const total = Math.round(exactDurationMs(text) ?? 0);
  return total > 0 ? total : undefined;
}

/** Go's time.Duration.String() for whole seconds: 2160h0m0s, 1m30s, 45s. */
export function formatDuration(ms: number): string {
  const totalSeconds = Math.floor(ms / 1000);
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
