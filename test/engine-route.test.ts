// engine/route: Istio HTTP route semantics, decided inside real wasm compiled from the engine.
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
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
  as = await loadAS("test/fixtures/as/route.ts");
  // asconfig.json exports the start function as _initialize (proxy-wasm style); run it so the
  // module's globals exist before the first call.
  as.exports._initialize?.();
});

/** Loads a config; returns "" or the decoder's error. */
function load(config: unknown): string {
  const text = typeof config === "string" ? config : JSON.stringify(config);
  const out = as.getString(as.exports.loadConfig(utf8(text)));
  release();
  return out;
}

interface Req {
  method?: string;
  scheme?: string;
  authority?: string;
  path?: string;
  port?: number;
  headers?: [string, string][];
  seed?: number;
}

function decide(req: Req): any {
  const full = { method: "GET", scheme: "http", authority: "reviews", path: "/", port: 9080, ...req };
  const out = as.getString(as.exports.decideJson(utf8(JSON.stringify(full))));
  release();
  return JSON.parse(out);
}

const C1 = "outbound|9080|v1|reviews.foo.svc.cluster.local";
const C2 = "outbound|9080|v2|reviews.foo.svc.cluster.local";
const C3 = "outbound|9080|v3|reviews.foo.svc.cluster.local";

/** One virtual host "reviews" with the given routes. */
function vh(routes: unknown[], domains = ["reviews", "reviews:9080", "reviews.foo.svc.cluster.local"]) {
  return { virtual_hosts: [{ name: "reviews.foo.svc.cluster.local:9080", domains, routes }] };
}
const to = (cluster: string, extra: object = {}) => ({ route: [{ cluster }], ...extra });

function loadOk(config: unknown) {
  expect(load(config)).toBe("");
}

describe("CONFIG.md", () => {
  it("its example loads and routes as described", () => {
    const doc = readFileSync(new URL("../engine/route/CONFIG.md", import.meta.url), "utf8");
    const example = doc.split("## Example")[1].split("```json")[1].split("```")[0];
    expect(load(example)).toBe("");
    const jason = decide({ authority: "reviews.foo:9080", headers: [["end-user", "jason"]] });
    expect(jason).toMatchObject({ kind: "route", route_name: "jason", cluster: "outbound|9080|v2|reviews.foo.svc.cluster.local", delay_ms: 7000 });
    const other = decide({ authority: "reviews" });
    expect(other).toMatchObject({ kind: "route", route_name: "default", timeout_ms: 10000 });
    expect(other.retries).toEqual({ attempts: 3, per_try_timeout_ms: 2000, retry_on: "5xx", retriable_status_codes: [] });
  });
});

describe("virtual host selection", () => {
  beforeAll(() =>
    loadOk({
      virtual_hosts: [
        { name: "exact", domains: ["api.example.com", "api.example.com:8080"], routes: [{ name: "e", ...to("exact") }] },
        { name: "deep", domains: ["*.b.example.com"], routes: [{ name: "d", ...to("deep") }] },
        { name: "wild", domains: ["*.example.com"], routes: [{ name: "w", ...to("wild") }] },
        { name: "pre", domains: ["internal.*"], routes: [{ name: "p", ...to("pre") }] },
        { name: "any", domains: ["*"], routes: [{ name: "a", ...to("any") }] },
      ],
    }),
  );
  it.each([
    ["api.example.com", "exact"],
    ["API.Example.COM", "exact"],
    ["api.example.com:8080", "exact"],
    // Domains match the whole authority: an unlisted port form misses exact and suffix entries.
    ["api.example.com:9999", "any"],
    ["x.example.com", "wild"],
    ["a.b.example.com", "deep"],
    ["x.y.b.example.com", "deep"],
    ["b.example.com", "wild"],
    ["example.com", "any"],
    ["internal.corp", "pre"],
    ["internal.", "any"],
    ["other.org", "any"],
  ])("%s -> %s", (authority, host) => {
    const d = decide({ authority });
    expect(d.virtual_host).toBe(host);
    expect(d.cluster).toBe(host);
  });

  it("no matching virtual host is no_route", () => {
    loadOk({ virtual_hosts: [{ name: "only", domains: ["only"], routes: [to("c")] }] });
    expect(decide({ authority: "other" })).toMatchObject({ kind: "no_route", virtual_host: "", cluster: "" });
  });

  it("ignore_port_in_host_matching strips the port first", () => {
    loadOk({ ignore_port_in_host_matching: true, virtual_hosts: [{ name: "h", domains: ["h.example"], routes: [to("c")] }] });
    expect(decide({ authority: "h.example:1234" }).kind).toBe("route");
    expect(decide({ authority: "h.example" }).kind).toBe("route");
  });
});

describe("route order and match structure", () => {
  beforeAll(() =>
    loadOk(
      vh([
        {
          name: "r1",
          match: [
            { name: "m1", uri: { prefix: "/a" }, method: { exact: "POST" } },
            { name: "m2", uri: { exact: "/b" } },
          ],
          ...to(C1),
        },
        { name: "r2", match: [{ uri: { prefix: "/a" } }], ...to(C2) },
        { name: "r3", ...to(C3) },
      ]),
    ),
  );
  it.each([
    [{ method: "POST", path: "/a/x" }, "r1.m1", C1], // both fields of m1 hold (AND)
    [{ method: "GET", path: "/a/x" }, "r2", C2], // m1 fails on method, r2 is next
    [{ method: "GET", path: "/b" }, "r1.m2", C1], // entries are ORed
    [{ method: "GET", path: "/b?x=1" }, "r1.m2", C1], // exact ignores the query
    [{ method: "GET", path: "/b/" }, "r3", C3], // no match entries = catch-all
    [{ method: "GET", path: "/" }, "r3", C3],
  ])("%j -> %s", (req, name, cluster) => {
    const d = decide(req as Req);
    expect(d.kind).toBe("route");
    expect(d.route_name).toBe(name);
    expect(d.cluster).toBe(cluster);
  });

  it("without a catch-all, an unmatched request is no_route", () => {
    loadOk(vh([{ name: "only", match: [{ uri: { exact: "/x" } }], ...to(C1) }]));
    const d = decide({ path: "/y" });
    expect(d.kind).toBe("no_route");
    expect(d.virtual_host).toBe("reviews.foo.svc.cluster.local:9080");
  });
});

describe("first match wins across literal, regex and case-folded entries", () => {
  beforeAll(() =>
    loadOk(
      vh([
        { name: "r1", match: [{ uri: { prefix: "/a/b" } }], ...to("r1") },
        { name: "r2", match: [{ uri: { regex: "/a/.*" } }], ...to("r2") },
        { name: "r3", match: [{ uri: { prefix: "/a" } }], ...to("r3") },
        { name: "r4", match: [{ uri: { exact: "/A/b/C" }, ignore_uri_case: true }], ...to("r4") },
        { name: "r5", ...to("r5") },
      ]),
    ),
  );
  it.each([
    ["/a/b/c", "r1"],
    ["/a/x", "r2"],
    ["/a", "r3"],
    ["/ab", "r3"],
    ["/A/B/C", "r4"],
    ["/a/B/c", "r2"],
    ["/zzz", "r5"],
  ])("%s -> %s", (path, name) => {
    expect(decide({ path }).route_name).toBe(name);
  });

  it("agrees with a direct reading of the rules on random tables (fast-check)", () => {
    type Entry = { kind: "exact" | "prefix" | "none"; lit: string; fold: boolean };
    const lit = fc.stringMatching(/^\/[abAB/?]{0,4}$/);
    const entry = fc.record({
      kind: fc.constantFrom("exact", "prefix", "none") as fc.Arbitrary<Entry["kind"]>,
      lit,
      fold: fc.boolean(),
    });
    const table = fc.array(fc.array(entry, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 8 });
    const paths = fc.array(fc.stringMatching(/^\/[abAB/?=]{0,6}$/), { minLength: 1, maxLength: 8 });
    const fold = (s: string) => s.toLowerCase();
    const reference = (routes: Entry[][], path: string): string => {
      const pathOnly = path.split("?")[0];
      for (let i = 0; i < routes.length; i++) {
        for (const e of routes[i]) {
          const f = (s: string) => (e.fold ? fold(s) : s);
          if (e.kind === "none") return `r${i}`;
          if (e.kind === "exact" && f(pathOnly) === f(e.lit)) return `r${i}`;
          if (e.kind === "prefix" && f(path).startsWith(f(e.lit))) return `r${i}`;
        }
      }
      return "";
    };
    fc.assert(
      fc.property(table, paths, (routes, ps) => {
        const config = vh(
          routes.map((entries, i) => ({
            name: `r${i}`,
            match: entries.map((e) => (e.kind === "none" ? {} : { uri: { [e.kind]: e.lit }, ignore_uri_case: e.fold })),
            route: [{ cluster: `r${i}` }],
          })),
        );
        expect(load(config)).toBe("");
        for (const path of ps) expect(decide({ path }).cluster).toBe(reference(routes, path));
      }),
      { numRuns: 300 },
    );
  });
});

describe("match fields", () => {
  type Case = [string, object, Req, boolean];
  const cases: Case[] = [
    // uri
    ["uri exact", { uri: { exact: "/api" } }, { path: "/api" }, true],
    ["uri exact is not a prefix", { uri: { exact: "/api" } }, { path: "/api/v1" }, false],
    ["uri exact ignores query", { uri: { exact: "/api" } }, { path: "/api?q=1" }, true],
    ["uri exact is case-sensitive", { uri: { exact: "/api" } }, { path: "/API" }, false],
    ["uri exact ignore_uri_case", { uri: { exact: "/Api" }, ignore_uri_case: true }, { path: "/aPI?x" }, true],
    ["uri prefix plain string", { uri: { prefix: "/api" } }, { path: "/apix" }, true],
    ["uri prefix miss", { uri: { prefix: "/api" } }, { path: "/ap" }, false],
    ["uri prefix ignore_uri_case", { uri: { prefix: "/API/" }, ignore_uri_case: true }, { path: "/api/x" }, true],
    ["uri prefix without ignore_uri_case", { uri: { prefix: "/API/" } }, { path: "/api/x" }, false],
    ["uri prefix sees the query", { uri: { prefix: "/a?x=" } }, { path: "/a?x=1" }, true],
    ["uri {} is catch-all", { uri: {} }, { path: "/anything" }, true],
    // scheme / method / authority
    ["scheme exact", { scheme: { exact: "https" } }, { scheme: "https" }, true],
    ["scheme exact miss", { scheme: { exact: "https" } }, { scheme: "http" }, false],
    ["method exact", { method: { exact: "PUT" } }, { method: "PUT" }, true],
    ["method exact is case-sensitive", { method: { exact: "put" } }, { method: "PUT" }, false],
    ["method prefix", { method: { prefix: "PO" } }, { method: "POST" }, true],
    ["authority exact includes port", { authority: { exact: "reviews:9080" } }, { authority: "reviews:9080" }, true],
    ["authority exact miss", { authority: { exact: "reviews" } }, { authority: "reviews:9080" }, false],
    ["authority prefix", { authority: { prefix: "rev" } }, { authority: "reviews" }, true],
    // headers
    ["header exact", { headers: { "x-user": { exact: "jason" } } }, { headers: [["x-user", "jason"]] }, true],
    ["header exact miss", { headers: { "x-user": { exact: "jason" } } }, { headers: [["x-user", "json"]] }, false],
    ["header missing", { headers: { "x-user": { exact: "jason" } } }, {}, false],
    ["header name is case-insensitive in config", { headers: { "X-User": { exact: "a" } } }, { headers: [["x-user", "a"]] }, true],
    ["header prefix", { headers: { "x-user": { prefix: "ja" } } }, { headers: [["x-user", "jason"]] }, true],
    ["header {} is present", { headers: { "x-user": {} } }, { headers: [["x-user", ""]] }, true],
    ["header {} absent", { headers: { "x-user": {} } }, {}, false],
    ["header regex * is present", { headers: { "x-user": { regex: "*" } } }, { headers: [["x-user", "zz"]] }, true],
    ["header regex * absent", { headers: { "x-user": { regex: "*" } } }, {}, false],
    ["header exact '' needs present and empty", { headers: { "x-e": { exact: "" } } }, { headers: [["x-e", ""]] }, true],
    ["header exact '' vs absent", { headers: { "x-e": { exact: "" } } }, {}, false],
    ["header exact '' vs value", { headers: { "x-e": { exact: "" } } }, { headers: [["x-e", "v"]] }, false],
    ["repeated header values joined with ','", { headers: { "x-a": { exact: "1,2" } } }, { headers: [["x-a", "1"], ["x-a", "2"]] }, true],
    ["two headers ANDed", { headers: { "x-a": { exact: "1" }, "x-b": { exact: "2" } } }, { headers: [["x-a", "1"]] }, false],
    ["pseudo-header :method", { headers: { ":method": { exact: "GET" } } }, {}, true],
    // without_headers
    ["without exact: other value", { without_headers: { "x-a": { exact: "1" } } }, { headers: [["x-a", "2"]] }, true],
    ["without exact: same value", { without_headers: { "x-a": { exact: "1" } } }, { headers: [["x-a", "1"]] }, false],
    ["without exact: missing header", { without_headers: { "x-a": { exact: "1" } } }, {}, true],
    ["without exact '': missing counts as empty", { without_headers: { "x-a": { exact: "" } } }, {}, false],
    ["without exact '': non-empty", { without_headers: { "x-a": { exact: "" } } }, { headers: [["x-a", "v"]] }, true],
    ["without prefix '': missing counts as empty", { without_headers: { "x-a": { prefix: "" } } }, {}, false],
    ["without {}: absent", { without_headers: { "x-a": {} } }, {}, true],
    ["without {}: present", { without_headers: { "x-a": {} } }, { headers: [["x-a", ""]] }, false],
    ["without regex *: present", { without_headers: { "x-a": { regex: "*" } } }, { headers: [["x-a", "v"]] }, false],
    // query params
    ["query exact", { query_params: { v: { exact: "2" } } }, { path: "/p?a=1&v=2" }, true],
    ["query exact miss", { query_params: { v: { exact: "2" } } }, { path: "/p?v=3" }, false],
    ["query first value wins", { query_params: { v: { exact: "2" } } }, { path: "/p?v=1&v=2" }, false],
    ["query prefix", { query_params: { v: { prefix: "ab" } } }, { path: "/p?v=abc" }, true],
    ["query not decoded", { query_params: { v: { exact: "a b" } } }, { path: "/p?v=a%20b" }, false],
    ["query {} present without '='", { query_params: { debug: {} } }, { path: "/p?debug" }, true],
    ["query {} absent", { query_params: { debug: {} } }, { path: "/p?x=debug" }, false],
    ["query exact '' without '='", { query_params: { debug: { exact: "" } } }, { path: "/p?debug" }, true],
    ["query stops at fragment", { query_params: { v: { exact: "1" } } }, { path: "/p?v=1#frag" }, true],
    ["query none", { query_params: { v: {} } }, { path: "/p" }, false],
    // port
    ["port equal", { port: 9080 }, { port: 9080 }, true],
    ["port differs", { port: 9080 }, { port: 8080 }, false],
  ];
  it.each(cases)("%s", (_name, match, req, expected) => {
    loadOk(vh([{ name: "m", match: [match], ...to(C1) }]));
    const d = decide(req);
    expect(d.kind).toBe(expected ? "route" : "no_route");
  });
});

describe("regex (RE2 full match through engine/regex)", () => {
  type Case = [string, object, Req, boolean];
  const cases: Case[] = [
    ["uri regex full match", { uri: { regex: "/api/v[0-9]+" } }, { path: "/api/v12" }, true],
    ["uri regex is anchored", { uri: { regex: "/api/v[0-9]+" } }, { path: "/api/v12/x" }, false],
    ["uri regex ignores query", { uri: { regex: "/api/v[0-9]+" } }, { path: "/api/v1?x=y" }, true],
    ["uri regex not case-folded", { uri: { regex: "/api" }, ignore_uri_case: true }, { path: "/API" }, false],
    ["header regex", { headers: { "x-v": { regex: "v[12]" } } }, { headers: [["x-v", "v2"]] }, true],
    ["header regex full match", { headers: { "x-v": { regex: "v[12]" } } }, { headers: [["x-v", "v21"]] }, false],
    ["without regex: missing counts as empty", { without_headers: { "x-v": { regex: ".*" } } }, {}, false],
    ["without regex: no match", { without_headers: { "x-v": { regex: "a+" } } }, { headers: [["x-v", "b"]] }, true],
    ["query regex", { query_params: { id: { regex: "[0-9]+" } } }, { path: "/p?id=42" }, true],
    ["authority regex", { authority: { regex: "rev.*" } }, { authority: "reviews" }, true],
    ["method regex", { method: { regex: "GET|HEAD" } }, { method: "HEAD" }, true],
  ];
  it.each(cases)("%s", (_name, match, req, expected) => {
    loadOk(vh([{ name: "m", match: [match], ...to(C1) }]));
    expect(decide(req).kind).toBe(expected ? "route" : "no_route");
  });

  it("uri_regex rewrite substitutes back-references and keeps the query", () => {
    loadOk(
      vh([
        {
          name: "rx",
          match: [{ uri: { prefix: "/z2m" } }],
          route: [{ cluster: C1 }],
          rewrite: { uri_regex: { match: "/z2m(/|$)(.*)", rewrite: "/\\2" } },
        },
      ]),
    );
    expect(decide({ path: "/z2m/api/x?y=1" })).toMatchObject({ path: "/api/x?y=1", path_rewritten: true });
    expect(decide({ path: "/z2m" })).toMatchObject({ path: "/", path_rewritten: true });
  });

  it("rewrite.uri on a regex match replaces the whole path", () => {
    loadOk(vh([{ name: "rx", match: [{ uri: { regex: "/v[0-9]/.*" } }], route: [{ cluster: C1 }], rewrite: { uri: "/new" } }]));
    expect(decide({ path: "/v1/items?q=2" }).path).toBe("/new?q=2");
  });
});

describe("weighted destinations", () => {
  const sample = (n: number) => {
    const counts = new Map<string, number>();
    for (let seed = 0; seed < n; seed++) {
      const c = decide({ seed }).cluster;
      counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    return counts;
  };

  it("splits 90/10 within ±2% over 10 000 samples", () => {
    loadOk(vh([{ name: "w", route: [{ cluster: C1, weight: 90 }, { cluster: C2, weight: 10 }] }]));
    const counts = sample(10_000);
    expect(Math.abs((counts.get(C1) ?? 0) / 10_000 - 0.9)).toBeLessThan(0.02);
    expect(Math.abs((counts.get(C2) ?? 0) / 10_000 - 0.1)).toBeLessThan(0.02);
  });

  it("weights are relative (1:1:2 need not sum to 100)", () => {
    loadOk(vh([{ name: "w", route: [{ cluster: C1, weight: 1 }, { cluster: C2, weight: 1 }, { cluster: C3, weight: 2 }] }]));
    const counts = sample(10_000);
    expect(Math.abs((counts.get(C1) ?? 0) / 10_000 - 0.25)).toBeLessThan(0.02);
    expect(Math.abs((counts.get(C2) ?? 0) / 10_000 - 0.25)).toBeLessThan(0.02);
    expect(Math.abs((counts.get(C3) ?? 0) / 10_000 - 0.5)).toBeLessThan(0.02);
  });

  it("a single destination ignores its weight, zero-weight ones are never chosen", () => {
    loadOk(vh([{ name: "one", route: [{ cluster: C1, weight: 0 }] }]));
    expect(decide({}).cluster).toBe(C1);
    loadOk(vh([{ name: "z", route: [{ cluster: C1, weight: 0 }, { cluster: C2, weight: 5 }] }]));
    expect(sample(500).get(C2)).toBe(500);
  });

  it("the same seed gives the same choice", () => {
    loadOk(vh([{ name: "w", route: [{ cluster: C1, weight: 50 }, { cluster: C2, weight: 50 }] }]));
    for (let seed = 0; seed < 20; seed++) expect(decide({ seed }).cluster).toBe(decide({ seed }).cluster);
  });
});

describe("redirect", () => {
  type Case = [string, object, Req, number, string];
  const cases: Case[] = [
    ["uri only, query kept", { uri: "/new" }, { path: "/old?a=1" }, 301, "http://reviews/new?a=1"],
    ["uri with its own query", { uri: "/new?b=2" }, { path: "/old?a=1" }, 301, "http://reviews/new?b=2"],
    ["no uri keeps the path", { authority: "example.com" }, { path: "/p?q" }, 301, "http://example.com/p?q"],
    ["scheme https", { scheme: "https" }, { authority: "reviews", path: "/" }, 301, "https://reviews/"],
    ["https drops request :80", { scheme: "https" }, { authority: "reviews:80", path: "/x" }, 301, "https://reviews/x"],
    ["other request port kept", { scheme: "https" }, { authority: "reviews:8080", path: "/x" }, 301, "https://reviews:8080/x"],
    ["port 8443", { scheme: "https", port: 8443 }, { authority: "reviews:80" }, 301, "https://reviews:8443/"],
    ["port 443 omitted for https", { scheme: "https", port: 443 }, { authority: "reviews:80" }, 301, "https://reviews/"],
    ["port 80 omitted for http", { port: 80 }, { authority: "reviews:9080" }, 301, "http://reviews/"],
    ["port 80 kept for https", { scheme: "https", port: 80 }, { authority: "reviews" }, 301, "https://reviews:80/"],
    ["FROM_REQUEST_PORT", { derive_port: "FROM_REQUEST_PORT", authority: "a.example" }, { port: 9080 }, 301, "http://a.example:9080/"],
    ["FROM_REQUEST_PORT 443 on https", { derive_port: "FROM_REQUEST_PORT", scheme: "https" }, { port: 443, authority: "h:443" }, 301, "https://h/"],
    ["FROM_PROTOCOL_DEFAULT", { derive_port: "FROM_PROTOCOL_DEFAULT", scheme: "https" }, { authority: "h:8080" }, 301, "https://h/"],
    ["redirect_code 302", { uri: "/x", redirect_code: 302 }, {}, 302, "http://reviews/x"],
    ["redirect_code 308", { uri: "/x", redirect_code: 308 }, {}, 308, "http://reviews/x"],
    ["relative uri gets a slash", { uri: "x" }, {}, 301, "http://reviews/x"],
    ["IPv6 authority port", { scheme: "https" }, { authority: "[::1]:80" }, 301, "https://[::1]/"],
  ];
  it.each(cases)("%s", (_n, redirect, req, status, location) => {
    loadOk(vh([{ name: "rd", redirect }], ["*"]));
    const d = decide(req);
    expect(d).toMatchObject({ kind: "redirect", redirect_status: status, location, route_name: "rd", cluster: "" });
  });
});

describe("rewrite", () => {
  type Case = [string, object, object, Req, string];
  const cases: Case[] = [
    ["prefix replaced", { uri: { prefix: "/old" } }, { uri: "/new" }, { path: "/old/x?q=1" }, "/new/x?q=1"],
    ["prefix to /", { uri: { prefix: "/api/" } }, { uri: "/" }, { path: "/api/items" }, "/items"],
    ["exact replaces whole path, query kept", { uri: { exact: "/a" } }, { uri: "/b" }, { path: "/a?z=1" }, "/b?z=1"],
    ["ignore-case prefix replaced by length", { uri: { prefix: "/OLD" }, ignore_uri_case: true }, { uri: "/n" }, { path: "/old/x" }, "/n/x"],
    ["no uri match replaces the implicit '/'", {}, { uri: "/v2" }, { path: "/foo" }, "/v2foo"],
  ];
  it.each(cases)("%s", (_n, match, rewrite, req, path) => {
    loadOk(vh([{ name: "rw", match: [match], route: [{ cluster: C1 }], rewrite }]));
    expect(decide(req)).toMatchObject({ kind: "route", path, path_rewritten: true });
  });

  it("authority rewrite; route-level wins over destination-level", () => {
    loadOk(vh([{ name: "a", route: [{ cluster: C1, authority: "dest.example" }], rewrite: { authority: "route.example" } }]));
    expect(decide({})).toMatchObject({ authority: "route.example", authority_rewritten: true, path: "/", path_rewritten: false });
    loadOk(vh([{ name: "a", route: [{ cluster: C1, authority: "dest.example" }] }]));
    expect(decide({})).toMatchObject({ authority: "dest.example", authority_rewritten: true });
    loadOk(vh([{ name: "a", route: [{ cluster: C1 }] }]));
    expect(decide({ authority: "reviews:9080" })).toMatchObject({ authority: "reviews:9080", authority_rewritten: false });
  });
});

describe("direct_response", () => {
  it("string body", () => {
    loadOk(vh([{ name: "dr", direct_response: { status: 503, body: { string: "unavailable ✓" } } }]));
    expect(decide({})).toMatchObject({ kind: "direct_response", status: 503, body: "unavailable ✓", cluster: "" });
  });
  it("bytes body (base64)", () => {
    loadOk(vh([{ name: "dr", direct_response: { status: 200, body: { bytes: Buffer.from("hi there").toString("base64") } } }]));
    expect(decide({})).toMatchObject({ kind: "direct_response", status: 200, body: "hi there" });
  });
  it("no body", () => {
    loadOk(vh([{ name: "dr", direct_response: { status: 204 } }]));
    expect(decide({})).toMatchObject({ kind: "direct_response", status: 204, body: "" });
  });
});

describe("retries and timeout", () => {
  const DEFAULT_ON = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";
  type Case = [string, object | undefined, unknown];
  const cases: Case[] = [
    ["absent: Istio default", undefined, { attempts: 2, per_try_timeout_ms: 0, retry_on: DEFAULT_ON, retriable_status_codes: [503] }],
    ["attempts 0 disables", { attempts: 0, retry_on: "5xx" }, null],
    ["attempts -1 disables", { attempts: -1 }, null],
    ["attempts missing disables", { per_try_timeout_ms: 100 }, null],
    ["attempts only keeps default conditions", { attempts: 5 }, { attempts: 5, per_try_timeout_ms: 0, retry_on: DEFAULT_ON, retriable_status_codes: [503] }],
    ["numeric entries become status codes", { attempts: 3, retry_on: "5xx, 502,503,reset" }, { attempts: 3, per_try_timeout_ms: 0, retry_on: "5xx,reset,retriable-status-codes", retriable_status_codes: [502, 503] }],
    ["codes only", { attempts: 1, retry_on: "429" }, { attempts: 1, per_try_timeout_ms: 0, retry_on: "retriable-status-codes", retriable_status_codes: [429] }],
    ["no codes: none retriable", { attempts: 1, retry_on: "gateway-error" }, { attempts: 1, per_try_timeout_ms: 0, retry_on: "gateway-error", retriable_status_codes: [] }],
    ["per-try timeout", { attempts: 2, per_try_timeout_ms: 250, retry_on: "5xx" }, { attempts: 2, per_try_timeout_ms: 250, retry_on: "5xx", retriable_status_codes: [] }],
  ];
  it.each(cases)("%s", (_n, retries, expected) => {
    loadOk(vh([{ name: "r", route: [{ cluster: C1 }], ...(retries ? { retries } : {}) }]));
    expect(decide({}).retries).toEqual(expected);
  });
  it("timeout: none by default, else timeout_ms", () => {
    loadOk(vh([{ name: "r", route: [{ cluster: C1 }] }]));
    expect(decide({}).timeout_ms).toBe(0);
    loadOk(vh([{ name: "r", route: [{ cluster: C1 }], timeout_ms: 1500 }]));
    expect(decide({}).timeout_ms).toBe(1500);
  });
});

describe("fault injection", () => {
  const rate = (pred: (d: any) => boolean, n = 10_000) => {
    let hits = 0;
    for (let seed = 0; seed < n; seed++) if (pred(decide({ seed }))) hits++;
    return hits / n;
  };

  it("delay and abort each follow their own percentage (±2% over 10 000)", () => {
    loadOk(
      vh([
        {
          name: "f",
          route: [{ cluster: C1 }],
          fault: { delay: { fixed_delay_ms: 5000, percentage: 30 }, abort: { http_status: 503, percentage: 10 } },
        },
      ]),
    );
    expect(Math.abs(rate((d) => d.delay_ms === 5000) - 0.3)).toBeLessThan(0.02);
    expect(Math.abs(rate((d) => d.abort_http_status === 503) - 0.1)).toBeLessThan(0.02);
    // independent draws: both happen ~3% of the time
    expect(Math.abs(rate((d) => d.delay_ms > 0 && d.abort_http_status > 0) - 0.03)).toBeLessThan(0.02);
  });

  it("fractional percentages", () => {
    loadOk(vh([{ name: "f", route: [{ cluster: C1 }], fault: { abort: { http_status: 500, percentage: 0.5 } } }]));
    expect(Math.abs(rate((d) => d.abort_http_status === 500) - 0.005)).toBeLessThan(0.005);
  });

  it("unset percentage is 0%", () => {
    loadOk(vh([{ name: "f", route: [{ cluster: C1 }], fault: { delay: { fixed_delay_ms: 10 }, abort: { http_status: 500 } } }]));
    expect(rate((d) => d.delay_ms > 0 || d.abort_http_status > 0, 2000)).toBe(0);
  });

  it("grpc abort by name; an aborted request has no retries and no mirrors", () => {
    loadOk(
      vh([
        {
          name: "f",
          route: [{ cluster: C1 }],
          mirrors: [{ cluster: C2 }],
          fault: { abort: { grpc_status: "UNAVAILABLE", percentage: 100 } },
        },
      ]),
    );
    const d = decide({});
    expect(d).toMatchObject({ kind: "route", abort_grpc_status: 14, abort_http_status: 0, retries: null, mirrors: [] });
  });

  it("fault also applies to direct responses", () => {
    loadOk(vh([{ name: "f", direct_response: { status: 200 }, fault: { delay: { fixed_delay_ms: 7, percentage: 100 } } }]));
    expect(decide({})).toMatchObject({ kind: "direct_response", delay_ms: 7 });
  });
});

describe("mirrors", () => {
  it("default 100%, 0% dropped, partial within ±2%", () => {
    loadOk(
      vh([
        {
          name: "m",
          route: [{ cluster: C1 }],
          mirrors: [{ cluster: "mirror-all" }, { cluster: "mirror-none", percentage: 0 }, { cluster: "mirror-30", percentage: 30 }],
        },
      ]),
    );
    let m30 = 0;
    for (let seed = 0; seed < 10_000; seed++) {
      const d = decide({ seed });
      expect(d.mirrors[0]).toBe("mirror-all");
      expect(d.mirrors).not.toContain("mirror-none");
      if (d.mirrors.includes("mirror-30")) m30++;
    }
    expect(Math.abs(m30 / 10_000 - 0.3)).toBeLessThan(0.02);
  });
});

describe("CORS", () => {
  const cors = {
    allow_origins: [{ exact: "https://a.example" }, { prefix: "https://dev." }],
    allow_methods: ["GET", "POST"],
    allow_headers: ["x-token", "content-type"],
    expose_headers: ["x-trace"],
    max_age_s: 600,
    allow_credentials: true,
  };
  const preflight = (origin: string, extra: [string, string][] = []): Req => ({
    method: "OPTIONS",
    headers: [["origin", origin], ["access-control-request-method", "POST"], ...extra],
  });

  it("preflight from an allowed origin is answered locally", () => {
    loadOk(vh([{ name: "c", route: [{ cluster: C1 }], cors }]));
    const d = decide(preflight("https://a.example"));
    expect(d).toMatchObject({ kind: "direct_response", status: 200, cors_preflight: true, cluster: "" });
    expect(d.cors_headers).toEqual([
      ["access-control-allow-origin", "https://a.example"],
      ["access-control-allow-credentials", "true"],
      ["access-control-allow-methods", "GET,POST"],
      ["access-control-allow-headers", "x-token,content-type"],
      ["access-control-max-age", "600"],
    ]);
  });

  it("preflight from another origin goes upstream (FORWARD) or gets a bare 200 (IGNORE)", () => {
    loadOk(vh([{ name: "c", route: [{ cluster: C1 }], cors }]));
    expect(decide(preflight("https://evil.example"))).toMatchObject({ kind: "route", cluster: C1, cors_headers: [], cors_preflight: false });
    loadOk(vh([{ name: "c", route: [{ cluster: C1 }], cors: { ...cors, unmatched_preflights: "IGNORE" } }]));
    const d = decide(preflight("https://evil.example"));
    expect(d).toMatchObject({ kind: "direct_response", status: 200, cors_preflight: true });
    expect(d.cors_headers.map((h: string[]) => h[0])).not.toContain("access-control-allow-origin");
  });

  it("actual request from an allowed origin gets response headers", () => {
    loadOk(vh([{ name: "c", route: [{ cluster: C1 }], cors }]));
    const d = decide({ method: "POST", headers: [["origin", "https://dev.example"]] });
    expect(d).toMatchObject({ kind: "route", cluster: C1, cors_preflight: false });
    expect(d.cors_headers).toEqual([
      ["access-control-allow-origin", "https://dev.example"],
      ["access-control-allow-credentials", "true"],
      ["access-control-expose-headers", "x-trace"],
    ]);
    expect(decide({ method: "POST", headers: [["origin", "https://x.example"]] }).cors_headers).toEqual([]);
    expect(decide({ method: "POST" }).cors_headers).toEqual([]);
  });

  it("OPTIONS without Access-Control-Request-Method is not a preflight", () => {
    loadOk(vh([{ name: "c", route: [{ cluster: C1 }], cors }]));
    expect(decide({ method: "OPTIONS", headers: [["origin", "https://a.example"]] })).toMatchObject({ kind: "route", cors_preflight: false });
  });

  it("an origin matcher that matches '*' allows every origin; '*' methods/headers echo the request", () => {
    loadOk(vh([{ name: "c", route: [{ cluster: C1 }], cors: { allow_origins: [{ exact: "*" }], allow_methods: ["*"], allow_headers: ["*"] } }]));
    const d = decide(preflight("https://anything.example", [["access-control-request-headers", "x-a,x-b"]]));
    expect(d.cors_headers).toEqual([
      ["access-control-allow-origin", "https://anything.example"],
      ["access-control-allow-methods", "POST"],
      ["access-control-allow-headers", "x-a,x-b"],
    ]);
  });
});

describe("header operations", () => {
  it("route level then destination level", () => {
    loadOk(
      vh([
        {
          name: "h",
          headers: {
            request: { set: { "x-a": "route", "X-Upper": "u" }, add: { "x-add": "1" }, remove: ["x-drop"] },
            response: { set: { "x-r": "route" } },
          },
          route: [
            { cluster: C1, headers: { request: { set: { "x-a": "dest" }, remove: ["x-drop2"] }, response: { add: { "x-r2": "d" } } } },
          ],
        },
      ]),
    );
    const d = decide({});
    expect(d.request_headers).toEqual({
      set: [["x-a", "route"], ["x-upper", "u"], ["x-a", "dest"]],
      add: [["x-add", "1"]],
      remove: ["x-drop", "x-drop2"],
    });
    expect(d.response_headers).toEqual({ set: [["x-r", "route"]], add: [["x-r2", "d"]], remove: [] });
  });

  it("weighted destinations carry their own operations", () => {
    loadOk(
      vh([
        {
          name: "h",
          route: [
            { cluster: C1, weight: 50, headers: { request: { set: { "x-v": "1" } } } },
            { cluster: C2, weight: 50, headers: { request: { set: { "x-v": "2" } } } },
          ],
        },
      ]),
    );
    for (let seed = 0; seed < 50; seed++) {
      const d = decide({ seed });
      expect(d.request_headers.set).toEqual([["x-v", d.cluster === C1 ? "1" : "2"]]);
    }
  });
});

describe("invalid configuration gives one clear line, never a trap", () => {
  const route = (r: object) => vh([{ name: "r", ...r }]);
  const cases: [string, unknown, string][] = [
    ["not JSON", "{", "route config: invalid JSON: "],
    ["top level not an object", "[]", "route config: (top level): expected an object, got array"],
    ["virtual_hosts missing", {}, "route config: virtual_hosts: required field is missing"],
    ["unknown top-level field", { virtual_hosts: [], extra: 1 }, "route config: extra: unknown field"],
    ["unknown route field", route({ route: [{ cluster: C1 }], retry: {} }), "virtual_hosts[0].routes[0](r).retry: unknown field"],
    ["unknown match field", route({ match: [{ urii: { prefix: "/" } }], route: [{ cluster: C1 }] }), "routes[0](r).match[0].urii: unknown field"],
    ["weights all zero", route({ route: [{ cluster: C1, weight: 0 }, { cluster: C2, weight: 0 }] }), "routes[0](r).route: all 2 destinations have weight 0"],
    ["negative weight", route({ route: [{ cluster: C1, weight: -1 }, { cluster: C2, weight: 1 }] }), "route[0].weight: expected an integer in [0, 4294967295], got -1"],
    ["missing cluster", route({ route: [{ weight: 100 }] }), "routes[0](r).route[0].cluster: required field is missing"],
    ["empty cluster", route({ route: [{ cluster: "" }] }), "route[0].cluster: must not be empty"],
    ["no destinations", route({ route: [] }), "routes[0](r).route: needs at least one destination"],
    ["bad regex", route({ match: [{ uri: { regex: "(unclosed" } }], route: [{ cluster: C1 }] }), "routes[0](r).match[0].uri.regex: "],
    ["bad header regex", route({ match: [{ headers: { "x-a": { regex: "[z-a]" } } }], route: [{ cluster: C1 }] }), "match[0].headers.x-a.regex: "],
    ["rewrite names a missing group", route({ route: [{ cluster: C1 }], rewrite: { uri_regex: { match: "/(a)", rewrite: "/\\2" } } }), "rewrite.uri_regex.rewrite: substitution references group \\2 but the regex has only 1 groups"],
    ["two match kinds", route({ match: [{ uri: { exact: "/a", prefix: "/a" } }], route: [{ cluster: C1 }] }), "uri: give exactly one of exact, prefix, regex"],
    ["no action", route({}), "routes[0](r): give exactly one of route, redirect, direct_response"],
    ["two actions", route({ route: [{ cluster: C1 }], direct_response: { status: 200 } }), "give exactly one of route, redirect, direct_response"],
    ["rewrite with redirect", route({ redirect: { uri: "/" }, rewrite: { uri: "/" } }), "routes[0](r).rewrite: not allowed together with redirect"],
    ["bad redirect code", route({ redirect: { redirect_code: 305 } }), "redirect.redirect_code: must be one of 301, 302, 303, 307, 308 (got 305)"],
    ["bad derive_port", route({ redirect: { derive_port: "SOMETIMES" } }), "redirect.derive_port: expected FROM_PROTOCOL_DEFAULT or FROM_REQUEST_PORT"],
    ["direct_response status range", route({ direct_response: { status: 99 } }), "direct_response.status: expected an integer in [200, 599], got 99"],
    ["bad base64", route({ direct_response: { status: 200, body: { bytes: "!!" } } }), "direct_response.body.bytes: not valid base64"],
    ["bad retry_on", route({ route: [{ cluster: C1 }], retries: { attempts: 2, retry_on: "5xx,sometimes" } }), "retries.retry_on: \"sometimes\" is not a retry condition"],
    ["bad grpc status", route({ route: [{ cluster: C1 }], fault: { abort: { grpc_status: "NOPE" } } }), "fault.abort.grpc_status: unknown gRPC status \"NOPE\""],
    ["percentage > 100", route({ route: [{ cluster: C1 }], fault: { delay: { fixed_delay_ms: 1, percentage: 120 } } }), "fault.delay.percentage: expected a number in [0, 100], got 120"],
    ["empty fault", route({ route: [{ cluster: C1 }], fault: {} }), "fault: give delay, abort or both"],
    ["abort both kinds", route({ route: [{ cluster: C1 }], fault: { abort: { http_status: 500, grpc_status: "INTERNAL" } } }), "fault.abort: give exactly one of http_status, grpc_status"],
    ["wrong type", route({ route: [{ cluster: C1 }], timeout_ms: "1s" }), "routes[0](r).timeout_ms: expected an integer in [0, 315576000000000], got \"1s\""],
    ["pseudo header op", route({ route: [{ cluster: C1 }], headers: { request: { set: { ":path": "/x" } } } }), "headers.request.set.:path: pseudo-headers and host cannot be set here"],
    ["duplicate domain", { virtual_hosts: [{ domains: ["a"], routes: [] }, { domains: ["A"], routes: [] }] }, "virtual_hosts[1].domains[0]: duplicate domain \"a\""],
    ["bad wildcard", { virtual_hosts: [{ domains: ["a.*.com"], routes: [] }] }, "virtual_hosts[0].domains[0]: '*' must be the first or last character"],
    ["no domains", { virtual_hosts: [{ domains: [], routes: [] }] }, "virtual_hosts[0].domains: needs at least one domain"],
    ["empty origin match", route({ route: [{ cluster: C1 }], cors: { allow_origins: [{}] } }), "cors.allow_origins[0]: empty match"],
    ["port out of range", route({ match: [{ port: 70000 }], route: [{ cluster: C1 }] }), "match[0].port: expected an integer in [1, 65535], got 70000"],
  ];
  it.each(cases)("%s", (_n, config, message) => {
    const err = load(config);
    expect(err).toContain(message);
    expect(err.startsWith("route config: ")).toBe(true);
    expect(err).not.toContain("\n");
  });

  it("a failed load keeps the previous table", () => {
    loadOk(vh([{ name: "keep", route: [{ cluster: C1 }] }]));
    expect(load("{")).not.toBe("");
    expect(decide({}).route_name).toBe("keep");
  });
});

describe("decision time", () => {
  it("a 50-route table decides well under the 2 µs target", () => {
    const routes = [];
    for (let i = 0; i < 49; i++) {
      routes.push({
        name: `r${i}`,
        match: [{ uri: { prefix: `/svc${i}/` }, headers: { "x-tenant": { exact: `t${i}` } } }, { uri: { exact: `/exact${i}` } }],
        route: [{ cluster: `c${i}a`, weight: 80 }, { cluster: `c${i}b`, weight: 20 }],
      });
    }
    routes.push({ name: "last", match: [{ uri: { prefix: "/svc49/" }, method: { exact: "GET" } }], route: [{ cluster: "c49" }], timeout_ms: 1000 });
    loadOk(vh(routes));
    // Worst case: the request only matches the 50th route.
    const req = { method: "GET", scheme: "http", authority: "reviews:9080", path: "/svc49/items?page=2", port: 9080, headers: [["x-tenant", "t49"], ["user-agent", "bench"], ["accept", "*/*"]] };
    const buf = utf8(JSON.stringify(req));
    expect(as.exports.decideMany(buf, 2000, 1)).toBe(2000); // warm-up, and every decision routed
    const n = 100_000;
    // CPU time of this process, so other work on a shared machine does not count.
    const perDecision = (mode: number) => {
      let best = Infinity;
      for (let round = 0; round < 3; round++) {
        const c0 = process.cpuUsage();
        expect(as.exports.decideMany(buf, n, mode)).toBe(n);
        const c = process.cpuUsage(c0);
        best = Math.min(best, (c.user + c.system) / n);
      }
      return best;
    };
    const same = perDecision(0), reset = perDecision(1), fresh = perDecision(2);
    release();
    console.log(
      `route decision, 50 routes, last one matching: ${same.toFixed(3)} µs (same Request), ` +
        `${reset.toFixed(3)} µs (Request reset + 3 headers), ${fresh.toFixed(3)} µs (new Request + 3 headers)`,
    );
    // A guard against pathological regressions, not the benchmark (the 2 µs target is measured in bench/).
    expect(reset).toBeLessThan(20);
  });
});
