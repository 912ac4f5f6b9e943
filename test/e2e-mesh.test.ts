// A two-service mesh on one machine: `halyard serve` (real CLI, temp config dir, CA on an ephemeral port) and two
// sidecar `halyard gateway` children (A and B) in front of two real app servers, identities from the CA (SVIDs
// asked for with `halyard token create` tokens). Service A calls B through its sidecar's outbound listener; the
// checks are real requests. Config changes (PeerAuthentication, AuthorizationPolicy) are file edits the control
// plane picks up and pushes.
import { createServer, request as httpRequestRaw, type Server } from "node:http";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { mkdirSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, httpRequest, startUpstream, tempDir, type Upstream } from "./helpers/gateway-process.js";
import {
  hostOf, issueFromCa, MESH_NS, peerAuthenticationYaml, serviceYaml, spiffeOf, startSidecar, writeToken,
  type MeshService, type Sidecar, type WorkloadCert,
} from "./helpers/mesh.js";
import { startServe, type ServeProcess } from "./helpers/serve-process.js";
import { createTestCa } from "./helpers/tls-certs.js";

let dir: string;
let configDir: string;
let stateDir: string;
let plane: ServeProcess;
let caPort: number;
let rootPem: string;
let appB: Upstream;
let appA: { port: number; close(): Promise<void> };
let sidecarA: Sidecar;
let sidecarB: Sidecar;
/** The CA's workload certificate TTL, the acceptance's 20 s: each sidecar renews every ~10 s during the run. */
const CERT_TTL_S = 20;
/** Direct test clients ask for longer-lived certificates than the sidecars' default. */
const CLIENT_TTL_S = 600;
const A: MeshService = { name: "a", inboundPort: 0 };
const B: MeshService = { name: "b", inboundPort: 0, altPort: 8080 };

/** App A: `/call` asks B through A's sidecar outbound listener (as an app would, Host = B's service name). */
function startAppA(outbound: () => Promise<number>): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer(async (_req, res) => {
    const up = httpRequestRaw({ host: "127.0.0.1", port: await outbound(), path: "/from-a", headers: { host: hostOf("b") } }, (r) => {
      const chunks: Buffer[] = [];
      r.on("data", (c: Buffer) => chunks.push(c));
      r.on("end", () => {
        res.writeHead(r.statusCode ?? 502, { "content-type": "application/json" });
        res.end(Buffer.concat(chunks));
      });
    });
    up.on("error", (e) => {
      res.writeHead(599);
      res.end(String(e));
    });
    up.end();
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ port: (server.address() as AddressInfo).port, close: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))) })));
}

/** Writes a config file and waits until the control plane has pushed a new version to both sidecars (A's wait is best effort). */
async function edit(file: string, yaml: string | undefined): Promise<void> {
  const fromA = sidecarA.gateway.output().length;
  const fromB = sidecarB.gateway.output().length;
  if (yaml === undefined) unlinkSync(join(configDir, file));
  else writeFileSync(join(configDir, file), yaml);
  await Promise.all([
    sidecarA.gateway.waitFor(/configuration \d+ applied/, 10_000, fromA).catch(() => undefined),
    sidecarB.gateway.waitFor(/configuration \d+ applied/, 10_000, fromB),
  ]);
}

/** One mTLS request straight at B's inbound port with `cert` (a client of the mesh, or of another root). */
function mtlsToB(cert: WorkloadCert | undefined, headers: Record<string, string> = {}): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = httpsRequest(
      {
        host: "127.0.0.1", port: B.inboundPort, path: "/direct", agent: false, ca: rootPem, rejectUnauthorized: true,
        checkServerIdentity: () => undefined, // the server's identity is a SPIFFE URI SAN, not a DNS name
        headers: { host: hostOf("b"), ...headers },
        ...(cert ? { cert: cert.chainPem, key: cert.keyPem } : {}),
      },
      (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error("timeout")));
    req.on("error", (e) => resolve({ error: e.message }));
    req.end();
  });
}

async function plainToB(headers: Record<string, string> = {}): Promise<{ status: number; body: string } | { error: string }> {
  try {
    const r = await httpRequest(`http://127.0.0.1:${B.inboundPort}/direct`, { headers: { host: hostOf("b"), ...headers }, timeoutMs: 5000 });
    return { status: r.status, body: r.body };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

const viaA = () => httpRequest(`http://127.0.0.1:${appA.port}/call`, { timeoutMs: 10_000 });

beforeAll(async () => {
  dir = tempDir("halyard-mesh-");
  configDir = join(dir, "config");
  stateDir = join(dir, "state");
  A.inboundPort = await freePort();
  B.inboundPort = await freePort();
  mkdirSync(configDir, { recursive: true });
  writeFileSync(join(configDir, "services.yaml"), `${serviceYaml(A)}---\n${serviceYaml(B)}`);
  writeFileSync(join(configDir, "peer-authentication.yaml"), peerAuthenticationYaml("default", "STRICT"));
  plane = await startServe(["-f", configDir, "--host", "127.0.0.1", "--xds-port", "0", "--http-port", "0", "--ca-port", "0", "--state-dir", stateDir, "--workload-cert-ttl", `${CERT_TTL_S}s`]);
  caPort = Number(/^ca grpc\+tls on 127\.0\.0\.1:(\d+)/m.exec(plane.stdout())![1]);
  rootPem = await (await fetch(`${plane.httpUrl}/ca/root-cert.pem`)).text();
  appB = await startUpstream("app-b");
  appA = await startAppA(() => sidecarA.outboundPort());
  // Each sidecar gets its identity from the CA with its own token, and renews it at half its lifetime.
  const identity = async (s: MeshService) => [
    "--ca", `127.0.0.1:${caPort}`, "--ca-root", `${plane.httpUrl}/ca/root-cert.pem`,
    "--token-file", await writeToken(join(dir, `${s.name}.token`), stateDir, MESH_NS, s.name),
  ];
  [sidecarA, sidecarB] = await Promise.all([startSidecar(plane.xdsPort, A, appA.port, await identity(A)), startSidecar(plane.xdsPort, B, appB.port, await identity(B))]);
}, 45_000);

afterAll(async () => {
  await Promise.all([sidecarA?.gateway.stop(), sidecarB?.gateway.stop()]);
  await plane?.stop();
  await Promise.all([appA?.close(), appB?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("two services behind sidecar gateways", () => {
  it("A calls B through its outbound listener, over mTLS with the CA's identities (STRICT)", async () => {
    const r = await viaA();
    expect(r.status, `${r.body}\n${sidecarA.gateway.output()}\n${sidecarB.gateway.output()}`).toBe(200);
    const seen = JSON.parse(r.body) as { upstream: string; url: string; headers: Record<string, string> };
    expect(seen.upstream).toBe("app-b");
    expect(seen.url).toBe("/from-a");
    // B's sidecar saw A's certificate: the XFCC it forwards to B's app names A's SPIFFE id.
    expect(seen.headers["x-forwarded-client-cert"]).toContain(`URI=${spiffeOf("a")}`);
  });

  it("STRICT rejects a plaintext client and a client whose certificate chains to another root", async () => {
    const plain = await plainToB();
    expect("error" in plain || plain.status >= 400, JSON.stringify(plain)).toBe(true);
    const other = await createTestCa("another root");
    const foreign = await other.issue(["intruder"], { client: true });
    const r = await mtlsToB({ chainPem: foreign.cert, keyPem: foreign.key });
    expect("error" in r, JSON.stringify(r)).toBe(true);
    // A mesh identity is let in.
    const c = await issueFromCa(caPort, rootPem, stateDir, MESH_NS, "c", CLIENT_TTL_S);
    const ok = await mtlsToB(c);
    expect(ok).toMatchObject({ status: 200 });
  });
});

/** Edits a config file and waits until B's sidecar has applied the push (and re-bound its inbound listener when `rebinds`). */
async function editForB(file: string, yaml: string | undefined, rebinds = false): Promise<void> {
  const from = sidecarB.gateway.output().length;
  if (yaml === undefined) unlinkSync(join(configDir, file));
  else writeFileSync(join(configDir, file), yaml);
  await sidecarB.gateway.waitFor(rebinds ? /listener "virtualInbound" on / : /configuration \d+ applied/, 10_000, from);
}

function authorizationYaml(rule: string): string {
  return `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: b-callers
  namespace: ${MESH_NS}
spec:
  selector:
    matchLabels:
      app: b
  action: ALLOW
  rules:
  - from:
    - source:
${rule}
`;
}

const ok = (r: { status: number } | { error: string }) => ("status" in r ? r.status : r.error);

/** Probes until it gives `expected` (a push may land in more than one step), bounded; returns the last answer. */
async function eventually<T>(probe: () => Promise<T>, expected: T, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v === expected || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("the outbound listener picks the chain of the Host's port", () => {
  /** Through A's outbound, with a Host header or as an HTTP proxy (absolute-form URI): the x-chain header B's app saw. */
  function viaOutbound(port: number, host: string, proxyUri?: string): Promise<{ status: number; chain: string | undefined }> {
    return new Promise((resolve, reject) => {
      const req = httpRequestRaw({ host: "127.0.0.1", port, path: proxyUri ?? "/ports", agent: false, headers: { host } }, (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => {
          const seen = res.statusCode === 200 ? (JSON.parse(body) as { headers: Record<string, string> }) : undefined;
          resolve({ status: res.statusCode ?? 0, chain: seen?.headers["x-chain"] });
        });
      });
      req.setTimeout(5000, () => req.destroy(new Error("timeout")));
      req.on("error", reject);
      req.end();
    });
  }

  it("service port 8080 has its own routes, port 80 its own; chosen by Host and by absolute-form URI", async () => {
    const route = (port: number) => `  - match:
    - port: ${port}
    headers:
      request:
        set:
          x-chain: "${port}"
    route:
    - destination:
        host: ${hostOf("b")}
        port:
          number: ${port}
`;
    await edit("b-ports.yaml", `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: b-ports
  namespace: ${MESH_NS}
spec:
  hosts:
  - ${hostOf("b")}
  http:
${route(8080)}${route(80)}`);
    const out = await sidecarA.outboundPort();
    expect(await viaOutbound(out, `${hostOf("b")}:8080`)).toEqual({ status: 200, chain: "8080" });
    expect(await viaOutbound(out, hostOf("b"))).toEqual({ status: 200, chain: "80" });
    expect(await viaOutbound(out, `${hostOf("b")}:8080`, `http://${hostOf("b")}:8080/ports`)).toEqual({ status: 200, chain: "8080" });
    expect(await viaOutbound(out, "127.0.0.1", `http://${hostOf("b")}/ports`)).toEqual({ status: 200, chain: "80" });
    // A Host the routes do not know: ALLOW_ANY's passthrough to the Host itself, which does not resolve: a 503, no hang.
    expect((await viaOutbound(out, "unknown.invalid:8080")).status).toBe(503);
    await edit("b-ports.yaml", undefined);
    expect(await viaOutbound(out, `${hostOf("b")}:8080`)).toEqual({ status: 200, chain: undefined });
  });
});

describe("PeerAuthentication on the inbound listener", () => {
  it("PERMISSIVE accepts both plaintext and mTLS", async () => {
    await editForB("peer-authentication.yaml", peerAuthenticationYaml("default", "PERMISSIVE"), true);
    const c = await issueFromCa(caPort, rootPem, stateDir, MESH_NS, "c", CLIENT_TTL_S);
    expect(ok(await plainToB())).toBe(200);
    expect(ok(await mtlsToB(c))).toBe(200);
  });

  it("DISABLE accepts only plaintext", async () => {
    await editForB("peer-authentication.yaml", peerAuthenticationYaml("default", "DISABLE"), true);
    const c = await issueFromCa(caPort, rootPem, stateDir, MESH_NS, "c", CLIENT_TTL_S);
    expect(ok(await plainToB())).toBe(200);
    expect(typeof ok(await mtlsToB(c))).toBe("string");
  });

  it("a workload-level PERMISSIVE overrides a namespace STRICT", async () => {
    await editForB("peer-authentication.yaml", peerAuthenticationYaml("default", "STRICT"), true);
    expect(typeof ok(await plainToB())).toBe("string");
    await editForB("b-permissive.yaml", peerAuthenticationYaml("b-permissive", "PERMISSIVE", "b"), true);
    expect(ok(await plainToB())).toBe(200);
    await editForB("b-permissive.yaml", undefined, true);
    expect(typeof ok(await plainToB())).toBe("string");
  });
});

describe("AuthorizationPolicy decided by the real peer certificate", () => {
  let certA: WorkloadCert;
  const readCert = (_: "a"): WorkloadCert => certA;
  beforeAll(async () => {
    certA = await issueFromCa(caPort, rootPem, stateDir, MESH_NS, "a", CLIENT_TTL_S);
  });

  it("principals: only A's identity is let in", async () => {
    await editForB("authz.yaml", authorizationYaml(`        principals: ["cluster.local/ns/${MESH_NS}/sa/a"]`));
    const c = await issueFromCa(caPort, rootPem, stateDir, MESH_NS, "c", CLIENT_TTL_S);
    expect(await eventually(async () => ok(await mtlsToB(c)), 403)).toBe(403);
    expect(ok(await mtlsToB(readCert("a")))).toBe(200);
  });

  it("a forged x-forwarded-client-cert gains nothing (mTLS as another identity, or plaintext under PERMISSIVE)", async () => {
    const forged = { "x-forwarded-client-cert": `By=${spiffeOf("b")};Hash=00;URI=${spiffeOf("a")}` };
    const c = await issueFromCa(caPort, rootPem, stateDir, MESH_NS, "c", CLIENT_TTL_S);
    expect(ok(await mtlsToB(c, forged))).toBe(403);
    await editForB("peer-authentication.yaml", peerAuthenticationYaml("default", "PERMISSIVE"), true);
    expect(ok(await plainToB(forged))).toBe(403);
    expect(ok(await mtlsToB(readCert("a")))).toBe(200);
    await editForB("peer-authentication.yaml", peerAuthenticationYaml("default", "STRICT"), true);
  });

  it("namespaces: a caller from the allowed namespace is let in, one from another is not", async () => {
    await editForB("authz.yaml", authorizationYaml(`        namespaces: ["other"]`));
    const fromOther = await issueFromCa(caPort, rootPem, stateDir, "other", "x", CLIENT_TTL_S);
    expect(await eventually(async () => ok(await mtlsToB(fromOther)), 200)).toBe(200);
    expect(ok(await mtlsToB(readCert("a")))).toBe(403);
    await editForB("authz.yaml", undefined);
    expect(await eventually(async () => ok(await mtlsToB(readCert("a"))), 200)).toBe(200);
  });
});

describe("JWT then authz on the inbound listener, behind mTLS", () => {
  it("RequestAuthentication + requestPrincipals on B: A's call with a valid token passes, a bad token is 401, none is 403", async () => {
    const issuer = "https://issuer.mesh.test";
    const pair = await generateKeyPair("ES256", { extractable: true });
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: "mesh-1", alg: "ES256" }] });
    const token = (key: CryptoKey) => new SignJWT({}).setProtectedHeader({ alg: "ES256", kid: "mesh-1" }).setIssuer(issuer).setSubject("alice").setIssuedAt().setExpirationTime("10m").sign(key);
    await editForB("jwt.yaml", `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata:
  name: b-jwt
  namespace: ${MESH_NS}
spec:
  selector:
    matchLabels:
      app: b
  jwtRules:
  - issuer: ${issuer}
    jwks: '${jwks}'
---
${authorizationYaml(`        requestPrincipals: ["${issuer}/alice"]`)}`);
    const out = await sidecarA.outboundPort();
    const call = (authorization?: string) => httpRequest(`http://127.0.0.1:${out}/jwt`, { headers: { host: hostOf("b"), ...(authorization ? { authorization } : {}) }, timeoutMs: 5000 });
    const good = await call(`Bearer ${await token(pair.privateKey)}`);
    expect(good.status, good.body).toBe(200);
    expect(JSON.parse(good.body).headers["x-forwarded-client-cert"]).toContain(`URI=${spiffeOf("a")}`);
    expect((await call(`Bearer ${await token((await generateKeyPair("ES256")).privateKey)}`)).status).toBe(401);
    expect((await call()).status).toBe(403);
    await editForB("jwt.yaml", undefined);
    expect(await eventually(async () => (await call()).status, 200)).toBe(200);
  });
});

describe("certificate rotation under load", () => {
  it(`a steady A -> B load across three rotations of both sidecars' ${CERT_TTL_S} s certificates sees zero failed requests`, async () => {
    const rotations = (s: Sidecar) => (s.gateway.output().match(/identity: rotated /g) ?? []).length;
    const startA = rotations(sidecarA);
    const startB = rotations(sidecarB);
    const outbound = await sidecarA.outboundPort();
    let ok = 0;
    const failures: string[] = [];
    const serials = new Set<string>();
    // Bounded: at most 45 s, until each sidecar has rotated three more times (a rotation every ~half TTL).
    const deadline = Date.now() + 45_000;
    const worker = async () => {
      while (Date.now() < deadline && (rotations(sidecarA) - startA < 3 || rotations(sidecarB) - startB < 3)) {
        try {
          const r = await httpRequest(`http://127.0.0.1:${outbound}/steady`, { headers: { host: hostOf("b") }, timeoutMs: 5000 });
          if (r.status === 200) {
            ok++;
            const xfcc = String((JSON.parse(r.body) as { headers: Record<string, string> }).headers["x-forwarded-client-cert"] ?? "");
            serials.add(/Hash=([0-9a-f]+)/.exec(xfcc)?.[1] ?? "");
          } else failures.push(`${r.status} ${r.body.slice(0, 120)}`);
        } catch (e) {
          failures.push((e as Error).message);
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    console.log(`rotation: ${ok} requests, ${failures.length} failed; rotations A ${rotations(sidecarA) - startA}, B ${rotations(sidecarB) - startB}; distinct client certificates seen by B ${serials.size}`);
    expect(failures).toEqual([]);
    expect(rotations(sidecarA) - startA).toBeGreaterThanOrEqual(3);
    expect(rotations(sidecarB) - startB).toBeGreaterThanOrEqual(3);
    // B saw A's new certificates: the XFCC hash (of A's leaf) changed with the rotations.
    expect(serials.size).toBeGreaterThanOrEqual(3);
    expect(ok).toBeGreaterThan(100);
  }, 60_000);
});
