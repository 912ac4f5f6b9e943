// The flags that give a proxy its workload identity (`halyard agent`, `halyard gateway --xds`), and starting the
// certificate manager from them. The identity is the token's: the service account in its `sub` claim (read, not
// verified: the CA verifies it) under --trust-domain; a --node in another namespace is refused up front.
import { parseDuration } from "../../control/ca/duration.js";
import { DEFAULT_TRUST_DOMAIN, parseServiceAccountSubject, spiffeId, trustDomainProblem, type ServiceAccount } from "../../control/ca/identity.js";
import { KEY_TYPES, type KeyType } from "../../control/ca/keys.js";
import { DEFAULT_CA_PORT } from "../../control/ca/server.js";
import { createCaClient, readToken } from "./ca-client.js";
import { loadCaRoot } from "./ca-root.js";
import { WorkloadCertificateManager } from "./manager.js";

export const IDENTITY_USAGE = "--ca <host:port> --token-file <file> [--ca-root <file|http://host:15014/ca/root-cert.pem>] [--trust-domain cluster.local] [--key-type ecdsa-p256|rsa-2048] [--cert-ttl <duration>]";
/** `halyard serve`'s default HTTP port, where /ca/root-cert.pem is served. */
const CONTROL_PLANE_HTTP_PORT = 15014;

export interface IdentityFlags {
  ca?: string;
  tokenFile?: string;
  caRoot?: string;
  trustDomain?: string;
  keyType?: KeyType;
  certTtlMs?: number;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):(\d{1,5})$/;

/**
 * Takes one identity flag at argv[i] (`--flag value` or `--flag=value`): the number of arguments used (0: not an
 * identity flag), or a one-line error.
 */
export function parseIdentityFlag(argv: readonly string[], i: number, into: IdentityFlags): number | string {
  const arg = argv[i]!;
  const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
  const [flag, inline] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
  if (!["--ca", "--token-file", "--ca-root", "--trust-domain", "--key-type", "--cert-ttl"].includes(flag)) return 0;
  const v = inline ?? argv[i + 1];
  if (v === undefined || v === "") return `${flag} needs a value`;
  const used = inline === undefined ? 2 : 1;
  switch (flag) {
    case "--ca":
      if (!HOST_PORT.test(v)) return `--ca: "${v}" is not host:port`;
      into.ca = v;
      break;
    case "--token-file":
      into.tokenFile = v;
      break;
    case "--ca-root":
      into.caRoot = v;
      break;
    case "--trust-domain": {
      const problem = trustDomainProblem(v);
      if (problem) return `--trust-domain: ${problem}`;
      into.trustDomain = v;
      break;
    }
    case "--key-type":
      if (!(KEY_TYPES as readonly string[]).includes(v)) return `--key-type: "${v}" is not one of ${KEY_TYPES.join(", ")}`;
      into.keyType = v as KeyType;
      break;
    case "--cert-ttl": {
      const ms = parseDuration(v);
      if (ms === undefined || ms < 1000) return `--cert-ttl: "${v}" is not a duration of at least 1s such as 24h, 90m or 60s`;
      into.certTtlMs = ms;
      break;
    }
  }
  return used;
}

/** Whether any identity flag was given; then --ca and --token-file are required. Returns a one-line problem. */
export function identityFlagsProblem(flags: IdentityFlags): string | undefined {
  const given = Object.keys(flags).length > 0;
  if (!given) return undefined;
  if (!flags.ca) return "--ca <host:port> is required with the other identity flags";
  if (!flags.tokenFile) return "--token-file <file> is required with --ca";
  return undefined;
}

/** The service account a token names in `sub` (not verified here). Throws one line naming the file. */
export async function tokenAccount(tokenFile: string): Promise<ServiceAccount> {
  const token = await readToken(tokenFile);
  let sub: unknown;
  try {
    sub = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")).sub;
  } catch {
    throw new Error(`--token-file ${tokenFile}: not a JWT`);
  }
  const account = typeof sub === "string" ? parseServiceAccountSubject(sub) : undefined;
  if (!account) throw new Error(`--token-file ${tokenFile}: sub ${JSON.stringify(sub)} is not system:serviceaccount:<namespace>:<name>`);
  return account;
}

/** Where the root comes from when --ca-root is not given: the control plane's HTTP port on the CA's host. */
export function defaultCaRoot(ca: string): string {
  const host = HOST_PORT.exec(ca)![1]!;
  return `http://${host}:${CONTROL_PLANE_HTTP_PORT}/ca/root-cert.pem`;
}

/** `<host of --xds>:15012`: the CA address when only --xds is known (as istio-agent defaults CA_ADDR). */
export function caNextToXds(xds: string): string | undefined {
  const m = HOST_PORT.exec(xds);
  return m ? `${m[1]}:${DEFAULT_CA_PORT}` : undefined;
}

/**
 * Loads the root, checks the token's identity against `nodeNamespace`, and obtains the first certificate.
 * Throws a one-line error; the manager then renews on its own until closed.
 */
export async function startWorkloadIdentity(flags: IdentityFlags & { ca: string; tokenFile: string }, log: (line: string) => void, nodeNamespace?: string): Promise<WorkloadCertificateManager> {
  const account = await tokenAccount(flags.tokenFile);
  if (nodeNamespace && account.namespace !== nodeNamespace) {
    throw new Error(`--token-file ${flags.tokenFile}: the token is for ${account.namespace}/${account.serviceAccount}, but --node is in namespace ${nodeNamespace}`);
  }
  const rootPem = await loadCaRoot(flags.caRoot ?? defaultCaRoot(flags.ca));
  const manager = new WorkloadCertificateManager({
    signer: createCaClient({ address: flags.ca, rootPem, tokenFile: flags.tokenFile }),
    spiffeId: spiffeId(flags.trustDomain ?? DEFAULT_TRUST_DOMAIN, account),
    ...(flags.keyType ? { keyType: flags.keyType } : {}),
    ...(flags.certTtlMs !== undefined ? { ttlMs: flags.certTtlMs } : {}),
    log,
  });
  try {
    await manager.start();
  } catch (e) {
    manager.close();
    throw e;
  }
  return manager;
}
