// `npm start` runs `halyard demo`: the payments scenario (examples/payments) — sample apps v1 / v2 / v2-canary, the
// control plane and an ingress gateway fed over ADS — all on 127.0.0.1. Real process, real requests.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpRequest, requireBuiltCli, root } from "./helpers/gateway-process.js";

const HOST = "payments.example.com";
const V1_PORT = 18081; // examples/payments/service.yaml, payment-v1

interface Demo {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function startDemo(): Demo {
  const child = spawn(process.execPath, ["bin/halyard.js", "demo"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once("close", (code) => r(code)));
  return { child, output: () => out, exited };
}

async function waitForOutput(demo: Demo, text: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!demo.output().includes(text)) {
    if (demo.child.exitCode !== null) throw new Error(`halyard demo exited (${demo.child.exitCode}) before printing "${text}"\n${demo.output()}`);
    if (Date.now() > deadline) throw new Error(`halyard demo did not print "${text}" within ${timeoutMs} ms\n${demo.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stopDemo(demo: Demo, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
  if (demo.child.exitCode === null) demo.child.kill(signal);
  const killer = setTimeout(() => demo.child.kill("SIGKILL"), 15_000);
  const code = await demo.exited;
  clearTimeout(killer);
  return code;
}

const versionOf = (body: string) => (JSON.parse(body) as { service: string; version: string }).version;

describe("npm start (halyard demo): the payments scenario", () => {
  let demo: Demo;
  let gateway: string;
  const pay = (headers: Record<string, string> = {}) => httpRequest(`${gateway}/pay`, { headers: { host: HOST, ...headers } });

  beforeAll(async () => {
    requireBuiltCli();
    demo = startDemo();
    await waitForOutput(demo, "Ctrl-C", 30_000);
    gateway = /ingress\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(demo.output())![1]!;
  }, 40_000);

  afterAll(async () => {
    if (demo) await stopDemo(demo);
  }, 20_000);

  it("prints the URLs and what to curl", () => {
    const out = demo.output();
    for (const port of [18081, 18082, 18083]) expect(out).toContain(`http://127.0.0.1:${port}`);
    expect(out).toContain(`curl -si -H 'host: ${HOST}' ${gateway}/pay`);
    expect(out).toContain(`curl -si -H 'x-env: canary' -H 'host: ${HOST}' ${gateway}/pay`);
    expect(out).toContain(`curl -si -H 'x-chaos-test: true' -H 'host: ${HOST}' ${gateway}/pay`);
  });

  it("splits plain requests about 90/10 between v1 and v2", async () => {
    const counts: Record<string, number> = {};
    for (let batch = 0; batch < 10; batch++) {
      const replies = await Promise.all(Array.from({ length: 20 }, () => pay()));
      for (const r of replies) {
        expect(r.status).toBe(200);
        const body = JSON.parse(r.body) as { service: string; version: string; path: string };
        expect([body.service, body.path]).toEqual(["payment-service", "/pay"]);
        counts[body.version] = (counts[body.version] ?? 0) + 1;
      }
    }
    expect(Object.keys(counts).sort()).toEqual(["v1", "v2"]);
    const v1 = counts.v1! / 200;
    expect(v1).toBeGreaterThanOrEqual(0.75);
    expect(v1).toBeLessThanOrEqual(0.98);
  }, 30_000);

  it("sends x-env: canary to v2-canary, every time", async () => {
    const replies = await Promise.all(Array.from({ length: 30 }, () => pay({ "x-env": "canary" })));
    expect(replies.map((r) => [r.status, versionOf(r.body)])).toEqual(replies.map(() => [200, "v2-canary"]));
  }, 15_000);

  it("injects the configured fault on x-chaos-test: true (503 for ~half, a 2 s delay for ~half, else v1)", async () => {
    const results = await Promise.all(
      Array.from({ length: 24 }, async () => {
        const t0 = Date.now();
        const r = await pay({ "x-chaos-test": "true" });
        return { status: r.status, body: r.body, ms: Date.now() - t0 };
      }),
    );
    const aborted = results.filter((r) => r.status === 503);
    const routed = results.filter((r) => r.status === 200);
    expect(aborted.length + routed.length).toBe(results.length);
    // Each of 24 draws is 50/50: all or none aborted (or delayed) has a chance of 2^-23.
    expect(aborted.length).toBeGreaterThan(0);
    expect(routed.length).toBeGreaterThan(0);
    for (const r of routed) expect(versionOf(r.body)).toBe("v1");
    const delayed = results.filter((r) => r.ms >= 1900);
    expect(delayed.length).toBeGreaterThan(0);
    expect(delayed.length).toBeLessThan(results.length);
  }, 20_000);

  it("without the public host the gateway has no route (404)", async () => {
    const r = await httpRequest(`${gateway}/pay`);
    expect(r.status).toBe(404);
  });
});

describe("halyard demo when a payments port is busy", () => {
  let blocker: Server;

  beforeAll(async () => {
    requireBuiltCli();
  });

  afterAll(async () => {
    await new Promise((r) => (blocker ? blocker.close(r) : r(null)));
  });

  it("exits 1 with one line naming the port", async () => {
    blocker = createServer();
    await new Promise<void>((resolve, reject) => {
      blocker.once("error", reject);
      blocker.listen(V1_PORT, "127.0.0.1", resolve);
    });
    const demo = startDemo();
    const killer = setTimeout(() => demo.child.kill("SIGKILL"), 20_000);
    const code = await demo.exited;
    clearTimeout(killer);
    expect(code).toBe(1);
    expect(demo.output()).toMatch(/^halyard demo: cannot listen on 127\.0\.0\.1:18081 \(port in use\)/m);
    expect(demo.output().trim().split("\n")).toHaveLength(1);
  }, 25_000);
});

describe("halyard demo shutdown", () => {
  it("exits 0 on SIGTERM and on SIGINT, closing every port", async () => {
    requireBuiltCli();
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const demo = startDemo();
      await waitForOutput(demo, "Ctrl-C", 30_000);
      expect(await stopDemo(demo, signal)).toBe(0);
      expect(demo.output()).toContain(`halyard demo: ${signal}, stopping`);
      // The apps' ports are free again.
      const probe = createServer();
      await new Promise<void>((resolve, reject) => {
        probe.once("error", reject);
        probe.listen(V1_PORT, "127.0.0.1", resolve);
      });
      await new Promise((r) => probe.close(r));
    }
  }, 80_000);
});
