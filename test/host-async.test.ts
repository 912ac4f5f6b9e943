// Paused streams resumed later: tick timers + continue_stream, and proxy_http_call through
// HostOptions.httpCall against real HTTP servers on 127.0.0.1.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { HeaderMap, HostOptions } from "../wasm/host/index.js";
import { header, loadProbe, probeRequest, type Probe } from "./helpers/host-probe.js";

let fast: Server;
let slow: Server;
let probe: Probe;
const seen: Array<{ method?: string; url?: string; body: string; from?: string }> = [];

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

let clusters: Record<string, string> = {};

/** The embedder's http_call: named clusters map to real local servers. */
const httpCall: HostOptions["httpCall"] = async (cluster, headers, body, _trailers, timeoutMs) => {
  const base = clusters[cluster];
  if (!base) throw new Error(`unknown cluster ${cluster}`);
  const get = (k: string) => headers.find(([n]) => n === k)?.[1];
  const res = await fetch(base + get(":path"), {
    method: get(":method"),
    headers: headers.filter(([k]) => !k.startsWith(":")),
    body: body ?? undefined,
    signal: AbortSignal.timeout(timeoutMs + 1000),
  });
  const out: HeaderMap = [[":status", String(res.status)]];
  res.headers.forEach((v, k) => out.push([k, v]));
  return { headers: out, body: new Uint8Array(await res.arrayBuffer()), trailers: [] };
};

beforeAll(async () => {
  fast = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      seen.push({ method: req.method, url: req.url, body, from: req.headers["x-from"] as string });
      res.writeHead(200, { "content-type": "text/plain" }).end(`pong:${body}`);
    });
  });
  slow = createServer(() => {
    /* never answers */
  });
  clusters = { auth: await listen(fast), slow: await listen(slow) };
});

afterAll(async () => {
  slow.closeAllConnections();
  await Promise.all([fast, slow].map((s) => new Promise((r) => s.close(r))));
});

afterEach(async () => {
  await probe?.plugin.close();
});

describe("tick + continue_stream", () => {
  it("resumes a paused stream from proxy_on_tick", async () => {
    probe = await loadProbe();
    const stream = probe.plugin.createStream();
    const headers = probeRequest("pause");
    let settled = false;
    const outcome = stream.onRequestHeaders(headers, true).finally(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    expect(await outcome).toEqual({ kind: "continue" });
    expect(header(headers, "x-resumed-by")).toBe("tick");
    const cbs = probe.callbacks();
    expect(cbs.indexOf("tick 1")).toBeGreaterThan(cbs.indexOf("request_headers 2 6 1"));
  });

  it("delivers a local response sent later from the root context", async () => {
    probe = await loadProbe();
    const stream = probe.plugin.createStream();
    const outcome = await stream.onRequestHeaders(probeRequest("pause-local"), true);
    expect(outcome).toEqual({ kind: "local_response", status: 429, details: "probe_late", headers: [], body: new Uint8Array(0), grpcStatus: 8 });
  });
});

describe("tick timer", () => {
  it("keeps ticking without holding the Node event loop open, and stops on close", async () => {
    probe = await loadProbe();
    const refTimers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const before = refTimers();
    await probe.plugin.createStream().onRequestHeaders(probeRequest("tick-forever"), true);
    const ticks = () => probe.callbacks().filter((c) => c === "tick 1").length;
    for (let i = 0; i < 100 && ticks() < 3; i++) await new Promise((r) => setTimeout(r, 5));
    expect(ticks()).toBeGreaterThanOrEqual(3);
    expect(refTimers()).toBe(before);
    await probe.plugin.close();
    const atClose = ticks();
    await new Promise((r) => setTimeout(r, 20));
    expect(ticks()).toBe(atClose);
  });
});

describe("proxy_http_call", () => {
  it("sends the call through HostOptions.httpCall and delivers the response", async () => {
    probe = await loadProbe({}, { httpCall });
    const stream = probe.plugin.createStream();
    const headers = probeRequest("http", [["x-cluster", "auth"]]);
    const outcome = await stream.onRequestHeaders(headers, true);
    expect(outcome).toEqual({ kind: "continue" });
    expect(header(headers, "x-probe-result")).toBe("call=0 token=1");
    // :status, content-type, content-length, date, connection/keep-alive...: count is the real header count
    const call = header(headers, "x-call")!;
    expect(call).toMatch(/^200 pong:ping \d+$/);
    expect(seen.at(-1)).toEqual({ method: "POST", url: "/lookup", body: "ping", from: "probe" });
    expect(probe.callbacks()).toContain(`http_call_response 2 1 ${call.split(" ")[2]} 9 0`);
  });

  it("reports a failed call with zero headers, as Envoy does", async () => {
    probe = await loadProbe({}, { httpCall });
    const stream = probe.plugin.createStream();
    const outcome = await stream.onRequestHeaders(probeRequest("http", [["x-cluster", "nowhere"]]), true);
    expect(outcome).toMatchObject({ kind: "local_response", status: 502, details: "probe_upstream_failed:14:failure" });
  });

  it("times the call out after the guest's timeout", async () => {
    probe = await loadProbe({}, { httpCall });
    const stream = probe.plugin.createStream();
    const t0 = Date.now();
    const outcome = await stream.onRequestHeaders(probeRequest("http", [["x-cluster", "slow"]]), true);
    expect(outcome).toMatchObject({ kind: "local_response", status: 502, details: "probe_upstream_failed:14:timeout" });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it("answers BadArgument without an httpCall hook or without required pseudo-headers", async () => {
    probe = await loadProbe();
    const s1 = probe.plugin.createStream();
    const h1 = probeRequest("http", [["x-cluster", "auth"]]);
    await s1.onRequestHeaders(h1, true);
    expect(header(h1, "x-probe-result")).toBe("call=2 token=0");
    await probe.plugin.close();
    probe = await loadProbe({}, { httpCall });
    const s2 = probe.plugin.createStream();
    const h2 = probeRequest("http-bad");
    await s2.onRequestHeaders(h2, true);
    expect(header(h2, "x-probe-result")).toBe("2");
  });

  it("drops the response of a stream that finished meanwhile", async () => {
    probe = await loadProbe({}, { httpCall });
    const stream = probe.plugin.createStream();
    const pending = stream.onRequestHeaders(probeRequest("http", [["x-cluster", "auth"]]), true);
    stream.done();
    expect(await pending).toMatchObject({ kind: "local_response", details: "wasm_close_stream" });
    await new Promise((r) => setTimeout(r, 100));
    expect(probe.callbacks().some((c) => c.startsWith("http_call_response"))).toBe(false);
  });
});
