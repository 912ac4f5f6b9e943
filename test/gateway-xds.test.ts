// The gateway fed by the control plane: `serve()` in-process with a hand-built SnapshotBuilder (listener -> RDS ->
// cluster / cluster_header routes, EDS clusters on real node:http upstreams), `node bin/halyard.js gateway --xds`
// as a child process, real requests. Updates, NACKs, a control plane restart, REST polling, the bootstrap form.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { create, type Message } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { serve, type ControlPlane, type SnapshotBuilder } from "../control/serve.js";
import { createSnapshotBuilder } from "../control/translate/xds/index.js";
import type { XdsNode } from "../control/xds/node.js";
import { Cluster_DiscoveryType, ClusterSchema } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "../gen/envoy/config/route/v3/route_pb.js";
import type { GatewayConfig } from "../gateway/bootstrap/types.js";
import { DynamicGateway } from "../gateway/xds/apply.js";
import { Backoff } from "../gateway/xds/backoff.js";
import { TYPE_URLS } from "../gateway/xds/convert.js";
import { parseLabels, xdsNode } from "../gateway/xds/node-identity.js";
import { bindAddress } from "../gateway/xds/ports.js";
import { RemoteCodeCache } from "../gateway/xds/remote-code.js";
import { RestXdsClient, type RestPollEvent } from "../gateway/xds/rest-client.js";
import { XdsState } from "../gateway/xds/state.js";
import { freePort, httpRequest, requireBuiltCli, root, runCli, startUpstream, tempDir, writeYaml, type Upstream } from "./helpers/gateway-process.js";
import { ingressGatewayYaml, ingressRoutesYaml, staticServiceYaml } from "./helpers/istio-yaml.js";
import {
  HALYARD_WASM, httpListener, httpResources, httpRoutes, spawnGateway, wasmHttpFilter,
  type GatewayChild, type HttpSnapshotSpec,
} from "./helpers/gateway-xds.js";
import { edsCluster, loadAssignment } from "./helpers/xds-resources.js";
import { waitFor } from "./helpers/xds-server.js";

const NODE_ID = "router~127.0.0.1~ingress.istio-system~istio-system.svc.cluster.local";
const ECHO_CONFIG = JSON.stringify({ response_headers: { "x-b": "2" } });

let a: Upstream, b: Upstream, c: Upstream;
let configDir: string;
let cp: ControlPlane;
let resources: ReturnType<typeof httpResources>;
const seenNodes: XdsNode[] = [];
const builder: SnapshotBuilder = {
  build(_config, node) {
    seenNodes.push(node);
    return resources;
  },
};
let gw: GatewayChild;
let url: string;

const startPlane = (xdsPort = 0, httpPort = 0) =>
  serve({ paths: [configDir], builder, host: "127.0.0.1", xdsPort, httpPort, pushDebounceMs: 20, log: () => {} });

function spec(extra: { routes?: Array<[string, string | { header: string }]>; aPorts?: number[]; unsupported?: boolean } = {}): HttpSnapshotSpec {
  return {
    listeners: [
      {
        name: "http",
        port: 0,
        rds: "http-routes",
        filters: [wasmHttpFilter("echo", "halyard.echo", { file: HALYARD_WASM }, ECHO_CONFIG)],
        ...(extra.unsupported ? { unsupported: true } : {}),
      },
    ],
    routes: { "http-routes": [...(extra.routes ?? []), ["/dyn", { header: "x-cluster" }], ["/", "svc-a"]] },
    clusters: { "svc-a": extra.aPorts ?? [a.port], "svc-b": [b.port] },
  };
}

async function push(s: HttpSnapshotSpec): Promise<void> {
  resources = httpResources(s);
  await cp.rebuild();
}

const upstreamOf = (body: string) => (JSON.parse(body) as { upstream: string }).upstream;

beforeAll(async () => {
  requireBuiltCli();
  [a, b, c] = await Promise.all([startUpstream("a"), startUpstream("b"), startUpstream("c")]);
  configDir = mkdtempSync(join(tmpdir(), "halyard-gw-xds-"));
  resources = httpResources(spec());
  cp = await startPlane();
  gw = spawnGateway(["--xds", `127.0.0.1:${cp.xds.port}`, "--node", NODE_ID, "--labels", "app=ingress,istio=ingressgateway"]);
  url = (await gw.waitFor(/listener "http" on (http:\/\/\S+)/, 20_000))[1]!;
});

afterAll(async () => {
  await gw?.stop();
  await cp?.close();
  await Promise.all([a, b, c].filter(Boolean).map((u) => u.close()));
  if (configDir) rmSync(configDir, { recursive: true, force: true });
});

describe("halyard gateway --xds", () => {
  it("serves the listener, routes and endpoints the control plane sends, and announces itself Istio-style", async () => {
    const r = await httpRequest(`${url}/hello`);
    expect(r.status).toBe(200);
    expect(upstreamOf(r.body)).toBe("a");
    expect(r.headers["x-b"]).toBe("2"); // the wasm filter from LDS ran
    const dyn = await httpRequest(`${url}/dyn`, { headers: { "x-cluster": "svc-b" } });
    expect(upstreamOf(dyn.body)).toBe("b");

    const node = seenNodes.find((n) => n.id === NODE_ID)!;
    expect(node.metadata).toMatchObject({ NAMESPACE: "istio-system", NAME: "ingress", LABELS: { app: "ingress", istio: "ingressgateway" } });
    expect(node.cluster).toBe("ingress.istio-system");
    expect(node.userAgentName).toBe("halyard");
  });

  it("applies a new route and a new endpoint within 1 s, and a request in flight finishes on the old config", async () => {
    const slow = httpRequest(`${url}/slow?ms=1500`);
    await waitFor("the slow request at upstream a", () => (a.seen.some((s) => s.url.startsWith("/slow")) ? true : undefined));

    const t0 = Date.now();
    await push(spec({ routes: [["/new", "svc-b"]], aPorts: [a.port, c.port] }));
    await waitFor("the new route", async () => {
      const r = await httpRequest(`${url}/new`);
      return r.status === 200 && upstreamOf(r.body) === "b" ? true : undefined;
    }, 1000);
    const cBefore = c.seen.length;
    await waitFor("the new endpoint c in svc-a", async () => {
      await httpRequest(`${url}/x`);
      return c.seen.length > cBefore ? true : undefined;
    }, 1000);
    expect(Date.now() - t0).toBeLessThan(1000);

    const r = await slow;
    expect(r.status).toBe(200);
    expect(upstreamOf(r.body)).toBe("a");
    expect(gw.output()).not.toContain("NACK");
  });

  it("NACKs a listener with a field it does not implement, shown in /debug/syncz, and keeps serving the old one", async () => {
    await push(spec({ routes: [["/new", "svc-b"]], aPorts: [a.port, c.port], unsupported: true }));
    const syncz = `http://127.0.0.1:${cp.http.port}/debug/syncz`;
    type Syncz = { proxies: { id: string; streams: { types: Record<string, { nackError?: string; sentVersion?: string; ackedVersion?: string }> }[] }[] };
    const listeners = async () => ((await (await fetch(syncz)).json()) as Syncz).proxies.find((p) => p.id === NODE_ID)?.streams[0]?.types.listeners;
    const nacked = await waitFor("the NACK in /debug/syncz", async () => ((await listeners())?.nackError ? await listeners() : undefined));
    expect(nacked!.nackError).toBe('listener "http": per_connection_buffer_limit_bytes: not supported by halyard gateway');
    expect(nacked!.ackedVersion).not.toBe(nacked!.sentVersion);
    expect(gw.output()).toMatch(/xds: NACK listeners version \S+: listener "http": per_connection_buffer_limit_bytes: not supported by halyard gateway/);

    const r = await httpRequest(`${url}/new`);
    expect(upstreamOf(r.body)).toBe("b");
    expect(r.headers["x-b"]).toBe("2");

    // The good listener again: ACKed.
    await push(spec({ routes: [["/new", "svc-b"]], aPorts: [a.port, c.port] }));
    await waitFor("the ACK", async () => {
      const t = await listeners();
      return t?.sentVersion && t.ackedVersion === t.sentVersion ? true : undefined;
    });
  });

  it("keeps serving while the control plane is down and reconnects when it is back on the same port", async () => {
    const { port: xdsPort } = cp.xds;
    const httpPort = cp.http.port;
    const connectedBefore = gw.output().split("xds: connected").length;
    await cp.close();
    await gw.waitFor(/xds: disconnected/, 5000);
    const during = await httpRequest(`${url}/new`);
    expect(upstreamOf(during.body)).toBe("b");

    await new Promise((r) => setTimeout(r, 300));
    resources = httpResources(spec({ routes: [["/new", "svc-b"], ["/after", "svc-b"]], aPorts: [a.port, c.port] }));
    cp = await startPlane(xdsPort, httpPort);
    await waitFor("the reconnection", () => (gw.output().split("xds: connected").length > connectedBefore ? true : undefined), 10_000);
    await waitFor("the config of the restarted control plane", async () => {
      const r = await httpRequest(`${url}/after`);
      return r.status === 200 && upstreamOf(r.body) === "b" ? true : undefined;
    }, 5000);
  });

  it("REST polling of serve's HTTP port: 200 for each type, then 304", async () => {
    const events: RestPollEvent[] = [];
    const applied: GatewayConfig[] = [];
    const node = xdsNode({ id: "router~127.0.0.1~rest.istio-system~istio-system.svc.cluster.local" }, true);
    const state = new XdsState({
      base: { node: { id: node.id, cluster: node.cluster, metadata: {} }, listeners: [], clusters: [], ads: { cluster: "xds", lds: true, cds: true } },
      apply: async (config) => void applied.push(config),
    });
    const client = new RestXdsClient({ baseUrl: `http://127.0.0.1:${cp.http.port}`, node, subscriber: state, onPoll: (e) => events.push(e) });
    expect(await client.pollOnce()).toBe(true);
    expect(events.map((e) => [e.kind, e.status, "accepted" in e ? e.accepted : undefined])).toEqual([
      ["clusters", 200, true],
      ["endpoints", 200, true],
      ["listeners", 200, true],
      ["routes", 200, true],
    ]);
    expect(applied).toHaveLength(1);
    expect(applied[0]!.listeners.map((l) => [l.name, l.hcm.routeConfig.name])).toEqual([["http", "http-routes"]]);
    expect(applied[0]!.clusters.find((x) => x.name === "svc-a")!.endpoints.map((e) => e.port)).toEqual([a.port, c.port]);

    events.length = 0;
    expect(await client.pollOnce()).toBe(true);
    expect(events.map((e) => [e.kind, e.status])).toEqual([
      ["clusters", 304],
      ["endpoints", 304],
      ["listeners", 304],
      ["routes", 304],
    ]);
    expect(applied).toHaveLength(1);
  });

  it("--delta: incremental ADS, with the same updates and NACKs", async () => {
    const nodeId = "router~127.0.0.1~delta.istio-system~istio-system.svc.cluster.local";
    const routes = (extra: Array<[string, string]> = []): Array<[string, string]> => [["/new", "svc-b"], ["/after", "svc-b"], ...extra];
    const d = spawnGateway(["--xds", `127.0.0.1:${cp.xds.port}`, "--delta", "--node", nodeId]);
    type Syncz = { proxies: { id: string; streams: { protocol: string; types: Record<string, { nackError?: string; nackedAt?: string; sentVersion?: string; ackedVersion?: string }> }[] }[] };
    const stream = async () => ((await (await fetch(`http://127.0.0.1:${cp.http.port}/debug/syncz`)).json()) as Syncz).proxies.find((p) => p.id === nodeId)?.streams[0];
    try {
      const dUrl = (await d.waitFor(/listener "http" on (http:\/\/\S+)/, 20_000))[1]!;
      expect(upstreamOf((await httpRequest(`${dUrl}/after`)).body)).toBe("b");
      expect((await stream())?.protocol).toBe("delta");

      await push(spec({ routes: routes(), aPorts: [a.port, c.port], unsupported: true }));
      const nacked = await waitFor("the delta NACK", async () => ((await stream())?.types.listeners?.nackError ? await stream() : undefined));
      expect(nacked!.types.listeners!.nackError).toBe('listener "http": per_connection_buffer_limit_bytes: not supported by halyard gateway');
      expect(upstreamOf((await httpRequest(`${dUrl}/after`)).body)).toBe("b");

      await push(spec({ routes: routes([["/delta", "svc-a"]]), aPorts: [a.port, c.port] }));
      await waitFor("the delta update", async () => {
        const r = await httpRequest(`${dUrl}/delta`);
        return r.status === 200 && ["a", "c"].includes(upstreamOf(r.body)) && (await httpRequest(`${dUrl}/new`)).status === 200 ? true : undefined;
      }, 2000);
    } finally {
      await d.stop();
    }
  });

  it("--xds-rest polls the same resources over REST-JSON", async () => {
    const rest = spawnGateway(["--xds-rest", `http://127.0.0.1:${cp.http.port}`, "--node", "router~127.0.0.1~restgw.istio-system~istio-system.svc.cluster.local"]);
    try {
      const restUrl = (await rest.waitFor(/listener "http" on (http:\/\/\S+)/, 20_000))[1]!;
      expect(upstreamOf((await httpRequest(`${restUrl}/after`)).body)).toBe("b");
    } finally {
      await rest.stop();
    }
  });

  it("REST polling backs off (capped) while the control plane is unreachable", async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, "127.0.0.1", r));
    const deadPort = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const errors: RestPollEvent[] = [];
    const node = xdsNode({ id: "router~127.0.0.1~dead.istio-system~istio-system.svc.cluster.local" }, true);
    const state = new XdsState({ base: { node: { id: node.id, cluster: "", metadata: {} }, listeners: [], clusters: [], ads: { cluster: "xds", lds: true, cds: true } }, apply: async () => {} });
    // The interval is far longer than the test: every retry here comes from the back-off.
    const client = new RestXdsClient({ baseUrl: `http://127.0.0.1:${deadPort}`, node, subscriber: state, intervalMs: 60_000, backoff: { baseMs: 20, maxMs: 80 }, onPoll: (e) => errors.push(e) });
    client.start();
    try {
      await waitFor("four failed rounds", () => (errors.length >= 8 ? true : undefined), 3000);
    } finally {
      client.stop();
    }
    expect(errors[0]).toMatchObject({ kind: "clusters", status: "error", error: expect.stringMatching(new RegExp(`^POST http://127\\.0\\.0\\.1:${deadPort}/v3/discovery:clusters: `)) });
    expect(errors.every((e) => e.status === "error" && !e.error.includes("\n"))).toBe(true);
  });

  it("runs from the bootstrap `halyard bootstrap` prints (ADS over the static xds-grpc cluster, HTTP/2 options)", async () => {
    const dir = tempDir();
    const nodeId = "router~127.0.0.1~boot.istio-system~istio-system.svc.cluster.local";
    const printed = await runCli(["bootstrap", "--node", nodeId, "--xds", `127.0.0.1:${cp.xds.port}`, "--wasm", HALYARD_WASM, "-o", "yaml"]);
    expect(printed.code, printed.stderr).toBe(0);
    const doc = parseYaml(printed.stdout) as { admin: { address: { socketAddress: { portValue: number } } } };
    doc.admin.address.socketAddress.portValue = 0; // 15000 may be taken on a shared machine
    const file = writeYaml(dir, "ads.yaml", doc);
    const boot = spawnGateway(["-c", file]);
    try {
      const bootUrl = (await boot.waitFor(/listener "http" on (http:\/\/\S+)/, 20_000))[1]!;
      const r = await httpRequest(`${bootUrl}/after`);
      expect(upstreamOf(r.body)).toBe("b");
    } finally {
      await boot.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("with the real translator (control/translate/xds) behind serve()", () => {
  const shop = (name: string, port: number) => staticServiceYaml(name, [{ name: `${name}-1`, port }]);
  const virtualService = (target: string) => ingressRoutesYaml(`${target}.default.svc.cluster.local`);

  it("a router node gets its Gateway's listener, halyard.route decides, EDS endpoints serve; a VirtualService edit takes effect", async () => {
    const dir = mkdtempSync(join(tmpdir(), "halyard-gw-xds-istio-"));
    const port = await freePort();
    writeFileSync(join(dir, "shops.yaml"), `${shop("shop-a", a.port)}---\n${shop("shop-b", b.port)}`);
    writeFileSync(
      join(dir, "gateway.yaml"),
      ingressGatewayYaml(port),
    );
    writeFileSync(join(dir, "vs.yaml"), virtualService("shop-a"));
    const plane = await serve({ paths: [dir], builder: createSnapshotBuilder(), host: "127.0.0.1", xdsPort: 0, httpPort: 0, pushDebounceMs: 20, log: () => {} });
    const node = "router~127.0.0.1~istio-ingress.istio-system~istio-system.svc.cluster.local";
    const gateway = spawnGateway(["--xds", `127.0.0.1:${plane.xds.port}`, "--node", node, "--labels", "istio=ingressgateway"]);
    try {
      const listenerUrl = (await gateway.waitFor(new RegExp(`listener "0\\.0\\.0\\.0_${port}" on (http://\\S+)`), 20_000))[1]!;
      const r = await httpRequest(`${listenerUrl.replace("0.0.0.0", "127.0.0.1")}/buy`);
      expect([r.status, upstreamOf(r.body)]).toEqual([200, "a"]);

      writeFileSync(join(dir, "vs.yaml"), virtualService("shop-b"));
      await waitFor("the edited VirtualService", async () => {
        const x = await httpRequest(`http://127.0.0.1:${port}/buy`);
        return x.status === 200 && upstreamOf(x.body) === "b" ? true : undefined;
      }, 5000);
    } finally {
      await gateway.stop();
      await plane.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("bad input: one line each", () => {
  it("rejects bad flags and a bad ads_config", async () => {
    const cases: [string[], RegExp][] = [
      [["--xds", "nohost", "--node", NODE_ID], /^halyard gateway: --xds: "nohost" is not host:port$/m],
      [["--xds", "127.0.0.1:1"], /^halyard gateway: --node <id> is required/m],
      [["--xds", "127.0.0.1:1", "--node", "sidecar~nope~x.y~d"], /^halyard gateway: --node: node id "sidecar~nope~x\.y~d": "nope" is not an IP address$/m],
      [["--xds", "127.0.0.1:1", "--node", NODE_ID, "--labels", "app"], /^halyard gateway: --labels: "app" is not key=value$/m],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(["gateway", ...args])));
    results.forEach((r, i) => {
      expect(r.code, cases[i]![0].join(" ")).toBe(1);
      expect(r.stderr).toMatch(cases[i]![1]);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
    const dir = tempDir();
    try {
      const file = writeYaml(dir, "bad-ads.yaml", {
        node: { id: "n" },
        dynamic_resources: { ads_config: { api_type: "GRPC", grpc_services: [{ envoy_grpc: { cluster_name: "missing" } }] }, lds_config: { ads: {} } },
      });
      const r = await runCli(["gateway", "-c", file]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toMatch(/^halyard gateway: .*bad-ads\.yaml:\d+: dynamic_resources\.ads_config\.grpc_services\[0\]\.envoy_grpc\.cluster_name: unknown cluster "missing"/);
      const rest = writeYaml(dir, "rest.yaml", {
        node: { id: "n" },
        dynamic_resources: { ads_config: { api_type: "REST" }, lds_config: { path: "/x" } },
      });
      const r2 = await runCli(["gateway", "-c", rest]);
      expect(r2.stderr.trim()).toMatch(/ads_config\.api_type: "REST" is not supported by halyard gateway \(supported: GRPC, DELTA_GRPC\)$/);
      const h2 = writeYaml(dir, "h2.yaml", {
        static_resources: {
          listeners: [],
          clusters: [
            {
              name: "grpc-upstream",
              typed_extension_protocol_options: {
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                  "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                  explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 10 } },
                },
              },
            },
          ],
        },
      });
      const r3 = await runCli(["gateway", "-c", h2]);
      expect(r3.stderr.trim()).toMatch(
        /h2\.yaml:\d+: static_resources\.clusters\[0\]\.typed_extension_protocol_options\.envoy\.extensions\.upstreams\.http\.v3\.HttpProtocolOptions\.explicit_http_config\.http2_protocol_options\.max_concurrent_streams: not supported by halyard gateway$/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("pieces", () => {
  it("the REST client and what it uses are portable (no node: imports)", () => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, "utf8");
      expect(text, file).not.toMatch(/from "node:/);
      for (const m of text.matchAll(/^import [^;]*? from "(\.[^"]+)\.js";/gm)) visit(join(dirname(file), `${m[1]}.ts`));
    };
    visit(join(root, "gateway/xds/rest-client.ts"));
    expect([...seen].some((f) => f.endsWith("bootstrap/build.ts"))).toBe(true);
  });


  it("maps ports below 1024 to port + 8000 when they may not be bound", () => {
    expect(bindAddress({ address: "0.0.0.0", port: 80 }, () => false)).toEqual({ address: { address: "0.0.0.0", port: 8080 }, mapping: { from: 80, to: 8080 } });
    expect(bindAddress({ address: "0.0.0.0", port: 80 }, () => true)).toEqual({ address: { address: "0.0.0.0", port: 80 } });
    expect(bindAddress({ address: "0.0.0.0", port: 8443 }, () => false)).toEqual({ address: { address: "0.0.0.0", port: 8443 } });
    expect(bindAddress({ address: "0.0.0.0", port: 0 }, () => false)).toEqual({ address: { address: "0.0.0.0", port: 0 } });
  });

  it("backs off exponentially with jitter, capped, and resets", () => {
    const top = new Backoff({ baseMs: 100, maxMs: 1000, random: () => 0.999999 });
    expect([1, 2, 3, 4, 5, 6].map(() => top.next())).toEqual([99, 199, 399, 799, 999, 999]);
    top.reset();
    expect(top.next()).toBe(99);
    const r = new Backoff({ baseMs: 100, maxMs: 1000 });
    for (let i = 0; i < 50; i++) expect(r.next()).toBeLessThanOrEqual(1000);
  });

  it("parses --labels", () => {
    expect(parseLabels("app=web, version=v1,,")).toEqual({ app: "web", version: "v1" });
    expect(parseLabels("topology.kubernetes.io/zone=a")).toEqual({ "topology.kubernetes.io/zone": "a" });
    expect(() => parseLabels("a=1,a=2")).toThrow('--labels: label "a" is given twice');
    expect(() => parseLabels("=x")).toThrow('--labels: "=x" is not key=value');
  });
});

describe("XdsState and DynamicGateway in-process", () => {
  const base = (): GatewayConfig => ({ node: { id: "t", cluster: "t", metadata: {} }, listeners: [], clusters: [], ads: { cluster: "xds", lds: true, cds: true } });
  const anys = (schema: Parameters<typeof anyPack>[0], ms: Message[]) => ms.map((m) => anyPack(schema, m as never));

  it("waits for RDS and EDS before the first config (warming), then applies; re-creates a wasm plugin only when its config changes", async () => {
    const gateway = new DynamicGateway(base());
    const configs: GatewayConfig[] = [];
    const state = new XdsState({ base: base(), apply: async (cfg) => (configs.push(cfg), gateway.apply(cfg)) });
    try {
      const filter = (cfg: string) => [wasmHttpFilter("echo", "halyard.echo", { file: HALYARD_WASM }, cfg)];
      expect(await state.handleResponse(TYPE_URLS.clusters, "c1", anys(ClusterSchema, [edsCluster("svc-a")]))).toEqual({ accepted: true });
      expect(state.resourceNames(TYPE_URLS.endpoints)).toEqual(["svc-a"]);
      expect(await state.handleResponse(TYPE_URLS.endpoints, "e1", anys(ClusterLoadAssignmentSchema, [loadAssignment("svc-a", [a.port])]))).toEqual({ accepted: true });
      const l1 = httpListener({ name: "l", port: 0, rds: "r", filters: filter(ECHO_CONFIG) });
      expect(await state.handleResponse(TYPE_URLS.listeners, "l1", anys(ListenerSchema, [l1]))).toEqual({ accepted: true });
      expect(configs).toHaveLength(0); // the listener waits for its routes
      expect(state.resourceNames(TYPE_URLS.routes)).toEqual(["r"]);
      expect(await state.handleResponse(TYPE_URLS.routes, "r1", anys(RouteConfigurationSchema, [httpRoutes("r", [["/", "svc-a"]])]))).toEqual({ accepted: true });
      expect(configs).toHaveLength(1);
      const lurl = `http://127.0.0.1:${gateway.listeners().get("l")!.port}`;
      expect(upstreamOf((await httpRequest(`${lurl}/p`)).body)).toBe("a");
      expect(gateway.stats()).toMatchObject({ plugins: 1, pluginLoads: 1, generations: 1 });

      // A route change: same plugin.
      await state.handleResponse(TYPE_URLS.routes, "r2", anys(RouteConfigurationSchema, [httpRoutes("r", [["/q", "svc-a"], ["/", "svc-a"]])]));
      expect(gateway.stats()).toMatchObject({ plugins: 1, pluginLoads: 1, generations: 1 });
      // A filter configuration change: a new plugin, the old one closed.
      const l2 = httpListener({ name: "l", port: 0, rds: "r", filters: filter(JSON.stringify({ response_headers: { "x-b": "3" } })) });
      await state.handleResponse(TYPE_URLS.listeners, "l2", anys(ListenerSchema, [l2]));
      expect(gateway.stats()).toMatchObject({ plugins: 1, pluginLoads: 2, generations: 1 });
      expect((await httpRequest(`${lurl}/p`)).headers["x-b"]).toBe("3");

      // A bad wasm file: NACKed with the reason, the old config stays.
      const bad = httpListener({ name: "l", port: 0, rds: "r", filters: [wasmHttpFilter("echo", "halyard.echo", { file: "/nonexistent/x.wasm" }, "{}")] });
      const out = await state.handleResponse(TYPE_URLS.listeners, "l3", anys(ListenerSchema, [bad]));
      expect(out).toEqual({ accepted: false, error: 'listener "l": http_filters[0] (echo): /nonexistent/x.wasm: wasm file not found' });
      expect(state.version(TYPE_URLS.listeners)).toBe("l2");
      expect((await httpRequest(`${lurl}/p`)).headers["x-b"]).toBe("3");

      // The listener removed while a request is in flight: the port closes, the request finishes.
      const slow = httpRequest(`${lurl}/slow?ms=800`);
      await waitFor("the slow request at upstream a", () => (a.seen.some((s) => s.url === "/slow?ms=800") ? true : undefined));
      await state.handleResponse(TYPE_URLS.listeners, "l4", []);
      expect(gateway.listeners().size).toBe(0);
      await expect(httpRequest(`${lurl}/p`, { timeoutMs: 2000 })).rejects.toThrow(/ECONNREFUSED/);
      const done = await slow;
      expect([done.status, upstreamOf(done.body), done.headers["x-b"]]).toEqual([200, "a", "3"]);
      await waitFor("the old generation released", () => (gateway.stats().generations === 1 && gateway.stats().plugins === 0 ? true : undefined));
    } finally {
      await gateway.close();
    }
  });

  it("takes the usable resources of a response and NACKs the others, keeping their last good version (as Envoy)", async () => {
    const configs: GatewayConfig[] = [];
    const state = new XdsState({ base: base(), apply: async (cfg) => void configs.push(cfg) });
    const logicalDns = create(ClusterSchema, { name: "dns", clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.LOGICAL_DNS } });
    const out = await state.handleResponse(TYPE_URLS.clusters, "c1", anys(ClusterSchema, [edsCluster("good"), logicalDns]));
    expect(out).toEqual({ accepted: false, error: 'cluster "dns": load_assignment: cluster "dns": LOGICAL_DNS clusters must have a single locality_lb_endpoint and a single lb_endpoint (found 0 endpoints)' });
    expect(state.version(TYPE_URLS.clusters)).toBe(""); // a NACK keeps the last accepted version
    expect(state.resourceNames(TYPE_URLS.endpoints)).toEqual(["good"]); // but "good" is in use
    await state.handleResponse(TYPE_URLS.endpoints, "e1", anys(ClusterLoadAssignmentSchema, [loadAssignment("good", [a.port])]));
    await state.handleResponse(TYPE_URLS.listeners, "l1", anys(ListenerSchema, [httpListener({ name: "l", port: 0, rds: "r" })]));
    await state.handleResponse(TYPE_URLS.routes, "r1", anys(RouteConfigurationSchema, [httpRoutes("r", [["/", "good"]])]));
    expect(configs.at(-1)!.clusters.map((x) => x.name)).toEqual(["good"]);

    // "good" turns bad in the next version: its previous version stays in service.
    const badGood = create(ClusterSchema, { ...edsCluster("good"), clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.LOGICAL_DNS } });
    const out2 = await state.handleResponse(TYPE_URLS.clusters, "c2", anys(ClusterSchema, [badGood, edsCluster("other")]));
    expect(out2.accepted).toBe(false);
    expect(state.resourceNames(TYPE_URLS.endpoints)).toEqual(["good", "other"]);
    expect(configs.at(-1)!.clusters.find((x) => x.name === "good")!.endpoints.map((e) => e.port)).toEqual([a.port]);
    state.close();
  });

  it("delta responses add and remove resources and track their versions (initial_resource_versions on reconnect)", async () => {
    const configs: GatewayConfig[] = [];
    const state = new XdsState({ base: base(), apply: async (cfg) => void configs.push(cfg) });
    const res = (c: ReturnType<typeof edsCluster>, version: string) => ({ name: c.name, version, resource: anyPack(ClusterSchema, c) });
    expect(await state.handleDelta(TYPE_URLS.clusters, "s1", [res(edsCluster("x"), "1"), res(edsCluster("y"), "1")], [])).toEqual({ accepted: true });
    expect(state.resourceVersions(TYPE_URLS.clusters)).toEqual({ x: "1", y: "1" });
    const bad = create(ClusterSchema, { ...edsCluster("y"), clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.STRICT_DNS } });
    expect((await state.handleDelta(TYPE_URLS.clusters, "s2", [res(bad, "2")], ["x"])).accepted).toBe(false);
    expect(state.resourceVersions(TYPE_URLS.clusters)).toEqual({ y: "1" }); // x removed, y kept at its good version
    expect(state.resourceNames(TYPE_URLS.endpoints)).toEqual(["y"]);
    const wrongName = { name: "z", version: "1", resource: anyPack(ClusterSchema, edsCluster("other")) };
    expect(await state.handleDelta(TYPE_URLS.clusters, "s3", [wrongName], [])).toEqual({ accepted: false, error: 'resources[0]: name "z" differs from the resource\'s own name' });
    state.close();
  });

  it("starts without what has not come by the initial fetch timeout", async () => {
    const configs: GatewayConfig[] = [];
    const lines: string[] = [];
    const state = new XdsState({ base: base(), initialFetchTimeoutMs: 100, apply: async (cfg) => void configs.push(cfg), log: (l) => lines.push(l) });
    try {
      await state.handleResponse(TYPE_URLS.clusters, "c1", []);
      await state.handleResponse(TYPE_URLS.listeners, "l1", anys(ListenerSchema, [httpListener({ name: "one", port: 0, rds: "r1" }), httpListener({ name: "two", port: 0, rds: "r2" })]));
      await state.handleResponse(TYPE_URLS.routes, "r1", anys(RouteConfigurationSchema, [httpRoutes("r1", [["/", "x"]])]));
      expect(configs).toHaveLength(0);
      await waitFor("the initial fetch timeout", () => (configs.length === 1 ? true : undefined), 2000);
      expect(configs[0]!.listeners.map((l) => l.name)).toEqual(["one"]);
      expect(lines).toContain('xds: initial fetch timeout: starting without route configuration "r2" of listener "two"');
      await state.handleResponse(TYPE_URLS.routes, "r2", anys(RouteConfigurationSchema, [httpRoutes("r1", [["/", "x"]]), httpRoutes("r2", [["/", "x"]])]));
      expect(configs.at(-1)!.listeners.map((l) => l.name)).toEqual(["one", "two"]);
    } finally {
      state.close();
    }
  });

  it("fetches remote wasm code, verifies its sha256, and NACKs a mismatch", async () => {
    const wasm = readFileSync(HALYARD_WASM);
    const sha = createHash("sha256").update(wasm).digest("hex");
    const server: Server = createServer((_req, res) => res.end(wasm));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const wasmUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/halyard.wasm`;
    const remoteCode = new RemoteCodeCache();
    const gateway = new DynamicGateway(base(), { remoteCode });
    const state = new XdsState({ base: base(), remoteCode, apply: (cfg) => gateway.apply(cfg) });
    try {
      await state.handleResponse(TYPE_URLS.clusters, "c1", anys(ClusterSchema, [edsCluster("svc-a")]));
      await state.handleResponse(TYPE_URLS.endpoints, "e1", anys(ClusterLoadAssignmentSchema, [loadAssignment("svc-a", [a.port])]));
      await state.handleResponse(TYPE_URLS.routes, "r1", anys(RouteConfigurationSchema, [httpRoutes("r", [["/", "svc-a"]])]));
      const wrong = "0".repeat(64);
      const bad = httpListener({ name: "l", port: 0, rds: "r", filters: [wasmHttpFilter("echo", "halyard.echo", { uri: wasmUrl, sha256: wrong }, ECHO_CONFIG)] });
      expect(await state.handleResponse(TYPE_URLS.listeners, "l1", anys(ListenerSchema, [bad]))).toEqual({
        accepted: false,
        error: `listener "l": remote wasm code ${wasmUrl}: sha256 mismatch (expected ${wrong}, got ${sha})`,
      });
      const good = httpListener({ name: "l", port: 0, rds: "r", filters: [wasmHttpFilter("echo", "halyard.echo", { uri: wasmUrl, sha256: sha }, ECHO_CONFIG)] });
      expect(await state.handleResponse(TYPE_URLS.listeners, "l2", anys(ListenerSchema, [good]))).toEqual({ accepted: true });
      const r = await httpRequest(`http://127.0.0.1:${gateway.listeners().get("l")!.port}/p`);
      expect(r.headers["x-b"]).toBe("2");
    } finally {
      await gateway.close();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
