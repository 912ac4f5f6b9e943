// For the inbound mTLS tests: mesh CAs with their own self-signed roots (a second one is "another root"), SVIDs as
// client PEM, and a SecretSource answering Istio's `default` / `ROOTCA` for one workload whose `rotate()` issues a
// new SVID and fires the workload-identity contract's `watch`.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MeshCa } from "../../control/ca/ca.js";
import { loadOrCreateSelfSignedRoot } from "../../control/ca/self-signed-root.js";
import type { SecretSource } from "../../gateway/bootstrap/listener-tls.js";

export interface RotatingSecrets extends SecretSource {
  readonly spiffeId: string;
  /** The served certificate chain (leaf first). */
  readonly chainPem: string;
  watch(name: string, onChange: () => void): () => void;
  /** Issues a new SVID for the same identity and fires the `default` watchers. */
  rotate(): Promise<void>;
  /** Replaces the ROOTCA bundle and fires its watchers. */
  setRoots(pem: string): void;
}

export async function testMeshCa(trustDomain = "cluster.local"): Promise<MeshCa> {
  const stateDir = mkdtempSync(join(tmpdir(), "halyard-mesh-ca-"));
  return new MeshCa(await loadOrCreateSelfSignedRoot({ stateDir, trustDomain }));
}

/** An SVID as a TLS client uses it: `cert` is the chain without the root. */
export async function svid(ca: MeshCa, ns: string, sa: string, dnsNames: string[] = []): Promise<{ cert: string; key: string; spiffeId: string }> {
  const spiffeId = `spiffe://${ca.trustDomain}/ns/${ns}/sa/${sa}`;
  const issued = await ca.issueWithNewKey({ uris: [spiffeId], ...(dnsNames.length ? { dnsNames } : {}), ttlMs: 3_600_000 });
  return { cert: issued.certChainPem.slice(0, -1).join(""), key: issued.privateKeyPem, spiffeId };
}

export async function rotatingSecrets(ca: MeshCa, ns: string, sa: string): Promise<RotatingSecrets> {
  let current = await svid(ca, ns, sa);
  let roots = ca.rootCertPem;
  const watchers = new Map<string, Set<() => void>>();
  return {
    spiffeId: current.spiffeId,
    get chainPem() {
      return current.cert;
    },
    readFile(name) {
      throw new Error(`file "${name}": this test source has no files`);
    },
    tlsCertificate(name) {
      if (name !== "default") throw new Error(`SDS secret "${name}": not known (this source has default and ROOTCA)`);
      return { certificateChain: current.cert, privateKey: current.key };
    },
    trustedCa(name) {
      if (name !== "ROOTCA") throw new Error(`SDS secret "${name}": not a CA bundle (this source has ROOTCA)`);
      return roots;
    },
    watch(name, onChange) {
      const set = watchers.get(name) ?? new Set();
      watchers.set(name, set);
      set.add(onChange);
      return () => set.delete(onChange);
    },
    async rotate() {
      current = await svid(ca, ns, sa);
      for (const w of watchers.get("default") ?? []) w();
    },
    setRoots(pem) {
      roots = pem;
      for (const w of watchers.get("ROOTCA") ?? []) w();
    },
  };
}
