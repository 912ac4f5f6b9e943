// The HCM's per-request header work kept to one pass (bench/README.md "gateway/compare"): x-envoy-* hygiene and
// the edge's x-forwarded-proto / x-forwarded-for, checked on the pure function and through the real HCM, router and
// node:http transport against an upstream that records the raw header list it received.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterManager } from "../gateway/clusters.js";
import { HttpConnectionManager, type DownstreamRequest } from "../gateway/hcm.js";
import { sanitizeEnvoyHeaders } from "../gateway/internal-address.js";
import { Router } from "../gateway/router.js";
import { RouteTable } from "../gateway/routes.js";
import { NodeUpstreamTransport } from "../gateway/upstream-node.js";
import type { HeaderMap } from "../wasm/host/index.js";

const remote = { address: "203.0.113.9", port: 5555 };
const LOOPBACK = [{ addressPrefix: "127.0.0.1", prefixLen: 32 }];

describe("sanitizeEnvoyHeaders", () => {
  it("leaves a request without XFF or x-envoy-* headers as it is (not internal without use_remote_address)", () => {
    const h: HeaderMap = [["accept", "*/*"], ["user-agent", "t"]];
    expect(sanitizeEnvoyHeaders(h, { useRemoteAddress: false, internalAddresses: LOOPBACK, remote })).toBe(false);
    expect(h).toEqual([["accept", "*/*"], ["user-agent", "t"]]);
  });

  it("trusts a single internal XFF hop and keeps its x-envoy-* headers", () => {
    const h: HeaderMap = [["x-forwarded-for", "127.0.0.1"], ["x-envoy-retry-on", "5xx"], ["x-envoy-internal", "false"]];
    expect(sanitizeEnvoyHeaders(h, { useRemoteAddress: false, internalAddresses: LOOPBACK, remote })).toBe(true);
    expect(h).toEqual([["x-forwarded-for", "127.0.0.1"], ["x-envoy-retry-on", "5xx"], ["x-envoy-internal", "true"]]);
  });

  it("strips steering headers from external requests, and at the edge adds x-envoy-external-address", () => {
    const h: HeaderMap = [["x-envoy-retry-on", "5xx"], ["a", "1"], ["x-envoy-decorator-operation", "op"], ["x-envoy-original-path", "/p"]];
    expect(sanitizeEnvoyHeaders(h, { useRemoteAddress: true, internalAddresses: undefined, remote })).toBe(false);
    expect(h).toEqual([["a", "1"], ["x-envoy-original-path", "/p"], ["x-envoy-external-address", remote.address]]);
  });

  it("counts several XFF headers as several hops", () => {
    const h: HeaderMap = [["x-forwarded-for", "127.0.0.1"], ["x-forwarded-for", "127.0.0.1"], ["x-envoy-max-retries", "2"]];
    expect(sanitizeEnvoyHeaders(h, { useRemoteAddress: false, internalAddresses: LOOPBACK, remote })).toBe(false);
    expect(h).toEqual([["x-forwarded-for", "127.0.0.1"], ["x-forwarded-for", "127.0.0.1"]]);
  });
});

describe("edge x-forwarded-* through the HCM", () => {
  let server: Server;
  let seen: string[][] = [];
  let hcm: HttpConnectionManager;
  const transport = new NodeUpstreamTransport();

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req.rawHeaders);
      req.resume();
      req.on("end", () => res.end("ok"));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const action = { cluster: "up", timeoutMs: 5000, clusterNotFoundStatus: 503 };
    const routeConfig = { name: "r", virtualHosts: [{ name: "all", domains: ["*"], routes: [{ name: "all", match: { kind: "prefix" as const, value: "/", caseSensitive: true }, action }] }] };
    const router = new Router(new RouteTable(routeConfig), new ClusterManager([{ name: "up", connectTimeoutMs: 1000, endpoints: [{ address: "127.0.0.1", port }] }]), transport);
    hcm = new HttpConnectionManager({ statPrefix: "edge", routeConfig, httpFilters: [], useRemoteAddress: true }, [], router);
  });
  afterAll(async () => {
    transport.close();
    await new Promise((r) => server.close(r));
  });

  const send = async (headers: HeaderMap): Promise<string[][]> => {
    seen = [];
    const req: DownstreamRequest = { method: "GET", path: "/x", authority: "edge.test", scheme: "http", headers, body: async () => new Uint8Array(0) };
    const out = await hcm.serve(req, { remote, local: { address: "127.0.0.1", port: 8080 } });
    expect(out.response.status).toBe(200);
    const raw = seen[0]!;
    const pairs: string[][] = [];
    for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase().startsWith("x-forwarded-")) pairs.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
    return pairs;
  };

  it("adds both headers when the client sent none", async () => {
    expect(await send([["accept", "*/*"]])).toEqual([["x-forwarded-proto", "http"], ["x-forwarded-for", remote.address]]);
  });

  it("replaces a client's x-forwarded-proto in place and appends the peer to its XFF", async () => {
    expect(await send([["x-forwarded-for", "198.51.100.7"], ["x-forwarded-proto", "https"]])).toEqual([
      ["x-forwarded-for", `198.51.100.7, ${remote.address}`],
      ["x-forwarded-proto", "http"],
    ]);
  });

  it("collapses repeated headers into one at the first one's place", async () => {
    const got = await send([["x-forwarded-proto", "https"], ["x-forwarded-for", "198.51.100.7"], ["x-forwarded-proto", "ftp"], ["x-forwarded-for", "192.0.2.1"]]);
    expect(got).toEqual([["x-forwarded-proto", "http"], ["x-forwarded-for", `198.51.100.7, ${remote.address}`]]);
  });
});
