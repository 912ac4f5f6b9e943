// engine/authz: Istio AuthorizationPolicy semantics, decided inside real wasm compiled from the engine.
import { beforeAll, describe, expect, it } from "vitest";
import { type ASInstance, loadAS } from "./helpers/as.js";

let as: ASInstance;
const pinned: number[] = [];
const utf8 = (s: string) => {
  const ptr = as.exports.__pin(as.newArrayBuffer(new TextEncoder().encode(s)));
  pinned.push(ptr);
  return ptr;
};
const release = () => {
  while (pinned.length) as.exports.__unpin(pinned.pop());
};

beforeAll(async () => {
  as = await loadAS("test/fixtures/as/authz.ts");
  as.exports._initialize?.();
}, 120_000);

/** Loads a configuration; returns "" or the decoder's error. */
function load(config: unknown): string {
  const text = typeof config === "string" ? config : JSON.stringify(config);
  const out = as.getString(as.exports.loadConfig(utf8(text)));
  release();
  return out;
}

function loadOk(config: unknown): void {
  const err = load(config);
  expect(err, JSON.stringify(config)).toBe("");
}

function warnings(): string[] {
  const w = as.getString(as.exports.configWarnings());
  return w ? w.split("\n") : [];
}

interface Req {
  method?: string;
  authority?: string;
  path?: string;
  source?: string;
  remote?: string;
  destination?: string;
  port?: number;
  principal?: string;
  sni?: string;
  jwt?: unknown;
  headers?: [string, string][];
}

interface Decision {
  allowed: boolean;
  reason: string;
  policy: string;
  policy_id: string;
  details: string;
  audit: string;
  shadow_custom: { allowed: boolean; policy: string; policy_id: string } | null;
  shadow_deny: { allowed: boolean; policy: string; policy_id: string } | null;
  shadow_allow: { allowed: boolean; policy: string; policy_id: string } | null;
  path: string;
}

const BASE_REQ: Req = {
  method: "GET",
  authority: "httpbin.foo",
  path: "/",
  source: "10.0.0.5:40000",
  destination: "10.0.1.9:8080",
  port: 8080,
};

function authz(req: Req = {}): Decision {
  const out = as.getString(as.exports.authorizeJson(utf8(JSON.stringify({ ...BASE_REQ, ...req }))));
  release();
  return JSON.parse(out);
}

const allowed = (req: Req = {}) => authz(req).allowed;

type Action = "ALLOW" | "DENY" | "AUDIT" | "CUSTOM";

function policy(name: string, action: Action, rules: unknown, extra: Record<string, unknown> = {}) {
  const p: Record<string, unknown> = { name, namespace: "foo", action, ...extra };
  if (rules !== undefined) p.rules = rules;
  if (action === "CUSTOM" && !("provider" in extra)) p.provider = { name: "ext-authz" };
  return p;
}

/** One policy with one rule. */
function one(action: Action, rule: unknown, options: Record<string, unknown> = {}) {
  loadOk({ ...options, policies: [policy("p", action, [rule])] });
}

const PEER = "spiffe://cluster.local/ns/foo/sa/sleep";

describe("configuration errors are one line naming the field", () => {
  const cases: Array<[unknown, string]> = [
    ["{", "configuration is not valid JSON: unterminated object, expected a member name at byte 1"],
    ["[]", "configuration: expected an object, got array"],
    [{ polices: [] }, "polices: unknown field (expected one of: policies, path_normalization, trust_domain, trust_domain_aliases, debug_header)"],
    [{ path_normalization: "MERGE" }, 'path_normalization: expected NONE, BASE, MERGE_SLASHES or DECODE_AND_MERGE_SLASHES, got "MERGE"'],
    [{ trust_domain: "" }, "trust_domain: must not be empty"],
    [{ policies: {} }, "policies: expected an array, got object"],
    [{ policies: [{ namespace: "foo" }] }, "policies[0].name: required field is missing"],
    [{ policies: [{ name: "a", namespace: "" }] }, "policies[0].namespace: must not be empty"],
    [{ policies: [{ name: "a", namespace: "foo", action: "REJECT", rules: [] }] }, 'policies[0](foo/a).action: expected ALLOW, DENY, AUDIT or CUSTOM, got "REJECT"'],
    [{ policies: [{ name: "a", namespace: "foo", actions: "DENY" }] }, "policies[0].actions: unknown field (expected one of: name, namespace, action, provider, dry_run, rules)"],
    [{ policies: [policy("a", "ALLOW", [{}], { provider: { name: "x" } })] }, "policies[0](foo/a).provider: `provider` must not be with non CUSTOM action, found ALLOW"],
    [{ policies: [{ name: "a", namespace: "foo", action: "CUSTOM", rules: [{}] }] }, "policies[0](foo/a).provider: CUSTOM action requires a provider"],
    [{ policies: [policy("a", "DENY", undefined)] }, "policies[0](foo/a).rules: DENY action without `rules` is meaningless as it will never be triggered, add an empty rule `{}` if you want it be triggered for every request"],
    [{ policies: [policy("a", "ALLOW", [{}], { dry_run: "yes" })] }, 'policies[0](foo/a).dry_run: expected true or false, got "yes"'],
    [{ policies: [policy("a", "ALLOW", [{}]), policy("a", "DENY", [{}])] }, "policies[1](foo/a): policy foo/a is listed twice"],
    [{ policies: [policy("a", "ALLOW", [null])] }, "policies[0](foo/a).rules[0]: `rule` must not be null"],
    [{ policies: [policy("a", "ALLOW", [{ form: [] }])] }, "policies[0](foo/a).rules[0].form: unknown field (expected one of: from, to, when)"],
    [{ policies: [policy("a", "ALLOW", [{ from: [] }])] }, "policies[0](foo/a).rules[0].from: `from` must not be empty"],
    [{ policies: [policy("a", "ALLOW", [{ from: [{}] }])] }, "policies[0](foo/a).rules[0].from[0].source: `from.source` must not be null"],
    [{ policies: [policy("a", "ALLOW", [{ from: [{ source: {} }] }])] }, "policies[0](foo/a).rules[0].from[0].source: `from.source` must not be empty"],
    [{ policies: [policy("a", "ALLOW", [{ from: [{ source: { principal: ["x"] } }] }])] }, "policies[0](foo/a).rules[0].from[0].source.principal: unknown field (expected one of: principals, notPrincipals, requestPrincipals, notRequestPrincipals, namespaces, notNamespaces, ipBlocks, notIpBlocks, remoteIpBlocks, notRemoteIpBlocks, serviceAccounts, notServiceAccounts)"],
    [{ policies: [policy("a", "ALLOW", [{ from: [{ source: { principals: "x" } }] }])] }, "policies[0](foo/a).rules[0].from[0].source.principals: expected an array, got \"x\""],
    [{ policies: [policy("a", "ALLOW", [{ from: [{ source: { principals: [""] } }] }])] }, "policies[0](foo/a).rules[0].from[0].source.principals[0]: empty value not allowed"],
    [{ policies: [policy("a", "ALLOW", [{ from: [{ source: { namespaces: [7] } }] }])] }, "policies[0](foo/a).rules[0].from[0].source.namespaces[0]: expected a string, got 7"],
    [{ policies: [policy("a", "ALLOW", [{ from: [{ source: { ipBlocks: ["10.0.0.0/33"] } }] }])] }, 'policies[0](foo/a).rules[0].from[0].source.ipBlocks[0]: bad CIDR range "10.0.0.0/33"'],
    [{ policies: [policy("a", "ALLOW", [{ from: [{ source: { notRemoteIpBlocks: ["10.0.0.256"] } }] }])] }, 'policies[0](foo/a).rules[0].from[0].source.notRemoteIpBlocks[0]: bad IP address "10.0.0.256"'],
    [{ policies: [policy("a", "ALLOW", [{ from: [{ source: { serviceAccounts: ["sa"], principals: ["p"] } }] }])] }, "policies[0](foo/a).rules[0].from[0].source: cannot set serviceAccounts with namespaces or principals"],
    [{ policies: [policy("a", "ALLOW", [{ to: [{}] }])] }, "policies[0](foo/a).rules[0].to[0].operation: `to.operation` must not be null"],
    [{ policies: [policy("a", "ALLOW", [{ to: [{ operation: {} }] }])] }, "policies[0](foo/a).rules[0].to[0].operation: `to.operation` must not be empty"],
    [{ policies: [policy("a", "ALLOW", [{ to: [{ operation: { ports: ["http"] } }] }])] }, 'policies[0](foo/a).rules[0].to[0].operation.ports[0]: bad port "http" (expected an integer 0-65535)'],
    [{ policies: [policy("a", "ALLOW", [{ to: [{ operation: { notPorts: ["65536"] } }] }])] }, 'policies[0](foo/a).rules[0].to[0].operation.notPorts[0]: bad port "65536" (expected an integer 0-65535)'],
    [{ policies: [policy("a", "ALLOW", [{ to: [{ operation: { paths: ["/a/{**}/{*}"] } }] }])] }, 'policies[0](foo/a).rules[0].to[0].operation.paths[0]: invalid path template "/a/{**}/{*}": {**} must be the last operator'],
    [{ policies: [policy("a", "ALLOW", [{ to: [{ operation: { paths: ["/a/x{*}"] } }] }])] }, 'policies[0](foo/a).rules[0].to[0].operation.paths[0]: invalid path template "/a/x{*}": \'{\' or \'}\' outside a {*} or {**} segment'],
    [{ policies: [policy("a", "ALLOW", [{ to: [{ operation: { paths: ["/a/{id}"] } }] }])] }, 'policies[0](foo/a).rules[0].to[0].operation.paths[0]: invalid path "/a/{id}": \'{\' or \'}\' outside a {*} or {**} segment'],
    [{ policies: [policy("a", "ALLOW", [{ to: [{ operation: { notPaths: ["/a//{*}"] } }] }])] }, 'policies[0](foo/a).rules[0].to[0].operation.notPaths[0]: invalid path template "/a//{*}": empty segment ("//")'],
    [{ policies: [policy("a", "ALLOW", [{ to: [{ operation: { paths: ["/a/b*/{*}"] } }] }])] }, 'policies[0](foo/a).rules[0].to[0].operation.paths[0]: invalid path template "/a/b*/{*}": segment "b*" has a character outside RFC 3986 pchar'],
    [{ policies: [policy("a", "ALLOW", [{ when: [{ key: "source.ip" }] }])] }, "policies[0](foo/a).rules[0].when[0]: at least one of `values` or `notValues` must be set for key source.ip"],
    [{ policies: [policy("a", "ALLOW", [{ when: [{ values: ["x"] }] }])] }, "policies[0](foo/a).rules[0].when[0].key: required field is missing"],
    [{ policies: [policy("a", "ALLOW", [{ when: [{ key: "request.method", values: ["GET"] }] }])] }, "policies[0](foo/a).rules[0].when[0].key: unknown attribute: request.method"],
    [{ policies: [policy("a", "ALLOW", [{ when: [{ key: "request.headers", values: ["x"] }] }])] }, "policies[0](foo/a).rules[0].when[0].key: bad key (request.headers): should have format request.headers[<name>]"],
    [{ policies: [policy("a", "ALLOW", [{ when: [{ key: "request.auth.claims[]", values: ["x"] }] }])] }, "policies[0](foo/a).rules[0].when[0].key: bad key (request.auth.claims[]): should have format request.auth.claims[<name>] or request.auth.claims[<a>][<b>]"],
    [{ policies: [policy("a", "ALLOW", [{ when: [{ key: "destination.labels[app]", values: ["x"] }] }])] }, "policies[0](foo/a).rules[0].when[0].key: attribute destination.labels[app] is replaced by the workload selector"],
    [{ policies: [policy("a", "ALLOW", [{ when: [{ key: "destination.port", values: ["-1"] }] }])] }, 'policies[0](foo/a).rules[0].when[0].values[0]: bad port "-1" (expected an integer 0-65535)'],
    [{ policies: [policy("a", "ALLOW", [{ when: [{ key: "remote.ip", notValues: ["::g"] }] }])] }, 'policies[0](foo/a).rules[0].when[0].notValues[0]: bad IP address "::g"'],
    [{ policies: [policy("a", "ALLOW", [{ when: [null] }])] }, "policies[0](foo/a).rules[0].when[0]: when field cannot be null"],
    [{ policies: [policy("a", "CUSTOM", [{}], { provider: {} })] }, "policies[0](foo/a).provider.name: required field is missing"],
  ];
  it.each(cases)("%j", (config, message) => {
    expect(load(config)).toBe(message);
    expect(message).not.toContain("\n");
  });

  it("accepts an empty configuration and {} as 'no policies'", () => {
    for (const c of ["", "{}", { policies: [] }, { policies: null }]) {
      loadOk(c);
      expect(authz()).toMatchObject({ allowed: true, reason: "no_policies", policy: "" });
    }
  });
});

describe("action order", () => {
  it("allows everything without policies", () => {
    loadOk({ policies: [] });
    expect(authz({ path: "/admin", method: "DELETE" })).toMatchObject({ allowed: true, reason: "no_policies" });
  });

  it("an ALLOW policy without rules (spec: {}) denies everything (allow-nothing)", () => {
    for (const rules of [undefined, null, []]) {
      loadOk({ policies: [policy("allow-nothing", "ALLOW", rules)] });
      expect(authz()).toMatchObject({
        allowed: false, reason: "allow_not_matched", policy: "", policy_id: "none", details: "rbac_access_denied_matched_policy[none]",
      });
    }
  });

  it("rules: [{}] matches everything", () => {
    loadOk({ policies: [policy("allow-all", "ALLOW", [{}])] });
    expect(authz({ method: "PATCH", path: "/anything", principal: PEER })).toMatchObject({
      allowed: true, reason: "allow_matched", policy: "foo/allow-all#0", policy_id: "ns[foo]-policy[allow-all]-rule[0]",
    });
    loadOk({ policies: [policy("deny-all", "DENY", [{}])] });
    expect(authz()).toMatchObject({ allowed: false, reason: "deny_matched", details: "rbac_access_denied_matched_policy[ns[foo]-policy[deny-all]-rule[0]]" });
  });

  it("DENY wins over ALLOW; with ALLOW policies only a match allows", () => {
    loadOk({
      policies: [
        policy("allow-get", "ALLOW", [{ to: [{ operation: { methods: ["GET"] } }] }]),
        policy("deny-admin", "DENY", [{ to: [{ operation: { paths: ["/admin*"] } }] }]),
      ],
    });
    expect(authz({ path: "/admin/x" })).toMatchObject({ allowed: false, reason: "deny_matched", policy: "foo/deny-admin#0" });
    expect(authz({ path: "/x" })).toMatchObject({ allowed: true, reason: "allow_matched", policy: "foo/allow-get#0" });
    expect(authz({ path: "/x", method: "POST" })).toMatchObject({ allowed: false, reason: "allow_not_matched", policy: "" });
  });

  it("only DENY policies: anything not denied is allowed", () => {
    loadOk({ policies: [policy("deny-admin", "DENY", [{ to: [{ operation: { paths: ["/admin"] } }] }])] });
    expect(authz({ path: "/other" })).toMatchObject({ allowed: true, reason: "no_deny_matched" });
    expect(authz({ path: "/admin" })).toMatchObject({ allowed: false, reason: "deny_matched" });
  });

  it("CUSTOM runs first and, with no ext_authz provider in Halyard, denies when its rules match", () => {
    loadOk({
      policies: [
        policy("ext", "CUSTOM", [{ to: [{ operation: { paths: ["/ext/*"] } }] }], { provider: { name: "opa" } }),
        policy("deny-ext", "DENY", [{ to: [{ operation: { paths: ["/ext/*"] } }] }]),
        policy("allow-all", "ALLOW", [{}]),
      ],
    });
    expect(authz({ path: "/ext/a" })).toMatchObject({
      allowed: false, reason: "custom_matched", policy: "foo/ext#0", details: "rbac_access_denied_matched_policy[ns[foo]-policy[ext]-rule[0]]",
    });
    expect(authz({ path: "/other" })).toMatchObject({ allowed: true, reason: "allow_matched", policy: "foo/allow-all#0" });
  });

  it("AUDIT never changes the decision but records the matching rule", () => {
    loadOk({
      policies: [
        policy("audit-admin", "AUDIT", [{ to: [{ operation: { paths: ["/admin"] } }] }]),
        policy("allow-get", "ALLOW", [{ to: [{ operation: { methods: ["GET"] } }] }]),
      ],
    });
    expect(authz({ path: "/admin" })).toMatchObject({ allowed: true, audit: "foo/audit-admin#0", policy: "foo/allow-get#0" });
    expect(authz({ path: "/admin", method: "POST" })).toMatchObject({ allowed: false, audit: "foo/audit-admin#0" });
    expect(authz({ path: "/x" })).toMatchObject({ allowed: true, audit: "" });
    loadOk({ policies: [policy("audit-all", "AUDIT", [{}])] });
    expect(authz()).toMatchObject({ allowed: true, reason: "no_policies", audit: "foo/audit-all#0" });
  });

  it("reports the matching rule Envoy would report: policy ids in sorted order, rule indexes kept", () => {
    loadOk({
      policies: [
        { ...policy("zeta", "DENY", [{ to: [{ operation: { methods: ["POST"] } }] }, {}]), namespace: "alpha" },
        policy("beta", "DENY", [{ to: [{ operation: { methods: ["PUT"] } }] }, { to: [{ operation: { paths: ["/x"] } }] }]),
      ],
    });
    // Both alpha/zeta#1 and foo/beta#1 match; "ns[alpha]..." sorts first.
    expect(authz({ path: "/x" })).toMatchObject({ policy: "alpha/zeta#1", policy_id: "ns[alpha]-policy[zeta]-rule[1]" });
    expect(authz({ method: "PUT" })).toMatchObject({ policy: "alpha/zeta#1" });
    loadOk({ policies: [policy("beta", "DENY", [{ to: [{ operation: { methods: ["PUT"] } }] }, { to: [{ operation: { paths: ["/x"] } }] }])] });
    expect(authz({ path: "/x" })).toMatchObject({ policy: "foo/beta#1" });
  });
});

describe("dry run", () => {
  it("a dry-run DENY is reported, never enforced", () => {
    loadOk({ policies: [policy("deny-admin", "DENY", [{ to: [{ operation: { paths: ["/admin"] } }] }], { dry_run: true })] });
    expect(authz({ path: "/admin" })).toMatchObject({
      allowed: true, reason: "no_policies",
      shadow_deny: { allowed: false, policy: "foo/deny-admin#0", policy_id: "ns[foo]-policy[deny-admin]-rule[0]" },
      shadow_allow: null,
    });
    expect(authz({ path: "/public" })).toMatchObject({ allowed: true, shadow_deny: { allowed: true, policy: "", policy_id: "none" } });
  });

  it("a dry-run ALLOW alone does not turn on deny-by-default", () => {
    loadOk({ policies: [policy("allow-get", "ALLOW", [{ to: [{ operation: { methods: ["GET"] } }] }], { dry_run: true })] });
    expect(authz({ method: "POST" })).toMatchObject({ allowed: true, reason: "no_policies", shadow_allow: { allowed: false, policy: "" } });
    expect(authz({ method: "GET" })).toMatchObject({ allowed: true, shadow_allow: { allowed: true, policy: "foo/allow-get#0" } });
  });

  it("shadow engines run with their filter: an enforced DENY stops before the ALLOW shadow", () => {
    loadOk({
      policies: [
        policy("deny-admin", "DENY", [{ to: [{ operation: { paths: ["/admin"] } }] }]),
        policy("shadow-allow", "ALLOW", [{ to: [{ operation: { paths: ["/admin"] } }] }], { dry_run: true }),
        policy("shadow-deny", "DENY", [{}], { dry_run: true }),
        policy("allow-all", "ALLOW", [{}]),
      ],
    });
    expect(authz({ path: "/admin" })).toMatchObject({
      allowed: false, policy: "foo/deny-admin#0", shadow_deny: { allowed: false, policy: "foo/shadow-deny#0" }, shadow_allow: null,
    });
    expect(authz({ path: "/x" })).toMatchObject({
      allowed: true, policy: "foo/allow-all#0", shadow_deny: { allowed: false }, shadow_allow: { allowed: false, policy: "" },
    });
  });

  it("a dry-run CUSTOM is reported without denying", () => {
    loadOk({ policies: [policy("ext", "CUSTOM", [{}], { dry_run: true })] });
    expect(authz()).toMatchObject({ allowed: true, shadow_custom: { allowed: false, policy: "foo/ext#0" } });
  });
});

describe("rule structure", () => {
  it("one of the froms, one of the tos and all of the whens; fields AND, values OR", () => {
    one("ALLOW", {
      from: [{ source: { namespaces: ["foo"] } }, { source: { ipBlocks: ["192.168.0.0/16"] } }],
      to: [{ operation: { methods: ["GET"], paths: ["/a", "/b"] } }, { operation: { methods: ["POST"], paths: ["/c"] } }],
      when: [{ key: "request.headers[x-a]", values: ["1"] }, { key: "request.headers[x-b]", values: ["2", "3"] }],
    });
    const h: [string, string][] = [["x-a", "1"], ["x-b", "3"]];
    expect(allowed({ principal: PEER, path: "/b", headers: h })).toBe(true);
    expect(allowed({ source: "192.168.3.4:1", path: "/a", headers: h })).toBe(true);
    expect(allowed({ principal: PEER, method: "POST", path: "/c", headers: h })).toBe(true);
    expect(allowed({ principal: PEER, method: "POST", path: "/a", headers: h })).toBe(false); // method and path of different tos
    expect(allowed({ path: "/a", headers: h })).toBe(false); // no from matches
    expect(allowed({ principal: PEER, path: "/a", headers: [["x-a", "1"]] })).toBe(false); // one when fails
    expect(allowed({ principal: PEER, path: "/a", headers: [["x-a", "1"], ["x-b", "4"]] })).toBe(false);
  });

  it("every notX negates: matching any notX value fails the field; absent attributes pass notX", () => {
    one("ALLOW", { to: [{ operation: { notPaths: ["/private*"], notMethods: ["DELETE"] } }] });
    expect(allowed({ path: "/public" })).toBe(true);
    expect(allowed({ path: "/private/x" })).toBe(false);
    expect(allowed({ method: "DELETE" })).toBe(false);
    one("ALLOW", { from: [{ source: { notPrincipals: ["cluster.local/ns/bad/sa/*"] } }] });
    expect(allowed({})).toBe(true); // no peer certificate: nothing to match against
    expect(allowed({ principal: PEER })).toBe(true);
    expect(allowed({ principal: "spiffe://cluster.local/ns/bad/sa/x" })).toBe(false);
    one("ALLOW", { to: [{ operation: { paths: ["/a*"], notPaths: ["/admin"] } }] });
    expect(allowed({ path: "/api" })).toBe(true);
    expect(allowed({ path: "/admin" })).toBe(false);
    expect(allowed({ path: "/x" })).toBe(false);
  });

  it("value forms: exact, prefix*, *suffix, and * (non-empty or, for headers and methods, present)", () => {
    const paths = (v: string[]) => one("ALLOW", { to: [{ operation: { paths: v } }] });
    paths(["/exact"]);
    expect([allowed({ path: "/exact" }), allowed({ path: "/exact/" }), allowed({ path: "/exactly" })]).toEqual([true, false, false]);
    paths(["/api/*"]);
    expect([allowed({ path: "/api/" }), allowed({ path: "/api/v1" }), allowed({ path: "/api" })]).toEqual([true, true, false]);
    paths(["*.json"]);
    expect([allowed({ path: "/a/b.json" }), allowed({ path: "/a/b.jsonx" })]).toEqual([true, false]);
    paths(["*"]);
    expect(allowed({ path: "/" })).toBe(true);
    const header = (v: string[]) => one("ALLOW", { when: [{ key: "request.headers[x-token]", values: v }] });
    header(["*"]);
    expect([allowed({ headers: [["x-token", ""]] }), allowed({})]).toEqual([true, false]); // present_match
    header(["Bearer *"]);
    expect([allowed({ headers: [["x-token", "Bearer abc"]] }), allowed({ headers: [["x-token", "bearer abc"]] })]).toEqual([true, false]);
    header(["*-prod"]);
    expect(allowed({ headers: [["x-token", "key-prod"]] })).toBe(true);
    one("ALLOW", { when: [{ key: "request.auth.claims[email]", values: ["*"] }] });
    expect([allowed({ jwt: { email: "a@b" } }), allowed({ jwt: { email: "" } }), allowed({ jwt: {} })]).toEqual([true, false, false]);
    one("ALLOW", { to: [{ operation: { methods: ["*"] } }] });
    expect(allowed({ method: "ANYTHING" })).toBe(true);
  });

  it("header names compare case-insensitively and repeated headers are joined with ','", () => {
    one("ALLOW", { when: [{ key: "request.headers[X-Env]", values: ["prod"] }] });
    expect(allowed({ headers: [["X-ENV", "prod"]] })).toBe(true);
    expect(allowed({ headers: [["x-env", "prod"], ["x-env", "dev"]] })).toBe(false);
    one("ALLOW", { when: [{ key: "request.headers[x-env]", values: ["prod,dev"] }] });
    expect(allowed({ headers: [["x-env", "prod"], ["x-env", "dev"]] })).toBe(true);
  });

  it("hosts compare case-insensitively against :authority; a port must be matched explicitly, as in Istio", () => {
    one("ALLOW", { to: [{ operation: { hosts: ["HTTPBIN.foo", "*.example.com", "api.example.org:*"] } }] });
    expect(allowed({ authority: "httpbin.FOO" })).toBe(true);
    expect(allowed({ authority: "httpbin.foo:8000" })).toBe(false);
    expect(allowed({ authority: "WWW.Example.COM" })).toBe(true);
    expect(allowed({ authority: "api.example.org:8443" })).toBe(true);
    expect(allowed({ authority: "api.example.org" })).toBe(false);
    one("DENY", { to: [{ operation: { notHosts: ["httpbin.foo"] } }] });
    expect(allowed({ authority: "HttpBin.Foo" })).toBe(true);
    expect(allowed({ authority: "evil.foo" })).toBe(false);
  });

  it("ports and methods", () => {
    one("ALLOW", { to: [{ operation: { ports: ["8080", "9090"], methods: ["GET", "HEAD"] } }] });
    expect(allowed({ port: 8080 })).toBe(true);
    expect(allowed({ port: 9090, method: "HEAD" })).toBe(true);
    expect(allowed({ port: 7070 })).toBe(false);
    expect(allowed({ port: 8080, method: "get" })).toBe(false);
    one("DENY", { to: [{ operation: { notPorts: ["8080"] } }] });
    expect([allowed({ port: 8080 }), allowed({ port: 15000 })]).toEqual([true, false]);
  });
});

describe("path normalization", () => {
  function norm(path: string, mode: string) {
    const out = as.getString(as.exports.normalize(utf8(path), utf8(mode)));
    release();
    return JSON.parse(out);
  }

  // Istio's normalization integration test table (tests/integration/security/normalization_test.go).
  const table: Array<[string, string, string, string, string]> = [
    // input, NONE, BASE, MERGE_SLASHES, DECODE_AND_MERGE_SLASHES
    ["/", "/", "/", "/", "/"],
    ["/app#foo", "/app", "/app", "/app", "/app"],
    ["/app/", "/app/", "/app/", "/app/", "/app/"],
    ["/app/../admin", "/app/../admin", "/admin", "/admin", "/admin"],
    ["/app", "/app", "/app", "/app", "/app"],
    ["/app//", "/app//", "/app//", "/app/", "/app/"],
    ["/app/%2f", "/app/%2f", "/app/%2f", "/app/%2f", "/app/"],
    ["/app%2f/", "/app%2f/", "/app%2f/", "/app%2f/", "/app/"],
    ["/xyz%30..//abc", "/xyz%30..//abc", "/xyz0..//abc", "/xyz0../abc", "/xyz0../abc"],
    ["/app/%2E./admin", "/app/%2E./admin", "/admin", "/admin", "/admin"],
    ["/app\\admin", "/app\\admin", "/app/admin", "/app/admin", "/app/admin"],
    ["/app/\\/\\/\\admin", "/app/\\/\\/\\admin", "/app//////admin", "/app/admin", "/app/admin"],
    ["/%2Fapp%5cadmin%5Cabc", "/%2Fapp%5cadmin%5Cabc", "/%2Fapp%5cadmin%5Cabc", "/%2Fapp%5cadmin%5Cabc", "/app/admin/abc"],
    ["/%5Capp%2f%5c%2F%2e%2e%2fadmin%5c\\abc", "/%5Capp%2f%5c%2F%2e%2e%2fadmin%5c\\abc", "/%5Capp%2f%5c%2F..%2fadmin%5c/abc", "/%5Capp%2f%5c%2F..%2fadmin%5c/abc", "/app/admin/abc"],
    ["/app//../admin", "/app//../admin", "/app/admin", "/app/admin", "/app/admin"],
    ["/app//../../admin", "/app//../../admin", "/admin", "/admin", "/admin"],
  ];
  it.each(table)("%s", (input, none, base, merge, decode) => {
    expect(norm(input, "NONE").path).toBe(none);
    expect(norm(input, "BASE").path).toBe(base);
    expect(norm(input, "MERGE_SLASHES").path).toBe(merge);
    expect(norm(input, "DECODE_AND_MERGE_SLASHES").path).toBe(decode);
  });

  it("decodes only unreserved characters (plus %2F/%5C when asked), once, keeping other escapes verbatim", () => {
    for (let i = 1; i <= 0xff; i++) {
      const hex = i.toString(16).padStart(2, "0");
      const input = `/admin%${hex}`;
      const c = String.fromCharCode(i);
      const unreserved = /[A-Za-z0-9\-._~]/.test(c);
      const expected = unreserved ? `/admin${c}` : i === 0x2f || i === 0x5c ? "/admin/" : input;
      expect(norm(input, "DECODE_AND_MERGE_SLASHES").path, input).toBe(expected);
      const upper = `/admin%${hex.toUpperCase()}`;
      expect(norm(upper, "DECODE_AND_MERGE_SLASHES").path, upper).toBe(unreserved || i === 0x2f || i === 0x5c ? expected : upper);
    }
    const notNormalized = ["/%252e%252e/admin", "/%c0%ae%c0%ae/admin", "/.../admin", "/..;/admin", "/admin;a=b/xyz", "/ADMIN", "/0x2e0x2e/admin"];
    for (const p of notNormalized) expect(norm(p, "DECODE_AND_MERGE_SLASHES").path).toBe(p);
    expect(norm("/%c0%2e%c0%2e/admin", "DECODE_AND_MERGE_SLASHES").path).toBe("/%c0.%c0./admin");
    expect(norm("/%c0%2fadmin", "DECODE_AND_MERGE_SLASHES").path).toBe("/%c0/admin");
  });

  it("keeps the query apart, drops the fragment and says when :path must be rewritten", () => {
    expect(norm("/a//b?x=1//2#frag", "MERGE_SLASHES")).toEqual({ ok: true, path: "/a/b", query: "?x=1//2", changed: true });
    expect(norm("/a/b?x=1", "MERGE_SLASHES")).toEqual({ ok: true, path: "/a/b", query: "?x=1", changed: false });
    expect(norm("/a//b?x", "NONE")).toEqual({ ok: true, path: "/a//b", query: "?x", changed: false });
    expect(norm("/a/.", "BASE").path).toBe("/a/");
    expect(norm("/a/..", "BASE").path).toBe("/");
    expect(norm("/..", "BASE").path).toBe("/");
    expect(norm("*", "MERGE_SLASHES")).toEqual({ ok: true, path: "*", query: "", changed: false });
  });

  it("rejects %00 (Envoy answers 400) in every mode but NONE", () => {
    for (const mode of ["BASE", "MERGE_SLASHES", "DECODE_AND_MERGE_SLASHES"]) expect(norm("/admin%00", mode).ok).toBe(false);
    expect(norm("/admin%00", "NONE").ok).toBe(true);
    loadOk({ policies: [] });
    expect(authz({ path: "/a%00b" })).toMatchObject({ allowed: false, reason: "invalid_path", details: "path_normalization_failed" });
  });

  it("blocks the classic bypasses of a DENY on /admin under the default MERGE_SLASHES", () => {
    one("DENY", { to: [{ operation: { paths: ["/admin", "/admin/*"] } }] });
    for (const p of ["/admin", "//admin", "/public/../admin", "/%61dmin", "/admin/./x", "/./admin?x=1", "/admin#x", "/public/%2E%2E/admin", "\\admin".replace("\\", "/"), "/public\\..\\admin"]) {
      expect(authz({ path: p }), p).toMatchObject({ allowed: false, path: expect.stringMatching(/^\/admin/) });
    }
    // %2F stays encoded unless DECODE_AND_MERGE_SLASHES: "/admin%2Fx" is then a different resource.
    expect(allowed({ path: "/public%2F..%2Fadmin" })).toBe(true);
    one("DENY", { to: [{ operation: { paths: ["/admin", "/admin/*"] } }] }, { path_normalization: "DECODE_AND_MERGE_SLASHES" });
    expect(authz({ path: "/public%2F..%2Fadmin" })).toMatchObject({ allowed: false, path: "/admin" });
    expect(allowed({ path: "/admin%5Cx" })).toBe(false);
    // NONE really does nothing (Istio documents it as vulnerable).
    one("DENY", { to: [{ operation: { paths: ["/admin"] } }] }, { path_normalization: "NONE" });
    expect(allowed({ path: "//admin" })).toBe(true);
    expect(allowed({ path: "/admin?x=1" })).toBe(false); // the query is still cut off
    // BASE keeps "//".
    one("DENY", { to: [{ operation: { paths: ["/admin"] } }] }, { path_normalization: "BASE" });
    expect([allowed({ path: "/x/../admin" }), allowed({ path: "//admin" })]).toEqual([false, true]);
  });
});

describe("path templates", () => {
  function tmatch(t: string, path: string): number {
    const r = as.exports.templateMatches(utf8(t), utf8(path));
    release();
    return r;
  }

  it("{*} is one non-empty segment, {**} the rest (zero or more characters, '/' included)", () => {
    const cases: Array<[string, string, number]> = [
      ["/users/{*}/profile", "/users/alice/profile", 1],
      ["/users/{*}/profile", "/users/a/b/profile", 0],
      ["/users/{*}/profile", "/users//profile", 0],
      ["/users/{*}", "/users/alice", 1],
      ["/users/{*}", "/users/alice/", 0],
      ["/users/{*}/", "/users/alice/", 1],
      ["/files/{**}", "/files/", 1],
      ["/files/{**}", "/files/a/b/c.txt", 1],
      ["/files/{**}", "/files", 0],
      ["/a/{*}/b/{**}", "/a/x/b/y/z", 1],
      ["/a/{*}/b/{**}", "/a/x/c/y", 0],
      ["/a/{**}/z", "/a/x/y/z", 1],
      ["/a/{**}/z", "/a//z", 1],
      ["/a/{**}/z", "/a/x/y/zz", 0],
      ["/{*}", "/x", 1],
      ["/{*}", "/", 0],
      ["/{**}", "/", 1],
      ["/x/{*}", "/x/a b", 0], // ' ' is not a pchar
      ["/x/{*}", "/x/a%20b:@=", 1],
      ["/x/{**}", "/x/a*b", 0],
    ];
    for (const [t, p, want] of cases) expect(tmatch(t, p), `${t} ${p}`).toBe(want);
  });

  it("work as paths / notPaths in policies", () => {
    one("ALLOW", { to: [{ operation: { paths: ["/api/{*}/items/{**}"], notPaths: ["/api/{*}/items/secret"] } }] });
    expect(allowed({ path: "/api/v1/items/" })).toBe(true);
    expect(allowed({ path: "/api/v1/items/a/b?q=1" })).toBe(true);
    expect(allowed({ path: "/api/v1/items/secret" })).toBe(false);
    expect(allowed({ path: "/api/v1/v2/items/a" })).toBe(false);
  });
});

describe("principals and namespaces", () => {
  it("match the peer's SPIFFE URI SAN with the spiffe:// scheme implied", () => {
    const cases: Array<[string, string | undefined, boolean]> = [
      ["cluster.local/ns/foo/sa/sleep", PEER, true],
      ["cluster.local/ns/foo/sa/sleep", "spiffe://cluster.local/ns/foo/sa/sleepy", false],
      ["cluster.local/ns/foo/*", PEER, true],
      ["*/sa/sleep", PEER, true],
      ["*/sa/sleep", "https://cluster.local/ns/foo/sa/sleep", false], // suffix form still requires spiffe://
      ["*", PEER, true],
      ["*", "https://not-spiffe.example", true], // any authenticated peer
      ["*", undefined, false],
      ["*", "", false],
      ["cluster.local/ns/foo/sa/sleep", "cluster.local/ns/foo/sa/sleep", false], // the scheme is part of the SAN
    ];
    for (const [value, principal, want] of cases) {
      one("ALLOW", { from: [{ source: { principals: [value] } }] });
      expect(allowed({ principal }), `${value} vs ${principal}`).toBe(want);
      one("ALLOW", { when: [{ key: "source.principal", values: [value] }] });
      expect(allowed({ principal }), `when ${value} vs ${principal}`).toBe(want);
    }
  });

  it("namespaces come from the principal's /ns/<ns>/ segment", () => {
    const cases: Array<[string, string | undefined, boolean]> = [
      ["foo", PEER, true],
      ["fo*", PEER, true],
      ["*oo", PEER, true],
      ["*", PEER, true],
      ["bar", PEER, false],
      ["foo", "spiffe://cluster.local/ns/foobar/sa/x", false],
      ["foo", undefined, false],
    ];
    for (const [value, principal, want] of cases) {
      one("ALLOW", { from: [{ source: { namespaces: [value] } }] });
      expect(allowed({ principal }), `${value} vs ${principal}`).toBe(want);
      one("ALLOW", { when: [{ key: "source.namespace", values: [value] }] });
      expect(allowed({ principal }), `when ${value}`).toBe(want);
    }
    one("DENY", { from: [{ source: { notNamespaces: ["foo", "istio-system"] } }] });
    expect([allowed({ principal: PEER }), allowed({ principal: "spiffe://cluster.local/ns/bar/sa/x" }), allowed({})]).toEqual([true, false, false]);
  });

  it("cluster.local and the trust-domain aliases mean the local trust domain", () => {
    const opts = { trust_domain: "td-new", trust_domain_aliases: ["td-old"] };
    one("ALLOW", { from: [{ source: { principals: ["cluster.local/ns/foo/sa/sleep"] } }] }, opts);
    expect(allowed({ principal: "spiffe://td-new/ns/foo/sa/sleep" })).toBe(true);
    expect(allowed({ principal: "spiffe://td-old/ns/foo/sa/sleep" })).toBe(true);
    expect(allowed({ principal: "spiffe://other/ns/foo/sa/sleep" })).toBe(false);
    one("ALLOW", { from: [{ source: { principals: ["td-old/ns/foo/sa/sleep"] } }] }, opts);
    expect(allowed({ principal: "spiffe://td-new/ns/foo/sa/sleep" })).toBe(true);
    one("ALLOW", { from: [{ source: { principals: ["other/ns/foo/sa/sleep"] } }] }, opts);
    expect(allowed({ principal: "spiffe://td-new/ns/foo/sa/sleep" })).toBe(false);
    expect(allowed({ principal: "spiffe://other/ns/foo/sa/sleep" })).toBe(true);
    one("DENY", { from: [{ source: { notPrincipals: ["cluster.local/ns/foo/sa/sleep"] } }] }, opts);
    expect([allowed({ principal: "spiffe://td-old/ns/foo/sa/sleep" }), allowed({ principal: "spiffe://td-old/ns/foo/sa/x" })]).toEqual([true, false]);
  });
});

describe("request principals and JWT claims", () => {
  const JWT = {
    iss: "https://issuer.example.com/realms/r",
    sub: "alice",
    aud: ["api", "web"],
    azp: "frontend",
    groups: ["admins", "dev"],
    realm: { roles: ["reader"], tier: "gold", level: 3 },
    email: "alice@example.com",
  };

  it("requestPrincipals are <iss>/<sub> split at the last '/', wildcards on either side", () => {
    const cases: Array<[string, unknown, boolean]> = [
      ["https://issuer.example.com/realms/r/alice", JWT, true],
      ["https://issuer.example.com/realms/r/bob", JWT, false],
      ["*", JWT, true],
      ["*", undefined, false],
      ["*", { iss: "x" }, false],
      ["https://issuer.example.com/realms/r/*", JWT, true],
      ["https://issuer.example.com/realms/r/al*", JWT, true],
      ["https://other/*", JWT, false],
      ["*/alice", JWT, true],
      ["*/r/alice", JWT, true],
      ["*lice", JWT, true],
      ["https://issuer.example.com*", JWT, false], // split at the last '/': iss "https:/" (as Istio does)
      ["https://issuer.example.com/realms/r*", JWT, false], // iss exact "https://issuer.example.com/realms", sub prefix "r"
      ["issuer*", { iss: "issuer-a", sub: "x" }, true], // no '/': iss prefix, any sub
    ];
    for (const [value, jwt, want] of cases) {
      one("ALLOW", { from: [{ source: { requestPrincipals: [value] } }] });
      expect(allowed({ jwt }), `${value}`).toBe(want);
      one("ALLOW", { when: [{ key: "request.auth.principal", values: [value] }] });
      expect(allowed({ jwt }), `when ${value}`).toBe(want);
    }
  });

  it("denies requests without a verified JWT via notRequestPrincipals: ['*']", () => {
    one("DENY", { from: [{ source: { notRequestPrincipals: ["*"] } }] });
    expect([allowed({ jwt: JWT }), allowed({})]).toEqual([true, false]);
  });

  it("audiences, presenter and claims: strings match directly, lists match any element, nesting with [a][b]", () => {
    const cases: Array<[string, string[], boolean]> = [
      ["request.auth.audiences", ["web"], true],
      ["request.auth.audiences", ["mobile"], false],
      ["request.auth.presenter", ["front*"], true],
      ["request.auth.claims[groups]", ["admins"], true],
      ["request.auth.claims[groups]", ["ops", "dev"], true],
      ["request.auth.claims[groups]", ["adm"], false],
      ["request.auth.claims[email]", ["*@example.com"], true],
      ["request.auth.claims[realm][roles]", ["reader"], true],
      ["request.auth.claims[realm][tier]", ["gold"], true],
      ["request.auth.claims[realm][level]", ["3"], false], // only string claims match
      ["request.auth.claims[realm][missing]", ["*"], false],
      ["request.auth.claims[realm]", ["*"], false], // an object is not a string
      ["request.auth.claims[iss]", ["https://issuer.example.com/realms/r"], true],
    ];
    for (const [key, values, want] of cases) {
      one("ALLOW", { when: [{ key, values }] });
      expect(allowed({ jwt: JWT }), `${key} ${values}`).toBe(want);
      expect(allowed({}), `${key} without a JWT`).toBe(false);
    }
    one("ALLOW", { when: [{ key: "request.auth.claims[groups]", notValues: ["banned"] }] });
    expect([allowed({ jwt: JWT }), allowed({ jwt: { groups: ["x", "banned"] } }), allowed({})]).toEqual([true, false, true]);
    one("ALLOW", { when: [{ key: "request.auth.audiences", values: ["api"] }] });
    expect(allowed({ jwt: { aud: "api" } })).toBe(true);
  });
});

describe("addresses, ports and SNI", () => {
  function contains(cidr: string, address: string): number {
    const r = as.exports.cidrContains(utf8(cidr), utf8(address));
    release();
    return r;
  }

  it("parses and matches CIDR ranges for IPv4 and IPv6", () => {
    const cases: Array<[string, string, number]> = [
      ["10.0.0.0/8", "10.200.3.4:5000", 1],
      ["10.0.0.0/8", "11.0.0.1", 0],
      ["10.1.2.3", "10.1.2.3:1", 1],
      ["10.1.2.3", "10.1.2.4:1", 0],
      ["10.1.2.3/16", "10.1.99.99", 1], // host bits are masked as Envoy does
      ["0.0.0.0/0", "1.2.3.4", 1],
      ["0.0.0.0/0", "[::1]:80", 0],
      ["2001:db8::/32", "[2001:db8:1::5]:443", 1],
      ["2001:db8::/32", "[2001:db9::5]:443", 0],
      ["::1", "[::1]:8080", 1],
      ["::/0", "[fe80::1%eth0]:80", 1],
      ["fe80::/10", "fe80::1", 1],
      ["2001:db8:0:0:0:0:0:1/128", "[2001:db8::1]:1", 1],
      ["2001:db8::8:0/112", "[2001:db8::8:ffff]:1", 1],
      ["2001:db8::8:0/112", "[2001:db8::9:0]:1", 0],
      ["10.0.0.0/8", "[::ffff:10.1.2.3]:80", 1], // IPv4-mapped peers (dual-stack sockets) count as IPv4
      ["::ffff:0:0/96", "::ffff:10.1.2.3", 0],
      ["10.0.0.0/33", "10.0.0.1", -1],
      ["10.0.0.01", "10.0.0.1", -1],
      ["1.2.3", "1.2.3.4", -1],
      ["1::2::3", "::1", -1],
      ["10.0.0.0/8", "not-an-ip:80", -2],
    ];
    for (const [cidr, addr, want] of cases) expect(contains(cidr, addr), `${cidr} ${addr}`).toBe(want);
  });

  it("ipBlocks read source.address; remoteIpBlocks the original client (source.address unless given)", () => {
    one("ALLOW", { from: [{ source: { ipBlocks: ["10.0.0.0/24", "2001:db8::/48"], notIpBlocks: ["10.0.0.66"] } }] });
    expect(allowed({ source: "10.0.0.5:4000" })).toBe(true);
    expect(allowed({ source: "10.0.0.66:4000" })).toBe(false);
    expect(allowed({ source: "[2001:db8:0:1::9]:4000" })).toBe(true);
    expect(allowed({ source: "10.0.1.5:4000" })).toBe(false);
    one("ALLOW", { from: [{ source: { remoteIpBlocks: ["203.0.113.0/24"] } }] });
    expect(allowed({ source: "203.0.113.7:1" })).toBe(true);
    expect(allowed({ source: "10.0.0.1:1", remote: "203.0.113.7" })).toBe(true);
    expect(allowed({ source: "203.0.113.7:1", remote: "10.0.0.1" })).toBe(false);
  });

  it("when keys for addresses, destination port and SNI", () => {
    const cases: Array<[string, string[], Req, boolean]> = [
      ["source.ip", ["10.0.0.0/16"], {}, true],
      ["remote.ip", ["10.0.0.5"], {}, true],
      ["destination.ip", ["10.0.1.0/24"], {}, true],
      ["destination.ip", ["10.0.2.0/24"], {}, false],
      ["destination.port", ["8080"], {}, true],
      ["destination.port", ["80"], {}, false],
      ["connection.sni", ["*.example.com"], { sni: "api.example.com" }, true],
      ["connection.sni", ["*"], {}, false],
    ];
    for (const [key, values, req, want] of cases) {
      one("ALLOW", { when: [{ key, values }] });
      expect(allowed(req), `${key} ${values}`).toBe(want);
    }
  });
});

describe("fields Halyard cannot evaluate", () => {
  const experimental = { key: "experimental.envoy.filters.http.foo[bar]", values: ["baz"] };

  it("an ALLOW rule using one is dropped (fails closed) and the policy still counts", () => {
    loadOk({ policies: [policy("a", "ALLOW", [{ when: [experimental] }, { to: [{ operation: { paths: ["/ok"] } }] }])] });
    expect(warnings()).toEqual([
      "policies[0](foo/a).rules[0].when[0]: Envoy filter metadata (experimental.envoy.filters.http.foo[bar]) is not available in Halyard; ALLOW rule dropped (fails closed)",
    ]);
    expect(allowed({ path: "/ok" })).toBe(true);
    expect(authz({ path: "/x" })).toMatchObject({ allowed: false, reason: "allow_not_matched" });
    loadOk({ policies: [policy("a", "ALLOW", [{ when: [experimental] }])] });
    expect(authz()).toMatchObject({ allowed: false, reason: "allow_not_matched" });
    loadOk({ policies: [policy("sa", "ALLOW", [{ from: [{ source: { serviceAccounts: ["foo/sleep"] } }] }])] });
    expect(allowed({ principal: PEER })).toBe(false);
  });

  it("in a DENY rule only that field is ignored, so the deny widens", () => {
    loadOk({ policies: [policy("d", "DENY", [{ to: [{ operation: { paths: ["/admin"] } }], when: [experimental] }])] });
    expect(warnings()[0]).toBe(
      "policies[0](foo/d).rules[0].when[0]: Envoy filter metadata (experimental.envoy.filters.http.foo[bar]) is not available in Halyard; field ignored (the DENY rule widens)",
    );
    expect([allowed({ path: "/admin" }), allowed({ path: "/x" })]).toEqual([false, true]);
    loadOk({ policies: [policy("d", "DENY", [{ when: [experimental] }])] });
    expect(allowed({ path: "/x" })).toBe(false);
    loadOk({ policies: [policy("d", "DENY", [{ from: [{ source: { notServiceAccounts: ["foo/sleep"] } }] }])] });
    expect(allowed({ principal: PEER })).toBe(false);
  });
});

describe("decision time", () => {
  it("20 policies decide under the 2 µs target", () => {
    const policies = [];
    for (let i = 0; i < 8; i++) {
      policies.push(policy(`deny-${i}`, "DENY", [
        { from: [{ source: { ipBlocks: [`192.168.${i}.0/24`] } }] },
        { to: [{ operation: { paths: [`/internal/${i}/*`], methods: ["DELETE"] } }] },
      ]));
    }
    for (let i = 0; i < 11; i++) {
      policies.push(policy(`allow-${i}`, "ALLOW", [{
        from: [{ source: { principals: [`cluster.local/ns/ns${i}/sa/*`] } }],
        to: [{ operation: { methods: ["GET", "POST"], paths: [`/svc${i}/*`] } }],
        when: [{ key: "request.headers[x-tenant]", values: [`t${i}`] }],
      }]));
    }
    policies.push(policy("allow-last", "ALLOW", [{
      from: [{ source: { principals: ["cluster.local/ns/foo/sa/*"], namespaces: ["foo"] } }],
      to: [{ operation: { methods: ["GET"], paths: ["/api/{*}/items/{**}"], hosts: ["httpbin.foo"] } }],
      when: [{ key: "request.headers[x-tenant]", values: ["acme"] }],
    }]));
    loadOk({ policies });
    // Worst case: every DENY is checked and only the last ALLOW (in Envoy's order) matches.
    const req = { ...BASE_REQ, principal: PEER, path: "/api/v1/items/42?full=1", headers: [["x-tenant", "acme"], ["user-agent", "bench"], ["accept", "*/*"]] };
    const buf = utf8(JSON.stringify(req));
    // Warm-up in many short calls: V8 tiers a wasm function up between calls, not inside one.
    for (let i = 0; i < 200; i++) {
      expect(as.exports.authorizeMany(buf, 100, false)).toBe(100);
      as.exports.fillMany(buf, 100, false);
    }
    // CPU time of this process, so other work on a shared machine counts less.
    const perRequest = (fn: "authorizeMany" | "fillMany", fresh: boolean) => {
      const n = 1000, calls = 100;
      let best = Infinity;
      for (let round = 0; round < 3; round++) {
        const c0 = process.cpuUsage();
        for (let i = 0; i < calls; i++) expect(as.exports[fn](buf, n, fresh)).toBe(n);
        const c = process.cpuUsage(c0);
        best = Math.min(best, (c.user + c.system) / (n * calls));
      }
      return best;
    };
    const total = perRequest("authorizeMany", false);
    const fill = perRequest("fillMany", false);
    const fresh = perRequest("authorizeMany", true);
    release();
    console.log(
      `authz, 20 policies (8 DENY, 12 ALLOW), only the last ALLOW matching: ${total.toFixed(3)} µs per request ` +
        `(request reset + 3 headers + decision; the decision alone ≈ ${(total - fill).toFixed(3)} µs), ` +
        `${fresh.toFixed(3)} µs with a new request object each time`,
    );
    // A guard against pathological regressions (e.g. per-request recompilation), not the benchmark: the 2 µs target
    // is measured in bench/, where the machine is not shared with the rest of the suite.
    expect(total - fill).toBeLessThan(20);
  });
});
