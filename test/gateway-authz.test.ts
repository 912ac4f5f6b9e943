// End to end: `node bin/halyard.js gateway -c <bootstrap>` with halyard.jwt then halyard.authz (from
// wasm/build/halyard.wasm) in front of a real node:http upstream on 127.0.0.1. halyard.authz decides on the
// request principal halyard.jwt verified, through the HCM's per-request filter state; tokens are minted with jose.
// Runs dist/ (build it with `node scripts/build.js ts`, as the other gateway tests expect).
import { join } from "node:path";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrap, listener, staticCluster, wasmFilter } from "./helpers/envoy-bootstrap.js";
import {
  freePort, httpRequest, requireBuiltCli, root, startGateway, startUpstream, tempDir, writeYaml, type GatewayProcess, type Upstream,
} from "./helpers/gateway-process.js";
import { build } from "./helpers/halyard-wasm.js";

const ISSUER = "https://issuer.gateway.test";
const WASM = join(root, "wasm/build/halyard.wasm");

let upstream: Upstream;
let gw: GatewayProcess;
let base: string;
let privateKey: CryptoKey;
let strangerKey: CryptoKey;

const mint = (sub: string, key: CryptoKey = privateKey) =>
  new SignJWT({ scope: "read" }).setProtectedHeader({ alg: "ES256", kid: "gw-1" }).setIssuer(ISSUER).setSubject(sub).setAudience("api").setIssuedAt().setExpirationTime("10m").sign(key);

beforeAll(async () => {
  requireBuiltCli();
  build("wasm");
  const pair = await generateKeyPair("ES256", { extractable: true });
  privateKey = pair.privateKey;
  strangerKey = (await generateKeyPair("ES256")).privateKey;
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: "gw-1", alg: "ES256" }] });
  upstream = await startUpstream("app");
  const port = await freePort();
  const jwt = { providers: [{ issuer: ISSUER, audiences: ["api"], jwks }] };
  const authz = {
    policies: [
      { name: "alice-api", namespace: "shop", action: "ALLOW", rules: [{ from: [{ source: { requestPrincipals: [`${ISSUER}/alice`] } }], to: [{ operation: { paths: ["/api/*"] } }] }] },
      { name: "health", namespace: "shop", action: "ALLOW", rules: [{ to: [{ operation: { paths: ["/healthz"] } }] }] },
    ],
  };
  const file = writeYaml(
    tempDir(),
    "bootstrap.yaml",
    bootstrap(
      [
        listener({
          name: "edge",
          port,
          httpFilters: [
            wasmFilter({ name: "halyard.jwt", rootId: "halyard.jwt", filename: WASM, configuration: JSON.stringify(jwt) }),
            wasmFilter({ name: "halyard.authz", rootId: "halyard.authz", filename: WASM, configuration: JSON.stringify(authz) }),
          ],
          virtualHosts: [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "app" } }] }],
        }),
      ],
      [staticCluster("app", [upstream.port])],
    ),
  );
  gw = await startGateway(file, 1);
  base = gw.urls.edge!;
}, 320_000);

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

describe("halyard gateway with halyard.jwt + halyard.authz", () => {
  it("403 RBAC: access denied without a token; 200 and no token upstream with alice's; 403 for bob's", async () => {
    const anonymous = await httpRequest(`${base}/api/items`);
    expect(anonymous.status).toBe(403);
    expect(anonymous.body).toBe("RBAC: access denied");

    const seen = upstream.seen.length;
    const ok = await httpRequest(`${base}/api/items`, { headers: { authorization: `Bearer ${await mint("alice")}` } });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ upstream: "app", url: "/api/items" });
    expect(upstream.seen.length).toBe(seen + 1);
    expect(upstream.seen.at(-1)!.headers.authorization).toBeUndefined();

    const bob = await httpRequest(`${base}/api/items`, { headers: { authorization: `Bearer ${await mint("bob")}` } });
    expect(bob.status).toBe(403);
    expect(bob.body).toBe("RBAC: access denied");
    expect(upstream.seen.length).toBe(seen + 1);
  });

  it("401 with Envoy's challenge for a token that does not verify, even where no policy needs one", async () => {
    for (const path of ["/api/items", "/healthz"]) {
      const r = await httpRequest(`${base}${path}`, { headers: { authorization: `Bearer ${await mint("alice", strangerKey)}` } });
      expect(r.status).toBe(401);
      expect(r.body).toBe("Jwt verification fails");
      expect(r.headers["www-authenticate"]).toBe(`Bearer realm="http://${new URL(base).host}${path}", error="invalid_token"`);
    }
    expect((await httpRequest(`${base}/healthz`)).status).toBe(200);
  });

  it("identities never leak between requests on the same gateway", async () => {
    const alice = await mint("alice");
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => httpRequest(`${base}/api/x`, i % 2 === 0 ? { headers: { authorization: `Bearer ${alice}` } } : {})),
    );
    expect(results.map((r) => r.status)).toEqual(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 200 : 403)));
  });
});
