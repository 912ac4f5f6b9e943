// The proxy-wasm host inside workerd (the Workers runtime): no node: imports, a precompiled
// WebAssembly.Module from a static import, synchronous instantiation allowed.
import { describe, expect, it } from "vitest";
// @ts-ignore static wasm import, as Workers require
import halyard from "../../wasm/build/halyard.wasm";
import { WasmPlugin, type HeaderMap } from "../../wasm/host/index.js";

describe("proxy-wasm host in workerd", () => {
  it("runs halyard.echo: headers and local responses", async () => {
    const plugin = await WasmPlugin.load(halyard, {
      name: "echo",
      rootId: "halyard.echo",
      configuration: JSON.stringify({
        response_headers: { "x-edge": "workerd" },
        local_responses: [{ path: "/blocked", status: 403, body: "no" }],
      }),
    });
    const ok = plugin.createStream();
    expect(await ok.onRequestHeaders([[":method", "GET"], [":path", "/"]], true)).toEqual({ kind: "continue" });
    const resp: HeaderMap = [[":status", "200"]];
    await ok.onResponseHeaders(resp, true);
    expect(resp).toEqual([[":status", "200"], ["x-edge", "workerd"]]);
    ok.done();
    const blocked = plugin.createStream();
    expect(await blocked.onRequestHeaders([[":method", "GET"], [":path", "/blocked"]], true)).toMatchObject({ kind: "local_response", status: 403 });
    blocked.done();
    await plugin.close();
  });
});
