// ORIGINAL_DST on Workers: the portable Router and ClusterManager with FetchUpstreamTransport inside workerd. There
// is no resolver there, so the destination is fetch()ed as the request's authority names it (real node:http
// upstreams on 127.0.0.1, test/workers/global-setup.ts).
import { describe, expect, inject, it } from "vitest";
import { ClusterManager } from "../../gateway/clusters.js";
import { Router } from "../../gateway/router.js";
import { RouteTable } from "../../gateway/routes.js";
import { FetchUpstreamTransport } from "../../gateway/upstream-fetch.js";
import type { HeaderMap } from "../../wasm/host/index.js";

const edge = inject("edge");
const down = { remote: { address: "127.0.0.1", port: 40000 }, local: { address: "127.0.0.1", port: 8080 } };

function passthroughRouter(useHttpHeader: boolean): Router {
  const clusters = new ClusterManager([
    { name: "PassthroughCluster", connectTimeoutMs: 1000, endpoints: [], originalDst: useHttpHeader ? { httpHeader: "x-envoy-original-dst-host" } : {} },
  ]);
  const routes = new RouteTable({
    name: "egress",
    virtualHosts: [{ name: "all", domains: ["*"], routes: [{ name: "all", match: { kind: "prefix", value: "/", caseSensitive: true }, action: { cluster: "PassthroughCluster", timeoutMs: 2000, clusterNotFoundStatus: 503 } }] }],
  });
  return new Router(routes, clusters, new FetchUpstreamTransport());
}

const request = (authority: string, extra: HeaderMap = []): HeaderMap => [[":authority", authority], [":path", "/egress?x=1"], [":method", "GET"], [":scheme", "http"], ...extra];

describe("ORIGINAL_DST over fetch() in workerd", () => {
  it("goes to the authority the request names (localhost, or an IP)", async () => {
    const router = passthroughRouter(false);
    for (const host of ["localhost", "127.0.0.1"]) {
      const res = await router.forward(request(`${host}:${edge.upstreams.v1}`), new Uint8Array(0), down, 0);
      expect(res.status).toBe(200);
      expect(res.upstream).toEqual({ address: "127.0.0.1", port: edge.upstreams.v1 });
      expect(JSON.parse(new TextDecoder().decode(res.body))).toMatchObject({ upstream: "v1", url: "/egress?x=1" });
    }
  });

  it("takes x-envoy-original-dst-host when configured, and answers 503 UH for a malformed one", async () => {
    const router = passthroughRouter(true);
    const res = await router.forward(request("elsewhere.invalid", [["x-envoy-original-dst-host", `127.0.0.1:${edge.upstreams.canary}`]]), new Uint8Array(0), down, 0);
    expect(JSON.parse(new TextDecoder().decode(res.body))).toMatchObject({ upstream: "v2-canary" });
    const bad = await router.forward(request("elsewhere.invalid", [["x-envoy-original-dst-host", "not-an-ip:80"]]), new Uint8Array(0), down, 0);
    expect([bad.status, bad.flags]).toEqual([503, ["UH"]]);
  });
});
