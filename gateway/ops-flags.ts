// The operational flags both forms of `halyard gateway` take (static bootstrap and xDS):
//   --drain-time <d>    how long SIGTERM/SIGINT lets requests in flight finish (Envoy's --drain-time-s): 5s, 500ms,
//                       or plain seconds; default 5s
//   --access-log <to>   the access log of listeners whose HCM configures none: off, stdout (default), stderr or a
//                       file (appended); a bootstrap's own access_log is kept as configured
//   --secrets-dir <dir> where SDS secrets (Istio credentialName) of TLS listeners are read: <dir>/<name>/tls.crt,
//                       tls.key (and ca.crt); without it a TLS listener naming a secret is an error
// Node-only.
import { resolve } from "node:path";
import type { AccessLogConfig } from "./bootstrap/types.js";

export interface OpsFlags {
  drainMs: number;
  /** undefined: --access-log off. */
  accessLog: AccessLogConfig | undefined;
  secretsDir?: string;
}

export const OPS_USAGE = "[--drain-time 5s] [--access-log off|stdout|stderr|<file>] [--secrets-dir <dir>]";
export const DEFAULT_OPS: OpsFlags = { drainMs: 5000, accessLog: { kind: "stdout" } };

/**
 * Reads one ops flag at argv[i]. Returns how many arguments it took (0: not an ops flag), or a one-line error.
 */
export function parseOpsFlag(argv: string[], i: number, into: OpsFlags): number | string {
  const flag = argv[i]!;
  if (flag !== "--drain-time" && flag !== "--access-log" && flag !== "--secrets-dir") return 0;
  const value = argv[i + 1];
  if (value === undefined || value === "") return `${flag} needs a value`;
  if (flag === "--drain-time") {
    const ms = durationMs(value);
    if (ms === undefined) return `--drain-time: "${value}" is not a duration (e.g. 5s, 500ms, 10)`;
    into.drainMs = ms;
  } else if (flag === "--access-log") {
    into.accessLog = value === "off" ? undefined : value === "stdout" || value === "stderr" ? { kind: value } : { kind: "file", path: resolve(value) };
  } else into.secretsDir = resolve(value);
  return 2;
}

function durationMs(v: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(v.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * (m[2] === "ms" ? 1 : 1000));
}

/**
 * Resolves with the first SIGTERM/SIGINT; a second one while draining calls `force` (shut down now).
 */
export function waitForSignal(force: () => void): Promise<NodeJS.Signals> {
  return new Promise((done) => {
    const first = (signal: NodeJS.Signals) => {
      process.off("SIGINT", first);
      process.off("SIGTERM", first);
      process.once("SIGINT", force);
      process.once("SIGTERM", force);
      done(signal);
    };
    process.on("SIGINT", first);
    process.on("SIGTERM", first);
  });
}
