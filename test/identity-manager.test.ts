// The workload certificate manager against the real certificate server (gRPC over TLS on 127.0.0.1): the first
// certificate, renewal at half the lifetime with bounded jitter, retries while the old certificate stays served,
// refusals as one-line errors, and workloadSecrets (`default` / `ROOTCA` / fallback, `watch`).
import { createPrivateKey, X509Certificate } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadOrCreateTokenKeys } from "../control/ca/token.js";
import type { SecretSource } from "../gateway/bootstrap/listener-tls.js";
import { parseAgentArgs } from "../gateway/identity/agent-cli.js";
import { createCaClient } from "../gateway/identity/ca-client.js";
import { loadCaRoot } from "../gateway/identity/ca-root.js";
import { startWorkloadIdentity, tokenAccount } from "../gateway/identity/identity-flags.js";
import { WorkloadCertificateManager, type WorkloadCertificate } from "../gateway/identity/manager.js";
import { workloadSecrets } from "../gateway/identity/workload-secrets.js";
import * as grpc from "@grpc/grpc-js";
import { certificateClient, createCertificate, expectChain, expectSvid, keyAndCsr } from "./helpers/ca.js";
import { startTestCa, type TestCa } from "./helpers/identity.js";

const web = { namespace: "shop", serviceAccount: "web" };
const WEB_ID = "spiffe://cluster.local/ns/shop/sa/web";
let t: TestCa;

beforeAll(async () => {
  t = await startTestCa();
});
afterAll(async () => {
  await t?.close();
});

const waitFor = async <T>(what: string, get: () => T | undefined, timeoutMs: number): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe("WorkloadCertificateManager", () => {
  it("gets an ECDSA P-256 SVID for the token's identity, key generated locally, chain ending at the mesh root", async () => {
    const m = await t.manager(web, { random: () => 0.5 });
    const before = Date.now();
    const cert = await m.start();
    expect(cert.spiffeId).toBe(WEB_ID);
    expect(cert.version).toBe(1);
    const leaf = expectSvid(cert.certificateChain, { spiffeId: WEB_ID, ttlMs: 3_600_000 });
    expect(leaf.checkPrivateKey(createPrivateKey(cert.privateKey))).toBe(true);
    expect(createPrivateKey(cert.privateKey).asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(cert.rootCert).toBe(new X509Certificate(t.ca.rootCertPem).toString());
    expectChain([cert.certificateChain, cert.rootCert], t.ca.rootCertPem);
    expect(cert.serialNumber).toBe(leaf.serialNumber);
    // random 0.5 → no jitter: renewal at half of what was left when it arrived.
    const half = (cert.notAfter.getTime() - before) / 2;
    expect(Math.abs(cert.renewAt.getTime() - before - half)).toBeLessThan(2_000);
    expect(m.current()).toBe(cert);
  });

  it("RSA-2048 keys on request", async () => {
    const m = await t.manager(web, { keyType: "rsa-2048" });
    const cert = await m.start();
    expectSvid(cert.certificateChain, { spiffeId: WEB_ID, ttlMs: 3_600_000, rsa: true });
    expect(createPrivateKey(cert.privateKey).asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  it("jitter stays within ± min(5 s, a tenth of the lifetime)", async () => {
    const lo = await (await t.manager(web, { random: () => 0 })).start();
    const hi = await (await t.manager(web, { random: () => 0.999999 })).start();
    const rel = (c: WorkloadCertificate) => c.renewAt.getTime() - (c.notAfter.getTime() - 3_600_000);
    expect(rel(hi) - rel(lo)).toBeGreaterThan(9_000);
    expect(rel(hi) - rel(lo)).toBeLessThanOrEqual(10_100);
  });

  it("renews at half of a short TTL with a new key and serial, twice, telling its listeners", async () => {
    const m = await t.manager(web, { ttlMs: 4_000 });
    const first = await m.start();
    const startedAt = Date.now();
    expect(first.notAfter.getTime() - startedAt).toBeLessThanOrEqual(4_100);
    const seen: Array<[WorkloadCertificate, WorkloadCertificate | undefined]> = [];
    const rotatedAt: number[] = [];
    m.onRotate((c, p) => {
      seen.push([c, p]);
      rotatedAt.push(Date.now());
    });
    await waitFor("two rotations", () => (seen.length >= 2 ? true : undefined), 9_000);
    const [[second, prevOfSecond], [third]] = seen as [[WorkloadCertificate, WorkloadCertificate], [WorkloadCertificate]];
    expect(prevOfSecond).toBe(first);
    expect([second.version, third.version]).toEqual([2, 3]);
    expect(new Set([first.serialNumber, second.serialNumber, third.serialNumber]).size).toBe(3);
    expect(new Set([first.privateKey, second.privateKey, third.privateKey]).size).toBe(3);
    // Each renewal came at half the remaining lifetime ± a tenth of it, well before expiry. The lifetime is what
    // notAfter leaves, and X.509 truncates notAfter to whole seconds: a 4 s TTL leaves between 3 and 4 s.
    const renewedWithinPolicy = (cert: WorkloadCertificate, from: number, at: number) => {
      const lifetime = cert.notAfter.getTime() - from;
      expect(at).toBeGreaterThanOrEqual(cert.renewAt.getTime() - 5);
      expect(at - from).toBeGreaterThan(lifetime * 0.4 - 100);
      expect(at - from).toBeLessThan(lifetime * 0.6 + 700);
      expect(at).toBeLessThan(cert.notAfter.getTime());
    };
    renewedWithinPolicy(first, startedAt, rotatedAt[0]!);
    renewedWithinPolicy(second, rotatedAt[0]!, rotatedAt[1]!);
    expect(rotatedAt[0]! - startedAt).toBeGreaterThan(1_000);
    m.close();
  }, 15_000);

  it("a failed renewal is retried with back-off while the current certificate keeps being served", async () => {
    const tokenFile = await t.tokenFile(web);
    const good = (await import("node:fs")).readFileSync(tokenFile, "utf8");
    const m = await t.manager(web, { tokenFile, ttlMs: 3_000, retry: { baseMs: 200, maxMs: 400 } });
    const errors: string[] = [];
    m.onError((e) => errors.push(e));
    const first = await m.start();
    rmSync(tokenFile);
    await waitFor("two failed renewals", () => (errors.length >= 2 ? true : undefined), 5_000);
    expect(errors[0]).toMatch(new RegExp(`^identity: renewing ${WEB_ID} failed \\(--token-file .*: no such file\\); retrying in 200 ms`));
    expect(errors[1]).toMatch(/retrying in 400 ms/);
    expect(errors.every((e) => !e.includes("\n"))).toBe(true);
    expect(m.current()).toBe(first);
    writeFileSync(tokenFile, good); // the token is re-read on every request
    const next = await waitFor("recovery", () => (m.current() !== first ? m.current() : undefined), 3_000);
    expect(next.version).toBe(2);
    m.close();
  }, 15_000);

  it("refusals are one-line errors: expired token, another identity, missing token file, another root", async () => {
    const keys = await loadOrCreateTokenKeys(t.dir);
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({}).setProtectedHeader({ alg: "ES256" }).setIssuer("halyard").setAudience("halyard-ca")
      .setSubject("system:serviceaccount:shop:web").setIssuedAt(now - 7200).setExpirationTime(now - 3600).sign(keys.privateKey);
    const expiredFile = join(t.dir, "expired-token");
    writeFileSync(expiredFile, expired);
    await expect((await t.manager(web, { tokenFile: expiredFile })).start()).rejects.toThrow(/^CA 127\.0\.0\.1:\d+: UNAUTHENTICATED: token rejected: expired$/);
    const other = await t.manager(web, { spiffeId: "spiffe://cluster.local/ns/shop/sa/admin" });
    await expect(other.start()).rejects.toThrow(/^CA 127\.0\.0\.1:\d+: PERMISSION_DENIED: CSR names URI:spiffe:\/\/cluster\.local\/ns\/shop\/sa\/admin but the caller is spiffe:\/\/cluster\.local\/ns\/shop\/sa\/web/);
    await expect((await t.manager(web, { tokenFile: join(t.dir, "nope") })).start()).rejects.toThrow(/^--token-file .*nope: no such file$/);
    const strange = await startTestCa();
    try {
      const m = new WorkloadCertificateManager({ signer: createCaClient({ address: t.address, rootPem: strange.ca.rootCertPem, tokenFile: await t.tokenFile(web), deadlineMs: 3_000 }), spiffeId: WEB_ID });
      const err = await m.start().then(() => undefined, (e: Error) => e);
      m.close();
      expect(err?.message).toMatch(/^CA 127\.0\.0\.1:\d+: (UNAVAILABLE|DEADLINE_EXCEEDED): /);
      expect(err?.message).not.toContain("\n");
    } finally {
      await strange.close();
    }
  }, 20_000);

  it("startWorkloadIdentity: identity from the token's sub, root from a file or the control plane URL, --node namespace checked", async () => {
    const tokenFile = await t.tokenFile(web);
    expect(await tokenAccount(tokenFile)).toEqual(web);
    const rootFile = join(t.dir, "root.pem");
    writeFileSync(rootFile, t.ca.rootCertPem);
    const m = await startWorkloadIdentity({ ca: t.address, tokenFile, caRoot: rootFile }, () => {}, "shop");
    expect(m.current().spiffeId).toBe(WEB_ID);
    m.close();
    await expect(startWorkloadIdentity({ ca: t.address, tokenFile, caRoot: rootFile }, () => {}, "other")).rejects.toThrow(
      /^--token-file .*: the token is for shop\/web, but --node is in namespace other$/,
    );
    await expect(loadCaRoot(join(t.dir, "missing.pem"))).rejects.toThrow(/^--ca-root .*missing\.pem: no such file$/);
    await expect(loadCaRoot("http://127.0.0.1:1/ca/root-cert.pem")).rejects.toThrow(/^--ca-root http:\/\/127\.0\.0\.1:1\/ca\/root-cert\.pem: cannot fetch the root certificate \(/);
    writeFileSync(join(t.dir, "garbage-token"), "not-a-jwt");
    await expect(tokenAccount(join(t.dir, "garbage-token"))).rejects.toThrow(/^--token-file .*garbage-token: not a JWT$/);
  });
});

describe("halyard agent arguments", () => {
  it("--xds alone stands in for --ca as <xds host>:15012 (istio-agent's default); --ca wins when both are given", () => {
    const node = "sidecar~10.0.0.5~web-1.shop~shop.svc.cluster.local";
    expect(parseAgentArgs(["--node", node, "--xds", "istiod.example:15010", "--token-file", "t"])).toMatchObject({ namespace: "shop", identity: { ca: "istiod.example:15012", tokenFile: "t" } });
    expect(parseAgentArgs(["--node", node, "--xds", "a:15010", "--ca", "b:9000", "--token-file", "t", "--key-type", "rsa-2048", "--cert-ttl", "1h"])).toMatchObject({ identity: { ca: "b:9000", keyType: "rsa-2048", certTtlMs: 3_600_000 } });
    expect(parseAgentArgs(["--node", node, "--ca", "b:9000", "--token-file", "t", "--key-type", "dsa"])).toEqual({ error: expect.stringMatching(/^--key-type: "dsa" is not one of ecdsa-p256, rsa-2048; usage: /) });
    expect(parseAgentArgs(["--node", node, "--ca", "b:9000", "--token-file", "t", "--trust-domain", "Bad Domain"])).toEqual({ error: expect.stringMatching(/^--trust-domain: trust domain "Bad Domain" must be lowercase/) });
  });
});

describe("CA refusals not covered by ca-server.test.ts", () => {
  it("a CSR whose signature does not verify, and one that is not PEM, are INVALID_ARGUMENT; the CA keeps serving", async () => {
    const client = certificateClient(t.server.port, t.ca.rootCertPem);
    const token = (await import("node:fs")).readFileSync(await t.tokenFile(web), "utf8").trim();
    try {
      const { csr } = await keyAndCsr([WEB_ID]);
      const der = Buffer.from(csr.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""), "base64");
      der[der.length - 1] ^= 0x01; // the last byte of the signature
      const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64").replace(/.{64}/g, "$&\n")}\n-----END CERTIFICATE REQUEST-----\n`;
      const refused = await createCertificate(client, { csr: tampered }, token);
      expect(refused).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
      expect(refused.ok ? "" : refused.details).toMatch(/^CSR signature (does not verify with its own public key|cannot be checked: .*)$/);
      const notPem = await createCertificate(client, { csr: "MIIB...not a pem block" }, token);
      expect(notPem).toEqual({ ok: false, code: grpc.status.INVALID_ARGUMENT, details: 'CSR is not a PEM "CERTIFICATE REQUEST" block' });
      expect((await createCertificate(client, { csr }, token)).ok).toBe(true);
    } finally {
      client.close();
    }
  });
});

describe("workloadSecrets", () => {
  const fallback: SecretSource = {
    readFile: (n) => `file ${n}`,
    tlsCertificate: (n) => ({ certificateChain: `chain ${n}`, privateKey: `key ${n}` }),
    trustedCa: (n) => `ca ${n}`,
    watch: (n, f) => {
      fallbackWatched.push(n);
      return () => void f;
    },
  };
  const fallbackWatched: string[] = [];

  it("answers default and ROOTCA from the manager, others from the fallback; watch fires for default on rotation", async () => {
    const m = await t.manager(web);
    await m.start();
    const s = workloadSecrets(m, fallback);
    expect(s.tlsCertificate("default")).toEqual({ certificateChain: m.current().certificateChain, privateKey: m.current().privateKey });
    expect(s.trustedCa("ROOTCA")).toBe(m.current().rootCert);
    expect(s.tlsCertificate("gw-cred")).toEqual({ certificateChain: "chain gw-cred", privateKey: "key gw-cred" });
    expect(s.trustedCa("gw-cred-cacert")).toBe("ca gw-cred-cacert");
    expect(s.readFile("x.pem")).toBe("file x.pem");
    const fired: string[] = [];
    const stopDefault = s.watch!("default", () => fired.push("default"));
    s.watch!("ROOTCA", () => fired.push("ROOTCA"));
    s.watch!("gw-cred", () => fired.push("gw-cred"));
    expect(fallbackWatched).toEqual(["gw-cred"]);
    const old = s.tlsCertificate("default");
    await m.rotate();
    expect(fired).toEqual(["default"]); // same root: ROOTCA did not change
    expect(s.tlsCertificate("default").certificateChain).not.toBe(old.certificateChain);
    stopDefault();
    await m.rotate();
    expect(fired).toEqual(["default"]);
  });

  it("without a fallback, other names are one-line errors naming the secret", async () => {
    const m = await t.manager(web);
    await m.start();
    const s = workloadSecrets(m);
    expect(() => s.tlsCertificate("gw-cred")).toThrow(/^SDS secret "gw-cred": not known \(the workload identity serves "default" and "ROOTCA"; give --secrets-dir for others\)$/);
    expect(() => s.trustedCa("default")).toThrow(/^SDS secret "default": is the workload certificate, not a CA bundle/);
    expect(() => s.tlsCertificate("ROOTCA")).toThrow(/^SDS secret "ROOTCA": is the mesh root/);
    expect(() => workloadSecrets({ current: () => { throw new Error("no workload certificate for x yet"); }, onRotate: () => () => {} }).tlsCertificate("default")).toThrow(/^no workload certificate/);
  });
});
