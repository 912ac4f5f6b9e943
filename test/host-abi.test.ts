// Hostcall semantics seen from a raw guest: header maps, properties, local responses, bodies,
// shared data, queues, metrics, foreign functions, unimplemented calls and bad pointers.
import { afterEach, describe, expect, it } from "vitest";
import { MetricsRegistry, SharedState, serializePairs, type HeaderMap, type StreamInfo } from "../wasm/host/index.js";
import { header, loadProbe, probeRequest, sleep, type Probe } from "./helpers/host-probe.js";

const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);
const hexOf = (b: Uint8Array) => Buffer.from(b).toString("hex");
const int64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(n);
  return b.toString("hex");
};
const utf8Hex = (s: string) => Buffer.from(s).toString("hex");

let probe: Probe;
afterEach(async () => {
  await probe?.plugin.close();
});

async function run(action: string, extra: HeaderMap = [], info: StreamInfo = {}) {
  const stream = probe.plugin.createStream(info);
  const headers = probeRequest(action, extra);
  const outcome = await stream.onRequestHeaders(headers, true);
  return { stream, headers, outcome, result: header(headers, "x-probe-result") };
}

describe("header maps", () => {
  it("serializes the map exactly and replaces it from guest pairs", async () => {
    probe = await loadProbe();
    const { headers, result, outcome } = await run("pairs", [["multi", "1"], ["multi", "2"]]);
    expect(outcome).toEqual({ kind: "continue" });
    const original = probeRequest("pairs", [["multi", "1"], ["multi", "2"]]);
    expect(header(headers, "x-pairs-hex")).toBe(hexOf(serializePairs(original)));
    expect(result).toBe("0 first-multi=a");
    expect(headers).toEqual([
      [":path", "/rewritten"],
      ["x-mixed", "Case"],
      ["multi", "a"],
      ["multi", "b"],
      ["utf8", "héllo"],
      ["x-pairs-hex", hexOf(serializePairs(original))],
      ["x-probe-result", "0 first-multi=a"],
    ]);
  });

  it("rejects malformed pairs with BadArgument", async () => {
    probe = await loadProbe();
    expect((await run("bad-pairs")).result).toBe("2");
  });

  it("lets the guest add response headers", async () => {
    probe = await loadProbe();
    const { stream } = await run("none");
    const resp: HeaderMap = [[":status", "200"]];
    expect(await stream.onResponseHeaders(resp, true)).toEqual({ kind: "continue" });
    expect(resp).toEqual([[":status", "200"], ["x-probe-seen", "none"]]);
  });
});

describe("bad guest pointers", () => {
  it("answers InvalidMemoryAccess, never throwing into the host", async () => {
    probe = await loadProbe();
    expect((await run("oob-key")).result).toBe("6");
    expect((await run("oob-out")).result).toBe("6");
    expect((await run("oob-log")).result).toBe("6,6");
    // The VM is still healthy afterwards.
    expect((await run("none")).outcome).toEqual({ kind: "continue" });
    expect(probe.logs.filter(([l]) => l === "error")).toEqual([]);
  });
});

describe("local responses", () => {
  it("ends the stream with the guest's response (keys lower-cased, no gRPC status)", async () => {
    probe = await loadProbe();
    const { outcome } = await run("local");
    expect(outcome).toEqual({
      kind: "local_response",
      status: 418,
      details: "probe_teapot",
      body: new TextEncoder().encode("short and stout"),
      headers: [["x-probe", "local"], ["x-upper", "v"]],
    });
  });

  it("close_stream ends the stream and marks it closed", async () => {
    probe = await loadProbe();
    const { outcome, stream, result } = await run("close");
    expect(result).toBe("0");
    expect(stream.closed).toBe(true);
    expect(outcome).toMatchObject({ kind: "local_response", status: 503, details: "wasm_close_stream" });
  });
});

describe("bodies", () => {
  it("buffers chunks on StopIterationAndBuffer and returns the guest's replacement", async () => {
    probe = await loadProbe();
    const { stream } = await run("body", [], {});
    const first = await stream.onRequestBody(new TextEncoder().encode("ab"), false);
    expect(first).toEqual({ kind: "continue", body: new Uint8Array(0) });
    const last = await stream.onRequestBody(new TextEncoder().encode("cd"), true);
    expect(last.kind).toBe("continue");
    expect(text(last.body)).toBe("[ABCD]");
    expect(probe.callbacks().filter((c) => c.startsWith("request_body"))).toEqual(["request_body 2 2 0", "request_body 2 4 1"]);
  });
});

describe("properties", () => {
  it("encodes Envoy attributes as Envoy does", async () => {
    probe = await loadProbe({ name: "props", rootId: "probe-root", vmId: "vm-7" }, { properties: { "node.id": "sidecar~1", "node.metadata.MESH": "halyard" } });
    const time = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6));
    const info: StreamInfo = {
      request: { id: "req-1", protocol: "HTTP/1.1", time },
      source: { address: "10.1.2.3", port: 5555, principal: "spiffe://cluster.local/ns/a/sa/b" },
      destination: { address: "::1", port: 8080 },
      connection: { id: 42, mtls: true, requestedServerName: "svc.test", tlsVersion: "TLSv1.3" },
      routeName: "r1",
      clusterName: "c1",
      properties: { "custom.flag": true, "custom.ratio": 0.5 },
    };
    const names = [
      "request.path", "request.url_path", "request.query", "request.host", "request.method", "request.scheme",
      "request.headers.x-probe", "request.id", "request.protocol", "request.time", "request.useragent",
      "source.address", "source.port", "source.principal", "destination.address", "destination.port",
      "connection.id", "connection.mtls", "connection.requested_server_name", "connection.tls_version",
      "plugin_name", "plugin_root_id", "plugin_vm_id", "route_name", "xds.cluster_name", "node.id",
      "node.metadata.MESH", "custom.flag", "custom.ratio", "upstream.address", "response.code",
    ];
    const { headers } = await run("props", [["x-props", names.join(",")]], info);
    const prop = (n: string) => header(headers, `x-prop-${n}`.toLowerCase());
    expect(prop("request.path")).toBe(utf8Hex("/probe"));
    expect(prop("request.url_path")).toBe(utf8Hex("/probe"));
    expect(prop("request.query")).toBe("");
    expect(prop("request.host")).toBe(utf8Hex("probe.test"));
    expect(prop("request.method")).toBe(utf8Hex("GET"));
    expect(prop("request.scheme")).toBe(utf8Hex("http"));
    expect(prop("request.headers.x-probe")).toBe(utf8Hex("props"));
    expect(prop("request.id")).toBe(utf8Hex("req-1"));
    expect(prop("request.protocol")).toBe(utf8Hex("HTTP/1.1"));
    expect(prop("request.time")).toBe(int64(BigInt(time.getTime()) * 1_000_000n));
    expect(prop("request.useragent")).toBe("!1");
    expect(prop("source.address")).toBe(utf8Hex("10.1.2.3:5555"));
    expect(prop("source.port")).toBe(int64(5555n));
    expect(prop("source.principal")).toBe(utf8Hex("spiffe://cluster.local/ns/a/sa/b"));
    expect(prop("destination.address")).toBe(utf8Hex("[::1]:8080"));
    expect(prop("destination.port")).toBe(int64(8080n));
    expect(prop("connection.id")).toBe(int64(42n));
    expect(prop("connection.mtls")).toBe("01");
    expect(prop("connection.requested_server_name")).toBe(utf8Hex("svc.test"));
    expect(prop("connection.tls_version")).toBe(utf8Hex("TLSv1.3"));
    expect(prop("plugin_name")).toBe(utf8Hex("props"));
    expect(prop("plugin_root_id")).toBe(utf8Hex("probe-root"));
    expect(prop("plugin_vm_id")).toBe(utf8Hex("vm-7"));
    expect(prop("route_name")).toBe(utf8Hex("r1"));
    expect(prop("xds.cluster_name")).toBe(utf8Hex("c1"));
    expect(prop("node.id")).toBe(utf8Hex("sidecar~1"));
    expect(prop("node.metadata.MESH")).toBe(utf8Hex("halyard"));
    expect(prop("custom.flag")).toBe("01");
    expect(prop("custom.ratio")).toBe(Buffer.from(new Float64Array([0.5]).buffer).toString("hex"));
    expect(prop("upstream.address")).toBe("!1");
    expect(prop("response.code")).toBe("!1");
  });

  it("reads url_path/query from the live :path and response attributes once known", async () => {
    probe = await loadProbe();
    const stream = probe.plugin.createStream();
    const headers: HeaderMap = [[":path", "/a/b?x=1"], ["x-probe", "none"]];
    await stream.onRequestHeaders(headers, true);
    stream.setResponseInfo({ code: 201, codeDetails: "via_upstream", flags: ["UF", "URX"], upstreamAddress: "127.0.0.1:9000" });
    await stream.onResponseHeaders([[":status", "201"]], true);
    stream.done();
    const s2 = probe.plugin.createStream();
    const h2 = probeRequest("props", [["x-props", "request.url_path,request.query"]]);
    h2[1] = [":path", "/a/b?x=1&y=2"];
    await s2.onRequestHeaders(h2, true);
    expect(header(h2, "x-prop-request.url_path")).toBe(utf8Hex("/a/b"));
    expect(header(h2, "x-prop-request.query")).toBe(utf8Hex("x=1&y=2"));
  });

  it("set_property values read back on the same stream", async () => {
    probe = await loadProbe();
    expect((await run("set-prop")).result).toBe("0,0 remembered");
  });
});

describe("shared data and queues", () => {
  it("implements compare-and-swap", async () => {
    probe = await loadProbe({}, { shared: new SharedState() });
    // NotFound, Ok, Ok (read "one"), Ok with the right cas, CasMismatch with the stale one; value is "two".
    expect((await run("cas", [["x-key", "k1"]])).result).toBe("1,0,0,0,8 one two");
  });

  it("shares data between plugins with the same vm_id only", async () => {
    const shared = new SharedState();
    probe = await loadProbe({ vmId: "a" }, { shared });
    await run("cas", [["x-key", "k2"]]);
    const other = await loadProbe({ vmId: "b" }, { shared });
    const same = await loadProbe({ vmId: "a" }, { shared });
    try {
      expect(shared.getData("a", "k2")?.value).toEqual(new TextEncoder().encode("two"));
      const s = other.plugin.createStream();
      const h = probeRequest("cas", [["x-key", "k2"]]);
      await s.onRequestHeaders(h, true);
      expect(header(h, "x-probe-result")).toBe("1,0,0,0,8 one two"); // fresh namespace
      const s2 = same.plugin.createStream();
      const h2 = probeRequest("cas", [["x-key", "k2"]]);
      await s2.onRequestHeaders(h2, true);
      expect(header(h2, "x-probe-result")!.startsWith("0,")).toBe(true); // already there
    } finally {
      await other.plugin.close();
      await same.plugin.close();
    }
  });

  it("delivers proxy_on_queue_ready and dequeues in order", async () => {
    probe = await loadProbe({ vmId: "qvm" }, { shared: new SharedState() });
    // register Ok, resolve Ok, enqueue Ok, enqueue to an unknown token NotFound; tokens agree.
    expect((await run("queue", [["x-vm-id", "qvm"]])).result).toBe("0,0,0,1 same=1");
    for (let i = 0; i < 50 && !probe.callbacks().some((c) => c.startsWith("queue_ready")); i++) await sleep(2);
    expect(probe.callbacks()).toContain("queue_ready 1 hello-queue then 7");
    expect((await run("queue-read")).result).toBe("hello-queue");
  });
});

describe("metrics", () => {
  it("defines, increments, records and reads metrics", async () => {
    const metrics = new MetricsRegistry();
    probe = await loadProbe({}, { metrics });
    // inc counter Ok, decrement counter BadArgument, gauge record Ok, gauge add -2 Ok, histogram Ok,
    // get counter Ok, get gauge Ok, get histogram BadArgument, bad type BadArgument, unknown id NotFound.
    expect((await run("metrics")).result).toBe("0,2,0,0,0,0,0,2,2,1 c=3 g=40");
    expect(probe.plugin.metrics).toBe(metrics);
    expect(metrics.snapshot()).toEqual([
      { name: "probe_requests", type: "counter", tags: {}, value: 3 },
      { name: "probe_inflight", type: "gauge", tags: {}, value: 40 },
      { name: "probe_latency", type: "histogram", tags: {}, value: 1, sum: 7, min: 7, max: 7 },
    ]);
    await run("metrics");
    expect(metrics.snapshot()[0].value).toBe(6); // same name -> same metric
  });
});

describe("foreign functions and unsupported calls", () => {
  it("has clear_route_cache built in and calls registered functions", async () => {
    probe = await loadProbe({}, { foreignFunctions: { shout: (args, stream) => new TextEncoder().encode(`${text(args).toUpperCase()} ${stream ? "in-stream" : "root"}`) } });
    const stream = probe.plugin.createStream();
    let cleared = 0;
    stream.onClearRouteCache = () => cleared++;
    const h = probeRequest("foreign", [["x-fn", "clear_route_cache"]]);
    await stream.onRequestHeaders(h, true);
    expect(header(h, "x-probe-result")).toBe("0 ");
    expect(cleared).toBe(1);
    expect((await run("foreign", [["x-fn", "shout"]])).result).toBe("0 ARG-BYTES in-stream");
    expect((await run("foreign", [["x-fn", "nope"]])).result).toBe("1 ");
  });

  it("answers Unimplemented for gRPC and for imports outside the ABI", async () => {
    probe = await loadProbe();
    expect((await run("grpc")).result).toBe("12");
    expect((await run("vendor")).result).toBe("12");
  });
});
