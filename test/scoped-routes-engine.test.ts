// Scoped route configurations, inside real wasm: the Metadata walker halyard.route / halyard.fault run over the
// bytes of xds.route_metadata (envoy.config.core.v3.Metadata as Envoy serializes it), and the engine's
// `"scoped": true` decoding plus the per-scope routes entry.
import { create, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { MetadataSchema } from "../gen/envoy/config/core/v3/base_pb.js";
import { type ASInstance, loadAS } from "./helpers/as.js";

let as: ASInstance;
let pinned: number[] = [];
const pin = (ptr: number) => {
  const p = as.exports.__pin(ptr);
  pinned.push(p);
  return p;
};
const bytes = (b: Uint8Array) => pin(as.newArrayBuffer(b));
const utf8 = (s: string) => bytes(new TextEncoder().encode(s));
const str = (s: string) => pin(as.newString(s));
function call<T>(f: () => T): T {
  try {
    return f();
  } finally {
    for (const p of pinned) as.exports.__unpin(p);
    pinned = [];
  }
}

beforeAll(async () => {
  as = await loadAS("test/fixtures/as/scoped-routes.ts");
  as.exports._initialize?.();
}, 120_000);

const walk = (b: Uint8Array) => call(() => as.getString(as.exports.walkMetadata(bytes(b))));
const metadata = (filterMetadata: Record<string, Record<string, unknown>>) =>
  toBinary(MetadataSchema, create(MetadataSchema, { filterMetadata: filterMetadata as never }));

const ROUTES = JSON.stringify([{ name: "default", route: [{ cluster: "outbound|80||a" }] }]);

describe("Metadata walker (xds.route_metadata bytes)", () => {
  it("finds routes and digest under filter_metadata[halyard.route]", () => {
    expect(walk(metadata({ "halyard.route": { routes: ROUTES, digest: "0123abcd" } }))).toBe(`ok\n${ROUTES}\n0123abcd`);
  });

  it("skips other filters' metadata, other Struct fields and typed_filter_metadata", () => {
    const m = create(MetadataSchema, {
      filterMetadata: {
        "istio": { config: "/apis/x", n: 3, nested: { a: [1, "b", true, null] } },
        "halyard.route": { extra: 1.5, routes: ROUTES, flag: false, digest: "d1", list: ["x"] },
        "halyard.routes": { routes: "[]", digest: "wrong" },
      } as never,
      typedFilterMetadata: { "x.y": { typeUrl: "type.googleapis.com/google.protobuf.StringValue", value: new Uint8Array([10, 1, 65]) } },
    });
    expect(walk(toBinary(MetadataSchema, m))).toBe(`ok\n${ROUTES}\nd1`);
  });

  it("takes the last entry of a repeated map key (protobuf map semantics)", () => {
    const a = metadata({ "halyard.route": { routes: "[]", digest: "old" } });
    const b = metadata({ "halyard.route": { routes: ROUTES, digest: "new" } });
    const joined = new Uint8Array([...a, ...b]);
    expect(walk(joined)).toBe(`ok\n${ROUTES}\nnew`);
  });

  it("handles UTF-8 and long (multi-byte varint) strings", () => {
    const routes = JSON.stringify([{ name: "é-😀".repeat(2000), route: [{ cluster: "c" }] }]);
    expect(walk(metadata({ "halyard.route": { routes, digest: "ü" } }))).toBe(`ok\n${routes}\nü`);
  });

  it("reports what is missing, one line each", () => {
    expect(walk(new Uint8Array(0))).toBe('error\nthe route metadata has no filter_metadata["halyard.route"]');
    expect(walk(metadata({ istio: { routes: ROUTES, digest: "x" } }))).toBe('error\nthe route metadata has no filter_metadata["halyard.route"]');
    expect(walk(metadata({ "halyard.route": { digest: "x" } }))).toBe('error\nfilter_metadata["halyard.route"] has no string field "routes"');
    expect(walk(metadata({ "halyard.route": { routes: 5, digest: "x" } }))).toBe('error\nfilter_metadata["halyard.route"] has no string field "routes"');
    expect(walk(metadata({ "halyard.route": { routes: ROUTES } }))).toBe('error\nfilter_metadata["halyard.route"] has no non-empty string field "digest"');
    expect(walk(metadata({ "halyard.route": { routes: ROUTES, digest: "" } }))).toBe('error\nfilter_metadata["halyard.route"] has no non-empty string field "digest"');
  });

  it("reports malformed bytes instead of trapping: truncations, bad lengths, group wire types", () => {
    const good = metadata({ "halyard.route": { routes: ROUTES, digest: "d" } });
    for (let cut = 1; cut < good.length; cut++) {
      const out = walk(good.subarray(0, cut));
      expect(out.startsWith("error\n"), `cut at ${cut}: ${out}`).toBe(true);
    }
    expect(walk(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]))).toMatch(/^error\nmalformed Metadata/);
    expect(walk(new Uint8Array([0x0b]))).toMatch(/^error\nmalformed Metadata/); // field 1, start group
    expect(walk(new Uint8Array([0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]))).toMatch(/^error\nmalformed/);
  });

  it("never traps on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        expect(walk(b)).toMatch(/^(ok|error)\n/);
      }),
      { numRuns: 2000 },
    );
  });
});

const load = (config: unknown) => call(() => as.getString(as.exports.loadConfig(utf8(JSON.stringify(config)))));
const loadScope = (routes: unknown, name: string, scope: string) =>
  call(() => as.getString(as.exports.loadScope(utf8(typeof routes === "string" ? routes : JSON.stringify(routes)), str(name), str(scope))));
const scopeFor = (authority: string) => call(() => as.getString(as.exports.scopeFor(str(authority))));
const decide = (authority: string, path: string, header: [string, string] = ["", ""], seed = 0) =>
  call(() => as.getString(as.exports.decideInScope(str(authority), str(path), str(header[0]), str(header[1]), BigInt(seed))));

describe('engine: "scoped": true', () => {
  const scoped = {
    scoped: true,
    virtual_hosts: [
      { name: "reviews.ns.svc.cluster.local:9080", domains: ["reviews", "reviews:9080", "*.reviews.ns"], scope: "9080/reviews.ns.svc.cluster.local:9080" },
      { name: "allow_any", domains: ["*"], scope: "9080/allow_any" },
    ],
  };

  it("loads virtual hosts with a scope and no routes; chooses them by authority as unscoped tables do", () => {
    expect(load(scoped)).toBe("scoped:reviews.ns.svc.cluster.local:9080=9080/reviews.ns.svc.cluster.local:9080/0,allow_any=9080/allow_any/0");
    expect(scopeFor("reviews:9080")).toBe("9080/reviews.ns.svc.cluster.local:9080");
    expect(scopeFor("REVIEWS")).toBe("9080/reviews.ns.svc.cluster.local:9080");
    expect(scopeFor("a.reviews.ns")).toBe("9080/reviews.ns.svc.cluster.local:9080");
    expect(scopeFor("other:80")).toBe("9080/allow_any");
    expect(load({ ...scoped, virtual_hosts: [scoped.virtual_hosts[0]] })).toMatch(/^scoped:/);
    expect(scopeFor("other:80")).toBe("");
  });

  it("unscoped configurations are unchanged", () => {
    expect(load({ virtual_hosts: [{ name: "a", domains: ["*"], routes: [{ route: [{ cluster: "c" }] }] }] })).toBe("unscoped:a=/1");
  });

  it("rejects mixed shapes with one line naming the field", () => {
    expect(load({ ...scoped, virtual_hosts: [{ ...scoped.virtual_hosts[0], routes: [] }] })).toBe(
      'route config: virtual_hosts[0].routes: not allowed with "scoped": true (the routes come from the scope\'s route metadata)',
    );
    expect(load({ scoped: true, virtual_hosts: [{ name: "a", domains: ["a"] }] })).toBe('route config: virtual_hosts[0].scope: required (non-empty) with "scoped": true');
    expect(load({ virtual_hosts: [{ name: "a", domains: ["a"], scope: "x" }] })).toBe('route config: virtual_hosts[0].scope: only allowed with "scoped": true');
    expect(load({ scoped: "yes", virtual_hosts: [] })).toBe('route config: scoped: expected true or false, got "yes"');
    expect(load({ scoped: true, virtual_hosts: [{ name: "a", domains: ["a"], scope: "s" }, { name: "b", domains: ["b"], scope: "s" }] })).toBe(
      'route config: virtual_hosts[1].scope: duplicate scope "s"',
    );
  });

  it("decodes one scope's routes with the same validation, errors naming the scope", () => {
    expect(loadScope([{ name: "v2", route: [{ cluster: "a", weight: -1 }] }], "r", "9080/r")).toBe(
      "route config: scope(9080/r).routes[0](v2).route[0].weight: expected an integer in [0, 4294967295], got -1",
    );
    expect(loadScope({ routes: [] }, "r", "9080/r")).toBe("route config: scope(9080/r).routes: expected an array, got object");
    expect(loadScope("[{", "r", "9080/r")).toMatch(/^route config: scope\(9080\/r\)\.routes: invalid JSON: /);
    expect(loadScope([{ route: [{ cluster: "a" }], typo: 1 }], "r", "9080/r")).toMatch(/^route config: scope\(9080\/r\)\.routes\[0\]\.typo: unknown field/);
  });

  it("decides inside the scope's virtual host exactly as an unscoped table would", () => {
    const routes = [
      { name: "jason", match: [{ headers: { "end-user": { exact: "jason" } } }], route: [{ cluster: "v2" }] },
      { name: "split", route: [{ cluster: "v1", weight: 90 }, { cluster: "v3", weight: 10 }] },
    ];
    expect(loadScope(routes, "reviews:9080", "9080/reviews:9080")).toBe("");
    expect(decide("anything", "/", ["end-user", "jason"])).toBe("route v2 jason reviews:9080");
    const counts: Record<string, number> = {};
    for (let seed = 0; seed < 2000; seed++) {
      const c = decide("reviews", "/", ["x", "y"], seed).split(" ")[1]!;
      counts[c] = (counts[c] ?? 0) + 1;
    }
    expect(counts.v1! / 2000).toBeGreaterThan(0.86);
    expect(counts.v3! / 2000).toBeGreaterThan(0.06);
    expect(loadScope([{ match: [{ uri: { prefix: "/only" } }], route: [{ cluster: "a" }] }], "x", "s")).toBe("");
    expect(decide("x", "/other")).toBe("no_route   x");
  });
});
