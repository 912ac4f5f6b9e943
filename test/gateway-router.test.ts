// The router and cluster manager end to end, in process: a real gateway (bootstrap -> startGateway) on 127.0.0.1
// in front of real node:http upstreams that fail on purpose (killed, slow, resetting, 5xx), real HTTP clients.
import { readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { parseBootstrap } from "../gateway/bootstrap/parse.js";
import { startGateway, type RunningGateway } from "../gateway/gateway.js";
import { bootstrap, listener, staticCluster } from "./helpers/envoy-bootstrap.js";
import { startFlakyUpstream, type FlakyUpstream } from "./helpers/flaky-upstream.js";
import { tempDir } from "./helpers/gateway-process.js";

const OVERFLOW = "upstream connect error or disconnect/reset before headers. reset reason: overflow";
const TERMINATION = "upstream connect error or disconnect/reset before headers. reset reason: connection termination";

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: 32 });

function get(base: string, path: string, headers: Record<string, string> = {}, timeoutMs = 10_000): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

/** Runs `count` requests with at most `concurrency` in flight. */
async function many(count: number, concurrency: number, one: (i: number) => Promise<Res>): Promise<Res[]> {
  const out: Res[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await one(i);
      }
    }),
  );
  return out;
}

const upstreamOf = (r: Res) => (JSON.parse(r.body) as { upstream: string }).upstream;
const route = (prefix: string, action: Record<string, unknown>) => ({ match: { prefix }, route: action });

let ups: Record<string, FlakyUpstream>;
let gw: RunningGateway;
let base: string;
let logFile: string;
/** A trusted hop's x-forwarded-for naming an internal client: the HCM keeps the request's x-envoy-* headers. */
const INTERNAL = { "x-forwarded-for": "127.0.0.1" };

beforeAll(async () => {
  const names = ["k1", "k2", "f", "s", "w1", "w2", "r1", "r2", "r3", "fast"];
  ups = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await startFlakyUpstream(n)] as const)));
  ups.slow = await startFlakyUpstream("slow", { delayMs: 150 });
  const dir = tempDir("halyard-router-");
  logFile = join(dir, "access.log");
  const retry = (retry_on: string, extra: Record<string, unknown> = {}) => ({ retry_on, ...extra });
  const doc = bootstrap(
    [
      listener({
        port: 0,
        // Requests whose x-forwarded-for names 127.0.0.1 are internal: their x-envoy-* headers are kept (as a filter's).
        hcmExtra: { internal_address_config: { cidr_ranges: [{ address_prefix: "127.0.0.1", prefix_len: 32 }] }, access_log: [{ name: "envoy.access_loggers.file", typed_config: { "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog", path: logFile } }] },
        virtualHosts: [
          {
            name: "all",
            domains: ["*"],
            include_request_attempt_count: true,
            include_attempt_count_in_response: true,
            routes: [
              route("/killed", {
                cluster: "killable",
                retry_policy: retry("connect-failure,reset,5xx", {
                  num_retries: 2,
                  retry_host_predicate: [{ name: "envoy.retry_host_predicates.previous_hosts", typed_config: { "@type": "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate" } }],
                  host_selection_retry_max_attempts: 3,
                }),
              }),
              route("/rsc/", { cluster: "one", retry_policy: retry("retriable-status-codes", { retriable_status_codes: [503], num_retries: 3 }) }),
              route("/5xx/", { cluster: "one", retry_policy: retry("5xx", { num_retries: 1 }) }),
              route("/reset/", { cluster: "one", retry_policy: retry("reset", { num_retries: 1 }) }),
              route("/grpc/", { cluster: "one", retry_policy: retry("unavailable", { num_retries: 1 }) }),
              route("/pertry/", { cluster: "one", timeout: "5s", retry_policy: retry("5xx", { num_retries: 1, per_try_timeout: "0.2s" }) }),
              route("/global/", { cluster: "one", timeout: "0.3s" }),
              route("/plain/", { cluster: "one" }),
              route("/cb/", { cluster: "limited" }),
              route("/weighted", { weighted_clusters: { clusters: [{ name: "w1", weight: 80 }, { name: "w2", weight: 20 }] } }),
              route("/ring", { cluster: "ring", hash_policy: [{ header: { header_name: "x-user" } }] }),
              route("/maglev", { cluster: "maglev", hash_policy: [{ header: { header_name: "x-user" } }] }),
              route("/cookie", { cluster: "ring", hash_policy: [{ cookie: { name: "sticky", ttl: "60s", path: "/" } }] }),
              route("/least", { cluster: "least" }),
              route("/rr", { cluster: "rr-slow-fast" }),
            ],
          },
        ],
      }),
    ],
    [
      {
        ...staticCluster("killable", [ups.k1!.port, ups.k2!.port], "0.5s"),
        outlier_detection: { consecutive_5xx: 2, interval: "0.1s", base_ejection_time: "30s", max_ejection_percent: 50 },
      },
      staticCluster("one", [ups.f!.port]),
      { ...staticCluster("limited", [ups.s!.port]), circuit_breakers: { thresholds: [{ max_connections: 1, max_pending_requests: 1 }] } },
      staticCluster("w1", [ups.w1!.port]),
      staticCluster("w2", [ups.w2!.port]),
      { ...staticCluster("ring", [ups.r1!.port, ups.r2!.port, ups.r3!.port]), lb_policy: "RING_HASH" },
      { ...staticCluster("maglev", [ups.r1!.port, ups.r2!.port, ups.r3!.port]), lb_policy: "MAGLEV" },
      { ...staticCluster("least", [ups.slow!.port, ups.fast!.port]), lb_policy: "LEAST_REQUEST" },
      staticCluster("rr-slow-fast", [ups.slow!.port, ups.fast!.port]),
    ],
  );
  gw = await startGateway(parseBootstrap("router.yaml", stringify(doc), { resolvePath: (n) => n }), { file: "router.yaml" });
  base = `http://127.0.0.1:${gw.listeners[0]!.address.port}`;
});

afterAll(async () => {
  agent.destroy();
  await gw?.close();
  await Promise.all(Object.values(ups ?? {}).map((u) => u.close()));
});

describe("retries", () => {
  it("retries a retriable status code until it succeeds; x-envoy-attempt-count goes upstream and back", async () => {
    const before = ups.f!.seen.length;
    const r = await get(base, "/rsc/flaky?fail=2&mode=503");
    expect(r.status).toBe(200);
    expect(r.headers["x-envoy-attempt-count"]).toBe("3");
    const attempts = ups.f!.seen.slice(before);
    expect(attempts.map((s) => s.headers["x-envoy-attempt-count"])).toEqual(["1", "2", "3"]);
    // One request: the same x-request-id on every attempt.
    expect(new Set(attempts.map((s) => s.headers["x-request-id"])).size).toBe(1);
  });

  it("does not retry a status code that is not listed", async () => {
    const r = await get(base, "/rsc/flaky?fail=1&mode=500");
    expect([r.status, r.headers["x-envoy-attempt-count"]]).toEqual([500, "1"]);
  });

  it("returns the last upstream response once the retries are exhausted (URX)", async () => {
    const r = await get(base, "/5xx/flaky?fail=5&mode=503");
    expect([r.status, r.headers["x-upstream"], r.headers["x-envoy-attempt-count"]]).toEqual([503, "f", "2"]);
  });

  it("follows retry headers set by a filter (x-envoy-retry-on, -retriable-status-codes, -max-retries) and strips them", async () => {
    const before = ups.f!.seen.length;
    const r = await get(base, "/plain/flaky?fail=2&mode=409", {
      ...INTERNAL,
      "x-envoy-retry-on": "retriable-status-codes",
      "x-envoy-retriable-status-codes": "409,418",
      "x-envoy-max-retries": "2",
    });
    expect([r.status, r.headers["x-envoy-attempt-count"]]).toEqual([200, "3"]);
    for (const s of ups.f!.seen.slice(before)) {
      expect(Object.keys(s.headers).filter((k) => /^x-envoy-(retry|retriable|max-retries|upstream-rq)/.test(k))).toEqual([]);
    }
    // retriable-4xx means 409.
    expect((await get(base, "/plain/flaky?fail=1&mode=409", { ...INTERNAL, "x-envoy-retry-on": "retriable-4xx" })).status).toBe(200);
  });

  it("retries a connection reset under retry_on reset; without a policy it is 503 UC", async () => {
    const r = await get(base, "/reset/flaky?fail=1&mode=reset");
    expect([r.status, r.headers["x-envoy-attempt-count"]]).toEqual([200, "2"]);
    const plain = await get(base, "/plain/flaky?fail=1&mode=reset");
    expect([plain.status, plain.body]).toEqual([503, TERMINATION]);
  });

  it("retries gRPC unavailable (grpc-status 14)", async () => {
    const r = await get(base, "/grpc/flaky?fail=1&mode=grpc14");
    expect([r.status, r.headers["grpc-status"], r.headers["x-envoy-attempt-count"]]).toEqual([200, undefined, "2"]);
  });
});

describe("timeouts", () => {
  it("retries after a per-try timeout", async () => {
    const t0 = Date.now();
    const r = await get(base, "/pertry/flaky?fail=1&mode=slow");
    expect([r.status, r.headers["x-envoy-attempt-count"]]).toEqual([200, "2"]);
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  it("answers 504 UT when every try times out, with Envoy's expected-timeout header per try", async () => {
    const before = ups.f!.seen.length;
    const t0 = Date.now();
    const r = await get(base, "/pertry/flaky?fail=9&mode=slow");
    expect([r.status, r.body]).toEqual([504, "upstream request timeout"]);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(ups.f!.seen.slice(before).map((s) => s.headers["x-envoy-expected-rq-timeout-ms"])).toEqual(["200", "200"]);
  });

  it("answers 504 UT at the route timeout, and x-envoy-upstream-rq-timeout-ms overrides it", async () => {
    let t0 = Date.now();
    const r = await get(base, "/global/slow?ms=2000");
    expect([r.status, r.body]).toEqual([504, "upstream request timeout"]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
    expect(Date.now() - t0).toBeLessThan(1500);
    t0 = Date.now();
    const longer = await get(base, "/global/slow?ms=500", { ...INTERNAL, "x-envoy-upstream-rq-timeout-ms": "1500" });
    expect(longer.status).toBe(200);
    const perTry = await get(base, "/global/slow?ms=2000", { ...INTERNAL, "x-envoy-upstream-rq-timeout-ms": "0", "x-envoy-upstream-rq-per-try-timeout-ms": "100" });
    expect(perTry.status).toBe(504);
  });
});

describe("cluster manager", () => {
  it("an upstream killed mid-test is retried on another host, then ejected: no client-visible error", async () => {
    const first = await many(20, 4, () => get(base, "/killed/ok"));
    expect(first.every((r) => r.status === 200)).toBe(true);
    expect(new Set(first.map(upstreamOf))).toEqual(new Set(["k1", "k2"]));
    await ups.k1!.kill();
    const seenBefore = ups.k2!.seen.length;
    const after = await many(40, 4, () => get(base, "/killed/ok"));
    expect(after.map((r) => r.status)).toEqual(new Array(40).fill(200));
    expect(after.every((r) => upstreamOf(r) === "k2")).toBe(true);
    // Ejected after two consecutive failures: later requests go to k2 on their first attempt.
    const lastTen = after.slice(-10).map((r) => r.headers["x-envoy-attempt-count"]);
    expect(lastTen).toEqual(new Array(10).fill("1"));
    expect(ups.k2!.seen.length - seenBefore).toBe(40);
  });

  it("circuit breakers: over max_connections + max_pending_requests is 503 UO with Envoy's body", async () => {
    const results = await Promise.all(Array.from({ length: 6 }, () => get(base, "/cb/slow?ms=300")));
    const ok = results.filter((r) => r.status === 200);
    const overflow = results.filter((r) => r.status === 503);
    expect(ok.length).toBe(2); // one on the connection, one pending
    expect(overflow.length).toBe(4);
    for (const r of overflow) expect(r.body).toBe(OVERFLOW);
  });

  it("splits weighted_clusters 80/20 within ±5% over 2000 requests", async () => {
    const results = await many(2000, 16, () => get(base, "/weighted"));
    const w1 = results.filter((r) => upstreamOf(r) === "w1").length / 2000;
    expect(w1).toBeGreaterThan(0.75);
    expect(w1).toBeLessThan(0.85);
  });

  it("RING_HASH and MAGLEV keep each x-user on one host and spread users over hosts", async () => {
    for (const path of ["/ring", "/maglev"]) {
      const owner = new Map<string, string>();
      for (let u = 0; u < 30; u++) {
        for (let i = 0; i < 4; i++) {
          const host = upstreamOf(await get(base, path, { "x-user": `user-${u}` }));
          expect(owner.get(`user-${u}`) ?? host).toBe(host);
          owner.set(`user-${u}`, host);
        }
      }
      expect(new Set(owner.values()).size).toBe(3);
    }
  });

  it("a cookie hash policy with a ttl sets Envoy's cookie and sticks to it", async () => {
    const r = await get(base, "/cookie");
    const cookie = String(r.headers["set-cookie"]);
    expect(cookie).toMatch(/^sticky="[0-9a-f]{16}"; Max-Age=60; Path=\/; HttpOnly$/);
    const value = /^sticky=("[0-9a-f]{16}")/.exec(cookie)![1]!;
    const hosts = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const again = await get(base, "/cookie", { cookie: `sticky=${value}` });
      expect(again.headers["set-cookie"]).toBeUndefined();
      hosts.add(upstreamOf(again));
    }
    expect(hosts.size).toBe(1);
  });

  it("LEAST_REQUEST prefers the less loaded host; ROUND_ROBIN does not", async () => {
    const share = async (path: string) => {
      const results = await many(200, 12, () => get(base, path));
      return results.filter((r) => upstreamOf(r) === "fast").length / results.length;
    };
    const least = await share("/least");
    const rr = await share("/rr");
    expect(rr).toBeGreaterThan(0.4);
    expect(rr).toBeLessThan(0.6);
    // Power of two choices over two hosts picks the same host twice half the time, so even a perfectly informed
    // choice sends at most ~75% to the fast host; 0.6 keeps a clear margin over round robin's ~50% under CI load.
    expect(least).toBeGreaterThan(0.6);
    expect(least).toBeGreaterThan(rr + 0.08);
  });
});

describe("access log", () => {
  it("writes one line per request in Envoy's default format, with response flags", async () => {
    await get(base, "/plain/ok", { "user-agent": "halyard-test", "x-request-id": "log-ok" });
    await get(base, "/5xx/flaky?fail=5&mode=503", { "x-request-id": "log-urx" });
    await new Promise((r) => setTimeout(r, 100));
    const lines = readFileSync(logFile, "utf8").split("\n");
    const ok = lines.find((l) => l.includes('"log-ok"'))!;
    expect(ok).toMatch(
      /^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] "GET \/plain\/ok HTTP\/1\.1" 200 - 0 \d+ \d+ \d+ "-" "halyard-test" "log-ok" "127\.0\.0\.1:\d+" "127\.0\.0\.1:\d+"$/,
    );
    expect(lines.find((l) => l.includes('"log-urx"'))).toMatch(/" 503 URX 0 /);
  });
});
