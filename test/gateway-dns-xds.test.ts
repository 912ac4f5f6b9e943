// End to end from Istio config: a ServiceEntry with `resolution: DNS` (STRICT_DNS, V4_ONLY, respect_dns_ttl from the
// real translator) whose endpoint is `localhost`, served by `halyard serve` (in process) to `halyard gateway --xds`
// (a child process): the gateway resolves the name with the system resolver and sends the traffic there.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serve } from "../control/serve.js";
import { createSnapshotBuilder } from "../control/translate/xds/index.js";
import { freePort, httpRequest, requireBuiltCli, startUpstream, type Upstream } from "./helpers/gateway-process.js";
import { spawnGateway } from "./helpers/gateway-xds.js";
import { ingressGatewayYaml, ingressRoutesYaml } from "./helpers/istio-yaml.js";
import { waitFor } from "./helpers/xds-server.js";

let upstream: Upstream;

beforeAll(async () => {
  requireBuiltCli();
  upstream = await startUpstream("external");
});

afterAll(async () => {
  await upstream?.close();
});

const serviceEntry = (port: number) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: external-api, namespace: default}
spec:
  hosts: [api.external.test]
  location: MESH_EXTERNAL
  resolution: DNS
  ports: [{number: 8080, name: http, protocol: HTTP}]
  endpoints:
  - address: localhost
    ports: {http: ${port}}
---
${ingressRoutesYaml("api.external.test")}`;

describe("ServiceEntry resolution: DNS through halyard serve + halyard gateway --xds", () => {
  it("the STRICT_DNS cluster resolves localhost and serves the route", async () => {
    const dir = mkdtempSync(join(tmpdir(), "halyard-gw-dns-xds-"));
    const port = await freePort();
    writeFileSync(join(dir, "gateway.yaml"), ingressGatewayYaml(port));
    writeFileSync(join(dir, "external.yaml"), serviceEntry(upstream.port));
    const plane = await serve({ paths: [dir], builder: createSnapshotBuilder(), host: "127.0.0.1", xdsPort: 0, httpPort: 0, pushDebounceMs: 20, log: () => {} });
    const node = "router~127.0.0.1~istio-ingress.istio-system~istio-system.svc.cluster.local";
    const gateway = spawnGateway(["--xds", `127.0.0.1:${plane.xds.port}`, "--node", node, "--labels", "istio=ingressgateway"]);
    try {
      await gateway.waitFor(new RegExp(`listener "0\\.0\\.0\\.0_${port}" on`), 20_000);
      const r = await waitFor("a routed answer", async () => {
        const x = await httpRequest(`http://127.0.0.1:${port}/orders`);
        return x.status === 200 ? x : undefined;
      }, 10_000);
      expect(JSON.parse(r.body)).toMatchObject({ upstream: "external", url: "/orders" });
      expect(gateway.output()).not.toMatch(/NACK|not supported/);
    } finally {
      await gateway.stop();
      await plane.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);
});
