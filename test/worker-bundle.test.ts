// The Workers bundle as it would be deployed: `wrangler deploy --dry-run` with the repository's wrangler.jsonc,
// then the bundled worker.js run in workerd (Miniflare, what `wrangler dev` runs) with a snapshot translated from
// examples/payments + the edge Gateway fixture, answering through the wasm filters and a real upstream on 127.0.0.1.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runProxyConfig } from "../control/cli/proxy-config.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const NODE_ID = "router~10.0.0.9~edge.production~production.svc.cluster.local";
let work: string;
let out: string;
let upstream: Server;
let mf: Miniflare | undefined;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "halyard-worker-bundle-"));
  out = join(work, "out");
  const dry = spawnSync(process.execPath, [join(root, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", out], {
    cwd: root,
    env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", CI: "1" },
    encoding: "utf8",
    timeout: 60_000,
  });
  if (dry.status !== 0) throw new Error(`wrangler deploy --dry-run failed:\n${dry.stdout}\n${dry.stderr}`);

  upstream = createServer((req, res) => res.end(JSON.stringify({ url: req.url, cluster: req.headers["x-halyard-cluster"] })));
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  const port = (upstream.address() as AddressInfo).port;
  const config = join(work, "config");
  mkdirSync(config);
  const payments = join(root, "examples/payments");
  writeFileSync(join(config, "service.yaml"), readFileSync(join(payments, "service.yaml"), "utf8").replace(/http: 1808\d/g, `http: ${port}`));
  for (const f of readdirSync(payments)) if (f.endsWith(".yaml") && f !== "service.yaml") copyFileSync(join(payments, f), join(config, f));
  copyFileSync(join(root, "test/workers/fixtures/edge-gateway.yaml"), join(config, "edge-gateway.yaml"));
  let snapshot = "";
  let err = "";
  const code = await runProxyConfig(["all", "-o", "json", "--node", NODE_ID, "--label", "istio=ingressgateway", "-f", config], { out: (t) => void (snapshot += t), err: (t) => void (err += t) });
  if (code !== 0) throw new Error(err);
  mf = new Miniflare({
    modules: true,
    scriptPath: join(out, "worker.js"),
    modulesRoot: out,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: "2026-05-01",
    // Miniflare hands the worker its own loopback URL (no port to select a listener by).
    bindings: { HALYARD_SNAPSHOT: snapshot, HALYARD_LISTENER: "0.0.0.0_8080" },
  });
}, 90_000);

afterAll(async () => {
  await mf?.dispose();
  upstream?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("wrangler deploy --dry-run bundle", () => {
  it("is one worker.js plus halyard.wasm, with nothing Node-only in it", () => {
    const files = readdirSync(out);
    expect(files).toContain("worker.js");
    expect(files.filter((f) => f.endsWith(".wasm"))).toHaveLength(1);
    const js = readFileSync(join(out, "worker.js"), "utf8");
    expect(js).not.toMatch(/from\s*["']node:|require\(["']node:|import\(["']node:/);
  });

  it("runs in workerd and answers through the wasm filters and the router", async () => {
    const pay = await mf!.dispatchFetch("http://edge.example:8080/pay");
    expect(pay.status).toBe(200);
    expect(pay.headers.get("x-edge-route")).toBe("stable");
    // The route's request_headers_to_remove keeps halyard.route's x-halyard-cluster inside the proxy.
    expect(await pay.json()).toEqual({ url: "/pay" });
    const moved = await mf!.dispatchFetch("http://edge.example:8080/old", { redirect: "manual" });
    expect(moved.status).toBe(301);
    // The redirect names the authority the worker saw: Miniflare's loopback URL.
    expect(moved.headers.get("location")).toMatch(/^http:\/\/[^/]+\/new$/);
    await moved.arrayBuffer();
  });
});
