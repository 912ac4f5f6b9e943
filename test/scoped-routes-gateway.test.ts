// Scoped routes end to end in the gateway (static bootstrap, inline scopes): halyard.fault + halyard.route with a
// `"scoped": true` configuration choose the virtual host, write x-halyard-scope and clear the route cache; the HCM
// re-resolves the route in that scope; the filters read the scope's routes from xds.route_metadata and decide.
// Real upstreams on 127.0.0.1, real wasm.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseBootstrap } from "../gateway/bootstrap/parse.js";
import { startGateway, type RunningGateway } from "../gateway/gateway.js";
import { bootstrap } from "./helpers/envoy-bootstrap.js";
import { httpRequest, startUpstream, type Upstream } from "./helpers/gateway-process.js";
import { SCOPE_HEADER, scopedListener, staticCluster, type ScopedHost } from "./helpers/scoped-bootstrap.js";

/** The bootstrap's one-line error for a scoped listener changed by `edit` (its scoped_routes object). */
function bootstrapError(edit: (scopedRoutes: any) => void): string {
  const l = scopedListener({ name: "l", listenPort: 0, servicePort: PORT, hosts: [{ name: "a", domains: ["a"], routes: [] }], inline: true }) as any;
  edit(l.filter_chains[0].filters[0].typed_config.scoped_routes);
  try {
    parseBootstrap("scoped.yaml", JSON.stringify(bootstrap([l], [])), { resolvePath: (n) => n });
    return "";
  } catch (e) {
    return (e as Error).message;
  }
}

const PORT = 9080;
let gw: RunningGateway;
let v1: Upstream, v2: Upstream, ratings: Upstream;
let base = "";
const logs: string[] = [];
const originalError = console.error;

const hosts = (): ScopedHost[] => [
  {
    name: "reviews.ns.svc.cluster.local:9080",
    domains: ["reviews", "reviews:9080", "reviews.ns.svc.cluster.local", "reviews.ns.svc.cluster.local:9080"],
    routes: [
      { name: "jason", match: [{ headers: { "end-user": { exact: "jason" } } }], route: [{ cluster: "outbound|9080|v2|reviews" }] },
      { name: "default", route: [{ cluster: "outbound|9080|v1|reviews", weight: 50 }, { cluster: "outbound|9080|v2|reviews", weight: 50 }] },
    ],
  },
  {
    name: "ratings.ns.svc.cluster.local:9080",
    domains: ["ratings", "ratings:9080"],
    routes: [
      { name: "teapot", match: [{ headers: { "x-fault": { exact: "abort" } } }], route: [{ cluster: "outbound|9080||ratings" }], fault: { abort: { http_status: 418, percentage: 100 } } },
      { name: "default", route: [{ cluster: "outbound|9080||ratings" }] },
    ],
  },
  // Its scope's route carries no metadata: the filters must answer 500, not trap or route.
  { name: "broken:9080", domains: ["broken"] },
];

beforeAll(async () => {
  [v1, v2, ratings] = await Promise.all([startUpstream("reviews-v1"), startUpstream("reviews-v2"), startUpstream("ratings")]);
  const doc = bootstrap(
    [scopedListener({ name: "outbound_9080", listenPort: 0, servicePort: PORT, hosts: hosts(), inline: true })],
    [
      staticCluster("outbound|9080|v1|reviews", [v1.port]),
      staticCluster("outbound|9080|v2|reviews", [v2.port]),
      staticCluster("outbound|9080||ratings", [ratings.port]),
    ],
  );
  const config = parseBootstrap("scoped.yaml", JSON.stringify(doc), { resolvePath: (n) => n });
  console.error = (...args: unknown[]) => logs.push(args.join(" "));
  gw = await startGateway(config, { logLevel: "error" });
  base = `http://127.0.0.1:${gw.listeners[0]!.address.port}`;
}, 60_000);

afterAll(async () => {
  console.error = originalError;
  await gw?.close();
  await Promise.all([v1, v2, ratings].map((u) => u?.close()));
});

const get = (host: string, headers: Record<string, string> = {}, path = "/") => httpRequest(`${base}${path}`, { headers: { host, ...headers } });

describe("scoped routes through the gateway", () => {
  it("weighted split inside the reviews scope (50/50 over 200 requests)", async () => {
    const seen: Record<string, number> = {};
    for (let i = 0; i < 200; i++) {
      const r = await get("reviews:9080");
      expect(r.status).toBe(200);
      const up = String(r.headers["x-upstream"]);
      seen[up] = (seen[up] ?? 0) + 1;
    }
    expect(seen["reviews-v1"]).toBeGreaterThan(60);
    expect(seen["reviews-v2"]).toBeGreaterThan(60);
    expect(seen["ratings"]).toBeUndefined();
  });

  it("header match picks the jason route", async () => {
    for (let i = 0; i < 20; i++) {
      const r = await get("reviews", { "end-user": "jason" });
      expect(r.headers["x-upstream"]).toBe("reviews-v2");
    }
  });

  it("fault from the scope's routes (halyard.fault reads the same metadata)", async () => {
    const aborted = await get("ratings:9080", { "x-fault": "abort" });
    expect(aborted.status).toBe(418);
    expect(aborted.body).toBe("fault filter abort");
    const ok = await get("ratings:9080");
    expect(ok.status).toBe(200);
    expect(ok.headers["x-upstream"]).toBe("ratings");
  });

  it("unknown host: 404 with an empty body (Envoy's NR), nothing upstream", async () => {
    const before = v1.seen.length + v2.seen.length + ratings.seen.length;
    const r = await get("unknown.example:9080");
    expect(r.status).toBe(404);
    expect(r.body).toBe("");
    expect(v1.seen.length + v2.seen.length + ratings.seen.length).toBe(before);
  });

  it("a client-sent x-halyard-scope cannot pick another service's scope", async () => {
    for (let i = 0; i < 20; i++) {
      const r = await get("ratings", { [SCOPE_HEADER]: "9080/reviews.ns.svc.cluster.local:9080" });
      expect(r.headers["x-upstream"]).toBe("ratings");
    }
    const none = await get("unknown.example", { [SCOPE_HEADER]: "9080/reviews.ns.svc.cluster.local:9080" });
    expect(none.status).toBe(404);
    const fromFault = await get("ratings", { [SCOPE_HEADER]: "9080/reviews.ns.svc.cluster.local:9080", "x-fault": "abort" });
    expect(fromFault.status).toBe(418);
  });

  it("x-halyard-scope and x-halyard-cluster never reach an upstream", async () => {
    await get("reviews", { [SCOPE_HEADER]: "9080/ratings.ns.svc.cluster.local:9080", "x-halyard-cluster": "outbound|9080||ratings" });
    const all = [...v1.seen, ...v2.seen, ...ratings.seen];
    expect(all.length).toBeGreaterThan(200);
    for (const r of all) {
      expect(r.headers[SCOPE_HEADER]).toBeUndefined();
      expect(r.headers["x-halyard-cluster"]).toBeUndefined();
    }
  });

  it("a scope whose route has no metadata answers 500 with a clear log line", async () => {
    const r = await get("broken");
    expect(r.status).toBe(500);
    expect(logs.join("\n")).toMatch(/halyard\.fault: scope "9080\/broken:9080": the route has no metadata \(property xds\.route_metadata: status 1\)/);
  });
});

describe("scoped_routes in a static bootstrap: what is refused, one line naming the field", () => {
  const at = "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.scoped_routes";
  it("a scope without an inline route_configuration needs RDS (xDS)", () => {
    expect(bootstrapError((sr) => delete sr.scoped_route_configurations_list.scoped_route_configurations[0].route_configuration)).toContain(
      `${at}.scoped_route_configurations_list.scoped_route_configurations[0].route_configuration_name: RDS is only supported for listeners received over xDS (LDS); give route_configuration inline`,
    );
  });
  it("element_separator, element and scoped_rds", () => {
    expect(bootstrapError((sr) => (sr.scope_key_builder.fragments[0].header_value_extractor.element_separator = ";"))).toContain(
      `${at}.scope_key_builder.fragments[0].header_value_extractor.element_separator: not supported by halyard gateway (the whole header value is the scope key)`,
    );
    expect(bootstrapError((sr) => (sr.scope_key_builder.fragments[0].header_value_extractor.element = { separator: "=", key: "k" }))).toContain(
      `${at}.scope_key_builder.fragments[0].header_value_extractor.element: not supported by halyard gateway`,
    );
    expect(
      bootstrapError((sr) => {
        delete sr.scoped_route_configurations_list;
        sr.scoped_rds = { scoped_rds_config_source: { ads: {} } };
      }),
    ).toContain(`${at}.scoped_rds: not supported by halyard gateway`);
  });
  it("duplicate scope keys", () => {
    expect(
      bootstrapError((sr) => {
        const list = sr.scoped_route_configurations_list.scoped_route_configurations;
        list.push({ ...list[0], name: "other" });
      }),
    ).toContain(`${at}.scoped_route_configurations_list.scoped_route_configurations[1].key: scope key "9080/a" is already used by scope "9080/a"`);
  });
});
