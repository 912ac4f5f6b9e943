// `halyard token create --sa <ns>/<sa> [--ttl 1h] [--state-dir .halyard]`: prints a short-lived service-account
// token the certificate API accepts (signed with the token key in the state dir, created there if missing).
import { resolve } from "node:path";
import { formatDuration, parseDuration } from "../ca/duration.js";
import { parseServiceAccount, type ServiceAccount } from "../ca/identity.js";
import { DEFAULT_TOKEN_TTL_MS, loadOrCreateTokenKeys, MAX_TOKEN_TTL_MS, mintServiceAccountToken } from "../ca/token.js";
import { cliArgs } from "./args.js";

const USAGE = "usage: halyard token create --sa <namespace>/<service-account> [--ttl 1h] [--state-dir .halyard]";

export interface TokenCreateArgs {
  account: ServiceAccount;
  ttlMs: number;
  stateDir: string;
}

export function parseTokenCreateArgs(argv: readonly string[]): TokenCreateArgs | { error: string } {
  let account: ServiceAccount | undefined;
  let ttlMs = DEFAULT_TOKEN_TTL_MS;
  let stateDir = resolve(".halyard");
  for (const { arg, flag, value } of cliArgs(argv)) {
    try {
      if (flag === "--sa") account = parseServiceAccount(value());
      else if (flag === "--ttl") {
        const v = value();
        const ms = parseDuration(v);
        if (ms === undefined) throw new Error(`--ttl: "${v}" is not a duration such as 1h, 30m or 600s`);
        if (ms < 1000 || ms > MAX_TOKEN_TTL_MS) throw new Error(`--ttl: ${v} is outside 1s..${formatDuration(MAX_TOKEN_TTL_MS)}`);
        ttlMs = ms;
      } else if (flag === "--state-dir") stateDir = resolve(value());
      else if (flag === "-h" || flag === "--help") return { error: USAGE };
      else return { error: `${arg.startsWith("-") ? "unknown option" : "unexpected argument"} ${arg}; ${USAGE}` };
    } catch (e) {
      return { error: `${(e as Error).message}; ${USAGE}` };
    }
  }
  if (!account) return { error: `--sa is required; ${USAGE}` };
  return { account, ttlMs, stateDir };
}

export async function run(argv: string[]): Promise<number> {
  const args = parseTokenCreateArgs(argv);
  if ("error" in args) {
    process.stderr.write(`halyard token create: ${args.error}\n`);
    return 1;
  }
  try {
    const keys = await loadOrCreateTokenKeys(args.stateDir);
    process.stdout.write(`${await mintServiceAccountToken(keys, args.account, args.ttlMs)}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`halyard token create: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
