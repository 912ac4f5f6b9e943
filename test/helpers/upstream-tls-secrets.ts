// Upstream TLS tests: a SecretSource in memory. `default` / `ROOTCA` from the in-process mesh CA (control/ca) for
// one workload identity, other SDS secrets and files as the test sets them. Changing a secret fires its watchers,
// as the workload-identity contract's `watch` does.
import { readFileSync } from "node:fs";
import type { MeshCa } from "../../control/ca/ca.js";
import type { WatchableSecretSource } from "../../gateway/upstream-tls-node.js";

export interface CertPair {
  certificateChain: string;
  privateKey: string;
}

export interface TestSecrets extends WatchableSecretSource {
  setCertificate(name: string, pair: CertPair): void;
  setCa(name: string, pem: string): void;
}

/** An SVID (chain and key) for spiffe://<td>/ns/<ns>/sa/<sa> from `ca`. */
export async function issueSvid(ca: MeshCa, ns: string, sa: string): Promise<CertPair> {
  const issued = await ca.issueWithNewKey({ uris: [ca.spiffeIdOf({ namespace: ns, serviceAccount: sa })], ttlMs: 3_600_000 });
  return { certificateChain: issued.certChainPem.join(""), privateKey: issued.privateKeyPem };
}

/** `default` = an SVID of ns/sa, `ROOTCA` = the CA's root; files are read from disk. */
export async function meshSecrets(ca: MeshCa, ns: string, sa: string): Promise<TestSecrets> {
  const certs = new Map<string, CertPair>([["default", await issueSvid(ca, ns, sa)]]);
  const cas = new Map<string, string>([["ROOTCA", ca.rootCertPem]]);
  const watchers = new Map<string, Set<() => void>>();
  const fire = (name: string) => {
    for (const w of watchers.get(name) ?? []) w();
  };
  return {
    readFile: (name) => readFileSync(name, "utf8"),
    tlsCertificate(name) {
      const pair = certs.get(name);
      if (!pair) throw new Error(`SDS secret "${name}": not found`);
      return pair;
    },
    trustedCa(name) {
      const pem = cas.get(name);
      if (pem === undefined) throw new Error(`SDS secret "${name}": no CA bundle`);
      return pem;
    },
    watch(name, onChange) {
      let set = watchers.get(name);
      if (!set) watchers.set(name, (set = new Set()));
      set.add(onChange);
      return () => set.delete(onChange);
    },
    setCertificate(name, pair) {
      certs.set(name, pair);
      fire(name);
    },
    setCa(name, pem) {
      cas.set(name, pem);
      fire(name);
    },
  };
}
