// halyard.echo running in the project's proxy-wasm host (wasm/host), i.e. through the real ABI.
import { beforeAll, describe, expect, it } from "vitest";
import { type HeaderMap, type LogLevel, WasmPlugin } from "../wasm/host/index.js";
import { halyardModule } from "./helpers/halyard-wasm.js";

let module: WebAssembly.Module;

beforeAll(() => {
  module = halyardModule();
}, 120_000);

function load(configuration: string | undefined, rootId = "halyard.echo") {
  const logs: Array<[LogLevel, string]> = [];
  const plugin = WasmPlugin.load(module, { name: "echo", rootId, configuration }, { log: (l, m) => logs.push([l, m]) });
  return { plugin, logs };
}

const CONFIG = JSON.stringify({
  request_headers: { "x-halyard-echo": "1", "X-Upper": "Ünïcode ✓" },
  response_headers: { "x-served-by": "halyard" },
  local_responses: [
    { path: "/blocked", status: 403, body: "blocked by echo", headers: { "x-why": "echo" } },
    { path: "/empty", status: 204 },
  ],
});

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

describe("halyard.echo", () => {
  it("sets request headers upstream and response headers downstream", async () => {
    const plugin = await load(CONFIG).plugin;
    const stream = plugin.createStream();
    const req: HeaderMap = [[":method", "GET"], [":path", "/hello?x=1"], [":authority", "a.test"], ["x-halyard-echo", "old"]];
    expect(await stream.onRequestHeaders(req, true)).toEqual({ kind: "continue" });
    expect(req).toEqual([[":method", "GET"], [":path", "/hello?x=1"], [":authority", "a.test"], ["x-halyard-echo", "1"], ["x-upper", "Ünïcode ✓"]]);
    const resp: HeaderMap = [[":status", "200"], ["content-type", "text/plain"]];
    expect(await stream.onResponseHeaders(resp, false)).toEqual({ kind: "continue" });
    expect(resp).toEqual([[":status", "200"], ["content-type", "text/plain"], ["x-served-by", "halyard"]]);
    stream.done();
    await plugin.close();
  });

  it("answers configured paths (query ignored) with a local response", async () => {
    const plugin = await load(CONFIG).plugin;
    for (const path of ["/blocked", "/blocked?debug=1"]) {
      const stream = plugin.createStream();
      const req: HeaderMap = [[":method", "GET"], [":path", path], [":authority", "a.test"]];
      const outcome = await stream.onRequestHeaders(req, true);
      expect(outcome.kind).toBe("local_response");
      if (outcome.kind !== "local_response") return;
      expect(outcome.status).toBe(403);
      expect(decode(outcome.body)).toBe("blocked by echo");
      expect(outcome.headers).toEqual([["x-why", "echo"]]);
      expect(outcome.details).toBe("halyard_echo_local_response");
      expect(outcome.grpcStatus).toBeUndefined();
      // The request headers are not touched when the filter answers itself.
      expect(req.find(([k]) => k === "x-halyard-echo")).toBeUndefined();
      stream.done();
    }
    const stream = plugin.createStream();
    const outcome = await stream.onRequestHeaders([[":method", "GET"], [":path", "/empty"]], true);
    expect(outcome).toMatchObject({ kind: "local_response", status: 204, headers: [] });
    stream.done();
    // A path that only shares a prefix is forwarded.
    const other = plugin.createStream();
    expect(await other.onRequestHeaders([[":path", "/blocked/more"]], true)).toEqual({ kind: "continue" });
    other.done();
    await plugin.close();
  });

  it("is a no-op with {} or an empty configuration", async () => {
    for (const configuration of ["{}", "", undefined]) {
      const plugin = await load(configuration).plugin;
      const stream = plugin.createStream();
      const req: HeaderMap = [[":method", "GET"], [":path", "/blocked"]];
      expect(await stream.onRequestHeaders(req, true)).toEqual({ kind: "continue" });
      expect(req).toEqual([[":method", "GET"], [":path", "/blocked"]]);
      const resp: HeaderMap = [[":status", "200"]];
      expect(await stream.onResponseHeaders(resp, true)).toEqual({ kind: "continue" });
      expect(resp).toEqual([[":status", "200"]]);
      stream.done();
      await plugin.close();
    }
  });

  it("refuses invalid configurations with a one-line reason naming the field", async () => {
    const cases: Array<[string, string]> = [
      ['{"request_headers": {"a": 1}', "halyard.echo: invalid configuration: configuration is not valid JSON: unterminated object, expected ',' or '}' at byte 28"],
      ["[1]", "halyard.echo: invalid configuration: configuration must be a JSON object, got array"],
      ['{"request_headers": {"a": 1}}', "halyard.echo: invalid configuration: request_headers.a must be a string, got number"],
      ['{"response_headers": []}', "halyard.echo: invalid configuration: response_headers must be an object of header name -> string value, got array"],
      ['{"local_responses": {}}', "halyard.echo: invalid configuration: local_responses must be an array, got object"],
      ['{"local_responses": [{"path": "/x", "status": "403"}]}', "halyard.echo: invalid configuration: local_responses[0].status must be an integer HTTP status between 200 and 599"],
      ['{"local_responses": [{"path": "/x", "status": 403}, {"path": "x", "status": 200}]}', 'halyard.echo: invalid configuration: local_responses[1].path must be a string starting with "/"'],
      ['{"local_responses": [{"status": 403}]}', "halyard.echo: invalid configuration: local_responses[0].path is required"],
      ['{"local_responses": [{"path": "/x", "status": 403, "bdy": ""}]}', 'halyard.echo: invalid configuration: local_responses[0]: unknown field "bdy"'],
      ['{"local_responses": [{"path": "/x", "status": 403}, {"path": "/x", "status": 404}]}', 'halyard.echo: invalid configuration: local_responses[1].path "/x" is configured twice'],
      ['{"request_header": {}}', 'halyard.echo: invalid configuration: unknown field "request_header" (expected request_headers, response_headers, local_responses)'],
    ];
    for (const [configuration, message] of cases) {
      const { plugin, logs } = load(configuration);
      await expect(plugin, configuration).rejects.toThrow(message);
      expect(logs, configuration).toContainEqual(["error", message]);
      expect(message).not.toContain("\n");
    }
  });

  it("fails configure for a root id this module does not provide", async () => {
    const { plugin, logs } = load("{}", "halyard.nope");
    await expect(plugin).rejects.toThrow(/unknown root id "halyard.nope" \(this module provides: .*halyard\.echo/);
    expect(logs.some(([l, m]) => l === "error" && m.includes('unknown root id "halyard.nope"'))).toBe(true);
  });

  it("serves many streams on one VM", async () => {
    const plugin = await load(CONFIG).plugin;
    for (let i = 0; i < 2000; i++) {
      const stream = plugin.createStream();
      const req: HeaderMap = [[":path", i % 2 ? "/blocked" : `/n/${i}`]];
      const outcome = await stream.onRequestHeaders(req, true);
      expect(outcome.kind).toBe(i % 2 ? "local_response" : "continue");
      if (i % 2 === 0) {
        const resp: HeaderMap = [[":status", "200"]];
        await stream.onResponseHeaders(resp, true);
        expect(resp).toEqual([[":status", "200"], ["x-served-by", "halyard"]]);
      }
      stream.done();
    }
    await plugin.close();
  });
});
