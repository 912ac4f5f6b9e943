// `halyard x check`: the built CLI, spawned as a user runs it, on examples/payments and small fixtures. The
// decisions come from the real halyard.fault and halyard.route filters in halyard.wasm.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { build } from "./helpers/halyard-wasm.js";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const SHOP = "test/fixtures/xcheck/shop.yaml";
const PAYMENTS = "examples/payments";
const HOST = "payment-service.production.svc.cluster.local";
const P = (subset: string) => `outbound|8080|${subset}|${HOST}`;
const SHOP_FQDN = "shop.web.svc.cluster.local";
const S = (subset: string) => `outbound|80|${subset}|${SHOP_FQDN}`;
const DEFAULT_RETRIES = { attempts: 2, retryOn: "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes", retriableStatusCodes: [503] };
const PAYMENT_RETRIES = { attempts: 3, perTryTimeoutMs: 2000, retryOn: "5xx,connect-failure" };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function halyard(args: string[]): Promise<Run> {
  const t0 = performance.now();
  return new Promise((done) => {
    execFile(process.execPath, ["bin/halyard.js", ...args], { cwd: root, timeout: 60_000, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      done({ code, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

async function check(...args: string[]): Promise<any> {
  const r = await halyard(["x", "check", ...args, "-o", "json"]);
  expect(r.stderr.split("\n").filter((l) => l && !l.startsWith("warning: "))).toEqual([]);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

const tmp = mkdtempSync(join(tmpdir(), "xcheck-"));
beforeAll(() => {
  build("wasm", "ts");
}, 320_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("examples/payments", { timeout: 180_000 }, () => {
  test("default traffic: v1 or v2 with the route's timeout and retries, the service FQDN as host", async () => {
    const r = await check("-f", PAYMENTS, "--from", "production/frontend", "GET", "http://payment-service:8080/pay");
    expect([P("v1"), P("v2")]).toContain(r.cluster);
    expect(r).toEqual({ outcome: "route", route: "stable", cluster: r.cluster, host: HOST, path: "/pay", authority: "payment-service:8080", timeoutMs: 30000, retries: PAYMENT_RETRIES });
  });

  test("x-env: canary goes to v2-canary, from any namespace and by any name of the service", async () => {
    const cases = [
      ["production/frontend", "http://payment-service:8080/pay"],
      ["shop/checkout", `http://payment-service.production:8080/pay`],
      ["shop/checkout", `http://${HOST}:8080/pay`],
    ] as const;
    const results = await Promise.all(cases.map(([from, url]) => check("-f", PAYMENTS, "--from", from, "-H", "x-env: canary", "POST", url)));
    for (const r of results) {
      expect(r).toMatchObject({ outcome: "route", route: "canary", cluster: P("v2-canary"), host: HOST, timeoutMs: 30000, retries: PAYMENT_RETRIES });
    }
  });

  test("--samples 10000 splits 90/10 within 2%, quickly", async () => {
    const r = await halyard(["x", "check", "-f", PAYMENTS, "--samples", "10000", "-o", "json", "GET", "http://payment-service.production:8080/pay"]);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.samples).toBe(10000);
    expect(s.outcomes).toEqual({ route: 10000 });
    expect(s.delayed).toBe(0);
    expect(Object.keys(s.clusters).sort()).toEqual([P("v1"), P("v2")]);
    expect(Math.abs(s.clusters[P("v1")] / 10000 - 0.9)).toBeLessThan(0.02);
    expect(Math.abs(s.clusters[P("v2")] / 10000 - 0.1)).toBeLessThan(0.02);
    console.log(`x check --samples 10000 (payments, no faults): ${r.ms.toFixed(0)} ms wall, whole process`);
  });

  test("x-chaos-test: aborts 503 and delays 2 s half the time each, without sleeping", async () => {
    const r = await halyard(["x", "check", "-f", PAYMENTS, "--from", "production/frontend", "-H", "x-chaos-test: true", "--samples", "10000", "-o", "json", "GET", "http://payment-service:8080/pay"]);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(Object.keys(s.outcomes).sort()).toEqual(["abort", "route"]);
    expect(Math.abs(s.outcomes.abort / 10000 - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(s.delayed / 10000 - 0.5)).toBeLessThan(0.02);
    // Requests that were not aborted went to the chaos route's only destination.
    expect(s.clusters).toEqual({ [P("v1")]: s.outcomes.route });
    console.log(`x check --samples 10000 (payments, x-chaos-test): ${r.ms.toFixed(0)} ms wall for ${s.delayed} delays of 2 s`);
    // Sleeping through the delays, even a batch of 250 requests at a time, would take at least 40 x 2 s.
    expect(r.ms).toBeLessThan(18_000);
  });

  test("x-chaos-test, one request: an abort carries its status, a delay its length", async () => {
    const seen = new Set<string>();
    for (let round = 0; round < 6 && seen.size < 3; round++) {
      const batch = await Promise.all(
        Array.from({ length: 6 }, () => check("-f", PAYMENTS, "--from", "production/frontend", "-H", "x-chaos-test: true", "GET", "http://payment-service:8080/pay")),
      );
      for (const r of batch) {
        if (r.outcome === "abort") {
          expect(r).toMatchObject({ status: 503 });
          expect(r.cluster).toBeUndefined();
        } else {
          expect(r).toMatchObject({ outcome: "route", route: "chaos", cluster: P("v1") });
        }
        if (r.delayMs !== undefined) expect(r.delayMs).toBe(2000);
        seen.add(`${r.outcome}${r.delayMs ? "+delay" : ""}`);
      }
    }
    expect(seen.size).toBeGreaterThanOrEqual(3);
  });
});

describe("each outcome (test/fixtures/xcheck/shop.yaml)", { timeout: 180_000 }, () => {
  const shop = (...args: string[]) => check("-f", SHOP, "--from", "web/client", ...args);

  test("redirect", async () => {
    expect(await shop("GET", "http://shop/old?x=1")).toEqual({ outcome: "redirect", status: 302, route: "moved", location: "http://shop/new?x=1" });
  });

  test("direct response, with its response headers", async () => {
    expect(await shop("GET", "http://shop.web/gone")).toEqual({ outcome: "direct_response", status: 410, route: "gone", responseHeaders: { set: { "x-gone": "yes" } } });
  });

  test("gRPC abort: HTTP 200 with the gRPC status", async () => {
    expect(await shop("-H", "content-type: application/grpc", "POST", "http://shop/pkg.Svc/Call")).toEqual({ outcome: "abort", status: 200, grpcStatus: 14 });
  });

  test("a one-hour delay is reported, not slept", async () => {
    const r = await shop("GET", "http://shop/slow");
    expect(r).toMatchObject({ outcome: "route", route: "slow", delayMs: 3_600_000, cluster: S("v1"), timeoutMs: 0, retries: DEFAULT_RETRIES });
  });

  test("rewrite, header operations both ways, mirror, timeout, Istio's default retries", async () => {
    expect(await shop("-H", "x-debug: 1", "-H", "x-envoy-max-retries: 9", "GET", "http://shop/api/items?q=1")).toEqual({
      outcome: "route",
      route: "api",
      cluster: S("v1"),
      host: SHOP_FQDN,
      path: "/internal/items?q=1",
      authority: "shop",
      timeoutMs: 2000,
      retries: DEFAULT_RETRIES,
      mirrors: [S("v2")],
      // The client's x-envoy-* header is stripped: clients never steer the router.
      requestHeaders: { set: { "x-from": "halyard", "x-envoy-original-path": "/api/items?q=1" }, removed: ["x-debug"] },
      responseHeaders: { set: { "x-served-by": "shop" }, removed: ["server"] },
    });
  });

  test("CORS preflight answered locally", async () => {
    const r = await shop("-H", "origin: https://a.example", "-H", "access-control-request-method: POST", "OPTIONS", "http://shop/cors");
    expect(r).toMatchObject({ outcome: "direct_response", status: 200, route: "cors" });
    expect(r.responseHeaders.set).toMatchObject({ "access-control-allow-origin": "https://a.example", "access-control-max-age": "60" });
  });

  test("weights between subsets", async () => {
    const r = await halyard(["x", "check", "-f", SHOP, "--from", "web/client", "--samples", "10000", "-o", "json", "GET", "http://shop/"]);
    const s = JSON.parse(r.stdout);
    expect(Math.abs(s.clusters[S("v1")] / 10000 - 0.5)).toBeLessThan(0.02);
    expect(s.clusters[S("v1")] + s.clusters[S("v2")]).toBe(10000);
  });

  test("a missing subset still routes to its cluster, with a warning naming the field", async () => {
    const r = await halyard(["x", "check", "-f", SHOP, "--from", "web/client", "-o", "json", "GET", "http://shop/v3"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: "route", cluster: S("v3") });
    expect(r.stderr).toContain(`warning: ${SHOP}:`);
    expect(r.stderr).toContain(`VirtualService web/shop: spec.http[6].route[0].destination.subset: DestinationRule web/shop has no subset "v3"`);
  });

  test("a gateway routes its hosts and answers 404 for others", async () => {
    expect(await check("-f", SHOP, "--gateway", "edge/public", "GET", "http://shop.example.com/old")).toEqual({
      outcome: "redirect",
      status: 302,
      route: "moved",
      location: "http://shop.example.com/new",
    });
    expect(await check("-f", SHOP, "--gateway", "edge/public", "GET", "http://other.example.com/")).toMatchObject({ outcome: "no_route", status: 404 });
  });

  test("a host outside the mesh passes through from a sidecar", async () => {
    expect(await shop("GET", "http://example.org:80/")).toMatchObject({ outcome: "route", cluster: "PassthroughCluster", retries: { attempts: 0 } });
  });

  test("human-readable summary", async () => {
    const r = await halyard(["x", "check", "-f", SHOP, "--from", "web/client", "GET", "http://shop/slow"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("outcome:          route\n");
    expect(r.stdout).toContain("delay:            3600000 ms (fault injected)\n");
    expect(r.stdout).toContain(`cluster:          ${S("v1")}\n`);
  });
});

describe("errors are one line each, exit 1", { timeout: 180_000 }, () => {
  test("invalid config: the same lines `halyard validate` prints", async () => {
    const file = join(tmp, "bad.yaml");
    writeFileSync(
      file,
      `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: bad, namespace: web }
spec:
  hosts: [shop]
  http:
  - route:
    - { destination: { host: shop }, weight: -1 }
`,
    );
    const validate = await halyard(["validate", "-f", file]);
    const r = await halyard(["x", "check", "-f", file, "-o", "json", "GET", "http://shop/"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(validate.stderr).not.toBe("");
    expect(r.stderr).toBe(validate.stderr);
  });

  test.each([
    [["-f", SHOP, "GET"], "halyard x check: expected METHOD URL, got \"GET\"; usage: halyard x check"],
    [["-f", SHOP, "GET", "ftp://x/"], 'halyard x check: URL "ftp://x/": scheme must be http or https'],
    [["-f", SHOP, "--from", "web", "GET", "http://shop/"], 'halyard x check: --from "web": expected <namespace>/<serviceaccount>'],
    [["-f", SHOP, "--samples", "0", "GET", "http://shop/"], 'halyard x check: --samples "0": expected an integer from 1 to 1000000'],
    [["-f", SHOP, "-H", "novalue", "GET", "http://shop/"], `halyard x check: -H "novalue": expected 'name: value'`],
    [["-f", SHOP, "--gateway", "edge/nope", "GET", "http://shop/"], "halyard x check: gateway edge/nope: no such Gateway in the config (have edge/public)"],
    [["-f", SHOP, "--from", "web/c", "GET", "http://shop:9999/"], "halyard x check: the sidecar in namespace web (web/c) has no HTTP routes on port 9999 (HTTP ports: 80)"],
    [["-f", join("test", "fixtures", "xcheck", "missing.yaml"), "GET", "http://shop/"], "test/fixtures/xcheck/missing.yaml: no such file or directory"],
  ])("%j", async (args, line) => {
    const r = await halyard(["x", "check", ...args]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]!.startsWith(line)).toBe(true);
  });
});
