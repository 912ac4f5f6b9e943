// The host running our own halyard.wasm (root id halyard.echo), as Envoy would load it.
// Build it first with `node scripts/build.js wasm` (npm test does this in pretest).
import { existsSync, readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { PluginError, WasmPlugin, type HeaderMap, type LogLevel } from "../wasm/host/index.js";

const WASM = new URL("../wasm/build/halyard.wasm", import.meta.url);
let module: WebAssembly.Module;

beforeAll(() => {
  if (!existsSync(WASM)) throw new Error("wasm/build/halyard.wasm is missing: run `node scripts/build.js wasm` first");
  module = new WebAssembly.Module(readFileSync(WASM));
});

const CONFIG = {
  request_headers: { "x-echo-req": "added", "X-Replace-Me": "new" },
  response_headers: { "x-echo-resp": "yes" },
  local_responses: [{ path: "/blocked", status: 403, body: "blocked by echo", headers: { "x-blocked": "1" } }],
};

function load(configuration: unknown, logs: Array<[LogLevel, string]> = []) {
  return WasmPlugin.load(
    module,
    { name: "echo", rootId: "halyard.echo", configuration: typeof configuration === "string" ? configuration : JSON.stringify(configuration) },
    { log: (l, m) => logs.push([l, m]) },
  );
}

describe("host + halyard.wasm (halyard.echo)", () => {
  it("sets configured request and response headers", async () => {
    const plugin = await load(CONFIG);
    const stream = plugin.createStream({ source: { address: "127.0.0.1", port: 40000 } });
    const req: HeaderMap = [[":method", "GET"], [":path", "/ok"], [":authority", "svc"], ["x-replace-me", "old"], ["x-replace-me", "older"]];
    expect(await stream.onRequestHeaders(req, true)).toEqual({ kind: "continue" });
    expect(req).toEqual([[":method", "GET"], [":path", "/ok"], [":authority", "svc"], ["x-replace-me", "new"], ["x-echo-req", "added"]]);
    const resp: HeaderMap = [[":status", "200"]];
    expect(await stream.onResponseHeaders(resp, true)).toEqual({ kind: "continue" });
    expect(resp).toEqual([[":status", "200"], ["x-echo-resp", "yes"]]);
    stream.done();
    await plugin.close();
  });

  it("answers configured paths with a local response (query ignored)", async () => {
    const plugin = await load(CONFIG);
    for (const path of ["/blocked", "/blocked?a=1"]) {
      const stream = plugin.createStream();
      const outcome = await stream.onRequestHeaders([[":method", "GET"], [":path", path]], true);
      expect(outcome).toMatchObject({ kind: "local_response", status: 403, details: "halyard_echo_local_response", headers: [["x-blocked", "1"]] });
      if (outcome.kind === "local_response") expect(new TextDecoder().decode(outcome.body)).toBe("blocked by echo");
      stream.done();
    }
    await plugin.close();
  });

  it("is a no-op with {}", async () => {
    const plugin = await load({});
    const stream = plugin.createStream();
    const req: HeaderMap = [[":method", "GET"], [":path", "/blocked"]];
    expect(await stream.onRequestHeaders(req, true)).toEqual({ kind: "continue" });
    const resp: HeaderMap = [[":status", "200"]];
    expect(await stream.onResponseHeaders(resp, true)).toEqual({ kind: "continue" });
    expect(req).toEqual([[":method", "GET"], [":path", "/blocked"]]);
    expect(resp).toEqual([[":status", "200"]]);
    stream.done();
    await plugin.close();
  });

  it("refuses a bad configuration with the filter's one-line reason", async () => {
    const err = await load({ local_responses: [{ path: "/x", status: 99 }] }).catch((e) => e);
    expect(err).toBeInstanceOf(PluginError);
    expect(err.message).toMatch(/^wasm plugin echo: proxy_on_configure rejected the plugin configuration \(guest said: .*local_responses\[0\]\.status must be an integer HTTP status between 200 and 599\)$/);
  });

  it("serves many streams on one plugin", async () => {
    const plugin = await load(CONFIG);
    for (let i = 0; i < 500; i++) {
      const stream = plugin.createStream();
      const req: HeaderMap = [[":method", "GET"], [":path", `/n/${i}`]];
      await stream.onRequestHeaders(req, true);
      const resp: HeaderMap = [[":status", "200"]];
      await stream.onResponseHeaders(resp, true);
      expect(resp[1]).toEqual(["x-echo-resp", "yes"]);
      stream.done();
    }
    await plugin.close();
  });
});
