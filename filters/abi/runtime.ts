// Replacements for AssemblyScript's own `env.abort` / `env.trace` / `env.seed` imports, which a
// proxy-wasm host does not provide. scripts/build-wasm.js routes them here with asc `--use`.
import { proxy_log, wasi_random_get } from "./imports";
import { LogLevel } from "./types";

const SEED_SLOT: usize = memory.data(8);
let aborting = false;

function logRaw(level: LogLevel, text: string): void {
  const m = String.UTF8.encode(text);
  proxy_log(level, changetype<usize>(m), m.byteLength);
}

/** `abort` (failed assert, out-of-range index, OOM...): log at CRITICAL through the host, then trap. */
export function abortWithLog(message: string | null, fileName: string | null, lineNumber: u32, columnNumber: u32): void {
  // Logging allocates; if that aborts again, trap without recursing.
  if (!aborting) {
    aborting = true;
    logRaw(
      LogLevel.Critical,
      "halyard.wasm abort: " + (message !== null ? message : "(no message)") + " at " +
        (fileName !== null ? fileName : "?") + ":" + lineNumber.toString() + ":" + columnNumber.toString(),
    );
    aborting = false;
  }
  unreachable();
}

/** `trace(...)`: debug log line with the numeric arguments. */
export function traceToLog(message: string, n: i32 = 0, a0: f64 = 0, a1: f64 = 0, a2: f64 = 0, a3: f64 = 0, a4: f64 = 0): void {
  let text = "trace: " + message;
  if (n > 0) text += " " + a0.toString();
  if (n > 1) text += " " + a1.toString();
  if (n > 2) text += " " + a2.toString();
  if (n > 3) text += " " + a3.toString();
  if (n > 4) text += " " + a4.toString();
  logRaw(LogLevel.Debug, text);
}

/** `seed()` for Math.random: 8 bytes from WASI random_get. */
export function seedFromHost(): f64 {
  store<u64>(SEED_SLOT, 0);
  wasi_random_get(SEED_SLOT, 8);
  return <f64>(load<u64>(SEED_SLOT) >>> 11);
}
