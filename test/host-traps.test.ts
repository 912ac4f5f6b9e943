// A trapping guest never takes the process down: the stream gets 503 (or continues with
// failOpen), streams waiting on the same VM are answered, and later streams get a fresh VM.
import { afterEach, describe, expect, it } from "vitest";
import type { HeaderMap } from "../wasm/host/index.js";
import { header, loadProbe, probeRequest, type Probe } from "./helpers/host-probe.js";

let probe: Probe;
afterEach(async () => {
  await probe?.plugin.close();
});

const FAIL = { kind: "local_response", status: 503, headers: [], body: new Uint8Array(0), details: "wasm_fail_stream", grpcStatus: 14 };

describe("trapping guests", () => {
  it("answers 503, logs the trap and serves later streams from a new VM", async () => {
    probe = await loadProbe();
    const paused = probe.plugin.createStream().onRequestHeaders(probeRequest("pause"), true);
    const survivor = probe.plugin.createStream();
    await survivor.onRequestHeaders(probeRequest("none"), true);

    const outcome = await probe.plugin.createStream().onRequestHeaders(probeRequest("trap"), true);
    expect(outcome).toEqual(FAIL);
    expect(await paused).toEqual(FAIL);
    expect(await survivor.onResponseHeaders([[":status", "200"]], true)).toEqual(FAIL);
    const errors = probe.logs.filter(([l]) => l === "error").map(([, m]) => m);
    expect(errors).toEqual([expect.stringMatching(/VM trapped.*proxy_on_request_headers trapped: unreachable/)]);

    for (let i = 0; i < 3; i++) {
      const stream = probe.plugin.createStream();
      const resp: HeaderMap = [[":status", "200"]];
      expect(await stream.onRequestHeaders(probeRequest("none"), true)).toEqual({ kind: "continue" });
      expect(await stream.onResponseHeaders(resp, true)).toEqual({ kind: "continue" });
      expect(header(resp, "x-probe-seen")).toBe("none");
      stream.done();
    }
    // The root context was created again exactly once.
    expect(probe.callbacks().filter((c) => c === "context_create 1 0")).toHaveLength(2);
    survivor.done();
  });

  it("recovers from repeated traps", async () => {
    probe = await loadProbe();
    for (let i = 0; i < 5; i++) {
      expect(await probe.plugin.createStream().onRequestHeaders(probeRequest("trap"), true)).toEqual(FAIL);
      expect(await probe.plugin.createStream().onRequestHeaders(probeRequest("none"), true)).toEqual({ kind: "continue" });
    }
  });

  it("lets the stream continue when failOpen is set", async () => {
    probe = await loadProbe({ failOpen: true });
    const stream = probe.plugin.createStream();
    expect(await stream.onRequestHeaders(probeRequest("trap"), true)).toEqual({ kind: "continue" });
    const body = new TextEncoder().encode("kept");
    expect(await stream.onRequestBody(body, true)).toEqual({ kind: "continue", body });
    stream.done();
  });

  it("fails the paused stream when the tick callback traps", async () => {
    probe = await loadProbe();
    expect(await probe.plugin.createStream().onRequestHeaders(probeRequest("tick-trap"), true)).toEqual(FAIL);
    expect(probe.logs.some(([l, m]) => l === "error" && m.includes("proxy_on_tick trapped"))).toBe(true);
    expect(await probe.plugin.createStream().onRequestHeaders(probeRequest("none"), true)).toEqual({ kind: "continue" });
  });

  it("fails the stream when proxy_on_http_call_response traps", async () => {
    probe = await loadProbe({}, { httpCall: async () => ({ headers: [[":status", "200"]], body: new Uint8Array(0), trailers: [] }) });
    expect(await probe.plugin.createStream().onRequestHeaders(probeRequest("http-trap", [["x-cluster", "any"]]), true)).toEqual(FAIL);
  });
});

