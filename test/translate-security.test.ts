// control/translate/security.ts and jwks.ts: which RequestAuthentications / AuthorizationPolicies apply to a proxy
// (selector, namespace, root namespace, targetRefs), the halyard.jwt / halyard.authz configurations they become,
// jwksUri fetching from a real node:http server (refresh, fail closed), the filters on the xDS listeners, and the
// translated configurations loaded and decided by the real filters in halyard.wasm.
import { anyUnpack, StringValueSchema, type Any } from "@bufbuild/protobuf/wkt";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT, exportJWK, generateKeyPair, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WasmSchema } from "../gen/envoy/extensions/filters/http/wasm/v3/wasm_pb.js";
import { HttpConnectionManagerSchema } from "../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import type { Listener } from "../gen/envoy/config/listener/v3/listener_pb.js";
import { buildConfigSet, type ConfigSet } from "../control/config/config-set.js";
import { formatError } from "../control/config/errors.js";
import { parseConfigText } from "../control/config/load.js";
import { validateDocuments } from "../control/config/validate.js";
import { buildRegistry } from "../control/registry/registry.js";
import { FAKE_JWKS, JwksResolver, jwksSourceKey } from "../control/translate/jwks.js";
import { gatewayProxy, sidecarProxy } from "../control/translate/proxy.js";
import { configJwksSources, GATEWAY_NAME_LABEL, jwksSourceOf, translateSecurity, type AuthzFilterConfig, type JwtFilterConfig } from "../control/translate/security.js";
import { buildProxyResources, createSnapshotBuilder } from "../control/translate/xds/index.js";
import { serve } from "../control/serve.js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LISTENER_TYPE } from "../control/xds/resource-types.js";
import type { Snapshot } from "../control/xds/snapshot.js";
import { type HeaderMap, type StreamInfo, WasmPlugin } from "../wasm/host/index.js";
import { halyardModule } from "./helpers/halyard-wasm.js";

function configOf(yaml: string): ConfigSet {
  const { documents, errors } = parseConfigText(yaml, "test.yaml");
  expect(errors.map(formatError)).toEqual([]);
  expect(validateDocuments(documents).map(formatError)).toEqual([]);
  return buildConfigSet(documents);
}

const meta = (name: string, namespace: string, annotations?: Record<string, string>) =>
  `metadata: { name: ${name}, namespace: ${namespace}${annotations ? `, annotations: ${JSON.stringify(annotations)}` : ""} }`;
const ra = (name: string, namespace: string, spec: string) => `---\napiVersion: security.istio.io/v1\nkind: RequestAuthentication\n${meta(name, namespace)}\nspec:\n${spec}\n`;
const ap = (name: string, namespace: string, spec: string, annotations?: Record<string, string>) =>
  `---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n${meta(name, namespace, annotations)}\nspec:\n${spec}\n`;
const INLINE = JSON.stringify(JSON.stringify({ keys: [{ kty: "oct", k: "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTAx", kid: "h" }] }));
const rule = (issuer: string) => `  jwtRules:\n  - issuer: ${issuer}\n    jwks: ${INLINE}`;

// ---- a JWKS server on 127.0.0.1 ----

interface JwksServer {
  url: (path: string) => string;
  hits: Map<string, number>;
  /** Body per path; a number answers that status; "hang" never answers. */
  routes: Map<string, string | number>;
  close(): Promise<void>;
}

async function startJwksServer(): Promise<JwksServer> {
  const hits = new Map<string, number>();
  const routes = new Map<string, string | number>();
  const server: Server = createServer((req, res) => {
    const path = req.url ?? "/";
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const r = routes.get(path);
    if (r === "hang") return;
    if (typeof r === "number" || r === undefined) {
      res.writeHead(typeof r === "number" ? r : 404).end("nope");
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(r);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    hits,
    routes,
    close: () =>
      new Promise((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

interface Key {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}
async function rsaKey(kid: string): Promise<Key> {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" } };
}
const jwksOf = (...keys: Key[]) => JSON.stringify({ keys: keys.map((k) => k.jwk) });
const mint = (key: Key, iss: string, sub: string, claims: Record<string, unknown> = {}) =>
  new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: key.kid }).setIssuer(iss).setSubject(sub).setIssuedAt().setExpirationTime("10m").sign(key.privateKey);

async function until(cond: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let jwksServer: JwksServer;
let k1: Key, k2: Key;
let module: WebAssembly.Module;

beforeAll(async () => {
  module = halyardModule();
  jwksServer = await startJwksServer();
  [k1, k2] = await Promise.all([rsaKey("k1"), rsaKey("k2")]);
}, 300_000);
afterAll(async () => jwksServer?.close());

// ---- selection ----

describe("which policies apply to a proxy", () => {
  const config = () =>
    configOf(
      ra("ns-wide", "foo", rule("https://ns-wide")) +
        ra("httpbin-only", "foo", `  selector: { matchLabels: { app: httpbin } }\n${rule("https://httpbin")}`) +
        ra("other-app", "foo", `  selector: { matchLabels: { app: other } }\n${rule("https://other-app")}`) +
        ra("other-ns", "bar", rule("https://other-ns")) +
        ra("mesh-wide", "istio-system", rule("https://mesh")) +
        ra("mesh-httpbin", "istio-system", `  selector: { matchLabels: { app: httpbin } }\n${rule("https://mesh-httpbin")}`) +
        ra("to-gateway", "foo", `  targetRef: { group: gateway.networking.k8s.io, kind: Gateway, name: edge }\n${rule("https://gw")}`) +
        ra("to-gateways", "foo", `  targetRefs: [{ group: gateway.networking.k8s.io, kind: Gateway, name: other }, { group: gateway.networking.k8s.io, kind: Gateway, name: edge }]\n${rule("https://gw2")}`) +
        ra("to-service", "foo", `  targetRefs: [{ group: "", kind: Service, name: httpbin }]\n${rule("https://svc")}`),
    );
  const issuers = (jwt: JwtFilterConfig | undefined) => (jwt?.providers ?? []).map((p) => p.issuer);

  it("RequestAuthentication: root namespace first, then the proxy's namespace; selectors; all combine", () => {
    const c = config();
    expect(issuers(translateSecurity(c, sidecarProxy("foo", { app: "httpbin", version: "v1" })).jwt)).toEqual([
      "https://mesh", "https://mesh-httpbin", "https://ns-wide", "https://httpbin",
    ]);
    expect(issuers(translateSecurity(c, sidecarProxy("foo", { app: "reviews" })).jwt)).toEqual(["https://mesh", "https://ns-wide"]);
    expect(issuers(translateSecurity(c, sidecarProxy("bar", { app: "httpbin" })).jwt)).toEqual(["https://mesh", "https://mesh-httpbin", "https://other-ns"]);
    expect(issuers(translateSecurity(c, sidecarProxy("baz")).jwt)).toEqual(["https://mesh"]);
    // Another root namespace (meshConfig rootNamespace) makes istio-system an ordinary namespace.
    expect(translateSecurity(c, sidecarProxy("baz"), { rootNamespace: "mesh-root" }).jwt).toBeUndefined();
  });

  it("targetRefs attach only to the Kubernetes Gateway they name, in the policy's namespace", () => {
    const c = config();
    const gw = (name: string, ns = "foo") => sidecarProxy(ns, { [GATEWAY_NAME_LABEL]: name });
    // A Gateway API gateway also takes selector-less and matching-selector policies (Istio's default).
    expect(issuers(translateSecurity(c, gw("edge")).jwt)).toEqual(["https://mesh", "https://ns-wide", "https://gw", "https://gw2"]);
    expect(issuers(translateSecurity(c, gw("other")).jwt)).toEqual(["https://mesh", "https://ns-wide", "https://gw2"]);
    expect(issuers(translateSecurity(c, gw("edge", "bar")).jwt)).toEqual(["https://mesh", "https://other-ns"]);
  });

  it("an Istio Gateway's proxy takes the policies its labels select in its namespace", () => {
    const c = configOf(
      `---\napiVersion: networking.istio.io/v1\nkind: Gateway\n${meta("public", "edge")}\nspec:\n  selector: { istio: ingressgateway }\n  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: ["*"] }]\n` +
        ap("ingress-only", "edge", "  selector: { matchLabels: { istio: ingressgateway } }\n  rules: [{}]") +
        ap("edge-wide", "edge", "  action: DENY\n  rules: [{ to: [{ operation: { paths: [/admin] } }] }]") +
        ap("elsewhere", "foo", "  rules: [{}]") +
        ap("sidecars-only", "edge", "  selector: { matchLabels: { app: web } }\n  rules: [{}]"),
    );
    const authz = translateSecurity(c, gatewayProxy(c, "edge/public")).authz;
    expect(authz?.policies.map((p) => `${p.namespace}/${p.name}`)).toEqual(["edge/ingress-only", "edge/edge-wide"]);
  });

  it("no policy: no filter configuration at all", () => {
    const t = translateSecurity(configOf(ap("x", "foo", "  rules: [{}]")), sidecarProxy("bar"));
    expect(t).toMatchObject({ jwt: undefined, authz: undefined, requestAuthentications: [], authorizationPolicies: [] });
  });
});

// ---- the configurations ----

describe("the filter configurations", () => {
  it("RequestAuthentication jwtRules become providers with CONFIG.md's snake_case fields", () => {
    const c = configOf(
      ra(
        "full",
        "foo",
        `  jwtRules:
  - issuer: https://issuer.example
    audiences: [bookstore]
    jwks: ${INLINE}
    fromHeaders: [{ name: x-jwt-assertion, prefix: "Token " }, { name: x-plain }]
    fromParams: [token]
    fromCookies: [session]
    forwardOriginalToken: true
    outputPayloadToHeader: x-jwt-payload
    outputClaimToHeaders: [{ header: x-group, claim: groups }]
    timeout: 5s
  - issuer: https://minimal.example
    jwks: ${INLINE}`,
      ),
    );
    expect(translateSecurity(c, sidecarProxy("foo")).jwt).toEqual({
      providers: [
        {
          issuer: "https://issuer.example",
          audiences: ["bookstore"],
          jwks: JSON.parse(INLINE),
          from_headers: [{ name: "x-jwt-assertion", prefix: "Token " }, { name: "x-plain" }],
          from_params: ["token"],
          from_cookies: ["session"],
          forward_original_token: true,
          output_payload_to_header: "x-jwt-payload",
          output_claim_to_headers: [{ header: "x-group", claim: "groups" }],
        },
        { issuer: "https://minimal.example", jwks: JSON.parse(INLINE) },
      ],
    });
  });

  it("AuthorizationPolicy: Istio's camelCase rules, action, provider, dry-run, mesh trust domain", () => {
    const c = configOf(
      ap(
        "httpbin",
        "foo",
        `  action: ALLOW
  rules:
  - from: [{ source: { principals: [cluster.local/ns/default/sa/sleep], notNamespaces: [prod] } }]
    to: [{ operation: { methods: [GET], paths: ["/info*"], notPorts: ["9000"] } }]
    when: [{ key: "request.auth.claims[iss]", values: ["https://accounts.google.com"] }, { key: source.ip, notValues: [10.0.0.1] }]`,
      ) +
        ap("ext", "foo", "  action: CUSTOM\n  provider: { name: opa }\n  rules: [{}]") +
        ap("audit", "foo", "  action: AUDIT\n  rules: [{ to: [{ operation: { hosts: [a.example] } }] }]", { "istio.io/dry-run": "true" }) +
        ap("empty-spec", "foo", "  {}"),
    );
    const authz = translateSecurity(c, sidecarProxy("foo"), { trustDomain: "td.example", trustDomainAliases: ["old"], pathNormalization: "BASE" }).authz;
    expect(authz).toEqual({
      trust_domain: "td.example",
      trust_domain_aliases: ["old"],
      path_normalization: "BASE",
      policies: [
        {
          name: "httpbin",
          namespace: "foo",
          action: "ALLOW",
          rules: [
            {
              from: [{ source: { principals: ["cluster.local/ns/default/sa/sleep"], notNamespaces: ["prod"] } }],
              to: [{ operation: { methods: ["GET"], paths: ["/info*"], notPorts: ["9000"] } }],
              when: [{ key: "request.auth.claims[iss]", values: ["https://accounts.google.com"] }, { key: "source.ip", notValues: ["10.0.0.1"] }],
            },
          ],
        },
        { name: "ext", namespace: "foo", action: "CUSTOM", provider: { name: "opa" }, rules: [{}] },
        { name: "audit", namespace: "foo", action: "AUDIT", dry_run: true, rules: [{ to: [{ operation: { hosts: ["a.example"] } }] }] },
        { name: "empty-spec", namespace: "foo", action: "ALLOW", rules: null },
      ],
    } satisfies AuthzFilterConfig);
  });

  it("trustDomains (valid Istio, no attribute here): an ALLOW rule fails closed, a DENY rule widens; both warn", () => {
    const c = configOf(
      ap("allow-td", "foo", "  rules:\n  - from: [{ source: { trustDomains: [td1] } }]\n  - to: [{ operation: { methods: [GET] } }]") +
        ap("deny-td", "foo", "  action: DENY\n  rules:\n  - from: [{ source: { trustDomains: [td1], namespaces: [x] } }]\n    when: [{ key: source.trustDomain, values: [td1] }]"),
    );
    const t = translateSecurity(c, sidecarProxy("foo"));
    const [allow, deny] = t.authz!.policies;
    expect(allow!.rules![1]).toEqual({ to: [{ operation: { methods: ["GET"] } }] });
    expect(allow!.rules![0]).not.toHaveProperty("to");
    expect(deny!.rules).toEqual([{ from: [{ source: { namespaces: ["x"] } }] }]);
    expect(t.warnings.map((w) => `${w.name}: ${w.path}: ${w.message}`)).toEqual([
      "allow-td: spec.rules[0].from[0].source.trustDomains: trustDomains is not supported by Halyard; the ALLOW rule never matches (fails closed)",
      "deny-td: spec.rules[0].from[0].source.trustDomains: trustDomains is not supported by Halyard; the field is ignored (the DENY rule widens)",
      "deny-td: spec.rules[0].when[0].key: source.trustDomain is not supported by Halyard; the condition is ignored (the DENY rule widens)",
    ]);
  });
});

// ---- the configurations in the real filters ----

async function runFilters(jwt: JwtFilterConfig | undefined, authz: AuthzFilterConfig | undefined, token: string | undefined, info: Partial<StreamInfo> = {}) {
  const plugins = [
    ...(jwt ? [await WasmPlugin.load(module, { name: "jwt", rootId: "halyard.jwt", configuration: JSON.stringify(jwt) })] : []),
    ...(authz ? [await WasmPlugin.load(module, { name: "authz", rootId: "halyard.authz", configuration: JSON.stringify(authz) })] : []),
  ];
  const streamInfo: StreamInfo = { source: { address: "10.1.2.3", port: 4000 }, destination: { address: "10.0.0.11", port: 8080 }, filterState: new Map(), ...info };
  const headers: HeaderMap = [[":method", "GET"], [":path", "/api"], [":authority", "httpbin.foo"], [":scheme", "http"], ...(token ? [["authorization", `Bearer ${token}`] as [string, string]] : [])];
  try {
    for (const p of plugins) {
      const s = p.createStream(streamInfo);
      const o = await s.onRequestHeaders(headers, true);
      s.done();
      if (o.kind === "local_response") return { status: o.status, body: new TextDecoder().decode(o.body) };
    }
    return { status: 200, body: "" };
  } finally {
    await Promise.all(plugins.map((p) => p.close()));
  }
}

describe("jwksUri", () => {
  it("is fetched, inlined byte for byte, and verifies tokens in the real filter", async () => {
    const path = "/fetch/jwks.json";
    const body = jwksOf(k1);
    jwksServer.routes.set(path, body);
    const c = configOf(
      ra("fetched", "foo", `  jwtRules:\n  - issuer: https://fetched.example\n    jwksUri: ${jwksServer.url(path)}`) +
        ap("sub-alice", "foo", "  rules: [{ from: [{ source: { requestPrincipals: [https://fetched.example/alice] } }] }]"),
    );
    const resolver = new JwksResolver({ refreshIntervalMs: 0, log: () => {} });
    expect(configJwksSources(c)).toEqual([{ uri: jwksServer.url(path) }]);
    await resolver.resolve(configJwksSources(c));
    await resolver.resolve(configJwksSources(c)); // fetched once
    expect(jwksServer.hits.get(path)).toBe(1);
    const t = translateSecurity(c, sidecarProxy("foo"), { jwks: resolver });
    expect(t.jwt!.providers[0]!.jwks).toBe(body);
    expect(await runFilters(t.jwt, t.authz, await mint(k1, "https://fetched.example", "alice"))).toEqual({ status: 200, body: "" });
    expect(await runFilters(t.jwt, t.authz, await mint(k1, "https://fetched.example", "bob"))).toEqual({ status: 403, body: "RBAC: access denied" });
    expect(await runFilters(t.jwt, t.authz, await mint(k2, "https://fetched.example", "alice"))).toEqual({ status: 401, body: "Jwks doesn't have key to match kid or alg from Jwt" });
  });

  it("is refreshed on the (unref'd) timer; a change is reported once served, a failed refresh keeps the last keys", async () => {
    const path = "/refresh/jwks.json";
    jwksServer.routes.set(path, jwksOf(k1));
    const lines: string[] = [];
    let changes = 0;
    const resolver = new JwksResolver({ refreshIntervalMs: 40, log: (l) => lines.push(l), onChange: () => changes++ });
    try {
      const source = { uri: jwksServer.url(path) };
      await resolver.resolve([source]);
      expect(resolver.jwksFor(source)).toBe(jwksOf(k1));
      jwksServer.routes.set(path, jwksOf(k1, k2));
      await until(() => changes === 1, "the refreshed keys");
      expect(resolver.jwksFor(source)).toBe(jwksOf(k1, k2));
      const seen = jwksServer.hits.get(path)!;
      jwksServer.routes.set(path, 503);
      await until(() => jwksServer.hits.get(path)! >= seen + 2, "two failed refreshes");
      expect(resolver.jwksFor(source)).toBe(jwksOf(k1, k2));
      expect(lines.some((l) => l.startsWith(`warning: jwks: refreshing ${source.uri} failed: status 503`) && l.endsWith("keeping the last fetched keys"))).toBe(true);
      expect(changes).toBe(1);
    } finally {
      resolver.close();
    }
  });

  it("a source first seen by jwksFor is fetched in the background; a failed first fetch is retried soon", async () => {
    const path = "/late/jwks.json";
    jwksServer.routes.set(path, 503);
    let changes = 0;
    const resolver = new JwksResolver({ refreshIntervalMs: 0, retryAfterFailureMs: 30, log: () => {}, onChange: () => changes++ });
    try {
      const source = { uri: jwksServer.url(path) };
      expect(resolver.jwksFor(source)).toBe(FAKE_JWKS);
      await until(() => (jwksServer.hits.get(path) ?? 0) >= 2, "the retry");
      expect(resolver.jwksFor(source)).toBe(FAKE_JWKS);
      jwksServer.routes.set(path, jwksOf(k2));
      await until(() => changes === 1, "the late keys");
      expect(resolver.jwksFor(source)).toBe(jwksOf(k2));
    } finally {
      resolver.close();
    }
  });

  it("fails closed: 5xx, not a JWKS, unreachable or too slow → FAKE_JWKS, a warning, and 401 for that issuer's tokens", async () => {
    jwksServer.routes.set("/bad/500", 500);
    jwksServer.routes.set("/bad/html", "<html>hi</html>");
    jwksServer.routes.set("/bad/hang", "hang");
    const dead = await startJwksServer();
    const deadUrl = dead.url("/jwks");
    await dead.close();
    const c = configOf(
      ra(
        "broken",
        "foo",
        `  jwtRules:
  - { issuer: https://a.example, jwksUri: "${jwksServer.url("/bad/500")}" }
  - { issuer: https://b.example, jwksUri: "${jwksServer.url("/bad/html")}" }
  - { issuer: https://c.example, jwksUri: "${deadUrl}" }
  - { issuer: https://d.example, jwksUri: "${jwksServer.url("/bad/hang")}", timeout: 300ms }
  - { issuer: https://e.example, jwks: ${JSON.stringify(jwksOf(k1))} }`,
      ),
    );
    expect(jwksSourceOf(c.requestAuthentications[0]!.spec.jwtRules![3]!)).toEqual({ uri: jwksServer.url("/bad/hang"), timeoutMs: 300 });
    const lines: string[] = [];
    const resolver = new JwksResolver({ refreshIntervalMs: 0, log: (l) => lines.push(l) });
    const t0 = Date.now();
    await resolver.resolve(configJwksSources(c));
    expect(Date.now() - t0).toBeLessThan(5_000);
    const t = translateSecurity(c, sidecarProxy("foo"), { jwks: resolver });
    expect(t.jwt!.providers.map((p) => p.jwks)).toEqual([FAKE_JWKS, FAKE_JWKS, FAKE_JWKS, FAKE_JWKS, jwksOf(k1)]);
    const uris = ["/bad/500", "/bad/html", null, "/bad/hang"];
    const reasons = ['status 500, "nope"', "the answer is not JSON", "ECONNREFUSED", "no answer within 300 ms"];
    uris.forEach((p, i) => {
      const uri = p === null ? deadUrl : jwksServer.url(p);
      expect(lines).toContain(`warning: jwks: fetching ${uri} failed: ${reasons[i]}; tokens from that issuer are rejected (401) until a fetch succeeds`);
    });
    // The filter accepts the fake set, and no token verifies against it.
    for (const iss of ["https://a.example", "https://d.example"]) {
      expect(await runFilters(t.jwt, undefined, await mint(k1, iss, "alice"))).toEqual({ status: 401, body: "Jwt verification fails" });
    }
    expect(await runFilters(t.jwt, undefined, await mint(k1, "https://e.example", "alice"))).toEqual({ status: 200, body: "" });
    // Requests without a token still pass (RequestAuthentication alone never requires one).
    expect(await runFilters(t.jwt, undefined, undefined)).toEqual({ status: 200, body: "" });
    // A failed source is retried by a later resolve only after the retry delay.
    const before = jwksServer.hits.get("/bad/500");
    await resolver.resolve(configJwksSources(c).slice(0, 1));
    expect(jwksServer.hits.get("/bad/500")).toBe(before);
  });

  it("issuers without jwks or jwksUri are resolved through OpenID discovery", async () => {
    jwksServer.routes.set("/oidc/.well-known/openid-configuration", JSON.stringify({ issuer: jwksServer.url("/oidc"), jwks_uri: jwksServer.url("/oidc/keys") }));
    jwksServer.routes.set("/oidc/keys", jwksOf(k2));
    const c = configOf(ra("oidc", "foo", `  jwtRules:\n  - issuer: ${jwksServer.url("/oidc")}`));
    const resolver = new JwksResolver({ refreshIntervalMs: 0, log: () => {} });
    await resolver.resolve(configJwksSources(c));
    expect(jwksSourceKey(configJwksSources(c)[0]!)).toBe(`openid:${jwksServer.url("/oidc")}`);
    expect(translateSecurity(c, sidecarProxy("foo"), { jwks: resolver }).jwt!.providers[0]!.jwks).toBe(jwksOf(k2));
  });
});

// ---- on the xDS listeners ----

const unpack = <T>(schema: Parameters<typeof anyUnpack>[1], any: Any | undefined) => anyUnpack(any!, schema) as T;

function chainFilters(listener: Listener, index = 0): { name: string; configuration?: string }[] {
  const f = listener.filterChains[index]!.filters[0]!;
  const hcm = unpack<{ httpFilters: { name: string; configType: { case: string; value: Any } }[] }>(HttpConnectionManagerSchema, f.configType.value as Any);
  return hcm.httpFilters.map((h) => {
    if (!h.configType.value.typeUrl.endsWith("filters.http.wasm.v3.Wasm")) return { name: h.name };
    const w = unpack<{ config: { configuration: Any } }>(WasmSchema, h.configType.value);
    return { name: h.name, configuration: unpack<{ value: string }>(StringValueSchema, w.config.configuration).value };
  });
}

describe("xDS: halyard.jwt then halyard.authz", () => {
  const mesh = (jwksUri: string) =>
    configOf(
      `---
apiVersion: v1
kind: Service
metadata: { name: httpbin, namespace: foo }
spec: { selector: { app: httpbin }, ports: [{ name: http, port: 8000, targetPort: 8080 }] }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: httpbin-1, namespace: foo }
spec: { address: 10.0.0.11, labels: { app: httpbin } }
---
apiVersion: networking.istio.io/v1
kind: Gateway
${meta("ingress", "istio-system")}
spec:
  selector: { istio: ingressgateway }
  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: ["*"] }]
` +
        ra("httpbin", "foo", `  selector: { matchLabels: { app: httpbin } }\n  jwtRules:\n  - { issuer: https://x.example, jwksUri: "${jwksUri}" }`) +
        ap("httpbin", "foo", "  selector: { matchLabels: { app: httpbin } }\n  rules: [{ from: [{ source: { namespaces: [foo] } }] }]") +
        ap("ingress", "istio-system", "  selector: { matchLabels: { istio: ingressgateway } }\n  action: DENY\n  rules: [{ to: [{ operation: { paths: [/admin] } }] }]"),
    );

  it("run on the sidecar's inbound chains before the router, and on a router's listeners before halyard.route", async () => {
    const path = "/xds/jwks.json";
    jwksServer.routes.set(path, jwksOf(k1));
    const config = mesh(jwksServer.url(path));
    const builder = createSnapshotBuilder();
    let pushes = 0;
    builder.watch!(() => pushes++);
    try {
      const listenersOf = async () => {
        const snapshot = (await builder.build(config, { id: "sidecar~10.0.0.11~httpbin-1.foo~foo.svc.cluster.local" })) as Snapshot;
        return new Map([...snapshot.types.get(LISTENER_TYPE)!.resources].map(([name, r]) => [name, r.message as Listener]));
      };
      const listeners = await listenersOf();
      const inbound = listeners.get("virtualInbound")!;
      const filters = chainFilters(inbound);
      expect(filters.map((f) => f.name)).toEqual(["halyard.jwt", "halyard.authz", "envoy.filters.http.router"]);
      expect(JSON.parse(filters[0]!.configuration!)).toEqual({ providers: [{ issuer: "https://x.example", jwks: jwksOf(k1) }] });
      expect(JSON.parse(filters[1]!.configuration!).policies.map((p: { name: string }) => p.name)).toEqual(["httpbin"]);
      // The outbound side is the caller's: no inbound policy there.
      const outbound = listeners.get("virtualOutbound")!;
      expect(chainFilters(outbound).map((f) => f.name)).not.toContain("halyard.authz");

      // Rotated keys: a refresh asks the server to push, and the next build serves them.
      jwksServer.routes.set(path, jwksOf(k1, k2));
      expect(await builder.jwks.refresh()).toBe(true);
      expect(pushes).toBe(1);
      expect(JSON.parse(chainFilters((await listenersOf()).get("virtualInbound")!)[0]!.configuration!).providers[0].jwks).toBe(jwksOf(k1, k2));
    } finally {
      builder.jwks.close();
    }

    const router = buildProxyResources(config, buildRegistry(config), { id: "router~10.0.0.50~ingress-1.istio-system~istio-system.svc.cluster.local", metadata: { LABELS: { istio: "ingressgateway" } } });
    const listener = [...router.listeners.values()][0]!;
    const names = chainFilters(listener).map((f) => f.name);
    expect(names).toEqual(["halyard.authz", "halyard.route", "envoy.filters.http.router"]);
    expect(JSON.parse(chainFilters(listener)[0]!.configuration!).policies.map((p: { name: string }) => p.name)).toEqual(["ingress"]);

    // A workload no policy selects keeps the plain inbound chain.
    const plain = configOf(ap("elsewhere", "bar", "  rules: [{}]") + `---\napiVersion: v1\nkind: Service\nmetadata: { name: web, namespace: foo }\nspec: { selector: { app: web }, ports: [{ name: http, port: 80 }] }\n---\napiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: { name: web-1, namespace: foo }\nspec: { address: 10.0.0.12, labels: { app: web } }\n`);
    const r = buildProxyResources(plain, buildRegistry(plain), { id: "sidecar~10.0.0.12~web-1.foo~foo.svc.cluster.local" });
    expect(chainFilters(r.listeners.get("virtualInbound")!).map((f) => f.name)).toEqual(["envoy.filters.http.router"]);
  });
});

describe("halyard serve", () => {
  it("serves the fetched keys to a sidecar and pushes rotated keys after a refresh", async () => {
    const [a, b] = await Promise.all([rsaKey("rotating-key-A"), rsaKey("rotating-key-B")]);
    const path = "/serve/jwks.json";
    jwksServer.routes.set(path, jwksOf(a));
    const dir = mkdtempSync(join(tmpdir(), "halyard-security-serve-"));
    writeFileSync(
      join(dir, "mesh.yaml"),
      `apiVersion: v1
kind: Service
metadata: { name: httpbin, namespace: foo }
spec: { selector: { app: httpbin }, ports: [{ name: http, port: 8000 }] }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: httpbin-1, namespace: foo }
spec: { address: 10.0.0.11, labels: { app: httpbin } }
` + ra("httpbin", "foo", `  jwtRules:\n  - { issuer: https://serve.example, jwksUri: "${jwksServer.url(path)}" }`),
    );
    const builder = createSnapshotBuilder();
    const plane = await serve({ paths: [dir], builder, host: "127.0.0.1", xdsPort: 0, httpPort: 0, pushDebounceMs: 20, log: () => {} });
    try {
      const listeners = async () => {
        const r = await fetch(`http://127.0.0.1:${plane.http.port}/v3/discovery:listeners`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ node: { id: "sidecar~10.0.0.11~httpbin-1.foo~foo.svc.cluster.local" } }),
        });
        expect(r.status).toBe(200);
        return r.text();
      };
      const first = await listeners();
      expect(first).toContain("halyard.jwt");
      expect(first).toContain("rotating-key-A");
      jwksServer.routes.set(path, jwksOf(b));
      expect(await builder.jwks.refresh()).toBe(true);
      // The refresh asked for a push (SnapshotBuilder.watch): the rebuilt snapshot carries the new keys.
      let latest = "";
      for (let i = 0; i < 100 && !latest.includes("rotating-key-B"); i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 20));
        latest = await listeners();
      }
      expect(latest).toContain("rotating-key-B");
      expect(latest).not.toContain("rotating-key-A");
    } finally {
      builder.jwks.close();
      await plane.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

