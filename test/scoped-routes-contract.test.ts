// The scoped-route contract across both halves: the control plane's own builders (control/translate/xds/
// scoped-routes.ts: the filters' scoped configuration, the HCM's scoped_routes, one RouteConfiguration per virtual
// host with the routes as `default` route metadata) fed to the gateway's xDS state and served by halyard.fault +
// halyard.route in real wasm, against real upstreams on 127.0.0.1.
import { create, fromJson, type DescMessage, type Message } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scopedEngineConfig, scopedRouteConfigs, scopedRoutesSpecifier, SCOPE_HEADER } from "../control/translate/xds/scoped-routes.js";
import type { EngineRouteConfig } from "../control/translate/engine-config.js";
import { ClusterSchema } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ListenerSchema } from "../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "../gen/envoy/config/route/v3/route_pb.js";
import { HttpConnectionManagerSchema, HttpFilterSchema } from "../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { registry } from "../gen/registry.js";
import type { GatewayConfig } from "../gateway/bootstrap/types.js";
import { DynamicGateway } from "../gateway/xds/apply.js";
import { TYPE_URLS } from "../gateway/xds/convert.js";
import { XdsState } from "../gateway/xds/state.js";
import { routerFilter, socketAddress, staticCluster, wasmFilter } from "./helpers/envoy-bootstrap.js";
import { httpRequest, startUpstream, type Upstream } from "./helpers/gateway-process.js";
import { WASM } from "./helpers/scoped-bootstrap.js";

const PORT = 9080;
let v1: Upstream, v2: Upstream;
beforeAll(async () => {
  [v1, v2] = await Promise.all([startUpstream("v1"), startUpstream("v2")]);
});
afterAll(async () => {
  await Promise.all([v1, v2].map((u) => u?.close()));
});

const anys = (schema: DescMessage, ms: Message[]) => ms.map((m) => anyPack(schema as never, m as never));
const base = (): GatewayConfig => ({ node: { id: "t", cluster: "t", metadata: {} }, listeners: [], clusters: [], ads: { cluster: "xds", lds: true, cds: true } });

const engine = (split: [number, number]): EngineRouteConfig => ({
  virtual_hosts: [
    {
      name: "reviews.ns.svc.cluster.local:9080",
      domains: ["reviews", "reviews:9080"],
      routes: [
        { name: "jason", match: [{ headers: { "end-user": { exact: "jason" } } }], route: [{ cluster: "v2" }] },
        { name: "default", route: [{ cluster: "v1", weight: split[0] }, { cluster: "v2", weight: split[1] }] },
      ],
    } as never,
  ],
});

function listener(config: EngineRouteConfig) {
  const configuration = JSON.stringify(scopedEngineConfig(PORT, config));
  const filters = [
    wasmFilter({ name: "fault", rootId: "halyard.fault", filename: WASM, configuration }),
    wasmFilter({ name: "route", rootId: "halyard.route", filename: WASM, configuration }),
    routerFilter(),
  ].map((f) => fromJson(HttpFilterSchema, f as never, { registry }));
  const hcm = create(HttpConnectionManagerSchema, { statPrefix: "outbound_9080", routeSpecifier: scopedRoutesSpecifier(PORT, config), httpFilters: filters });
  return create(ListenerSchema, {
    name: "outbound_9080",
    address: fromJson(ListenerSchema, { address: socketAddress(0) } as never, { registry }).address,
    filterChains: [{ filters: [{ name: "envoy.filters.network.http_connection_manager", configType: { case: "typedConfig", value: anyPack(HttpConnectionManagerSchema, hcm) } }] }],
  });
}

describe("control plane scoped output -> gateway + halyard filters", () => {
  it("routes by the scope's metadata routes; a one-scope RDS update takes effect; the scope header stays inside", async () => {
    const gateway = new DynamicGateway(base());
    const state = new XdsState({ base: base(), apply: (cfg) => gateway.apply(cfg) });
    try {
      const clusters = [staticCluster("v1", [v1.port]), staticCluster("v2", [v2.port])].map((c) => fromJson(ClusterSchema, c as never, { registry }));
      expect(await state.handleResponse(TYPE_URLS.clusters, "c1", anys(ClusterSchema, clusters))).toEqual({ accepted: true });
      expect(await state.handleResponse(TYPE_URLS.listeners, "l1", anys(ListenerSchema, [listener(engine([100, 0]))]))).toEqual({ accepted: true });
      expect(state.resourceNames(TYPE_URLS.routes)).toEqual([`${PORT}/reviews.ns.svc.cluster.local:9080`]);
      // v2 is a consistent-hash cluster: its scope gets a hash route matching x-halyard-cluster before `default`.
      const hashed = { cluster: create(ClusterSchema, { name: "v2" }), hashPolicy: [{ policySpecifier: { case: "header" as const, value: { headerName: "x-user" } } }], outlierDetection: false };
      const r1 = scopedRouteConfigs(PORT, engine([100, 0]), [hashed]);
      expect(r1[0]!.virtualHosts[0]!.routes.map((r) => r.name)).toEqual(["hash|v2", "default"]);
      expect(await state.handleResponse(TYPE_URLS.routes, "r1", anys(RouteConfigurationSchema, r1))).toEqual({ accepted: true });
      const scope = state.config!.listeners[0]!.hcm.scopedRoutes!.scopes[0]!.routeConfig.virtualHosts[0]!.routes;
      expect(scope[0]!.match.headers).toEqual([{ name: "x-halyard-cluster", exact: "v2", invert: false }]);
      const url = `http://127.0.0.1:${gateway.listeners().get("outbound_9080")!.port}/`;
      expect((await httpRequest(url, { headers: { host: "reviews" } })).headers["x-upstream"]).toBe("v1");
      expect((await httpRequest(url, { headers: { host: "reviews", "end-user": "jason" } })).headers["x-upstream"]).toBe("v2");
      expect((await httpRequest(url, { headers: { host: "nope" } })).status).toBe(404);

      // A weight edit: the listener (and the filters' configuration) is unchanged, one RouteConfiguration changes.
      expect(await state.handleResponse(TYPE_URLS.routes, "r2", anys(RouteConfigurationSchema, scopedRouteConfigs(PORT, engine([0, 100]), [])))).toEqual({ accepted: true });
      for (let i = 0; i < 5; i++) expect((await httpRequest(url, { headers: { host: "reviews:9080" } })).headers["x-upstream"]).toBe("v2");
      for (const r of [...v1.seen, ...v2.seen]) expect(r.headers[SCOPE_HEADER]).toBeUndefined();
    } finally {
      state.close();
      await gateway.close();
    }
  }, 60_000);
});
