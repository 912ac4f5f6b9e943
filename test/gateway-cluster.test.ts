// Cluster manager pieces in process: xxHash64, the load balancers, outlier detection with the panic threshold,
// circuit breaker admission, Envoy's back-off and retry policy merging, and the bootstrap fields that configure them.
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { BootstrapError } from "../gateway/bootstrap/errors.js";
import { parseBootstrap } from "../gateway/bootstrap/parse.js";
import type { ClusterConfig } from "../gateway/bootstrap/types.js";
import { Cluster } from "../gateway/clusters.js";
import { EndpointRefs } from "../gateway/endpoint-refs.js";
import { computeHash } from "../gateway/hash-policy.js";
import { LeastRequestLb } from "../gateway/lb/least-request.js";
import { MaglevLb } from "../gateway/lb/maglev.js";
import { RingHashLb } from "../gateway/lb/ring-hash.js";
import { hex64, xxHash64 } from "../gateway/lb/xxhash64.js";
import { Backoff, effectiveRetryPolicy, parseRetryOn, RETRY_ON, retriableFailure, retriableResponse } from "../gateway/retry-policy.js";
import { bootstrap, listener, staticCluster } from "./helpers/envoy-bootstrap.js";

const hosts = (n: number) => Array.from({ length: n }, (_, i) => ({ address: { address: "10.0.0.1", port: 8000 + i }, key: `10.0.0.1:${8000 + i}`, activeRequests: 0 }));

describe("xxHash64", () => {
  it("matches the reference vectors", () => {
    expect(hex64(xxHash64(""))).toBe("ef46db3751d8e999");
    expect(hex64(xxHash64("a"))).toBe("d24ec4f1a98c6e5b");
    expect(hex64(xxHash64("abc"))).toBe("44bc2cf5ad770999");
    expect(hex64(xxHash64("Nobody inspects the spammish repetition"))).toBe("fbcea83c8a378bf1");
  });
});

describe("load balancers", () => {
  it("RING_HASH: ceil(min_ring_size / hosts) points per host, stable picks, even spread", () => {
    const lb = new RingHashLb(hosts(3), 1024);
    expect(lb.size).toBe(342 * 3);
    const counts = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const hash = xxHash64(`user-${i}`);
      const h = lb.choose({ hash, attempt: 0 })!;
      expect(lb.choose({ hash, attempt: 0 })).toBe(h);
      counts.set(h.key, (counts.get(h.key) ?? 0) + 1);
    }
    for (const c of counts.values()) expect(c).toBeGreaterThan(700);
    // Adding a host moves only about a quarter of the keys.
    const bigger = new RingHashLb(hosts(4), 1024);
    let moved = 0;
    for (let i = 0; i < 3000; i++) {
      const hash = xxHash64(`user-${i}`);
      if (bigger.choose({ hash, attempt: 0 })!.key !== lb.choose({ hash, attempt: 0 })!.key) moved++;
    }
    expect(moved / 3000).toBeLessThan(0.4);
  });

  it("MAGLEV: every table slot filled, hosts share the table evenly", () => {
    const lb = new MaglevLb(hosts(3), 65537);
    const counts = new Map<string, number>();
    for (let i = 0; i < 65537; i++) {
      const h = lb.choose({ hash: BigInt(i), attempt: 0 })!;
      counts.set(h.key, (counts.get(h.key) ?? 0) + 1);
    }
    expect([...counts.values()].reduce((a, b) => a + b)).toBe(65537);
    for (const c of counts.values()) expect(Math.abs(c - 65537 / 3)).toBeLessThan(2);
  });

  it("LEAST_REQUEST: of two samples the one with fewer active requests wins", () => {
    const hs = hosts(2);
    hs[0]!.activeRequests = 10;
    let i = 0;
    const draws = [0, 1, 1, 0, 0, 0]; // sample pairs: (h0,h1) (h1,h0) (h0,h0)
    const lb = new LeastRequestLb(hs, 2, () => draws[i++ % draws.length]!);
    expect([lb.choose()!.key, lb.choose()!.key, lb.choose()!.key]).toEqual([hs[1]!.key, hs[1]!.key, hs[0]!.key]);
  });
});

describe("outlier detection and panic routing", () => {
  const config = (extra: Partial<ClusterConfig> = {}): ClusterConfig => ({
    name: "c",
    connectTimeoutMs: 1000,
    endpoints: hosts(4).map((h) => h.address),
    outlierDetection: {
      consecutive5xx: 3, consecutiveGatewayFailure: 5, enforcingConsecutive5xx: 100, enforcingConsecutiveGatewayFailure: 0,
      intervalMs: 60_000, baseEjectionTimeMs: 1000, maxEjectionTimeMs: 300_000, maxEjectionPercent: 50, alwaysEjectOneHost: false,
    },
    ...extra,
  });

  it("ejects after consecutive 5xx, for base_ejection_time x times ejected, and never past max_ejection_percent", () => {
    const c = new Cluster(config());
    const [h0, h1, h2] = c.hosts;
    c.reportOutcome(h0!, 503);
    c.reportOutcome(h0!, 200); // a success resets the count
    for (let i = 0; i < 2; i++) c.reportOutcome(h0!, 500);
    expect(h0!.ejected).toBe(false);
    c.reportOutcome(h0!, 500);
    expect(h0!.ejected).toBe(true);
    expect(h0!.ejectedUntilMs - Date.now()).toBeGreaterThan(900);
    for (let i = 0; i < 3; i++) c.reportOutcome(h1!, 502);
    for (let i = 0; i < 3; i++) c.reportOutcome(h2!, 504);
    expect([h0!.ejected, h1!.ejected, h2!.ejected]).toEqual([true, true, false]); // 3 of 4 would be 75% > 50%
    for (let i = 0; i < 200; i++) expect(c.chooseHost({ attempt: 0 })).not.toBe(h0);
    // Back after the ejection time (checked on the interval tick); a second ejection lasts twice as long.
    h0!.ejectedUntilMs = Date.now() - 1;
    c.outlierTick();
    expect(h0!.ejected).toBe(false);
    for (let i = 0; i < 3; i++) c.reportOutcome(h0!, 503);
    expect(h0!.ejected).toBe(true); // 2 of 4 ejected: exactly the 50% limit
    expect(h0!.ejectedUntilMs - Date.now()).toBeGreaterThan(1900);
    c.close();
  });

  it("routes to all hosts in panic (healthy share below healthy_panic_threshold), and answers no host at 0%", () => {
    const c = new Cluster(config({ endpoints: hosts(2).map((h) => h.address), healthyPanicThreshold: 50 }));
    for (let i = 0; i < 3; i++) c.reportOutcome(c.hosts[0]!, 503);
    expect(c.hosts[0]!.ejected).toBe(true); // 1 of 2 = 50%: allowed
    const picks = new Set(Array.from({ length: 50 }, () => c.chooseHost({ attempt: 0 })!.key));
    expect(picks).toEqual(new Set([c.hosts[1]!.key])); // 50% healthy is not below 50%
    c.close();

    const all = new Cluster(config({ endpoints: hosts(2).map((h) => h.address), healthyPanicThreshold: 0, outlierDetection: { ...config().outlierDetection!, maxEjectionPercent: 100 } }));
    for (const h of all.hosts) for (let i = 0; i < 3; i++) all.reportOutcome(h, 503);
    expect(all.chooseHost({ attempt: 0 })).toBeUndefined(); // "no healthy upstream"
    all.close();

    const panic = new Cluster(config({ endpoints: hosts(2).map((h) => h.address), outlierDetection: { ...config().outlierDetection!, maxEjectionPercent: 100 } }));
    for (const h of panic.hosts) for (let i = 0; i < 3; i++) panic.reportOutcome(h, 503);
    expect(panic.chooseHost({ attempt: 0 })).toBeDefined(); // default 50% threshold: panic, use every host
    panic.close();
  });
});

describe("circuit breakers", () => {
  it("admits up to max_connections, queues up to max_pending_requests, overflows beyond", async () => {
    const c = new Cluster({ name: "c", connectTimeoutMs: 1000, endpoints: [{ address: "127.0.0.1", port: 1 }], circuitBreakers: { maxConnections: 1, maxPendingRequests: 1, maxRequests: 10, maxRetries: 1 } });
    const h = c.hosts[0]!;
    expect(c.admit(h, 0)).toBe("ready");
    h.connectionOpened(); // what the transport reports
    const pending = c.admit(h, 0);
    expect(pending).toBeInstanceOf(Promise);
    expect(c.admit(h, 0)).toBe("overflow");
    c.release(h);
    expect(await pending).toBe(true);
    expect(c.tryStartRetry()).toBe(true);
    expect(c.tryStartRetry()).toBe(false); // max_retries 1
    c.endRetry();
    const timedOut = c.admit(h, 20);
    expect(await timedOut).toBe(false);
    expect(c.pendingRequests).toBe(0);
    c.close();
  });

  it("max_requests caps active requests", () => {
    const c = new Cluster({ name: "c", connectTimeoutMs: 1000, endpoints: [{ address: "127.0.0.1", port: 1 }], circuitBreakers: { maxConnections: 100, maxPendingRequests: 100, maxRequests: 2, maxRetries: 3 } });
    const h = c.hosts[0]!;
    expect([c.admit(h, 0), c.admit(h, 0), c.admit(h, 0)]).toEqual(["ready", "ready", "overflow"]);
    c.close();
  });
});

describe("retry policy", () => {
  it("backs off with full jitter below base x (2^n - 1), capped at max", () => {
    const top = new Backoff(25, 250, () => 0.999999);
    expect([top.nextMs(), top.nextMs(), top.nextMs(), top.nextMs(), top.nextMs()]).toEqual([24, 74, 174, 250, 250]);
    const zero = new Backoff(25, 250, () => 0);
    expect(zero.nextMs()).toBe(0);
  });

  it("merges header conditions into the route's and lets x-envoy-max-retries win", () => {
    const route = { retryOn: RETRY_ON["connect-failure"], numRetries: 2, perTryTimeoutMs: 0, retriableStatusCodes: [418], previousHosts: false, hostSelectionMaxAttempts: 1, backoffBaseMs: 25, backoffMaxMs: 250 };
    const p = effectiveRetryPolicy(route, { retryOn: "5xx,bogus", maxRetries: "4", retriableStatusCodes: "429" });
    expect(p.retryOn).toBe(RETRY_ON["connect-failure"] | RETRY_ON["5xx"]);
    expect([p.retriesAllowed, p.retriableStatusCodes]).toEqual([4, [418, 429]]);
    expect(effectiveRetryPolicy(undefined, {}).retriesAllowed).toBe(0);
    expect(effectiveRetryPolicy(undefined, { retryOn: "gateway-error" }).retriesAllowed).toBe(1);
  });

  it("decides like Envoy's RetryStateImpl", () => {
    const p = (on: string, codes: number[] = []) => ({ ...effectiveRetryPolicy(undefined, { retryOn: on }), retriableStatusCodes: codes });
    expect(retriableResponse(p("gateway-error"), 502, [])).toBe(true);
    expect(retriableResponse(p("gateway-error"), 500, [])).toBe(false);
    expect(retriableResponse(p("5xx"), 503, [["x-envoy-overloaded", "true"]])).toBe(false);
    expect(retriableResponse(p("retriable-status-codes", [429]), 429, [])).toBe(true);
    expect(retriableResponse(p("resource-exhausted"), 200, [["grpc-status", "8"]])).toBe(true);
    expect(retriableResponse(p("cancelled"), 200, [["grpc-status", "8"]])).toBe(false);
    expect(retriableFailure(p("connect-failure"), "connect_failure")).toBe(true);
    expect(retriableFailure(p("connect-failure"), "reset")).toBe(false);
    expect(retriableFailure(p("refused-stream"), "reset")).toBe(false); // HTTP/1 has no REFUSED_STREAM
    expect(retriableFailure(p("gateway-error"), "per_try_timeout")).toBe(true);
    expect(parseRetryOn("5xx, reset")).toBe(RETRY_ON["5xx"] | RETRY_ON.reset);
  });
});

describe("hash policies", () => {
  const input = { headers: [["x-user", "alice"], ["cookie", 'a=1; sticky="abc"']] as Array<[string, string]>, path: "/p?q=1&id=42", remote: { address: "192.0.2.1", port: 5000 }, local: { address: "127.0.0.1", port: 80 } };
  it("hashes a header, a cookie, a query parameter and the source IP; combines and stops at terminal", () => {
    expect(computeHash([{ kind: "header", name: "x-user", terminal: false }], input).hash).toBe(xxHash64("alice"));
    expect(computeHash([{ kind: "cookie", name: "sticky", path: "/", terminal: false }], input).hash).toBe(xxHash64("abc"));
    expect(computeHash([{ kind: "query_parameter", name: "id", terminal: false }], input).hash).toBe(xxHash64("42"));
    expect(computeHash([{ kind: "source_ip", terminal: false }], input).hash).toBe(xxHash64("192.0.2.1"));
    expect(computeHash([{ kind: "header", name: "missing", terminal: false }], input).hash).toBeUndefined();
    const a = xxHash64("alice");
    const b = xxHash64("42");
    const both = computeHash([{ kind: "header", name: "x-user", terminal: false }, { kind: "query_parameter", name: "id", terminal: false }], input).hash;
    expect(both).toBe((((a << 1n) | (a >> 63n)) & ((1n << 64n) - 1n)) ^ b);
    expect(computeHash([{ kind: "header", name: "x-user", terminal: true }, { kind: "query_parameter", name: "id", terminal: false }], input).hash).toBe(a);
  });
});

describe("bootstrap: cluster and route policy fields", () => {
  const doc = (mutate: (cluster: any, action: any) => void) => {
    const d = bootstrap(
      [listener({ port: 10000, virtualHosts: [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "backend" } }] }] })],
      [staticCluster("backend", [8080]), staticCluster("other", [8081])],
    ) as any;
    mutate(d.static_resources.clusters[0], d.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].route);
    return stringify(d);
  };
  const parse = (text: string) => parseBootstrap("b.yaml", text, { resolvePath: (n) => n });
  const errorOf = (text: string) => {
    try {
      parse(text);
    } catch (e) {
      expect(e).toBeInstanceOf(BootstrapError);
      return (e as Error).message;
    }
    throw new Error("expected a BootstrapError");
  };

  it("reads lb_policy, circuit breakers, outlier detection, panic threshold, retry and hash policies, weighted clusters", () => {
    const c = parse(
      doc((cluster, action) => {
        Object.assign(cluster, {
          lb_policy: "RING_HASH",
          ring_hash_lb_config: { minimum_ring_size: 2048 },
          circuit_breakers: { thresholds: [{ max_connections: 10, max_retries: 5 }] },
          outlier_detection: { consecutive_5xx: 3, base_ejection_time: "5s", max_ejection_percent: 40 },
          common_lb_config: { healthy_panic_threshold: { value: 25 } },
        });
        delete action.cluster;
        Object.assign(action, {
          weighted_clusters: { clusters: [{ name: "backend", weight: 3 }, { name: "other", weight: 1 }], total_weight: 4 },
          retry_policy: { retry_on: "5xx,reset", num_retries: 3, per_try_timeout: "0.5s", retry_back_off: { base_interval: "0.01s" } },
          hash_policy: [{ header: { header_name: "X-User" }, terminal: true }, { connection_properties: { source_ip: true } }],
        });
      }),
    );
    const cl = c.clusters[0]!;
    expect(cl).toMatchObject({ lbPolicy: "RING_HASH", ringSize: { min: 2048, max: 8388608 }, healthyPanicThreshold: 25 });
    expect(cl.circuitBreakers).toEqual({ maxConnections: 10, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 5 });
    expect(cl.outlierDetection).toMatchObject({ consecutive5xx: 3, baseEjectionTimeMs: 5000, maxEjectionPercent: 40, intervalMs: 10000 });
    const action = c.listeners[0]!.hcm.routeConfig.virtualHosts[0]!.routes[0]!.action;
    expect(action.weightedClusters).toEqual({ clusters: [{ name: "backend", weight: 3 }, { name: "other", weight: 1 }], totalWeight: 4 });
    expect(action.retryPolicy).toMatchObject({ retryOn: RETRY_ON["5xx"] | RETRY_ON.reset, numRetries: 3, perTryTimeoutMs: 500, backoffBaseMs: 10, backoffMaxMs: 100 });
    expect(action.hashPolicy).toEqual([{ kind: "header", name: "x-user", terminal: true }, { kind: "source_ip", terminal: false }]);
  });

  it("rejects what it cannot run, naming the field", () => {
    expect(errorOf(doc((_, a) => (a.retry_policy = { retry_on: "5xx,sometimes" })))).toMatch(/route\.retry_policy\.retry_on: unknown retry condition "sometimes"/);
    expect(errorOf(doc((cl) => Object.assign(cl, { lb_policy: "ROUND_ROBIN", maglev_lb_config: {} })))).toMatch(/clusters\[0\]\.maglev_lb_config: only valid with lb_policy MAGLEV/);
    expect(errorOf(doc((cl) => Object.assign(cl, { lb_policy: "MAGLEV", maglev_lb_config: { table_size: 1000 } })))).toMatch(/maglev_lb_config\.table_size: 1000 is not a prime/);
    expect(errorOf(doc((cl) => (cl.lb_policy = "CLUSTER_PROVIDED")))).toMatch(/clusters\[0\]\.lb_policy: CLUSTER_PROVIDED is only valid with type ORIGINAL_DST$/);
    expect(errorOf(doc((cl) => (cl.outlier_detection = { enforcing_success_rate: 100 })))).toMatch(/outlier_detection\.enforcing_success_rate: only 0 is supported/);
    expect(errorOf(doc((_, a) => (delete a.cluster, (a.weighted_clusters = { clusters: [{ name: "ghost", weight: 1 }] }))))).toMatch(/weighted_clusters\.clusters\[0\]\.name: unknown cluster "ghost"/);
    expect(errorOf(doc((_, a) => (delete a.cluster, (a.weighted_clusters = { clusters: [{ name: "backend", weight: 1 }], total_weight: 5 }))))).toMatch(/total_weight: 5 is not the sum/);
    expect(errorOf(doc((cl) => (cl.circuit_breakers = { thresholds: [{ priority: "HIGH" }] })))).toMatch(/thresholds\[0\]\.priority: "HIGH" is not supported/);
  });
});

describe("endpoint pools held by clusters", () => {
  const cluster = (name: string, ports: number[]): ClusterConfig => ({ name, connectTimeoutMs: 1000, endpoints: ports.map((port) => ({ address: "127.0.0.1", port })) });

  it("an endpoint's pools are drained once no cluster holds a host of it (EDS removed it, or its clusters were replaced)", () => {
    const drained: string[] = [];
    const refs = new EndpointRefs((key) => drained.push(key));
    // A service's cluster and its subset cluster share an endpoint, as outbound|80||svc and outbound|80|v1|svc do.
    const all = new Cluster(cluster("all", [8001, 8002]), undefined, undefined, refs);
    const v1 = new Cluster(cluster("v1", [8001]), undefined, undefined, refs);
    // The next generation (EDS dropped 8002) is built before the previous one is released.
    const next = new Cluster(cluster("all", [8001]), undefined, undefined, refs);
    all.close();
    expect(drained).toEqual(["127.0.0.1:8002"]);
    v1.close();
    v1.close(); // twice is once
    expect(drained).toEqual(["127.0.0.1:8002"]);
    next.close();
    expect(drained).toEqual(["127.0.0.1:8002", "127.0.0.1:8001"]);
    expect(refs.size).toBe(0);
  });
});
