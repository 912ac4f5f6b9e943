// Scoped routes over xDS in the gateway: a listener whose HCM lists its scopes inline subscribes to one RDS
// resource per scope; a state-of-the-world RDS response carrying only the changed scope updates that scope and
// keeps the others (RDS is not a "full state" type); the wasm filters pick up the new routes by digest without a
// new VM. Real XdsState + DynamicGateway, real wasm, real upstreams on 127.0.0.1.
import { fromJson, type DescMessage, type Message } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterSchema } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ListenerSchema } from "../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "../gen/envoy/config/route/v3/route_pb.js";
import { registry } from "../gen/registry.js";
import type { GatewayConfig } from "../gateway/bootstrap/types.js";
import { DynamicGateway } from "../gateway/xds/apply.js";
import { TYPE_URLS } from "../gateway/xds/convert.js";
import { XdsState } from "../gateway/xds/state.js";
import { httpRequest, startUpstream, type Upstream } from "./helpers/gateway-process.js";
import { scopedListener, scopeOf, scopeRouteConfiguration, staticCluster, type ScopedHost } from "./helpers/scoped-bootstrap.js";

const PORT = 8080;
let v1: Upstream, v2: Upstream, other: Upstream;

beforeAll(async () => {
  [v1, v2, other] = await Promise.all([startUpstream("v1"), startUpstream("v2"), startUpstream("other")]);
});
afterAll(async () => {
  await Promise.all([v1, v2, other].map((u) => u?.close()));
});

const msg = (schema: DescMessage, json: unknown) => fromJson(schema, json as never, { registry });
const anys = (schema: DescMessage, ms: Message[]) => ms.map((m) => anyPack(schema as never, m as never));
const base = (): GatewayConfig => ({ node: { id: "t", cluster: "t", metadata: {} }, listeners: [], clusters: [], ads: { cluster: "xds", lds: true, cds: true } });

const reviews = (cluster: string): ScopedHost => ({ name: "reviews:8080", domains: ["reviews", "reviews:8080"], routes: [{ name: "default", route: [{ cluster }] }] });
const others: ScopedHost = { name: "other:8080", domains: ["other"], routes: [{ name: "default", route: [{ cluster: "other" }] }] };
const routes = (hosts: ScopedHost[]) => anys(RouteConfigurationSchema, hosts.map((h) => msg(RouteConfigurationSchema, scopeRouteConfiguration(PORT, h))));

describe("scoped routes over xDS", () => {
  it("subscribes per scope, applies, and takes partial SotW RDS updates without dropping other scopes", async () => {
    const gateway = new DynamicGateway(base());
    const state = new XdsState({ base: base(), apply: (cfg) => gateway.apply(cfg) });
    try {
      const clusters = [staticCluster("v1", [v1.port]), staticCluster("v2", [v2.port]), staticCluster("other", [other.port])];
      expect(await state.handleResponse(TYPE_URLS.clusters, "c1", anys(ClusterSchema, clusters.map((c) => msg(ClusterSchema, c))))).toEqual({ accepted: true });
      const listener = scopedListener({ name: "outbound_8080", listenPort: 0, servicePort: PORT, hosts: [reviews("v1"), others], inline: false });
      expect(await state.handleResponse(TYPE_URLS.listeners, "l1", anys(ListenerSchema, [msg(ListenerSchema, listener)]))).toEqual({ accepted: true });
      expect(state.resourceNames(TYPE_URLS.routes)).toEqual([scopeOf(PORT, "other:8080"), scopeOf(PORT, "reviews:8080")]);
      expect(state.config).toBeUndefined(); // warming: the listener waits for its scopes' route configurations

      expect(await state.handleResponse(TYPE_URLS.routes, "r1", routes([reviews("v1"), others]))).toEqual({ accepted: true });
      const url = `http://127.0.0.1:${gateway.listeners().get("outbound_8080")!.port}/`;
      expect((await httpRequest(url, { headers: { host: "reviews" } })).headers["x-upstream"]).toBe("v1");
      expect((await httpRequest(url, { headers: { host: "other" } })).headers["x-upstream"]).toBe("other");

      // One VirtualService edit: one RouteConfiguration in the response.
      const loads = gateway.stats().pluginLoads;
      expect(await state.handleResponse(TYPE_URLS.routes, "r2", routes([reviews("v2")]))).toEqual({ accepted: true });
      for (let i = 0; i < 5; i++) expect((await httpRequest(url, { headers: { host: "reviews" } })).headers["x-upstream"]).toBe("v2");
      expect((await httpRequest(url, { headers: { host: "other" } })).headers["x-upstream"]).toBe("other");
      expect(gateway.stats().pluginLoads).toBe(loads); // same wasm VMs; the new digest brought the new routes
      expect(state.config!.listeners[0]!.hcm.scopedRoutes!.scopes.map((s) => s.routeConfig.name)).toEqual([scopeOf(PORT, "reviews:8080"), scopeOf(PORT, "other:8080")]);
    } finally {
      state.close();
      await gateway.close();
    }
  }, 60_000);

  it("rejects what it does not implement with one line naming the field", async () => {
    const state = new XdsState({ base: base(), apply: async () => {} });
    const listener = scopedListener({ name: "l", listenPort: 0, servicePort: PORT, hosts: [others], inline: false }) as any;
    const sr = listener.filter_chains[0].filters[0].typed_config.scoped_routes;
    sr.scope_key_builder.fragments[0].header_value_extractor.element_separator = ";";
    const out = await state.handleResponse(TYPE_URLS.listeners, "l1", anys(ListenerSchema, [msg(ListenerSchema, listener)]));
    expect(out).toEqual({
      accepted: false,
      error: 'listener "l": filter_chains[0].filters[0].typed_config.scoped_routes.scope_key_builder.fragments[0].header_value_extractor.element_separator: not supported by halyard gateway (the whole header value is the scope key)',
    });
    state.close();
  });
});
