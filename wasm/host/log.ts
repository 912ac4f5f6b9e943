// Log level handling shared by proxy_log, fd_write and host diagnostics.
import { LOG_LEVELS } from "./abi.js";
import type { LogLevel } from "./types.js";

export function levelNumber(level: LogLevel): number {
  const n = LOG_LEVELS.indexOf(level);
  if (n < 0) throw new Error(`unknown log level "${level}" (expected one of ${LOG_LEVELS.join(", ")})`);
  return n;
}

export function defaultLog(level: LogLevel, message: string, plugin: string): void {
  if (levelNumber(level) >= 3) console.error(`[wasm ${plugin}] ${level}: ${message}`);
}

const PREFIX = /^\[(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|CRITICAL)\]:? ?/i;

/**
 * WASI stdout/stderr writes become log lines (stdout = info, stderr = error, as the spec says);
 * a leading "[LEVEL]" tag, which SDKs that log through WASI add, picks the level instead.
 */
export function levelOfStdioLine(fd: number, line: string): { level: number; message: string } {
  const m = PREFIX.exec(line);
  if (m) {
    const tag = m[1].toLowerCase();
    const level = tag === "warning" ? 3 : LOG_LEVELS.indexOf(tag as LogLevel);
    return { level, message: line.slice(m[0].length) };
  }
  return { level: fd === 2 ? 4 : 2, message: line };
}
