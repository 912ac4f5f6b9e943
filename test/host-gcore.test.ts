// The host running a filter built with an independent SDK (@gcoredev/proxy-wasm-sdk-as).
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { WasmPlugin, type HeaderMap, type LogLevel } from "../wasm/host/index.js";
import { buildGcoreFilter } from "./helpers/gcore-filter.js";

let module: WebAssembly.Module;

beforeAll(async () => {
  module = new WebAssembly.Module(readFileSync(await buildGcoreFilter()));
});

function quietLoad(configuration?: string) {
  const logs: Array<[LogLevel, string]> = [];
  const load = WasmPlugin.load(module, { name: "gcore", rootId: "gcore_echo", configuration }, { log: (l, m) => logs.push([l, m]) });
  return { load, logs };
}

describe("host + @gcoredev/proxy-wasm-sdk-as filter", () => {
  it("echoes x-user into x-gcore-user and tags the response", async () => {
    const plugin = await quietLoad().load;
    const stream = plugin.createStream();
    const req: HeaderMap = [[":method", "GET"], [":path", "/hello"], [":authority", "a.test"], ["x-user", "alice"]];
    expect(await stream.onRequestHeaders(req, true)).toEqual({ kind: "continue" });
    const resp: HeaderMap = [[":status", "200"], ["content-type", "text/plain"]];
    expect(await stream.onResponseHeaders(resp, false)).toEqual({ kind: "continue" });
    expect(resp).toEqual([[":status", "200"], ["content-type", "text/plain"], ["x-gcore-user", "alice"], ["x-gcore-filter", "on"]]);
    stream.done();
    await plugin.close();
  });

  it("passes the plugin configuration through to the SDK", async () => {
    const plugin = await quietLoad("from-config").load;
    const stream = plugin.createStream();
    await stream.onRequestHeaders([[":path", "/"]], true);
    const resp: HeaderMap = [[":status", "204"]];
    await stream.onResponseHeaders(resp, true);
    expect(resp).toContainEqual(["x-gcore-filter", "from-config"]);
    stream.done();
    await plugin.close();
  });

  it("denies /forbidden with the filter's local 403", async () => {
    const plugin = await quietLoad().load;
    const stream = plugin.createStream();
    const outcome = await stream.onRequestHeaders([[":method", "GET"], [":path", "/forbidden"], ["x-user", "mallory"]], true);
    expect(outcome.kind).toBe("local_response");
    if (outcome.kind !== "local_response") return;
    expect(outcome.status).toBe(403);
    expect(outcome.details).toBe("gcore_forbidden");
    expect(new TextDecoder().decode(outcome.body)).toBe("forbidden by the gcore filter");
    expect(outcome.headers).toEqual([["x-gcore-denied", "1"], ["content-type", "text/plain"]]);
    expect(outcome.grpcStatus).toBeUndefined();
    stream.done();
    await plugin.close();
  });

  it("runs many streams on one VM without leaking contexts", async () => {
    const plugin = await quietLoad().load;
    for (let i = 0; i < 200; i++) {
      const stream = plugin.createStream();
      await stream.onRequestHeaders([[":path", `/n/${i}`], ["x-user", `u${i}`]], true);
      const resp: HeaderMap = [[":status", "200"]];
      await stream.onResponseHeaders(resp, true);
      expect(resp[1]).toEqual(["x-gcore-user", `u${i}`]);
      stream.done();
    }
    await plugin.close();
  });

  it("survives the SDK trapping in its root proxy_on_done at close (WASI stderr + proc_exit)", async () => {
    const { load, logs } = quietLoad();
    const plugin = await load;
    const stream = plugin.createStream();
    await stream.onRequestHeaders([[":path", "/"]], true);
    stream.done();
    await expect(plugin.close()).resolves.toBeUndefined();
    // The SDK looks the root context up in its stream map, aborts through the WASI shim (stderr ->
    // error log line) and calls proc_exit, which the host treats as a trap.
    expect(logs).toEqual([
      ["error", expect.stringMatching(/^abort: Key does not exist/)],
      ["warn", "root context teardown failed: proxy_on_done trapped: proc_exit(255)"],
    ]);
  });
});
