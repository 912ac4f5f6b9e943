// Plugin/stream lifecycle through the host: callback order, load errors, teardown.
import { describe, expect, it } from "vitest";
import { PluginError, WasmPlugin } from "../wasm/host/index.js";
import { loadProbe, probeModule, probeRequest, sleep } from "./helpers/host-probe.js";

describe("host lifecycle", () => {
  it("runs root and stream callbacks in Envoy's order", async () => {
    const probe = await loadProbe({ configuration: "{}", vmConfiguration: "vm!" });
    expect(probe.callbacks()).toEqual(["context_create 1 0", "vm_start 1 3", "configure 1 2"]);
    const stream = probe.plugin.createStream();
    await stream.onRequestHeaders(probeRequest("none"), false);
    await stream.onRequestBody(new TextEncoder().encode("abc"), true);
    await stream.onResponseHeaders([[":status", "200"]], false);
    await stream.onResponseBody(new TextEncoder().encode("xy"), false);
    await stream.onResponseTrailers([["grpc-status", "0"]]);
    stream.done();
    stream.done(); // idempotent
    await probe.plugin.close();
    expect(probe.callbacks().slice(3)).toEqual([
      "context_create 2 1",
      "request_headers 2 5 0",
      "request_body 2 3 1",
      "response_headers 2 1 0",
      "response_body 2 2 0",
      "response_trailers 2 1",
      "done 2",
      "log 2",
      "delete 2",
      "done 1",
      "delete 1",
    ]);
  });

  it("waits for proxy_done when proxy_on_done returns false", async () => {
    const probe = await loadProbe();
    const stream = probe.plugin.createStream();
    await stream.onRequestHeaders(probeRequest("late-done"), true);
    stream.done();
    expect(probe.callbacks().slice(-1)).toEqual(["done 2"]);
    for (let i = 0; i < 100 && !probe.callbacks().includes("delete 2"); i++) await sleep(5);
    expect(probe.callbacks().slice(-4)).toEqual(["done 2", "tick 1", "log 2", "delete 2"]);
    await probe.plugin.close();
  });

  it("rejects a module without the ABI marker with a PluginError naming the plugin", async () => {
    const empty = new WebAssembly.Module(Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0));
    await expect(WasmPlugin.load(empty, { name: "empty", rootId: "x" })).rejects.toThrow(
      new PluginError("empty", "module does not export proxy_abi_version_0_2_1: not a proxy-wasm ABI v0.2.1 module"),
    );
  });

  it("reports a configuration the guest rejects, with the guest's own reason", async () => {
    const err = await loadProbe({ name: "picky", configuration: "reject" }).catch((e) => e);
    expect(err).toBeInstanceOf(PluginError);
    expect(err.message).toBe("wasm plugin picky: proxy_on_configure rejected the plugin configuration (guest said: configuration says reject)");
  });

  it("reports a guest that traps while configuring", async () => {
    const err = await loadProbe({ name: "boom", configuration: "trap-configure" }).catch((e) => e);
    expect(err).toBeInstanceOf(PluginError);
    expect(err.message).toMatch(/^wasm plugin boom: proxy_on_configure trapped: unreachable/);
  });

  it("validates its inputs with one-line errors", async () => {
    const mod = await probeModule();
    await expect(WasmPlugin.load(mod, { name: "", rootId: "x" })).rejects.toThrow("wasm plugin <unnamed>: config.name must be a non-empty string");
    await expect(WasmPlugin.load({} as WebAssembly.Module, { name: "p", rootId: "x" })).rejects.toThrow("wasm plugin p: expected a compiled WebAssembly.Module");
    await expect(WasmPlugin.load(mod, { name: "p", rootId: "x" }, { logLevel: "loud" as never })).rejects.toThrow(
      'wasm plugin p: options.logLevel "loud" is not one of trace, debug, info, warn, error, critical',
    );
  });

  it("refuses new streams after close and stops its tick timer", async () => {
    const probe = await loadProbe();
    const stream = probe.plugin.createStream();
    const paused = stream.onRequestHeaders(probeRequest("pause"), true);
    await probe.plugin.close();
    const ticksAtClose = probe.callbacks().filter((c) => c.startsWith("tick")).length;
    await sleep(30);
    expect(probe.callbacks().filter((c) => c.startsWith("tick")).length).toBe(ticksAtClose);
    expect(() => probe.plugin.createStream()).toThrow("wasm plugin probe: createStream called after close()");
    stream.done();
    expect((await paused).kind).toBe("local_response");
  });
});
