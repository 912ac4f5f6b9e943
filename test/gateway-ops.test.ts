// Operating `halyard gateway`: graceful drain on SIGTERM (requests in flight finish, over HTTP/1.1 and HTTP/2, new
// connections are refused, readiness turns 503, exit 0; --drain-time bounds it), /healthz/ready and /ready on the
// admin port (503 until an xDS gateway has its first configuration), and the access log: on by default to stdout
// in Envoy's default format, --access-log off, or a file.
import { readFileSync } from "node:fs";
import { Agent, get as httpGet } from "node:http";
import { connect as http2Connect } from "node:http2";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serve } from "../control/serve.js";
import { bootstrap, listener, socketAddress, staticCluster } from "./helpers/envoy-bootstrap.js";
import { freePort, httpRequest, requireBuiltCli, startUpstream, tempDir, writeYaml, type Upstream } from "./helpers/gateway-process.js";
import { httpResources, spawnGateway, type GatewayChild } from "./helpers/gateway-xds.js";
import { exchange } from "./helpers/raw-exchange.js";
import { waitFor } from "./helpers/xds-server.js";

let upstream: Upstream;
let dir: string;
let file: string;

const LOG_LINE =
  /^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] "GET \/logged\?n=1 HTTP\/1\.1" 200 - 0 \d+ \d+ \d+ "-" "ops-test" "[0-9a-f-]{36}" "ops\.test" "127\.0\.0\.1:\d+"$/m;

beforeAll(async () => {
  requireBuiltCli();
  upstream = await startUpstream("ops");
  dir = tempDir("halyard-gw-ops-");
  const l = listener({ name: "web", port: 0, virtualHosts: [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "ops" } }] }] });
  file = writeYaml(dir, "ops.yaml", bootstrap([l], [staticCluster("ops", [upstream.port])], { admin: { address: socketAddress(0) } }));
});

afterAll(async () => {
  await upstream?.close();
});

async function start(args: string[] = []): Promise<{ gw: GatewayChild; url: string; admin: string }> {
  const gw = spawnGateway(["-c", file, ...args]);
  const admin = (await gw.waitFor(/admin on (http:\/\/\S+)/, 20_000))[1]!;
  const url = (await gw.waitFor(/listener "web" on (http:\/\/\S+)/, 20_000))[1]!;
  return { gw, url, admin };
}

function exited(gw: GatewayChild): Promise<number | null> {
  return new Promise((resolve) => (gw.child.exitCode !== null ? resolve(gw.child.exitCode) : gw.child.once("exit", (code) => resolve(code))));
}

/** One HTTP/2 (h2c) GET; resolves with the status and body. */
function h2Get(url: string, path: string): Promise<{ status: number; body: string }> {
  const session = http2Connect(url);
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    session.on("error", reject);
    const s = session.request({ ":path": path });
    let status = 0;
    let body = "";
    s.on("response", (h) => (status = Number(h[":status"])));
    s.on("data", (d: Buffer) => (body += d));
    s.on("end", () => resolve({ status, body }));
    s.on("error", reject);
    s.end();
  }).finally(() => session.close());
}

describe("graceful drain on SIGTERM", () => {
  it("requests in flight (HTTP/1.1 and HTTP/2) finish 200, new connections are refused, readiness is 503, exit 0", async () => {
    const { gw, url, admin } = await start(["--drain-time", "5s"]);
    expect((await httpRequest(`${admin}/healthz/ready`)).status).toBe(200);
    // An idle keep-alive connection must not hold the drain up.
    const keepAlive = new Agent({ keepAlive: true });
    const idle = await new Promise<number>((resolve, reject) =>
      httpGet(`${url}/idle`, { agent: keepAlive }, (res) => res.resume().on("end", () => resolve(res.statusCode ?? 0))).on("error", reject),
    );
    expect(idle).toBe(200);
    const slow1 = httpRequest(`${url}/slow?ms=1500`, { timeoutMs: 10_000 });
    const slow2 = h2Get(url, "/slow?ms=1500");
    await waitFor("both slow requests at the upstream", async () => (upstream.seen.filter((s) => s.url === "/slow?ms=1500").length >= 2 ? true : undefined), 5000);
    const t0 = Date.now();
    gw.child.kill("SIGTERM");
    await gw.waitFor(/SIGTERM, shutting down \(draining for up to 5000 ms\)/);

    // Not accepting any more, and telling load balancers so, while the slow requests are still running.
    // (A connection that raced the close in the kernel's accept queue is reset; the next ones are refused.)
    const refused = await waitFor("new connections refused", async () => {
      const e = await httpRequest(`${url}/new`, { timeoutMs: 2000 }).then(() => new Error("a new request was served"), (err: Error) => err);
      return /ECONNREFUSED/.test(e.message) ? e.message : /ECONNRESET/.test(e.message) ? undefined : Promise.reject(e);
    }, 1000);
    expect(refused).toMatch(/ECONNREFUSED/);
    const ready = await httpRequest(`${admin}/healthz/ready`);
    expect([ready.status, ready.body]).toEqual([503, "draining\n"]);
    expect((await httpRequest(`${admin}/ready`)).status).toBe(503);

    const [r1, r2] = await Promise.all([slow1, slow2]);
    expect([r1.status, JSON.parse(r1.body).url]).toEqual([200, "/slow?ms=1500"]);
    expect(r1.headers.connection).toBe("close");
    expect([r2.status, JSON.parse(r2.body).url]).toEqual([200, "/slow?ms=1500"]);
    expect(await exited(gw)).toBe(0);
    // Exited once the requests were done, not at the end of the drain time.
    expect(Date.now() - t0).toBeLessThan(4000);
    keepAlive.destroy();
  });

  it("--drain-time bounds the wait: a request still running then is cut, and the gateway exits 0", async () => {
    const { gw, url } = await start(["--drain-time", "300ms"]);
    const slow = httpRequest(`${url}/slow?ms=5000`, { timeoutMs: 10_000 }).then(
      (r) => r.status,
      (e: Error) => e.message,
    );
    await waitFor("the slow request at the upstream", async () => (upstream.seen.some((s) => s.url === "/slow?ms=5000") ? true : undefined), 5000);
    const t0 = Date.now();
    gw.child.kill("SIGTERM");
    expect(await exited(gw)).toBe(0);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(await slow).toMatch(/socket hang up|ECONNRESET/);
  });
});

describe("admin readiness", () => {
  it("static bootstrap: /healthz/ready 200 and /ready LIVE once the listeners are up", async () => {
    const { gw, admin } = await start();
    try {
      const [h, r] = [await httpRequest(`${admin}/healthz/ready`), await httpRequest(`${admin}/ready`)];
      expect([h.status, h.body, r.status, r.body]).toEqual([200, "ready\n", 200, "LIVE\n"]);
    } finally {
      await gw.stop();
    }
  });

  it("xDS: 503 until the first configuration is applied, then 200", async () => {
    const xdsPort = await freePort();
    const boot = writeYaml(dir, "ads.yaml", {
      node: { id: "router~127.0.0.1~ops.istio-system~istio-system.svc.cluster.local", cluster: "ops" },
      admin: { address: socketAddress(0) },
      dynamic_resources: {
        ads_config: { api_type: "GRPC", transport_api_version: "V3", grpc_services: [{ envoy_grpc: { cluster_name: "xds" } }] },
        lds_config: { ads: {}, resource_api_version: "V3" },
        cds_config: { ads: {}, resource_api_version: "V3" },
      },
      static_resources: { clusters: [staticCluster("xds", [xdsPort])] },
    });
    const gw = spawnGateway(["-c", boot]);
    let plane: Awaited<ReturnType<typeof serve>> | undefined;
    try {
      const admin = (await gw.waitFor(/admin on (http:\/\/\S+)/, 20_000))[1]!;
      const before = await httpRequest(`${admin}/healthz/ready`);
      expect([before.status, before.body]).toEqual([503, "not ready\n"]);
      expect((await httpRequest(`${admin}/ready`)).body).toBe("PRE_INITIALIZING\n");

      const resources = httpResources({ listeners: [{ name: "http", port: 0, rds: "r" }], routes: { r: [["/", "svc"]] }, clusters: { svc: [upstream.port] } });
      plane = await serve({ paths: [tempDir("halyard-gw-ops-cp-")], builder: { build: () => resources }, host: "127.0.0.1", xdsPort, httpPort: 0, pushDebounceMs: 20, log: () => {} });
      await gw.waitFor(/configuration 1 applied/, 15_000);
      const after = await httpRequest(`${admin}/healthz/ready`);
      expect([after.status, after.body]).toEqual([200, "ready\n"]);
    } finally {
      await gw.stop();
      await plane?.close();
    }
  });
});

describe("access log", () => {
  const logged = (url: string) => httpRequest(`${url}/logged?n=1`, { headers: { host: "ops.test", "user-agent": "ops-test" } });

  it("is on by default: one line per request on stdout in Envoy's default format", async () => {
    const { gw, url } = await start();
    try {
      expect((await logged(url)).status).toBe(200);
      await gw.waitFor(LOG_LINE);
    } finally {
      await gw.stop();
    }
  });

  it("--access-log off: no line; --access-log <file>: the lines go to the file", async () => {
    const off = await start(["--access-log", "off"]);
    try {
      expect((await logged(off.url)).status).toBe(200);
      expect((await httpRequest(`${off.url}/other`)).status).toBe(200);
    } finally {
      await off.gw.stop();
    }
    expect(off.gw.output()).not.toMatch(/"GET \/logged/);

    const logFile = join(dir, "access.log");
    const toFile = await start(["--access-log", logFile]);
    try {
      for (let i = 0; i < 3; i++) expect((await logged(toFile.url)).status).toBe(200);
    } finally {
      await toFile.gw.stop();
    }
    const lines = readFileSync(logFile, "utf8").split("\n").filter(Boolean);
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).toMatch(LOG_LINE);
    expect(toFile.gw.output()).not.toMatch(/"GET \/logged/);
  });

  it("a request the codec refuses is logged as Envoy logs a downstream protocol error (DPE, no request headers)", async () => {
    const logFile = join(dir, "refused.log");
    const { gw, url } = await start(["--access-log", logFile]);
    let answer: string;
    try {
      const { port } = new URL(url);
      answer = await exchange(Number(port), "POST / HTTP/1.1\r\nHost: ops.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    } finally {
      await gw.stop();
    }
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    const lines = readFileSync(logFile, "utf8").split("\n").filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[\d{4}-\d\d-\d\dT[\d:.]+Z\] "- - HTTP\/1\.1" 400 DPE 0 11 \d+ - "-" "-" "-" "-" "-"$/);
  });

  it("a bad --access-log or --drain-time is one line, exit 1", async () => {
    for (const [args, want] of [
      [["--access-log", join(dir, "no/such/dir/a.log")], /^halyard gateway: --access-log: access log file \S+a\.log: cannot open for writing \(ENOENT\)$/],
      [["--drain-time", "soon"], /^halyard gateway: --drain-time: "soon" is not a duration \(e\.g\. 5s, 500ms, 10\)$/],
    ] as Array<[string[], RegExp]>) {
      const gw = spawnGateway(["-c", file, ...args]);
      const code = await exited(gw);
      expect(code).toBe(1);
      expect(gw.output().split("\n")[0]).toMatch(want);
    }
  });
});

