// Opening the mesh CA the way istiod does: a plugged-in CA when a cacerts directory holds one, otherwise the
// self-signed root kept in the state directory (created on first start).
import { access } from "node:fs/promises";
import { join } from "node:path";
import { MeshCa, ttlOptionsProblem, type MeshCaOptions } from "./ca.js";
import { loadPluggedInCa } from "./cacerts.js";
import { DEFAULT_TRUST_DOMAIN, trustDomainProblem } from "./identity.js";
import { loadOrCreateSelfSignedRoot } from "./self-signed-root.js";

export interface OpenMeshCaOptions extends MeshCaOptions {
  stateDir: string;
  /** A cacerts directory (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem). Default: <state dir>/cacerts when it has a ca-key.pem. */
  cacertsDir?: string;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

export async function openMeshCa(options: OpenMeshCaOptions): Promise<MeshCa> {
  const trustDomain = options.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  const problem = trustDomainProblem(trustDomain) ?? ttlOptionsProblem(options);
  if (problem) throw new Error(problem);
  const defaultCacerts = join(options.stateDir, "cacerts");
  const cacertsDir = options.cacertsDir ?? ((await exists(join(defaultCacerts, "ca-key.pem"))) ? defaultCacerts : undefined);
  const authority = cacertsDir
    ? await loadPluggedInCa(cacertsDir)
    : await loadOrCreateSelfSignedRoot({ stateDir: options.stateDir, trustDomain, log: options.log });
  return new MeshCa(authority, { ...options, trustDomain });
}
