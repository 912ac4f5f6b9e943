// halyard.authz running in the project's proxy-wasm host (wasm/host): the real halyard.wasm, the
// real ABI, StreamInfo supplying the peer identity and addresses as Envoy attributes.
import { beforeAll, describe, expect, it } from "vitest";
import { type FilterOutcome, type HeaderMap, type HttpStream, type LogLevel, type StreamInfo, WasmPlugin } from "../wasm/host/index.js";
import { halyardModule } from "./helpers/halyard-wasm.js";

let module: WebAssembly.Module;

beforeAll(() => {
  module = halyardModule();
}, 300_000);

function load(config: unknown) {
  const logs: Array<[LogLevel, string]> = [];
  const configuration = typeof config === "string" ? config : JSON.stringify(config);
  const plugin = WasmPlugin.load(module, { name: "authz", rootId: "halyard.authz", configuration }, { log: (l, m) => logs.push([l, m]), logLevel: "debug" });
  return { plugin, logs };
}

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

function props(stream: HttpStream): Record<string, string> {
  const stored = (stream as unknown as { setProperties: Map<string, Uint8Array> }).setProperties;
  return Object.fromEntries([...stored.entries()].filter(([k]) => k.startsWith("halyard.authz.")).map(([k, v]) => [k, decode(v)]));
}

const PEER = "spiffe://cluster.local/ns/foo/sa/sleep";
const MTLS: StreamInfo = {
  source: { address: "10.0.0.5", port: 40000 },
  destination: { address: "10.0.1.9", port: 8080 },
  connection: { mtls: true, uriSanPeerCertificate: PEER, requestedServerName: "outbound_.8080_._.httpbin.foo.svc.cluster.local" },
};
const PLAIN: StreamInfo = { source: { address: "192.168.7.7", port: 50000 }, destination: { address: "10.0.1.9", port: 8080 } };

function request(path = "/", extra: HeaderMap = [], method = "GET", authority = "httpbin.foo"): HeaderMap {
  return [[":method", method], [":path", path], [":authority", authority], [":scheme", "http"], ...extra];
}

async function run(plugin: WasmPlugin, info: StreamInfo, headers: HeaderMap) {
  const stream = plugin.createStream(info);
  const outcome = await stream.onRequestHeaders(headers, true);
  return { stream, outcome, props: props(stream) };
}

function expectDenied(outcome: FilterOutcome, details: string) {
  expect(outcome.kind).toBe("local_response");
  if (outcome.kind !== "local_response") return;
  expect(outcome.status).toBe(403);
  expect(decode(outcome.body)).toBe("RBAC: access denied");
  expect(outcome.details).toBe(details);
  expect(outcome.grpcStatus).toBe(7);
}

const policy = (name: string, action: string, rules: unknown, extra: object = {}) => ({ name, namespace: "foo", action, rules, ...extra });

describe("halyard.authz", () => {
  it("allows what an ALLOW policy matches and answers everything else with Envoy's RBAC 403", async () => {
    const { plugin } = load({
      policies: [policy("allow-sleep", "ALLOW", [{
        from: [{ source: { principals: ["cluster.local/ns/foo/sa/sleep"] } }],
        to: [{ operation: { methods: ["GET"], paths: ["/api/*"] } }],
      }])],
    });
    const p = await plugin;
    const ok = await run(p, MTLS, request("/api/items?page=2"));
    expect(ok.outcome).toEqual({ kind: "continue" });
    expect(ok.props).toEqual({ "halyard.authz.result": "allowed", "halyard.authz.policy": "foo/allow-sleep#0" });
    ok.stream.done();

    const noPeer = await run(p, PLAIN, request("/api/items"));
    expectDenied(noPeer.outcome, "rbac_access_denied_matched_policy[none]");
    expect(noPeer.props).toEqual({ "halyard.authz.result": "denied" });
    noPeer.stream.done();

    const wrongMethod = await run(p, MTLS, request("/api/items", [], "DELETE"));
    expectDenied(wrongMethod.outcome, "rbac_access_denied_matched_policy[none]");
    wrongMethod.stream.done();
    await p.close();
  });

  it("DENY runs before ALLOW and names the matching policy in the response details", async () => {
    const p = await load({
      policies: [
        policy("deny-external", "DENY", [{ from: [{ source: { notIpBlocks: ["10.0.0.0/8"] } }], to: [{ operation: { paths: ["/admin*"] } }] }]),
        policy("allow-all", "ALLOW", [{}]),
      ],
    }).plugin;
    const denied = await run(p, PLAIN, request("/admin/users"));
    expectDenied(denied.outcome, "rbac_access_denied_matched_policy[ns[foo]-policy[deny-external]-rule[0]]");
    expect(denied.props["halyard.authz.policy"]).toBe("foo/deny-external#0");
    denied.stream.done();
    const inside = await run(p, MTLS, request("/admin/users"));
    expect(inside.outcome).toEqual({ kind: "continue" });
    expect(inside.props["halyard.authz.policy"]).toBe("foo/allow-all#0");
    inside.stream.done();
    await p.close();
  });

  it("reads the peer identity from the URI SAN or source.principal, and namespaces from it", async () => {
    const p = await load({ policies: [policy("ns-foo", "ALLOW", [{ from: [{ source: { namespaces: ["foo"] } }] }])] }).plugin;
    const viaSan = await run(p, MTLS, request());
    expect(viaSan.outcome.kind).toBe("continue");
    const viaSource = await run(p, { source: { address: "10.0.0.5", port: 1, principal: PEER } }, request());
    expect(viaSource.outcome.kind).toBe("continue");
    const other = await run(p, { source: { address: "10.0.0.5", port: 1, principal: "spiffe://cluster.local/ns/bar/sa/x" } }, request());
    expect(other.outcome.kind).toBe("local_response");
    // A header can never stand in for the certificate.
    const forged = await run(p, PLAIN, request("/", [["x-forwarded-client-cert", `URI=${PEER}`]]));
    expect(forged.outcome.kind).toBe("local_response");
    for (const r of [viaSan, viaSource, other, forged]) r.stream.done();
    await p.close();
  });

  it("matches addresses, the destination port and SNI from the stream's attributes", async () => {
    const p = await load({
      policies: [policy("net", "ALLOW", [{
        from: [{ source: { ipBlocks: ["10.0.0.0/24", "2001:db8::/32"] } }],
        to: [{ operation: { ports: ["8080"] } }],
        when: [{ key: "connection.sni", values: ["*.svc.cluster.local"] }, { key: "destination.ip", values: ["10.0.1.0/24"] }],
      }])],
    }).plugin;
    const cases: Array<[StreamInfo, string]> = [
      [MTLS, "continue"],
      [{ ...MTLS, source: { address: "10.0.3.5", port: 1 } }, "local_response"],
      [{ ...MTLS, source: { address: "2001:db8::7", port: 1 } }, "continue"],
      [{ ...MTLS, source: { address: "::ffff:10.0.0.9", port: 1 } }, "continue"],
      [{ ...MTLS, destination: { address: "10.0.1.9", port: 9090 } }, "local_response"],
      [{ ...MTLS, connection: { mtls: true, uriSanPeerCertificate: PEER } }, "local_response"],
    ];
    for (const [info, kind] of cases) {
      const r = await run(p, info, request());
      expect(r.outcome.kind, JSON.stringify(info)).toBe(kind);
      r.stream.done();
    }
    await p.close();
  });

  it("takes request principals and claims from the payload halyard.jwt publishes, never from headers", async () => {
    const p = await load({
      policies: [policy("jwt", "ALLOW", [{
        from: [{ source: { requestPrincipals: ["https://issuer.example.com/*"] } }],
        when: [{ key: "request.auth.claims[groups]", values: ["admins"] }, { key: "request.auth.claims[realm][tier]", values: ["gold"] }],
      }])],
    }).plugin;
    const payload = { iss: "https://issuer.example.com", sub: "alice", groups: ["dev", "admins"], realm: { tier: "gold" } };
    const withToken = await run(p, { ...PLAIN, properties: { "halyard.jwt.payload": JSON.stringify(payload) } }, request());
    expect(withToken.outcome.kind).toBe("continue");
    const wrongGroup = await run(p, { ...PLAIN, properties: { "halyard.jwt.payload": JSON.stringify({ ...payload, groups: ["dev"] }) } }, request());
    expect(wrongGroup.outcome.kind).toBe("local_response");
    const headerOnly = await run(p, PLAIN, request("/", [["x-jwt-payload", JSON.stringify(payload)], ["authorization", "Bearer x"]]));
    expect(headerOnly.outcome.kind).toBe("local_response");
    for (const r of [withToken, wrongGroup, headerOnly]) r.stream.done();
    await p.close();
  });

  it("normalizes :path as Envoy's HCM does: the policy and the upstream see the same path", async () => {
    const p = await load({
      policies: [
        policy("deny-admin", "DENY", [{ to: [{ operation: { paths: ["/admin", "/admin/*"] } }] }]),
        policy("allow-all", "ALLOW", [{}]),
      ],
    }).plugin;
    for (const path of ["//admin", "/public/../admin/x", "/%61dmin", "/public\\..\\admin"]) {
      const r = await run(p, MTLS, request(path));
      expectDenied(r.outcome, "rbac_access_denied_matched_policy[ns[foo]-policy[deny-admin]-rule[0]]");
      r.stream.done();
    }
    const headers = request("/public//./docs/../index.html?q=a//b#frag");
    const r = await run(p, MTLS, headers);
    expect(r.outcome.kind).toBe("continue");
    expect(headers.find(([k]) => k === ":path")).toEqual([":path", "/public/index.html?q=a//b"]);
    r.stream.done();
    const untouched = request("/public/index.html?x=1");
    await run(p, MTLS, untouched);
    expect(untouched[1]).toEqual([":path", "/public/index.html?x=1"]);
    const bad = await run(p, MTLS, request("/public%00/x"));
    expect(bad.outcome).toMatchObject({ kind: "local_response", status: 400, details: "path_normalization_failed" });
    bad.stream.done();
    await p.close();
  });

  it("joins repeated headers with ',' and compares hosts case-insensitively", async () => {
    const p = await load({
      policies: [policy("hdr", "ALLOW", [{
        to: [{ operation: { hosts: ["httpbin.foo", "httpbin.foo:*"] } }],
        when: [{ key: "request.headers[X-Env]", values: ["prod"] }],
      }])],
    }).plugin;
    const one = await run(p, MTLS, request("/", [["x-env", "prod"]], "GET", "HTTPBIN.Foo:8000"));
    expect(one.outcome.kind).toBe("continue");
    const two = await run(p, MTLS, request("/", [["x-env", "prod"], ["x-env", "dev"]]));
    expect(two.outcome.kind).toBe("local_response");
    const otherHost = await run(p, MTLS, request("/", [["x-env", "prod"]], "GET", "evil.foo"));
    expect(otherHost.outcome.kind).toBe("local_response");
    for (const r of [one, two, otherHost]) r.stream.done();
    await p.close();
  });

  it("denies a matching CUSTOM rule (no ext_authz in Halyard) and logs the missing provider", async () => {
    const { plugin, logs } = load({
      policies: [policy("ext", "CUSTOM", [{ to: [{ operation: { paths: ["/ext/*"] } }] }], { provider: { name: "opa-authz" } })],
    });
    const p = await plugin;
    const r = await run(p, MTLS, request("/ext/x"));
    expectDenied(r.outcome, "rbac_access_denied_matched_policy[ns[foo]-policy[ext]-rule[0]]");
    expect(logs).toContainEqual([
      "warn",
      'halyard.authz: CUSTOM policy foo/ext#0 matched but its provider "opa-authz" is not available (Halyard has no ext_authz); denying',
    ]);
    const other = await run(p, MTLS, request("/other"));
    expect(other.outcome.kind).toBe("continue");
    r.stream.done();
    other.stream.done();
    await p.close();
  });

  it("reports dry-run and audit results without enforcing them", async () => {
    const p = await load({
      policies: [
        policy("shadow-deny", "DENY", [{ to: [{ operation: { paths: ["/admin"] } }] }], { dry_run: true }),
        policy("shadow-allow", "ALLOW", [{ to: [{ operation: { methods: ["GET"] } }] }], { dry_run: true }),
        policy("audit-admin", "AUDIT", [{ to: [{ operation: { paths: ["/admin"] } }] }]),
      ],
    }).plugin;
    const r = await run(p, MTLS, request("/admin", [], "POST"));
    expect(r.outcome.kind).toBe("continue");
    expect(r.props).toEqual({
      "halyard.authz.result": "allowed",
      "halyard.authz.audit": "foo/audit-admin#0",
      "halyard.authz.shadow_deny": "denied foo/shadow-deny#0",
      "halyard.authz.shadow_allow": "denied none",
    });
    r.stream.done();
    await p.close();
  });

  it("adds the decision as a response header only when debug_header is configured", async () => {
    const p = await load({ debug_header: "X-Halyard-Authz", policies: [policy("get-only", "ALLOW", [{ to: [{ operation: { methods: ["GET"] } }] }])] }).plugin;
    const ok = await run(p, MTLS, request());
    const resp: HeaderMap = [[":status", "200"]];
    await ok.stream.onResponseHeaders(resp, true);
    expect(resp).toEqual([[":status", "200"], ["x-halyard-authz", "allowed foo/get-only#0"]]);
    ok.stream.done();
    const denied = await run(p, MTLS, request("/", [], "PUT"));
    expect(denied.outcome).toMatchObject({ kind: "local_response", headers: [["x-halyard-authz", "denied none"]] });
    denied.stream.done();
    await p.close();
    const quiet = await load({ policies: [policy("get-only", "ALLOW", [{ to: [{ operation: { methods: ["GET"] } }] }])] }).plugin;
    const q = await run(quiet, MTLS, request());
    const qResp: HeaderMap = [[":status", "200"]];
    await q.stream.onResponseHeaders(qResp, true);
    expect(qResp).toEqual([[":status", "200"]]);
    q.stream.done();
    await quiet.close();
  });

  it("refuses bad configurations with one line naming the field, and logs dropped rules", async () => {
    const cases: Array<[unknown, string]> = [
      ["{", "halyard.authz: invalid configuration: configuration is not valid JSON: unterminated object, expected a member name at byte 1"],
      [{ policies: [policy("a", "ALLOW", [{ from: [{ source: { ipBlocks: ["10.0.0.0/40"] } }] }])] }, 'halyard.authz: invalid configuration: policies[0](foo/a).rules[0].from[0].source.ipBlocks[0]: bad CIDR range "10.0.0.0/40"'],
      [{ policies: [policy("a", "ALLOW", [{ when: [{ key: "request.size", values: ["1"] }] }])] }, "halyard.authz: invalid configuration: policies[0](foo/a).rules[0].when[0].key: unknown attribute: request.size"],
      [{ path_normalization: "DEFAULT" }, 'halyard.authz: invalid configuration: path_normalization: expected NONE, BASE, MERGE_SLASHES or DECODE_AND_MERGE_SLASHES, got "DEFAULT"'],
    ];
    for (const [config, message] of cases) {
      const { plugin, logs } = load(config);
      await expect(plugin, JSON.stringify(config)).rejects.toThrow(message);
      expect(logs).toContainEqual(["error", message]);
      expect(message).not.toContain("\n");
    }
    const { plugin, logs } = load({
      policies: [policy("a", "ALLOW", [{ when: [{ key: "experimental.envoy.filters.http.x[y]", values: ["z"] }] }])],
    });
    const p = await plugin;
    expect(logs).toContainEqual([
      "warn",
      "halyard.authz: policies[0](foo/a).rules[0].when[0]: Envoy filter metadata (experimental.envoy.filters.http.x[y]) is not available in Halyard; ALLOW rule dropped (fails closed)",
    ]);
    const r = await run(p, MTLS, request());
    expect(r.outcome.kind).toBe("local_response");
    r.stream.done();
    await p.close();
  });

  it("allows everything with an empty configuration", async () => {
    for (const configuration of ["", "{}"]) {
      const p = await load(configuration).plugin;
      const r = await run(p, PLAIN, request("/anything"));
      expect(r.outcome).toEqual({ kind: "continue" });
      r.stream.done();
      await p.close();
    }
  });

  it("keeps no state between requests on one VM", async () => {
    const p = await load({
      policies: [policy("mtls-get", "ALLOW", [{ from: [{ source: { principals: ["*"] } }], when: [{ key: "request.headers[x-ok]", values: ["1"] }] }])],
    }).plugin;
    for (let i = 0; i < 600; i++) {
      const good = i % 3 === 0;
      const info = i % 2 ? MTLS : PLAIN;
      const r = await run(p, info, request(`/n/${i}`, good ? [["x-ok", "1"]] : []));
      expect(r.outcome.kind, `request ${i}`).toBe(good && info === MTLS ? "continue" : "local_response");
      r.stream.done();
    }
    await p.close();
  });
});
