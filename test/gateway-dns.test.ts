// STRICT_DNS and LOGICAL_DNS clusters with real parts: a real DNS server on 127.0.0.1 (test/helpers/dns-server.ts)
// named through typed_dns_resolver_config, node:http upstreams on 127.0.0.1 / 127.0.0.2 / 127.0.0.3 sharing one
// port, and the gateway started in process from a bootstrap file.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadBootstrapFile } from "../gateway/bootstrap/load.js";
import { Cluster } from "../gateway/clusters.js";
import { resolveFamily } from "../gateway/dns.js";
import { nodeDnsResolvers } from "../gateway/dns-node.js";
import { startGateway, type RunningGateway } from "../gateway/gateway.js";
import { FetchUpstreamTransport } from "../gateway/upstream-fetch.js";
import { bootstrap, listener, socketAddress } from "./helpers/envoy-bootstrap.js";
import { startDnsServer, type DnsServer } from "./helpers/dns-server.js";
import { freePort, httpRequest, tempDir, writeYaml } from "./helpers/gateway-process.js";
import { waitFor } from "./helpers/xds-server.js";

const CARES = "type.googleapis.com/envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig";

/** An upstream answering with its own address; `/slow?ms=N` waits first. */
interface Upstream {
  ip: string;
  server: Server;
  hits: number;
  /** Connections open to it now. */
  open: number;
}

function listen(server: Server, port: number, ip: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, ip, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function makeUpstream(ip: string): Upstream {
  const u: Upstream = { ip, hits: 0, open: 0, server: undefined as unknown as Server };
  u.server = createServer((req, res) => {
    u.hits++;
    const wait = Number(new URL(req.url ?? "/", "http://x").searchParams.get("ms") ?? 0);
    setTimeout(() => res.end(ip), wait);
  });
  u.server.keepAliveTimeout = 5_000;
  u.server.on("connection", (socket) => {
    u.open++;
    socket.once("close", () => u.open--);
  });
  return u;
}

/** Upstreams on 127.0.0.1, .2 and .3, all on one port (a STRICT_DNS endpoint's port applies to every address). */
async function startUpstreams(): Promise<{ port: number; ups: Upstream[] }> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const ups = ["127.0.0.1", "127.0.0.2", "127.0.0.3"].map(makeUpstream);
    try {
      const port = await listen(ups[0]!.server, 0, "127.0.0.1");
      await listen(ups[1]!.server, port, "127.0.0.2");
      await listen(ups[2]!.server, port, "127.0.0.3");
      return { port, ups };
    } catch {
      for (const u of ups) if (u.server.listening) u.server.close();
    }
  }
  throw new Error("no port free on 127.0.0.1-3");
}

function dnsCluster(name: string, type: string, host: string, port: number, extra: Record<string, unknown> = {}, hosts: string[] = [host]) {
  return {
    name,
    type,
    connect_timeout: "1s",
    lb_policy: "ROUND_ROBIN",
    dns_lookup_family: "V4_ONLY",
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: hosts.map((h) => ({ endpoint: { address: socketAddress(port, h) } })) }] },
    ...extra,
  };
}

const resolverAt = (dns: DnsServer) => ({
  typed_dns_resolver_config: { name: "envoy.network.dns_resolver.cares", typed_config: { "@type": CARES, resolvers: [socketAddress(dns.port)] } },
});

let port: number;
let ups: Upstream[];
let dns: DnsServer, logicalDns: DnsServer, deadDns: DnsServer;
let gw: RunningGateway;
let base: string;
const dir = tempDir("halyard-dns-");

const get = async (path: string) => {
  const r = await httpRequest(`${base}${path}`, { timeoutMs: 5_000 });
  return { status: r.status, from: r.body };
};

beforeAll(async () => {
  ({ port, ups } = await startUpstreams());
  [dns, logicalDns, deadDns] = await Promise.all([
    startDnsServer({ "strict.test": { a: ["127.0.0.1", "127.0.0.2"], ttl: 1 } }),
    startDnsServer({ "logical.test": { a: ["127.0.0.2", "127.0.0.1"], ttl: 1 } }),
    startDnsServer(),
  ]);
  deadDns.silent = true;
  const lport = await freePort();
  const routes = [
    { name: "all", domains: ["*"], routes: [
      { match: { prefix: "/strict" }, route: { cluster: "strict" } },
      { match: { prefix: "/logical" }, route: { cluster: "logical" } },
      { match: { prefix: "/local" }, route: { cluster: "local" } },
      { match: { prefix: "/dead" }, route: { cluster: "dead" } },
    ] },
  ];
  const file = writeYaml(dir, "bootstrap.yaml", bootstrap([listener({ port: lport, virtualHosts: routes })], [
    // respect_dns_ttl: the records' TTL (1 s) is the refresh interval; after a failure, 0.3 s (then 0.6 s, ...).
    dnsCluster("strict", "STRICT_DNS", "strict.test", port, {
      respect_dns_ttl: true, dns_refresh_rate: "30s", dns_failure_refresh_rate: { base_interval: "0.3s", max_interval: "1s" }, ...resolverAt(dns),
    }),
    dnsCluster("logical", "LOGICAL_DNS", "logical.test", port, { dns_refresh_rate: "0.2s", ...resolverAt(logicalDns) }),
    dnsCluster("local", "STRICT_DNS", "localhost", port),
    dnsCluster("dead", "STRICT_DNS", "dead.test", port, resolverAt(deadDns)),
  ]));
  gw = await startGateway(loadBootstrapFile(file), { file });
  base = `http://127.0.0.1:${gw.listeners[0]!.address.port}`;
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([dns, logicalDns, deadDns].map((d) => d?.close()));
  for (const u of ups ?? []) {
    u.server.closeAllConnections();
    u.server.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

const resetHits = () => ups.forEach((u) => (u.hits = 0));

describe("STRICT_DNS", () => {
  it("each A record is a host: round robin over both addresses", async () => {
    await waitFor("the first resolution", async () => (await get("/strict")).status === 200 || undefined, 5_000);
    const seen = new Map<string, number>();
    for (let i = 0; i < 10; i++) {
      const r = await get("/strict");
      expect(r.status).toBe(200);
      seen.set(r.from, (seen.get(r.from) ?? 0) + 1);
    }
    expect([...seen.entries()].sort()).toEqual([["127.0.0.1", 5], ["127.0.0.2", 5]]);
    expect(dns.queries).toContain("strict.test A");
    expect(dns.queries.some((q) => q.endsWith("AAAA"))).toBe(false); // V4_ONLY
  });

  it("a changed answer takes effect at the next refresh (the record's TTL); the gone hosts' idle connections close", async () => {
    // The round robin above left idle keep-alive connections to .1 and .2 (.1 is also "local"'s host: localhost).
    expect(ups[1]!.open).toBeGreaterThan(0);
    dns.records.set("strict.test", { a: ["127.0.0.3"], ttl: 1 });
    await waitFor("traffic to the new address", async () => ((await get("/strict")).from === "127.0.0.3" ? true : undefined), 5_000);
    resetHits();
    for (let i = 0; i < 6; i++) expect(await get("/strict")).toEqual({ status: 200, from: "127.0.0.3" });
    expect(ups.map((u) => u.hits)).toEqual([0, 0, 6]);
    // Envoy drains the pools of removed hosts: .2 is in no cluster's hosts any more.
    await waitFor("the connections to 127.0.0.2 to close", () => (ups[1]!.open === 0 ? true : undefined), 2_000);
    expect(ups[2]!.open).toBeGreaterThan(0);
  });

  it("when the DNS server stops answering, traffic keeps flowing to the last hosts", async () => {
    // The gateway's own log line (the spy passes it through) tells when a resolution has failed.
    const logged: string[] = [];
    const spy = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void logged.push(args.join(" ")));
    dns.silent = true;
    try {
      const failed = () => logged.some((l) => l.startsWith('cluster "strict": DNS resolution failed, keeping its hosts: strict.test:'));
      const deadline = Date.now() + 15_000;
      while (!failed() && Date.now() < deadline) {
        expect(await get("/strict")).toEqual({ status: 200, from: "127.0.0.3" });
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(failed()).toBe(true);
      for (let i = 0; i < 3; i++) expect(await get("/strict")).toEqual({ status: 200, from: "127.0.0.3" });
    } finally {
      spy.mockRestore();
      dns.silent = false;
    }
    // It answers again: the retry after dns_failure_refresh_rate (not dns_refresh_rate, 30 s) takes the new answer.
    dns.records.set("strict.test", { a: ["127.0.0.1"], ttl: 1 });
    await waitFor("traffic after the server is back", async () => ((await get("/strict")).from === "127.0.0.1" ? true : undefined), 8_000);
  }, 30_000);

  it("until a first answer the cluster has no hosts: 503 no healthy upstream", async () => {
    const r = await httpRequest(`${base}/dead`);
    expect(r.status).toBe(503);
    expect(r.body).toBe("no healthy upstream");
  });

  it("without typed_dns_resolver_config the system resolver answers (localhost from /etc/hosts)", async () => {
    await waitFor("localhost resolved", async () => (await get("/local")).status === 200 || undefined, 5_000);
    expect(await get("/local")).toEqual({ status: 200, from: "127.0.0.1" });
  });

  it("hosts that stay keep their state; gone ones are removed, new ones added", async () => {
    const server = await startDnsServer({ "keep.test": { a: ["127.0.0.1", "127.0.0.2"], ttl: 1 } });
    const file = writeYaml(dir, "keep.yaml", bootstrap([listener({ port: 1, virtualHosts: [] })], [
      dnsCluster("keep", "STRICT_DNS", "keep.test", port, { dns_refresh_rate: "0.1s", ...resolverAt(server) }),
    ]));
    const cluster = new Cluster(loadBootstrapFile(file).clusters[0]!, undefined, nodeDnsResolvers);
    try {
      expect(cluster.hosts).toEqual([]);
      await waitFor("two hosts", () => cluster.hosts.length === 2 || undefined, 5_000);
      const [one, two] = cluster.hosts;
      expect([one!.key, two!.key]).toEqual([`127.0.0.1:${port}`, `127.0.0.2:${port}`]);
      one!.timesEjected = 3;
      server.records.set("keep.test", { a: ["127.0.0.3", "127.0.0.1"], ttl: 1 });
      await waitFor("the new answer", () => (cluster.hosts.some((h) => h.address.address === "127.0.0.3") ? true : undefined), 5_000);
      expect(cluster.hosts.map((h) => h.key)).toEqual([`127.0.0.3:${port}`, `127.0.0.1:${port}`]);
      expect(cluster.hosts[1]).toBe(one);
      expect(cluster.hosts[1]!.timesEjected).toBe(3);
      expect(cluster.hosts).not.toContain(two);
    } finally {
      cluster.close();
      await server.close();
    }
  });
});

describe("LOGICAL_DNS", () => {
  it("new connections go to the first address of the latest answer; a request in flight is not cut", async () => {
    await waitFor("the first resolution", async () => (await get("/logical")).status === 200 || undefined, 5_000);
    resetHits();
    for (let i = 0; i < 4; i++) expect(await get("/logical")).toEqual({ status: 200, from: "127.0.0.2" });
    expect(ups.map((u) => u.hits)).toEqual([0, 4, 0]);

    const slow = get("/logical/slow?ms=1000");
    await new Promise((r) => setTimeout(r, 100));
    logicalDns.records.set("logical.test", { a: ["127.0.0.3", "127.0.0.2"], ttl: 1 });
    await waitFor("traffic to the new first address", async () => ((await get("/logical")).from === "127.0.0.3" ? true : undefined), 5_000);
    expect(await slow).toEqual({ status: 200, from: "127.0.0.2" });
  });

  it("more than one endpoint is refused with one line naming the cluster and field", () => {
    const file = writeYaml(dir, "two.yaml", bootstrap([listener({ port: 1, virtualHosts: [] })], [
      dnsCluster("two", "LOGICAL_DNS", "a.test", 80, {}, ["a.test", "b.test"]),
    ]));
    let message = "";
    try {
      loadBootstrapFile(file);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/two\.yaml:\d+: static_resources\.clusters\[0\]\.load_assignment: cluster "two": LOGICAL_DNS clusters must have a single locality_lb_endpoint and a single lb_endpoint \(found 2 endpoints\)$/);
    expect(message).not.toContain("\n");
  });
});

describe("without a resolver (Workers: the fetch transport)", () => {
  it("a DNS cluster's endpoint is a host as named, and fetch() resolves the name", async () => {
    const file = writeYaml(dir, "edge.yaml", bootstrap([listener({ port: 1, virtualHosts: [] })], [dnsCluster("edge", "STRICT_DNS", "localhost", port)]));
    const cluster = new Cluster(loadBootstrapFile(file).clusters[0]!);
    try {
      const host = cluster.chooseHost({ attempt: 0 })!;
      expect(host.key).toBe(`localhost:${port}`);
      const res = await new FetchUpstreamTransport().send(host, 1000, { method: "GET", path: "/x", headers: [["host", "a.test"]], body: new Uint8Array() }, 5000);
      expect([res.status, new TextDecoder().decode(res.body)]).toEqual([200, "127.0.0.1"]);
    } finally {
      cluster.close();
    }
  });
});

describe("config", () => {
  it("refuses resolver configs it does not implement, one line each", () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ typed_dns_resolver_config: { name: "x", typed_config: { "@type": "type.googleapis.com/envoy.extensions.network.dns_resolver.getaddrinfo.v3.GetAddrInfoDnsResolverConfig" } } }, /typed_dns_resolver_config\.typed_config: unknown type/],
      [{ typed_dns_resolver_config: { name: "x", typed_config: { "@type": "type.googleapis.com/google.protobuf.StringValue", value: "x" } } }, /typed_dns_resolver_config\.typed_config: type .* is not supported by halyard gateway \(supported: envoy\.extensions\.network\.dns_resolver\.cares\.v3\.CaresDnsResolverConfig\)/],
      [{ typed_dns_resolver_config: { name: "x", typed_config: { "@type": CARES, resolvers: [socketAddress(53, "dns.example")] } } }, /resolvers\[0\]\.socket_address\.address: "dns\.example" is not an IP address/],
      [{ typed_dns_resolver_config: { name: "x", typed_config: { "@type": CARES, resolvers: [socketAddress(53)], use_resolvers_as_fallback: true } } }, /use_resolvers_as_fallback: not supported by halyard gateway/],
      [{ dns_failure_refresh_rate: { base_interval: "2s", max_interval: "1s" } }, /dns_failure_refresh_rate\.max_interval: must not be less than base_interval/],
    ];
    cases.forEach(([extra, re], i) => {
      const file = writeYaml(dir, `bad-${i}.yaml`, bootstrap([listener({ port: 1, virtualHosts: [] })], [dnsCluster("c", "STRICT_DNS", "a.test", 80, extra)]));
      expect(() => loadBootstrapFile(file)).toThrow(re);
    });
  });

  it("dns_lookup_family picks the queries (AUTO: v6 else v4, V4_PREFERRED: v4 else v6, ALL: both)", async () => {
    const server = await startDnsServer({
      "both.test": { a: ["127.0.0.1"], aaaa: ["::1"], ttl: 7 },
      "v4.test": { a: ["127.0.0.2"], ttl: 9 },
      "v6.test": { aaaa: ["fd00::1"] },
    });
    const resolver = nodeDnsResolvers([{ address: "127.0.0.1", port: server.port }]);
    try {
      expect(await resolveFamily(resolver, "both.test", "AUTO")).toEqual({ addresses: ["::1"], ttlSeconds: 7 });
      expect(await resolveFamily(resolver, "both.test", "V4_PREFERRED")).toEqual({ addresses: ["127.0.0.1"], ttlSeconds: 7 });
      expect(await resolveFamily(resolver, "both.test", "ALL")).toEqual({ addresses: ["127.0.0.1", "::1"], ttlSeconds: 7 });
      expect(await resolveFamily(resolver, "v4.test", "AUTO")).toEqual({ addresses: ["127.0.0.2"], ttlSeconds: 9 });
      expect(await resolveFamily(resolver, "v6.test", "V4_PREFERRED")).toEqual({ addresses: ["fd00::1"], ttlSeconds: 30 });
      expect(await resolveFamily(resolver, "v4.test", "V6_ONLY")).toEqual({ addresses: [] });
      expect(await resolveFamily(resolver, "nowhere.test", "V4_ONLY")).toEqual({ addresses: [] });
    } finally {
      resolver.close();
      await server.close();
    }
  });
});
