// What every embedder does to run a wasm HTTP filter of a GatewayConfig: the node.* properties the filters read,
// and one plugin per filter config with errors that name the filter. Portable.
import { WasmPlugin, type HostOptions, type PropertyValue } from "../wasm/host/index.js";
import type { NodeInfo, WasmFilterConfig } from "./bootstrap/types.js";

/** node.* properties as Envoy exposes them to wasm (path parts joined with "."). */
export function nodeProperties(node: NodeInfo): Record<string, PropertyValue> {
  const props: Record<string, PropertyValue> = { "node.id": node.id, "node.cluster": node.cluster };
  for (const [k, v] of Object.entries(node.metadata)) {
    props[`node.metadata.${k}`] = typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? v : JSON.stringify(v);
  }
  return props;
}

/** Starts `filter`'s plugin on `module`; a failure rejects with one line that starts with `where`. */
export async function loadFilterPlugin(module: WebAssembly.Module, filter: WasmFilterConfig, where: string, host: HostOptions): Promise<WasmPlugin> {
  const { name, rootId, vmId, configuration, vmConfiguration, failOpen } = filter;
  try {
    return await WasmPlugin.load(module, { name, rootId, vmId, configuration, vmConfiguration, failOpen }, host);
  } catch (e) {
    throw new Error(`${where}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
