// `halyard x check` with RequestAuthentication and AuthorizationPolicy: the built CLI, spawned as a user runs it,
// running the real halyard.jwt → halyard.authz (destination workload / gateway) around halyard.fault →
// halyard.route from halyard.wasm. Tokens are minted with jose; one issuer's JWKS is served by a node:http server.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SignJWT, exportJWK, generateKeyPair, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { build } from "./helpers/halyard-wasm.js";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const ISSUER = "https://issuer.test";
const HTTPBIN = "outbound|8000||httpbin.foo.svc.cluster.local";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function halyard(args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, ["bin/halyard.js", ...args], { cwd: root, timeout: 60_000, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

let mesh: string;

async function check(...args: string[]): Promise<any> {
  const r = await halyard(["x", "check", "-f", mesh, ...args, "-o", "json"]);
  expect(r.stderr.split("\n").filter((l) => l && !l.startsWith("warning: "))).toEqual([]);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

interface Key {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}
async function rsaKey(kid: string): Promise<Key> {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: "RS256" } };
}
let key: Key, stranger: Key, remote: Key;
const now = () => Math.floor(Date.now() / 1000);
function token(sub: string, o: { aud?: string; exp?: number; iss?: string; key?: Key } = {}): Promise<string> {
  const k = o.key ?? key;
  return new SignJWT({})
    .setProtectedHeader({ alg: "RS256", kid: k.kid })
    .setIssuer(o.iss ?? ISSUER)
    .setSubject(sub)
    .setAudience(o.aud ?? "httpbin")
    .setIssuedAt()
    .setExpirationTime(o.exp ?? now() + 3600)
    .sign(k.privateKey);
}

const tmp = mkdtempSync(join(tmpdir(), "xcheck-security-"));
let jwksServer: Server;
let jwksHits = 0;

beforeAll(async () => {
  build("wasm", "ts");
  [key, stranger, remote] = await Promise.all([rsaKey("k1"), rsaKey("k1"), rsaKey("remote-1")]);
  jwksServer = createServer((req, res) => {
    jwksHits++;
    if (req.url === "/keys") res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [remote.jwk] }));
    else res.writeHead(503).end("down");
  });
  await new Promise<void>((ok) => jwksServer.listen(0, "127.0.0.1", ok));
  const port = (jwksServer.address() as AddressInfo).port;
  const jwks = JSON.stringify(JSON.stringify({ keys: [key.jwk] }));
  mesh = join(tmp, "mesh.yaml");
  writeFileSync(
    mesh,
    `apiVersion: v1
kind: Service
metadata: { name: httpbin, namespace: foo }
spec: { selector: { app: httpbin }, ports: [{ name: http, port: 8000, targetPort: 80 }] }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: httpbin-1, namespace: foo }
spec: { address: 10.0.0.11, labels: { app: httpbin, version: v1 } }
---
apiVersion: v1
kind: Service
metadata: { name: open, namespace: foo }
spec: { selector: { app: open }, ports: [{ name: http, port: 8000 }] }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: open-1, namespace: foo }
spec: { address: 10.0.0.12, labels: { app: open } }
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: httpbin, namespace: foo }
spec:
  selector: { matchLabels: { app: httpbin } }
  jwtRules:
  - issuer: ${ISSUER}
    audiences: [httpbin]
    jwks: ${jwks}
  - issuer: https://remote.test
    jwksUri: http://127.0.0.1:${port}/keys
  - issuer: https://down.test
    jwksUri: http://127.0.0.1:${port}/down
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: httpbin, namespace: foo }
spec:
  selector: { matchLabels: { app: httpbin } }
  rules:
  - from: [{ source: { principals: [cluster.local/ns/sleep/sa/sleep] } }]
    to: [{ operation: { methods: [GET] } }]
  - from: [{ source: { requestPrincipals: [${ISSUER}/alice, https://remote.test/*] } }]
  - from: [{ source: { namespaces: [trusted] } }]
  - from: [{ source: { ipBlocks: [203.0.113.0/24] } }]
    to: [{ operation: { paths: ["/public*"] } }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-admin, namespace: foo }
spec:
  selector: { matchLabels: { app: httpbin } }
  action: DENY
  rules: [{ to: [{ operation: { paths: ["/admin*"] } }] }]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: public, namespace: edge }
spec:
  selector: { istio: ingressgateway }
  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: ["*"] }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: httpbin, namespace: edge }
spec:
  hosts: [httpbin.example.com]
  gateways: [edge/public]
  http: [{ name: to-httpbin, route: [{ destination: { host: httpbin.foo.svc.cluster.local, port: { number: 8000 } } }] }]
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: ingress, namespace: edge }
spec:
  selector: { matchLabels: { istio: ingressgateway } }
  jwtRules: [{ issuer: "${ISSUER}", jwks: ${jwks} }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: require-jwt, namespace: edge }
spec:
  selector: { matchLabels: { istio: ingressgateway } }
  action: DENY
  rules: [{ from: [{ source: { notRequestPrincipals: ["*"] } }], to: [{ operation: { paths: ["/private*"] } }] }]
`,
  );
}, 320_000);

afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await new Promise<void>((ok) => (jwksServer ? jwksServer.close(() => ok()) : ok()));
});

const URL_GET = "http://httpbin.foo:8000/get";
const RBAC_DENIED = { outcome: "deny", status: 403, reason: "RBAC: access denied" };

describe("sidecar caller → destination workload's policies", { timeout: 180_000 }, () => {
  test("authz by the caller's principal: --from (cluster.local/ns/<ns>/sa/<sa>) and --from-principal", async () => {
    const [allowed, denied, post, explicit, otherTd] = await Promise.all([
      check("--from", "sleep/sleep", "GET", URL_GET),
      check("--from", "other/x", "GET", URL_GET),
      check("--from", "sleep/sleep", "POST", URL_GET),
      check("--from-principal", "cluster.local/ns/sleep/sa/sleep", "GET", URL_GET),
      check("--from-principal", "other.td/ns/sleep/sa/sleep", "GET", URL_GET),
    ]);
    expect(allowed).toMatchObject({ outcome: "route", cluster: HTTPBIN, principal: "cluster.local/ns/sleep/sa/sleep", policy: { namespace: "foo", name: "httpbin", rule: 0 } });
    expect(allowed).not.toHaveProperty("requestPrincipal");
    expect(denied).toEqual({ ...RBAC_DENIED, details: "rbac_access_denied_matched_policy[none]", route: "default", principal: "cluster.local/ns/other/sa/x" });
    expect(post).toMatchObject({ ...RBAC_DENIED, principal: "cluster.local/ns/sleep/sa/sleep" });
    expect(explicit).toMatchObject({ outcome: "route", policy: { name: "httpbin", rule: 0 } });
    expect(otherTd).toMatchObject({ ...RBAC_DENIED, principal: "other.td/ns/sleep/sa/sleep" });
  });

  test("authz by namespace and by source ip; DENY wins and is reported", async () => {
    const [ns, ipIn, ipOut, ipOtherPath, admin] = await Promise.all([
      check("--from", "trusted/anyone", "DELETE", URL_GET),
      check("--from", "other/x", "--source-ip", "203.0.113.7", "GET", "http://httpbin.foo:8000/public/a"),
      check("--from", "other/x", "--source-ip", "198.51.100.1", "GET", "http://httpbin.foo:8000/public/a"),
      check("--from", "other/x", "--source-ip", "203.0.113.7", "GET", "http://httpbin.foo:8000/private"),
      check("--from", "sleep/sleep", "GET", "http://httpbin.foo:8000/admin/users"),
    ]);
    expect(ns).toMatchObject({ outcome: "route", policy: { namespace: "foo", name: "httpbin", rule: 2 } });
    expect(ipIn).toMatchObject({ outcome: "route", policy: { name: "httpbin", rule: 3 } });
    expect(ipOut).toMatchObject(RBAC_DENIED);
    expect(ipOtherPath).toMatchObject(RBAC_DENIED);
    expect(admin).toMatchObject({ ...RBAC_DENIED, details: "rbac_access_denied_matched_policy[ns[foo]-policy[deny-admin]-rule[0]]", policy: { namespace: "foo", name: "deny-admin", rule: 0 } });
  });

  test("JWT: allowed by requestPrincipals, 401 for invalid or expired tokens, 403 for the wrong audience", async () => {
    const [alice, bob, forged, expired, audience, unknownIssuer] = await Promise.all([
      token("alice"),
      token("bob"),
      token("alice", { key: stranger }),
      token("alice", { exp: now() - 3600 }),
      token("alice", { aud: "someone-else" }),
      token("alice", { iss: "https://unknown.test" }),
    ]);
    const [ok, notAlice, bad, old, aud, iss, none] = await Promise.all([
      check("--from", "other/x", "--jwt", alice, "GET", URL_GET),
      check("--from", "other/x", "--jwt", bob, "GET", URL_GET),
      check("--from", "other/x", "--jwt", forged, "GET", URL_GET),
      check("--from", "other/x", "--jwt", expired, "GET", URL_GET),
      check("--from", "other/x", "--jwt", audience, "GET", URL_GET),
      check("--from", "other/x", "--jwt", unknownIssuer, "GET", URL_GET),
      check("--from", "other/x", "GET", URL_GET),
    ]);
    expect(ok).toMatchObject({ outcome: "route", requestPrincipal: `${ISSUER}/alice`, principal: "cluster.local/ns/other/sa/x", policy: { name: "httpbin", rule: 1 } });
    // The destination receives the request without the verified token (forwardOriginalToken: false).
    expect(ok.requestHeaders).toEqual({ removed: ["authorization"] });
    expect(notAlice).toMatchObject({ ...RBAC_DENIED, requestPrincipal: `${ISSUER}/bob` });
    expect(bad).toMatchObject({ outcome: "deny", status: 401, reason: "Jwt verification fails", details: "jwt_authn_access_denied{Jwt_verification_fails}" });
    expect(bad).not.toHaveProperty("requestPrincipal");
    expect(old).toMatchObject({ outcome: "deny", status: 401, reason: "Jwt is expired" });
    expect(aud).toMatchObject({ outcome: "deny", status: 403, reason: "Audiences in Jwt are not allowed" });
    expect(iss).toMatchObject({ outcome: "deny", status: 401, reason: "Jwt issuer is not configured" });
    expect(none).toMatchObject(RBAC_DENIED);
  });

  test("jwksUri is fetched by x check; an issuer whose JWKS cannot be fetched fails closed with a warning", async () => {
    const [viaRemote, viaDown] = await Promise.all([token("carol", { iss: "https://remote.test", key: remote }), token("dave", { iss: "https://down.test", key: remote })]);
    const hitsBefore = jwksHits;
    const remoteRun = await halyard(["x", "check", "-f", mesh, "--from", "other/x", "--jwt", viaRemote, "GET", URL_GET, "-o", "json"]);
    expect(remoteRun.code).toBe(0);
    expect(JSON.parse(remoteRun.stdout)).toMatchObject({ outcome: "route", requestPrincipal: "https://remote.test/carol", policy: { rule: 1 } });
    expect(jwksHits).toBeGreaterThan(hitsBefore);
    expect(remoteRun.stderr).toContain(`warning: jwks: fetching http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/down failed: status 503, "down"`);
    const downRun = await halyard(["x", "check", "-f", mesh, "--from", "other/x", "--jwt", viaDown, "GET", URL_GET, "-o", "json"]);
    expect(JSON.parse(downRun.stdout)).toMatchObject({ outcome: "deny", status: 401, reason: "Jwt verification fails" });
  });

  test("a destination no policy selects runs no security filter and reports no security keys", async () => {
    const r = await check("--from", "other/x", "GET", "http://open.foo:8000/");
    expect(r).toMatchObject({ outcome: "route", cluster: "outbound|8000||open.foo.svc.cluster.local" });
    expect(r).not.toHaveProperty("principal");
    expect(r).not.toHaveProperty("policy");
  });
});

describe("gateway: its own policies before routing", { timeout: 180_000 }, () => {
  test("DENY without a request principal, 401 for a bad token, routed with a good one", async () => {
    const [alice, forged] = await Promise.all([token("alice"), token("alice", { key: stranger })]);
    const [anon, open, good, bad] = await Promise.all([
      check("--gateway", "edge/public", "GET", "http://httpbin.example.com/private/x"),
      check("--gateway", "edge/public", "GET", "http://httpbin.example.com/public"),
      check("--gateway", "edge/public", "--jwt", alice, "GET", "http://httpbin.example.com/private/x"),
      check("--gateway", "edge/public", "--jwt", forged, "GET", "http://httpbin.example.com/public"),
    ]);
    expect(anon).toEqual({ ...RBAC_DENIED, details: "rbac_access_denied_matched_policy[ns[edge]-policy[require-jwt]-rule[0]]", policy: { namespace: "edge", name: "require-jwt", rule: 0 } });
    expect(open).toMatchObject({ outcome: "route", route: "to-httpbin", cluster: HTTPBIN });
    expect(open).not.toHaveProperty("principal");
    expect(good).toMatchObject({ outcome: "route", route: "to-httpbin", cluster: HTTPBIN, requestPrincipal: `${ISSUER}/alice` });
    expect(bad).toMatchObject({ outcome: "deny", status: 401, reason: "Jwt verification fails" });
  });

  test("text output names the principal, the token's principal and the deciding policy", async () => {
    const r = await halyard(["x", "check", "-f", mesh, "--from", "other/x", "--jwt", await token("alice"), "GET", URL_GET]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("principal:        cluster.local/ns/other/sa/x\n");
    expect(r.stdout).toContain(`jwt principal:    ${ISSUER}/alice\n`);
    expect(r.stdout).toContain("policy:           foo/httpbin rule 1\n");
  });

  test("bad security flags are one-line errors", async () => {
    const cases: [string[], string][] = [
      [["--from-principal", "sleep"], 'halyard x check: --from-principal "sleep": expected <trust domain>/ns/<namespace>/sa/<serviceaccount>\n'],
      [["--source-ip", "300.1.1.1"], 'halyard x check: --source-ip "300.1.1.1": expected an IPv4 or IPv6 address\n'],
      [["--jwt", "Bearer x"], "halyard x check: --jwt: expected a token (base64url sections separated by dots), without the Bearer prefix\n"],
      [["--jwt", "a.b.c", "-H", "authorization: Bearer z"], "halyard x check: --jwt: the request already has an Authorization header (-H); give one or the other\n"],
    ];
    const runs = await Promise.all(cases.map(([flags]) => halyard(["x", "check", "-f", mesh, ...flags, "GET", URL_GET])));
    runs.forEach((r, i) => {
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(cases[i]![1]);
    });
  });
});
