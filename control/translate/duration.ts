// Durations as Istio's YAML writes them (Go / protobuf style: "10s", "1.5s", "250ms", "1m30s", "1h") in the
// integer units the route engine takes.

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;

/** Milliseconds with their fraction ("0" is 0), or undefined when `text` is not a duration. */
export function exactDurationMs(text: string): number | undefined {
  const s = text.trim();
  if (s === "" || s === "0") return s === "0" ? 0 : undefined;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const at = PART.lastIndex;
    const m = PART.exec(s);
    if (!m || m.index !== at) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  return total;
}

/** Milliseconds (fractions truncated, as Envoy keeps millisecond timeouts), or undefined when not a duration. */
export function durationMs(text: string): number | undefined {
  const total = exactDurationMs(text);
  return total === undefined ? undefined : Math.floor(total + 1e-9);
}

/** Whole seconds (truncated), for CORS max age. */
export function durationSeconds(text: string): number | undefined {
  const ms = durationMs(text);
  return ms === undefined ? undefined : Math.floor(ms / 1000);
}
