// Service-account tokens: short-lived ES256 JWTs the control plane signs (iss "halyard", aud "halyard-ca",
// sub "system:serviceaccount:<ns>:<sa>") so a workload can obtain its first certificate, the way Kubernetes
// service-account tokens bootstrap Istio workloads. The signing key lives in <state dir>/ca/token-key.pem (0600).
import { createPublicKey } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { errors as joseErrors, exportPKCS8, generateKeyPair, importPKCS8, importSPKI, jwtVerify, SignJWT } from "jose";
import { formatDuration } from "./duration.js";
import { CaError } from "./errors.js";
import { parseServiceAccountSubject, serviceAccountSubject, type ServiceAccount } from "./identity.js";

export const TOKEN_ISSUER = "halyard";
export const TOKEN_AUDIENCE = "halyard-ca";
export const DEFAULT_TOKEN_TTL_MS = 3_600_000;
export const MAX_TOKEN_TTL_MS = 24 * 3_600_000;
const ALG = "ES256";

export interface TokenKeys {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

export function tokenKeyPath(stateDir: string): string {
  return join(stateDir, "ca", "token-key.pem");
}

async function keysFromPem(pem: string, path: string): Promise<TokenKeys> {
  try {
    const privateKey = await importPKCS8(pem, ALG);
    const spki = createPublicKey(pem).export({ type: "spki", format: "pem" }).toString();
    return { privateKey, publicKey: await importSPKI(spki, ALG) };
  } catch {
    throw new Error(`${path}: not a PKCS#8 P-256 private key for ${ALG}`);
  }
}

/** The token signing key from the state dir, created there on first use (by `serve` or `token create`). */
export async function loadOrCreateTokenKeys(stateDir: string): Promise<TokenKeys> {
  const path = tokenKeyPath(stateDir);
  const read = () => readFile(path, "utf8");
  try {
    return await keysFromPem(await read(), path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const { privateKey } = await generateKeyPair(ALG, { extractable: true });
  await mkdir(join(stateDir, "ca"), { recursive: true, mode: 0o700 });
  try {
    await writeFile(path, await exportPKCS8(privateKey), { mode: 0o600, flag: "wx" });
    await chmod(path, 0o600);
  } catch (e) {
    // Another process (serve and `token create` racing) wrote it first: use theirs.
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new Error(`${path}: ${(e as Error).message}`);
  }
  return keysFromPem(await read(), path);
}

/** A signed token for `account`, valid for `ttlMs` (at most 24 h). */
export async function mintServiceAccountToken(keys: TokenKeys, account: ServiceAccount, ttlMs = DEFAULT_TOKEN_TTL_MS): Promise<string> {
  if (!(ttlMs > 0) || ttlMs > MAX_TOKEN_TTL_MS) {
    throw new Error(`token TTL ${formatDuration(ttlMs)} is outside 1s..${formatDuration(MAX_TOKEN_TTL_MS)}`);
  }
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: ALG, typ: "JWT" })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setSubject(serviceAccountSubject(account))
    .setIssuedAt(now)
    .setExpirationTime(now + Math.max(1, Math.floor(ttlMs / 1000)))
    .sign(keys.privateKey);
}

/** Checks bearer tokens against the control plane's token key. */
export class TokenVerifier {
  constructor(private readonly publicKey: CryptoKey) {}

  static async fromStateDir(stateDir: string): Promise<TokenVerifier> {
    return new TokenVerifier((await loadOrCreateTokenKeys(stateDir)).publicKey);
  }

  /** The service account a valid token names. Throws CaError("unauthenticated") with the reason. */
  async verify(token: string): Promise<ServiceAccount> {
    let sub: string | undefined;
    try {
      const { payload } = await jwtVerify(token, this.publicKey, {
        algorithms: [ALG],
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE,
        requiredClaims: ["exp", "sub"],
      });
      sub = payload.sub;
    } catch (e) {
      throw new CaError("unauthenticated", `token rejected: ${tokenProblem(e)}`);
    }
    const account = sub === undefined ? undefined : parseServiceAccountSubject(sub);
    if (!account) throw new CaError("unauthenticated", `token rejected: sub "${sub}" is not system:serviceaccount:<namespace>:<name>`);
    return account;
  }
}

function tokenProblem(e: unknown): string {
  if (e instanceof joseErrors.JWTExpired) return "expired";
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) return "signature does not verify with the control plane's token key";
  if (e instanceof joseErrors.JWTClaimValidationFailed) return `claim "${e.claim}" ${e.reason === "missing" ? "is missing" : "is not accepted"} (${e.message})`;
  if (e instanceof joseErrors.JOSEAlgNotAllowed) return `algorithm not allowed (${ALG} only)`;
  if (e instanceof joseErrors.JWSInvalid || e instanceof joseErrors.JWTInvalid) return "not a well-formed JWT";
  return e instanceof Error ? e.message : String(e);
}
