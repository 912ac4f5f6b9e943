// A real mesh CA for the workload-identity tests: the certificate server on 127.0.0.1:<ephemeral> with a state dir
// under a temp dir, a token file per service account, and a WorkloadCertificateManager talking to it over gRPC+TLS.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MeshCa } from "../../control/ca/ca.js";
import type { ServiceAccount } from "../../control/ca/identity.js";
import { openMeshCa } from "../../control/ca/open.js";
import { startCaServer, type RunningCaServer } from "../../control/ca/server.js";
import { loadOrCreateTokenKeys, mintServiceAccountToken, TokenVerifier } from "../../control/ca/token.js";
import { createCaClient } from "../../gateway/identity/ca-client.js";
import { WorkloadCertificateManager, type WorkloadCertificateManagerOptions } from "../../gateway/identity/manager.js";

export interface TestCa {
  dir: string;
  ca: MeshCa;
  server: RunningCaServer;
  address: string;
  logs: string[];
  /** Writes a token for `account` to a file under the temp dir and returns its path. */
  tokenFile(account: ServiceAccount, ttlMs?: number): Promise<string>;
  /** A manager for `account` on this CA (not started). */
  manager(account: ServiceAccount, options?: Partial<WorkloadCertificateManagerOptions> & { tokenFile?: string }): Promise<WorkloadCertificateManager>;
  close(): Promise<void>;
}

/** `workloadCertTtlMs` is the CA's default TTL (what a CSR without validity_duration gets). */
export async function startTestCa(workloadCertTtlMs = 3_600_000): Promise<TestCa> {
  const dir = mkdtempSync(join(tmpdir(), "halyard-identity-"));
  const logs: string[] = [];
  const ca = await openMeshCa({ stateDir: dir, workloadCertTtlMs, log: (l) => logs.push(l) });
  const server = await startCaServer({ ca, tokenVerifier: await TokenVerifier.fromStateDir(dir), host: "127.0.0.1", port: 0, log: (l) => logs.push(l) });
  const address = `127.0.0.1:${server.port}`;
  let n = 0;
  const managers: WorkloadCertificateManager[] = [];
  const tokenFile = async (account: ServiceAccount, ttlMs?: number) => {
    const file = join(dir, `token-${++n}`);
    writeFileSync(file, `${await mintServiceAccountToken(await loadOrCreateTokenKeys(dir), account, ttlMs)}\n`);
    return file;
  };
  return {
    dir,
    ca,
    server,
    address,
    logs,
    tokenFile,
    async manager(account, options = {}) {
      const file = options.tokenFile ?? (await tokenFile(account));
      const m = new WorkloadCertificateManager({
        signer: createCaClient({ address, rootPem: ca.rootCertPem, tokenFile: file }),
        spiffeId: ca.spiffeIdOf(account),
        log: (l) => logs.push(l),
        ...options,
      });
      managers.push(m);
      return m;
    },
    async close() {
      for (const m of managers) m.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
