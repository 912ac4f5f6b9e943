// Loads the raw proxy-wasm probe guest (test/fixtures/host-probe/probe.ts) into the host,
// capturing its log lines so tests can assert on callback order.
import { WasmPlugin, type HeaderMap, type HostOptions, type LogLevel, type PluginConfig } from "../../wasm/host/index.js";
import { compileAS } from "./as.js";

let compiled: Promise<WebAssembly.Module> | undefined;

export function probeModule(): Promise<WebAssembly.Module> {
  return (compiled ??= compileAS("test/fixtures/host-probe/probe.ts").then((bytes) => new WebAssembly.Module(bytes)));
}

export interface Probe {
  plugin: WasmPlugin;
  logs: Array<[LogLevel, string]>;
  /** "cb ..." lines the guest logged, in order. */
  callbacks(): string[];
}

export async function loadProbe(config: Partial<PluginConfig> = {}, options: HostOptions = {}): Promise<Probe> {
  const logs: Array<[LogLevel, string]> = [];
  const plugin = await WasmPlugin.load(
    await probeModule(),
    { name: "probe", rootId: "probe", ...config },
    { log: (level, message) => logs.push([level, message]), ...options },
  );
  return { plugin, logs, callbacks: () => logs.filter(([, m]) => m.startsWith("cb ")).map(([, m]) => m.slice(3)) };
}

export function header(map: HeaderMap, name: string): string | undefined {
  return map.find(([k]) => k === name)?.[1];
}

/** Request headers that select a probe behaviour. */
export function probeRequest(action: string, extra: HeaderMap = []): HeaderMap {
  return [[":method", "GET"], [":path", "/probe"], [":authority", "probe.test"], [":scheme", "http"], ["x-probe", action], ...extra];
}

/** Resolves after `ms` without keeping the process alive longer than needed. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
