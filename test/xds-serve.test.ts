// serve(): config loaded and watched, snapshots from a SnapshotBuilder (hand-written here: the translator plugs in
// the same way), REST-JSON xDS (200 then 304), /debug/configz, /debug/syncz, /healthz/ready, pushes on change.
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterSchema } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import type { ConfigSet } from "../control/config/config-set.js";
import { CLUSTER_TYPE, LISTENER_TYPE } from "../control/xds/resource-types.js";
import type { XdsNode } from "../control/xds/node.js";
import { serve, ServeConfigError, type ControlPlane, type SnapshotBuilder } from "../control/serve.js";
import { openSotw, sotwRequest } from "./helpers/xds-raw-client.js";
import { waitFor } from "./helpers/xds-server.js";

const serviceEntry = (name: string, host: string) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: ${name}
  namespace: default
spec:
  hosts: [${host}]
  ports:
  - number: 80
    name: http
    protocol: HTTP
  resolution: DNS
  location: MESH_EXTERNAL
`;

/** One cluster per ServiceEntry host, named for the node's namespace: enough to see config and node flow through. */
const builder: SnapshotBuilder = {
  build(config: ConfigSet, node: XdsNode) {
    const ns = typeof node.metadata.NAMESPACE === "string" ? node.metadata.NAMESPACE : "none";
    if (ns === "explode") throw new Error("builder refuses this node");
    return {
      clusters: config.serviceEntries.flatMap((se) => (se.spec.hosts ?? []).map((h) => create(ClusterSchema, { name: `${ns}|${h}` }))),
    };
  },
};

let dir: string;
let cp: ControlPlane;
const logs: string[] = [];
let base: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "halyard-serve-"));
  writeFileSync(join(dir, "a.yaml"), serviceEntry("a", "a.example.com"));
  cp = await serve({ paths: [dir], builder, host: "127.0.0.1", xdsPort: 0, httpPort: 0, pushDebounceMs: 50, log: (l) => logs.push(l) });
  base = `http://127.0.0.1:${cp.http.port}`;
});

afterAll(async () => {
  await cp?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const discover = (kind: string, body: unknown) =>
  fetch(`${base}/v3/discovery:${kind}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

describe("halyard serve wiring", () => {
  it("is ready, and shows the loaded config in /debug/configz", async () => {
    const ready = await fetch(`${base}/healthz/ready`);
    expect(ready.status).toBe(200);
    const configz = (await (await fetch(`${base}/debug/configz`)).json()) as { loaded: boolean; documents: { kind: string; name: string; source: { file: string } }[] };
    expect(configz.loaded).toBe(true);
    expect(configz.documents.map((d) => `${d.kind}/${d.name}`)).toEqual(["ServiceEntry/a"]);
    expect(configz.documents[0]!.source.file).toBe(join(dir, "a.yaml"));
  });

  it("answers REST-JSON discovery with 200, then 304 for the current version", async () => {
    const node = { id: "rest-1", metadata: { NAMESPACE: "ns1" } };
    const r1 = await discover("clusters", { node });
    expect(r1.status).toBe(200);
    const body = (await r1.json()) as { versionInfo: string; typeUrl: string; resources: { "@type": string; name: string }[] };
    expect(body.typeUrl).toBe(CLUSTER_TYPE);
    expect(body.resources).toEqual([{ "@type": CLUSTER_TYPE, name: "ns1|a.example.com" }]);
    expect(body.versionInfo).toMatch(/^[0-9a-f]{16}$/);

    const r2 = await discover("clusters", { node, version_info: body.versionInfo });
    expect(r2.status).toBe(304);
    expect(await r2.text()).toBe("");

    // Another type of the same node: nothing there, but a version and a 200.
    const l = await discover("listeners", { node, typeUrl: LISTENER_TYPE });
    expect(l.status).toBe(200);
    expect(await l.json()).toMatchObject({ typeUrl: LISTENER_TYPE, versionInfo: expect.any(String) });
  });

  it("rejects bad REST requests with a one-line reason", async () => {
    const cases: [string, BodyInit, number, RegExp][] = [
      ["discovery:nonsense", "{}", 404, /unknown xDS REST endpoint \/v3\/discovery:nonsense/],
      ["discovery:clusters", "{not json", 400, /request body: not valid JSON/],
      ["discovery:clusters", JSON.stringify({ node: {} }), 400, /request body: node.id is required/],
      ["discovery:clusters", JSON.stringify({ node: { id: "x" }, typeUrl: LISTENER_TYPE }), 400, /does not match this endpoint's type/],
      ["discovery:clusters", JSON.stringify({ node: { id: "x" }, bogus_field: 1 }), 400, /request body: not a DiscoveryRequest: .*bogus_field/],
      ["discovery:clusters", JSON.stringify({ node: { id: "boom", metadata: { NAMESPACE: "explode" } } }), 503, /no configuration for node "boom" yet/],
    ];
    for (const [op, body, status, message] of cases) {
      const r = await fetch(`${base}/v3/${op}`, { method: "POST", body });
      expect(r.status, op + " " + String(body)).toBe(status);
      const { error } = (await r.json()) as { error: string };
      expect(error).toMatch(message);
      expect(error).not.toContain("\n");
    }
    expect(logs.some((l) => l.includes(`node "boom"`) && l.includes("builder refuses this node"))).toBe(true);
  });

  it("pushes a config change to a connected gRPC stream and to REST, and keeps serving through an invalid config", async () => {
    const s = openSotw(cp.xds.port);
    try {
      s.send(sotwRequest({ node: { id: "grpc-1", metadata: { NAMESPACE: "ns2" } }, typeUrl: CLUSTER_TYPE }));
      const r1 = await s.next();
      expect(r1.resources.length).toBe(1);
      s.send(sotwRequest({ typeUrl: CLUSTER_TYPE, versionInfo: r1.versionInfo, responseNonce: r1.nonce }));

      writeFileSync(join(dir, "b.yaml"), serviceEntry("b", "b.example.com"));
      const r2 = await s.next(5000);
      expect(r2.resources.length).toBe(2);
      expect(r2.versionInfo).not.toBe(r1.versionInfo);
      s.send(sotwRequest({ typeUrl: CLUSTER_TYPE, versionInfo: r2.versionInfo, responseNonce: r2.nonce }));
      await waitFor("REST sees the change", async () => {
        const body = (await (await discover("clusters", { node: { id: "rest-1", metadata: { NAMESPACE: "ns1" } } })).json()) as { resources: unknown[] };
        return body.resources.length === 2 ? true : undefined;
      });

      // A broken file: reported, the last valid config stays, nothing is pushed.
      writeFileSync(join(dir, "c.yaml"), "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: c}\nspec: {hosts: 5}\n");
      await waitFor("the config error in the log", () => (logs.some((l) => l.includes("c.yaml")) ? true : undefined));
      expect(logs.some((l) => l.includes("still serving the last valid config"))).toBe(true);
      await s.none(300);
      const configz = (await (await fetch(`${base}/debug/configz`)).json()) as { documents: { name: string }[] };
      expect(configz.documents.map((d) => d.name)).toEqual(["a", "b"]);

      const syncz = (await (await fetch(`${base}/debug/syncz`)).json()) as { proxies: { id: string; streams: { types: Record<string, { ackedVersion?: string }> }[] }[] };
      expect(syncz.proxies.find((p) => p.id === "grpc-1")?.streams[0]?.types.clusters?.ackedVersion).toBe(r2.versionInfo);
    } finally {
      s.close();
    }
  });

  it("refuses to start on invalid config, naming file and field", async () => {
    const bad = mkdtempSync(join(tmpdir(), "halyard-serve-bad-"));
    try {
      writeFileSync(join(bad, "x.yaml"), "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: x}\nspec: {hosts: 5}\n");
      const err = await serve({ paths: [bad], builder, host: "127.0.0.1", xdsPort: 0, httpPort: 0 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ServeConfigError);
      expect((err as ServeConfigError).errors[0]).toMatchObject({ file: join(bad, "x.yaml"), kind: "ServiceEntry", name: "x" });
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });
});
