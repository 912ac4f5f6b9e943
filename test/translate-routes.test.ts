// control/translate: Istio VirtualService / DestinationRule / Gateway / ServiceEntry YAML as the route engine's
// config for one proxy. Table-driven over real, validated YAML; the produced configs are then loaded and decided
// by the real engine (compiled from engine/route) to show they mean what Istio means.
import { beforeAll, describe, expect, test } from "vitest";
import { buildConfigSet, type ConfigSet } from "../control/config/config-set.js";
import { formatError } from "../control/config/errors.js";
import { parseConfigText } from "../control/config/load.js";
import { loadAndValidate } from "../control/config/validate.js";
import { mergeMatches } from "../control/translate/delegate.js";
import { durationMs } from "../control/translate/duration.js";
import type { EngineRouteConfig, EngineVirtualHost } from "../control/translate/engine-config.js";
import { gatewayProxy, proxyFromNodeId, sidecarProxy, type Proxy } from "../control/translate/proxy.js";
import { buildRegistry } from "../control/registry/registry.js";
import { routeConfigForPort, translateRoutes, type RouteTranslation } from "../control/translate/routes.js";
import { resolveGatewayName } from "../control/translate/selection.js";
import { type ASInstance, loadAS } from "./helpers/as.js";

function configOf(yaml: string): ConfigSet {
  const { documents, errors } = parseConfigText(yaml, "test.yaml");
  expect(errors.map(formatError)).toEqual([]);
  return buildConfigSet(documents);
}

function translate(yaml: string, proxy: Proxy | ((c: ConfigSet) => Proxy)): RouteTranslation {
  const config = configOf(yaml);
  return translateRoutes(config, typeof proxy === "function" ? proxy(config) : proxy);
}

function vhostFor(t: RouteTranslation, port: number, domain: string): EngineVirtualHost | undefined {
  return routeConfigForPort(t, port)?.virtual_hosts.find((v) => v.domains.includes(domain));
}

/** Cluster names of every route of the virtual host serving `domain` (one entry per route). */
function clustersFor(t: RouteTranslation, port: number, domain: string): string[][] {
  return (vhostFor(t, port, domain)?.routes ?? []).map((r) => (r.route ?? []).map((d) => d.cluster));
}

const doc = (apiVersion: string, kind: string, name: string, namespace: string, spec: string) =>
  `---\napiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: { name: ${name}, namespace: ${namespace} }\nspec:\n${spec
    .trim()
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n")}\n`;

const NET = "networking.istio.io/v1";
const k8sService = (name: string, ns: string, ports: string, ip = "") =>
  `---\napiVersion: v1\nkind: Service\nmetadata: { name: ${name}, namespace: ${ns} }\nspec:\n  ${ip ? `clusterIP: ${ip}\n  ` : ""}selector: { app: ${name} }\n  ports: ${ports}\n`;

const REVIEWS = k8sService("reviews", "foo", "[{ name: http, port: 9080 }]", "10.0.0.12");
const RATINGS = k8sService("ratings", "foo", "[{ name: http, port: 9080 }, { name: http-admin, port: 9090 }]");
const REVIEWS_DR = doc(NET, "DestinationRule", "reviews", "foo", `
host: reviews
subsets:
- { name: v1, labels: { version: v1 } }
- { name: v2, labels: { version: v2 } }
`);
const FQDN = "reviews.foo.svc.cluster.local";
const C = (subset: string, port = 9080, host = FQDN) => `outbound|${port}|${subset}|${host}`;

describe("which VirtualServices and matches reach a proxy", () => {
  const GATEWAY = doc(NET, "Gateway", "public", "edge", `
selector: { istio: ingressgateway }
servers:
- { port: { number: 80, name: http, protocol: HTTP }, hosts: ["*"] }
`);
  const vs = (extra: string, name = "reviews", ns = "foo") =>
    doc(NET, "VirtualService", name, ns, `
hosts: [reviews.foo.svc.cluster.local]
${extra}
http:
- route: [{ destination: { host: reviews.foo.svc.cluster.local, subset: v2 } }]
`);

  const cases: { name: string; yaml: string; proxy: Proxy | ((c: ConfigSet) => Proxy); port?: number; domain?: string; expected: string[][] }[] = [
    { name: "no gateways = mesh: sidecars get it", yaml: vs(""), proxy: sidecarProxy("bar"), expected: [[C("v2")]] },
    { name: "no gateways = mesh: gateways do not", yaml: GATEWAY + vs(""), proxy: (c) => gatewayProxy(c, "edge/public"), domain: FQDN, port: 80, expected: [] },
    { name: "bound to a gateway only: sidecars keep the default route", yaml: GATEWAY + vs("gateways: [edge/public]"), proxy: sidecarProxy("bar"), expected: [[C("")]] },
    { name: "bound to the gateway by ns/name", yaml: GATEWAY + vs("gateways: [edge/public]"), proxy: (c) => gatewayProxy(c, "edge/public"), port: 80, expected: [[C("v2")]] },
    { name: "bound by short name in the VirtualService namespace", yaml: GATEWAY + vs("gateways: [public]", "reviews", "edge"), proxy: (c) => gatewayProxy(c, "edge/public"), port: 80, expected: [[C("v2")]] },
    { name: "a short name resolves in the VS namespace, not the gateway's", yaml: GATEWAY + vs("gateways: [public]"), proxy: (c) => gatewayProxy(c, "edge/public"), port: 80, expected: [] },
    { name: "mesh and gateway: both", yaml: GATEWAY + vs("gateways: [mesh, edge/public]"), proxy: sidecarProxy("bar"), expected: [[C("v2")]] },
    { name: "exportTo . hides it from other namespaces", yaml: vs('exportTo: ["."]'), proxy: sidecarProxy("bar"), expected: [[C("")]] },
    { name: "exportTo . keeps it in its own namespace", yaml: vs('exportTo: ["."]'), proxy: sidecarProxy("foo"), expected: [[C("v2")]] },
    { name: "exportTo a listed namespace", yaml: vs("exportTo: [bar]"), proxy: sidecarProxy("bar"), expected: [[C("v2")]] },
  ];

  const sourced = doc(NET, "VirtualService", "reviews", "foo", `
hosts: [reviews]
gateways: [mesh, edge/public]
http:
- name: from-frontend
  match: [{ sourceLabels: { app: frontend } }]
  route: [{ destination: { host: reviews, subset: v1 } }]
- name: from-ops
  match: [{ sourceNamespace: ops }]
  route: [{ destination: { host: reviews, subset: v2 } }]
- name: mesh-only
  match: [{ gateways: [mesh], uri: { prefix: /internal } }]
  route: [{ destination: { host: reviews, subset: v2 } }]
- name: edge-only
  match: [{ gateways: [edge/public], sourceLabels: { never: matches } }]
  route: [{ destination: { host: reviews, subset: v1 } }]
`);
  cases.push(
    { name: "sourceLabels and sourceNamespace: a plain sidecar gets only the mesh match", yaml: GATEWAY + sourced, proxy: sidecarProxy("bar"), expected: [[C("v2")]] },
    // A match left with no condition but its source selector matches everything: Istio stops after it.
    { name: "sourceLabels subset of the proxy's labels", yaml: GATEWAY + sourced, proxy: sidecarProxy("bar", { app: "frontend", version: "x" }), expected: [[C("v1")]] },
    { name: "sourceNamespace equal to the proxy's", yaml: GATEWAY + sourced, proxy: sidecarProxy("ops"), expected: [[C("v2")]] },
    // A match naming gateways ignores sourceLabels (Istio's sourceMatchHTTP).
    { name: "match-level gateways select the gateway proxy", yaml: GATEWAY + sourced, proxy: (c) => gatewayProxy(c, "edge/public"), port: 80, expected: [[C("v1")]] },
    {
      name: "no match applies: the service keeps its default route",
      yaml: doc(NET, "VirtualService", "reviews", "foo", `
hosts: [reviews]
http:
- match: [{ sourceLabels: { app: frontend } }]
  route: [{ destination: { host: reviews, subset: v1 } }]
`),
      proxy: sidecarProxy("bar"),
      expected: [[C("")]],
    },
  );

  test.each(cases)("$name", ({ yaml, proxy, port, domain, expected }) => {
    const t = translate(REVIEWS + REVIEWS_DR + yaml, proxy);
    expect(clustersFor(t, port ?? 9080, domain ?? FQDN)).toEqual(expected);
  });

  test("a proxy from its xDS node id: namespace from the id, labels from its WorkloadEntry", () => {
    const yaml =
      REVIEWS +
      REVIEWS_DR +
      sourced +
      doc(NET, "WorkloadEntry", "frontend-1", "bar", "address: 10.1.2.3\nlabels: { app: frontend }");
    const config = configOf(yaml);
    const proxy = proxyFromNodeId(config, buildRegistry(config), "sidecar~10.1.2.3~frontend-1.bar~bar.svc.cluster.local");
    expect(proxy).toEqual({ kind: "sidecar", namespace: "bar", labels: { app: "frontend" } });
    expect(clustersFor(translateRoutes(config, proxy), 9080, FQDN)).toEqual([[C("v1")]]);
  });

  test.each([
    ["mesh", "foo", "mesh"],
    ["public", "foo", "foo/public"],
    ["edge/public", "foo", "edge/public"],
    ["./public", "foo", "foo/public"],
    ["public.edge.svc.cluster.local", "foo", "edge/public"],
  ])("gateway reference %s in %s is %s", (ref, ns, expected) => {
    expect(resolveGatewayName(ref, ns)).toBe(expected);
  });
});

describe("hosts and domains", () => {
  test("a sidecar in the service's namespace gets the short forms, with and without the port, and the VIP", () => {
    const t = translate(REVIEWS, sidecarProxy("foo"));
    expect(vhostFor(t, 9080, FQDN)).toMatchObject({
      name: `${FQDN}:9080`,
      domains: [FQDN, `${FQDN}:9080`, "reviews", "reviews:9080", "reviews.foo.svc", "reviews.foo.svc:9080", "reviews.foo", "reviews.foo:9080", "10.0.0.12", "10.0.0.12:9080"],
    });
  });

  test("from another namespace the bare name is not a domain", () => {
    const t = translate(REVIEWS, sidecarProxy("bar"));
    expect(vhostFor(t, 9080, FQDN)!.domains).toEqual([FQDN, `${FQDN}:9080`, "reviews.foo", "reviews.foo:9080", "reviews.foo.svc", "reviews.foo.svc:9080", "10.0.0.12", "10.0.0.12:9080"]);
    expect(vhostFor(t, 9080, "reviews")).toBeUndefined();
  });

  test("a ServiceEntry host has no short forms; each port gets its own route config", () => {
    const se = doc(NET, "ServiceEntry", "api", "ext", `
hosts: [api.example.com]
ports: [{ number: 80, name: http, protocol: HTTP }, { number: 8443, name: tls, protocol: TLS }]
resolution: DNS
`);
    const t = translate(se, sidecarProxy("bar"));
    expect(t.routeConfigs.map((c) => c.name)).toEqual(["80"]);
    expect(vhostFor(t, 80, "api.example.com")!.domains).toEqual(["api.example.com", "api.example.com:80"]);
  });

  test("a short VirtualService host resolves in the VirtualService's namespace", () => {
    const vsInBar = doc(NET, "VirtualService", "reviews", "bar", `
hosts: [reviews]
http: [{ route: [{ destination: { host: reviews } }] }]
`);
    const t = translate(REVIEWS + k8sService("reviews", "bar", "[{ name: http, port: 9080 }]") + vsInBar, sidecarProxy("bar"));
    // reviews in bar is routed by the VS; reviews in foo keeps its default route.
    expect(clustersFor(t, 9080, "reviews.bar.svc.cluster.local")).toEqual([["outbound|9080||reviews.bar.svc.cluster.local"]]);
    expect(vhostFor(t, 9080, "reviews.bar.svc.cluster.local")!.routes[0]!.name).toBeUndefined();
    expect(vhostFor(t, 9080, FQDN)!.routes[0]!.name).toBe("default");
  });

  test("a wildcard VirtualService host routes the services it covers; an exact one wins over it", () => {
    const yaml =
      doc(NET, "ServiceEntry", "ext", "ext", `
hosts: [a.example.com, b.example.com]
ports: [{ number: 80, name: http, protocol: HTTP }]
resolution: DNS
`) +
      doc(NET, "VirtualService", "wild", "ext", `
hosts: ["*.example.com"]
http: [{ name: wild, route: [{ destination: { host: a.example.com } }] }]
`) +
      doc(NET, "VirtualService", "exact", "ext", `
hosts: [b.example.com]
http: [{ name: exact, route: [{ destination: { host: b.example.com } }] }]
`);
    const t = translate(yaml, sidecarProxy("ext"));
    expect(vhostFor(t, 80, "a.example.com")!.routes.map((r) => r.name)).toEqual(["wild"]);
    expect(vhostFor(t, 80, "b.example.com")!.routes.map((r) => r.name)).toEqual(["exact"]);
  });

  test("a VirtualService host that is no service gets its own virtual host on port 80", () => {
    const t = translate(
      REVIEWS +
        doc(NET, "VirtualService", "legacy", "foo", `
hosts: [legacy.example.com]
http: [{ route: [{ destination: { host: reviews } }] }]
`),
      sidecarProxy("foo"),
    );
    expect(vhostFor(t, 80, "legacy.example.com")).toMatchObject({ domains: ["legacy.example.com", "legacy.example.com:80"], routes: [{ route: [{ cluster: C("") }] }] });
  });

  test("every sidecar route config ends with Istio's passthrough catch-all", () => {
    const t = translate(REVIEWS, sidecarProxy("foo"));
    const last = routeConfigForPort(t, 9080)!.virtual_hosts.at(-1)!;
    expect(last).toEqual({ name: "allow_any", domains: ["*"], routes: [{ name: "allow_any", route: [{ cluster: "PassthroughCluster" }], retries: { attempts: 0 } }] });
  });
});

describe("destinations, clusters and subsets", () => {
  test.each([
    { name: "port from destination.port", dest: "{ host: ratings, port: { number: 9090 } }", listener: 9080, expected: "outbound|9090||ratings.foo.svc.cluster.local" },
    { name: "multi-port service without port: the listener port", dest: "{ host: ratings }", listener: 9090, expected: "outbound|9090||ratings.foo.svc.cluster.local" },
    { name: "single-port service: its port", dest: "{ host: reviews }", listener: 9090, expected: C("") },
    { name: "FQDN host and subset", dest: `{ host: ${FQDN}, subset: v1 }`, listener: 9080, expected: C("v1") },
  ])("$name", ({ dest, listener, expected }) => {
    const vs = doc(NET, "VirtualService", "ratings", "foo", `
hosts: [ratings]
http: [{ route: [{ destination: ${dest} }] }]
`);
    const t = translate(REVIEWS + RATINGS + REVIEWS_DR + vs, sidecarProxy("foo"));
    expect(clustersFor(t, listener, "ratings.foo.svc.cluster.local")).toEqual([[expected]]);
  });

  test("the clusters list carries the DestinationRule subset labels", () => {
    const vs = doc(NET, "VirtualService", "reviews", "foo", `
hosts: [reviews]
http: [{ route: [{ destination: { host: reviews, subset: v1 }, weight: 50 }, { destination: { host: reviews, subset: v2 }, weight: 50 }] }]
`);
    const t = translate(REVIEWS + REVIEWS_DR + vs, sidecarProxy("foo"));
    expect(t.clusters.filter((c) => c.host === FQDN)).toEqual([
      { name: C("v1"), host: FQDN, port: 9080, subset: "v1", subsetLabels: { version: "v1" }, destinationRule: "foo/reviews", serviceFound: true },
      { name: C("v2"), host: FQDN, port: 9080, subset: "v2", subsetLabels: { version: "v2" }, destinationRule: "foo/reviews", serviceFound: true },
    ]);
    expect(t.warnings).toEqual([]);
  });

  test("a missing subset still names the cluster and warns (Istio: 503 NC at runtime)", () => {
    const vs = doc(NET, "VirtualService", "reviews", "foo", `
hosts: [reviews]
http: [{ route: [{ destination: { host: reviews, subset: v9 } }] }]
`);
    const t = translate(REVIEWS + REVIEWS_DR + vs, sidecarProxy("foo"));
    expect(clustersFor(t, 9080, FQDN)).toEqual([[C("v9")]]);
    expect(t.clusters.find((c) => c.subset === "v9")).toMatchObject({ subsetLabels: undefined, destinationRule: "foo/reviews" });
    expect(t.warnings.map(formatError)).toEqual([
      `test.yaml:${lineOf(REVIEWS + REVIEWS_DR + vs, "subset: v9")}: VirtualService foo/reviews: spec.http[0].route[0].destination.subset: DestinationRule foo/reviews has no subset "v9": cluster ${C("v9")} does not exist (Istio answers 503 NC)`,
    ]);
  });

  test("a destination host that is no service warns", () => {
    const vs = doc(NET, "VirtualService", "reviews", "foo", `
hosts: [reviews]
http: [{ route: [{ destination: { host: nowhere } }] }]
`);
    const t = translate(REVIEWS + vs, sidecarProxy("foo"));
    expect(clustersFor(t, 9080, FQDN)).toEqual([["outbound|9080||nowhere.foo.svc.cluster.local"]]);
    expect(t.warnings[0]!.message).toMatch(/^host nowhere\.foo\.svc\.cluster\.local is not a service visible from namespace foo/);
  });

  test.each([
    { name: "weights are relative", route: "[{ destination: { host: reviews, subset: v1 }, weight: 3 }, { destination: { host: reviews, subset: v2 }, weight: 1 }]", expected: [{ cluster: C("v1"), weight: 3 }, { cluster: C("v2"), weight: 1 }] },
    { name: "zero weights are dropped", route: "[{ destination: { host: reviews, subset: v1 }, weight: 100 }, { destination: { host: reviews, subset: v2 }, weight: 0 }]", expected: [{ cluster: C("v1") }] },
    { name: "a single destination ignores its weight", route: "[{ destination: { host: reviews, subset: v2 }, weight: 30 }]", expected: [{ cluster: C("v2") }] },
  ])("$name", ({ route, expected }) => {
    const vs = doc(NET, "VirtualService", "reviews", "foo", `
hosts: [reviews]
http: [{ route: ${route} }]
`);
    const t = translate(REVIEWS + REVIEWS_DR + vs, sidecarProxy("foo"));
    expect(vhostFor(t, 9080, FQDN)!.routes[0]!.route).toEqual(expected);
  });
});

describe("delegates", () => {
  const root = doc(NET, "VirtualService", "root", "foo", `
hosts: [reviews]
http:
- name: api
  match: [{ name: m, uri: { prefix: /api }, headers: { x-team: { exact: a } } }]
  delegate: { name: api, namespace: team }
  timeout: 5s
- name: rest
  route: [{ destination: { host: reviews, subset: v1 } }]
`);
  const delegate = doc(NET, "VirtualService", "api", "team", `
http:
- name: v2
  match: [{ uri: { prefix: /api/v2 }, headers: { x-user: { exact: u } } }]
  route: [{ destination: { host: reviews.foo.svc.cluster.local, subset: v2 } }]
  timeout: 1s
- name: outside
  match: [{ uri: { prefix: /other } }]
  route: [{ destination: { host: reviews.foo.svc.cluster.local, subset: v2 } }]
- name: all
  route: [{ destination: { host: reviews.foo.svc.cluster.local, subset: v1 } }]
`);

  test("the root's match is ANDed with the delegate's, conflicts are dropped, root policies are inherited", () => {
    const t = translate(REVIEWS + REVIEWS_DR + root + delegate, sidecarProxy("foo"));
    expect(vhostFor(t, 9080, FQDN)!.routes).toEqual([
      {
        name: "api-v2",
        match: [{ name: "m", uri: { prefix: "/api/v2" }, headers: { "x-team": { exact: "a" }, "x-user": { exact: "u" } } }],
        route: [{ cluster: C("v2") }],
        timeout_ms: 1000,
      },
      { name: "api-all", match: [{ name: "m", uri: { prefix: "/api" }, headers: { "x-team": { exact: "a" } } }], route: [{ cluster: C("v1") }], timeout_ms: 5000 },
      { name: "rest", route: [{ cluster: C("v1") }] },
    ]);
    expect(t.warnings.map((w) => `${w.name} ${w.path}: ${w.message}`)).toEqual([
      "api spec.http[1].match: match conflicts with every match of root route foo/root spec.http[0]: route skipped",
    ]);
  });

  test.each([
    { root: [{ uri: { prefix: "/a" } }], leaf: [{ uri: { exact: "/a/b" } }], merged: [{ uri: { exact: "/a/b" } }] },
    { root: [{ uri: { exact: "/a" } }], leaf: [{ uri: { prefix: "/a" } }], merged: undefined },
    { root: [{ uri: { regex: "/a.*" } }], leaf: [{ uri: { prefix: "/a" } }], merged: undefined },
    { root: [{ uri: { prefix: "/a" } }, { uri: { prefix: "/b" } }], leaf: [{ uri: { prefix: "/b/c" } }], merged: [{ uri: { prefix: "/b/c" } }] },
    { root: [], leaf: [{ method: { exact: "GET" } }], merged: [{ method: { exact: "GET" } }] },
    { root: [{ port: 80 }], leaf: [{ port: 81 }], merged: undefined },
  ])("mergeMatches($root, $leaf)", ({ root, leaf, merged }) => {
    expect(mergeMatches(root, leaf)).toEqual(merged);
  });

  test("a delegate not exported to the root's namespace is skipped with a warning", () => {
    const hidden = delegate.replace("spec:\n", 'spec:\n  exportTo: ["."]\n');
    const t = translate(REVIEWS + REVIEWS_DR + root + hidden, sidecarProxy("foo"));
    expect(vhostFor(t, 9080, FQDN)!.routes.map((r) => r.name)).toEqual(["rest"]);
    expect(t.warnings[0]!.message).toBe("delegate VirtualService team/api is not exported to namespace foo: route skipped");
  });
});

describe("route policies", () => {
  test("headers, rewrite, timeout, retries, fault, mirrors and CORS in engine terms", () => {
    const vs = doc(NET, "VirtualService", "reviews", "foo", `
hosts: [reviews]
http:
- name: full
  match: [{ uri: { prefix: /v1 }, ignoreUriCase: true, queryParams: { Debug: { exact: "1" } }, withoutHeaders: { X-Canary: {} } }]
  route:
  - destination: { host: reviews, subset: v1 }
    weight: 80
    headers: { request: { set: { host: v1.internal, X-Dest: "1" } } }
  - destination: { host: reviews, subset: v2 }
    weight: 20
  headers:
    request: { set: { X-A: "1" }, add: { x-b: "2" }, remove: [X-C] }
    response: { set: { x-r: "1" }, remove: [server] }
  rewrite: { uri: /v2 }
  timeout: 1.5s
  retries: { attempts: 4, perTryTimeout: 250ms, retryOn: "gateway-error,503" }
  fault:
    delay: { fixedDelay: 1m, percentage: { value: 0.5 } }
    abort: { grpcStatus: UNAVAILABLE, percentage: { value: 2.5 } }
  mirror: { host: reviews, subset: v2 }
  mirrorPercentage: { value: 25 }
  corsPolicy:
    allowOrigins: [{ exact: "https://a.example" }, { prefix: "https://dev." }]
    allowMethods: [GET, POST]
    allowHeaders: [x-token]
    exposeHeaders: [x-trace]
    maxAge: 10m
    allowCredentials: true
- name: moved
  match: [{ uri: { exact: /old } }]
  redirect: { uri: /new, authority: new.example.com, redirectCode: 302, derivePort: FROM_REQUEST_PORT }
- name: gone
  match: [{ uri: { exact: /gone } }]
  directResponse: { status: 410, body: { string: "gone" } }
  headers: { response: { set: { x-gone: "yes" } } }
- name: authority
  match: [{ uri: { prefix: /auth } }]
  route: [{ destination: { host: reviews } }]
  headers: { request: { set: { ":authority": a.internal } } }
  retries: { attempts: 0 }
`);
    const t = translate(REVIEWS + REVIEWS_DR + vs, sidecarProxy("foo"));
    expect(vhostFor(t, 9080, FQDN)!.routes).toEqual([
      {
        name: "full",
        match: [{ uri: { prefix: "/v1" }, ignore_uri_case: true, query_params: { Debug: { exact: "1" } }, without_headers: { "x-canary": {} } }],
        headers: { request: { set: { "x-a": "1" }, add: { "x-b": "2" }, remove: ["x-c"] }, response: { set: { "x-r": "1" }, remove: ["server"] } },
        fault: { delay: { fixed_delay_ms: 60000, percentage: 0.5 }, abort: { grpc_status: "UNAVAILABLE", percentage: 2.5 } },
        route: [
          { cluster: C("v1"), weight: 80, headers: { request: { set: { "x-dest": "1" } } }, authority: "v1.internal" },
          { cluster: C("v2"), weight: 20 },
        ],
        rewrite: { uri: "/v2" },
        timeout_ms: 1500,
        retries: { attempts: 4, per_try_timeout_ms: 250, retry_on: "gateway-error,503" },
        mirrors: [{ cluster: C("v2"), percentage: 25 }],
        cors: {
          allow_origins: [{ exact: "https://a.example" }, { prefix: "https://dev." }],
          allow_methods: ["GET", "POST"],
          allow_headers: ["x-token"],
          expose_headers: ["x-trace"],
          max_age_s: 600,
          allow_credentials: true,
        },
      },
      { name: "moved", match: [{ uri: { exact: "/old" } }], redirect: { uri: "/new", authority: "new.example.com", derive_port: "FROM_REQUEST_PORT", redirect_code: 302 } },
      { name: "gone", match: [{ uri: { exact: "/gone" } }], headers: { response: { set: { "x-gone": "yes" } } }, direct_response: { status: 410, body: { string: "gone" } } },
      { name: "authority", match: [{ uri: { prefix: "/auth" } }], route: [{ cluster: C("") }], rewrite: { authority: "a.internal" }, retries: { attempts: 0 } },
    ]);
    expect(t.warnings).toEqual([]);
  });

  test("no retries stated: the field is left out so the engine applies Istio's default; default routes too", () => {
    const t = translate(REVIEWS, sidecarProxy("foo"));
    expect(vhostFor(t, 9080, FQDN)!.routes).toEqual([{ name: "default", route: [{ cluster: C("") }] }]);
  });

  test.each([
    ["10s", 10000],
    ["1.5s", 1500],
    ["250ms", 250],
    ["1m30s", 90000],
    ["1h", 3600000],
    ["100us", 0],
    ["soon", undefined],
  ])("duration %s = %s ms", (text, ms) => {
    expect(durationMs(text)).toBe(ms);
  });

  test.each(["networking.istio.io/v1alpha3", "networking.istio.io/v1beta1", "networking.istio.io/v1"])("apiVersion %s translates the same", (apiVersion) => {
    const yaml = REVIEWS + doc(apiVersion, "DestinationRule", "reviews", "foo", "host: reviews\nsubsets: [{ name: v1, labels: { version: v1 } }]") +
      doc(apiVersion, "VirtualService", "reviews", "foo", "hosts: [reviews]\nhttp: [{ route: [{ destination: { host: reviews, subset: v1 } }] }]");
    const t = translate(yaml, sidecarProxy("foo"));
    expect(clustersFor(t, 9080, FQDN)).toEqual([[C("v1")]]);
    expect(t.clusters[0]!.subsetLabels).toEqual({ version: "v1" });
  });
});

describe("gateways", () => {
  const yaml =
    REVIEWS +
    doc(NET, "Gateway", "public", "edge", `
selector: { istio: ingressgateway }
servers:
- { port: { number: 80, name: http, protocol: HTTP }, hosts: ["*.example.com", "team/api.internal"] }
- { port: { number: 8443, name: https, protocol: HTTPS }, hosts: [secure.example.com], tls: { mode: SIMPLE, credentialName: cert } }
- { port: { number: 9443, name: tls, protocol: TLS }, hosts: [tls.example.com], tls: { mode: PASSTHROUGH } }
- { port: { number: 8080, name: http-redirect, protocol: HTTP }, hosts: [secure.example.com], tls: { httpsRedirect: true } }
`) +
    doc(NET, "VirtualService", "shop", "foo", `
hosts: [shop.example.com, "*.example.com"]
gateways: [edge/public]
http: [{ name: shop, route: [{ destination: { host: reviews } }] }]
`) +
    doc(NET, "VirtualService", "internal", "foo", `
hosts: [api.internal]
gateways: [edge/public]
http: [{ name: internal, route: [{ destination: { host: reviews } }] }]
`) +
    doc(NET, "VirtualService", "internal", "team", `
hosts: [api.internal]
gateways: [edge/public]
http: [{ name: team, route: [{ destination: { host: reviews.foo.svc.cluster.local, subset: v1 } }] }]
`);

  test("server hosts intersect VirtualService hosts, ns/host limits which VirtualServices bind, ports are ignored in host matching", () => {
    const t = translate(yaml, (c) => gatewayProxy(c, "edge/public"));
    expect(t.routeConfigs.map((c) => c.name)).toEqual(["http.80", "http.8080", "http.8443"]);
    const http = routeConfigForPort(t, 80)!;
    expect(http.ignore_port_in_host_matching).toBe(true);
    expect(http.virtual_hosts.map((v) => [v.name, v.domains, v.routes.map((r) => r.name)])).toEqual([
      ["shop.example.com:80", ["shop.example.com"], ["shop"]],
      ["*.example.com:80", ["*.example.com"], ["shop"]],
      ["api.internal:80", ["api.internal"], ["team"]],
    ]);
    expect(routeConfigForPort(t, 8443)!.virtual_hosts.map((v) => v.domains)).toEqual([["secure.example.com"]]);
    expect(routeConfigForPort(t, 8080)!.virtual_hosts[0]!.routes).toEqual([{ name: "https_redirect", redirect: { scheme: "https", redirect_code: 301 } }]);
  });

  test("an unknown gateway is a one-line error naming it", () => {
    expect(() => gatewayProxy(configOf(yaml), "edge/nope")).toThrow("gateway edge/nope: no such Gateway in the config (have edge/public)");
    expect(() => gatewayProxy(configOf(yaml), "nope")).toThrow('gateway "nope": expected <namespace>/<name>');
  });
});

/** 1-based line of the first line containing `needle`. */
function lineOf(text: string, needle: string): number {
  return text.split("\n").findIndex((l) => l.includes(needle)) + 1;
}

describe("the real engine decides translated configs as Istio would", () => {
  let as: ASInstance;
  let t: RouteTranslation;
  beforeAll(async () => {
    as = await loadAS("test/fixtures/as/route.ts");
    as.exports._initialize?.();
    const { documents, errors } = await loadAndValidate(["examples/payments"]);
    expect(errors).toEqual([]);
    t = translateRoutes(buildConfigSet(documents), sidecarProxy("production"));
  }, 120_000);

  const utf8 = (s: string) => as.exports.__pin(as.newArrayBuffer(new TextEncoder().encode(s)));
  function load(config: EngineRouteConfig): string {
    const p = utf8(JSON.stringify(config));
    const out = as.getString(as.exports.loadConfig(p));
    as.exports.__unpin(p);
    return out;
  }
  function decide(req: object): any {
    const p = utf8(JSON.stringify({ method: "GET", scheme: "http", path: "/pay", port: 8080, ...req }));
    const out = JSON.parse(as.getString(as.exports.decideJson(p)));
    as.exports.__unpin(p);
    return out;
  }

  test("examples/payments: every domain form routes, canary by header, 90/10 otherwise, unknown hosts pass through", () => {
    expect(load(routeConfigForPort(t, 8080)!)).toBe("");
    const host = "payment-service.production.svc.cluster.local";
    for (const authority of ["payment-service", "payment-service:8080", "payment-service.production", `${host}:8080`]) {
      expect(decide({ authority, seed: 1 }).route_name).toBe("stable");
    }
    expect(decide({ authority: "payment-service:8080", headers: [["x-env", "canary"]] })).toMatchObject({
      cluster: `outbound|8080|v2-canary|${host}`,
      timeout_ms: 30000,
      retries: { attempts: 3, per_try_timeout_ms: 2000, retry_on: "5xx,connect-failure" },
    });
    let v1 = 0;
    const n = 2000;
    for (let seed = 0; seed < n; seed++) if (decide({ authority: "payment-service:8080", seed }).cluster === `outbound|8080|v1|${host}`) v1++;
    expect(v1 / n).toBeGreaterThan(0.87);
    expect(v1 / n).toBeLessThan(0.93);
    expect(decide({ authority: "elsewhere.example:8080" })).toMatchObject({ cluster: "PassthroughCluster", retries: null });
  });

  test("every config the tables above produce loads in the engine", () => {
    const t2 = translate(REVIEWS + RATINGS + REVIEWS_DR, sidecarProxy("foo"));
    for (const c of t2.routeConfigs) expect(load(c.config)).toBe("");
  });
});
