// Per-request filter state in the proxy-wasm host (StreamInfo.filterState): what one plugin's stream stores with
// proxy_set_property is read by a later plugin's stream of the same request, as Envoy's filter state is. Shown
// with the real filters: halyard.jwt verifies a jose-minted token, halyard.authz decides on its request principal.
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { type HeaderMap, type StreamInfo, WasmPlugin } from "../wasm/host/index.js";
import { halyardModule } from "./helpers/halyard-wasm.js";

const ISSUER = "https://issuer.filter-state.test";
let module: WebAssembly.Module;
let jwks: string;
let privateKey: CryptoKey;

beforeAll(async () => {
  module = halyardModule();
  const pair = await generateKeyPair("ES256", { extractable: true });
  privateKey = pair.privateKey;
  jwks = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256" }] });
}, 300_000);

const mint = (sub: string) =>
  new SignJWT({}).setProtectedHeader({ alg: "ES256", kid: "k1" }).setIssuer(ISSUER).setSubject(sub).setIssuedAt().setExpirationTime("10m").sign(privateKey);

async function chain() {
  const jwt = await WasmPlugin.load(module, { name: "jwt", rootId: "halyard.jwt", configuration: JSON.stringify({ providers: [{ issuer: ISSUER, jwks }] }) });
  const authz = await WasmPlugin.load(module, {
    name: "authz",
    rootId: "halyard.authz",
    configuration: JSON.stringify({
      policies: [{ name: "alice-only", namespace: "foo", action: "ALLOW", rules: [{ from: [{ source: { requestPrincipals: [`${ISSUER}/alice`] } }] }] }],
    }),
  });
  return { jwt, authz };
}

async function send(plugins: WasmPlugin[], token: string | undefined, shared: boolean) {
  const info: StreamInfo = { source: { address: "10.0.0.9", port: 5000 }, ...(shared ? { filterState: new Map() } : {}) };
  const headers: HeaderMap = [[":method", "GET"], [":path", "/"], [":authority", "svc"], [":scheme", "http"], ...(token ? [["authorization", `Bearer ${token}`] as [string, string]] : [])];
  const streams = plugins.map((p) => p.createStream(info));
  try {
    for (const s of streams) {
      const o = await s.onRequestHeaders(headers, true);
      if (o.kind === "local_response") return { status: o.status, body: new TextDecoder().decode(o.body), state: info.filterState };
    }
    return { status: 200, body: "", state: info.filterState };
  } finally {
    for (const s of streams) s.done();
  }
}

describe("StreamInfo.filterState", () => {
  it("lets halyard.authz see the request principal halyard.jwt verified, within one request only", async () => {
    const { jwt, authz } = await chain();
    const ok = await send([jwt, authz], await mint("alice"), true);
    expect(ok.status).toBe(200);
    expect(new TextDecoder().decode(ok.state!.get("halyard.jwt.principal"))).toBe(`${ISSUER}/alice`);
    expect(new TextDecoder().decode(ok.state!.get("halyard.authz.policy"))).toBe("foo/alice-only#0");

    expect(await send([jwt, authz], await mint("bob"), true)).toMatchObject({ status: 403, body: "RBAC: access denied" });
    expect(await send([jwt, authz], undefined, true)).toMatchObject({ status: 403 });
    // A state is per request: the next request without a token does not inherit alice.
    expect((await send([jwt, authz], await mint("alice"), true)).status).toBe(200);
    expect((await send([jwt, authz], undefined, true)).status).toBe(403);
    await Promise.all([jwt.close(), authz.close()]);
  });

  it("without a shared state each stream keeps its own properties (authz cannot see the token)", async () => {
    const { jwt, authz } = await chain();
    expect(await send([jwt, authz], await mint("alice"), false)).toMatchObject({ status: 403, body: "RBAC: access denied" });
    await Promise.all([jwt.close(), authz.close()]);
  });
});
