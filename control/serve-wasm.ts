// halyard.wasm on the control plane's HTTP port (GET /wasm/halyard.wasm, application/wasm), for Envoy's
// `vm_config.code.remote`: the bytes are read once at startup so the sha256 the translated filters carry always
// matches what is served, even if the file is rebuilt meanwhile.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Hono } from "hono";

export const WASM_HTTP_PATH = "/wasm/halyard.wasm";

export interface WasmModuleFile {
  file: string;
  bytes: Uint8Array<ArrayBuffer>;
  /** Lower-case hex, as Envoy's RemoteDataSource.sha256 takes it. */
  sha256: string;
}

export async function readWasmModule(file: string): Promise<WasmModuleFile> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file (run `node scripts/build.js wasm`)" : code ?? String(e);
    throw new Error(`wasm module ${file}: ${why}`);
  }
  if (!WebAssembly.validate(bytes)) throw new Error(`wasm module ${file}: not a valid WebAssembly module`);
  return { file, bytes, sha256: createHash("sha256").update(bytes).digest("hex") };
}

export function addWasmRoute(app: Hono, module: WasmModuleFile): void {
  app.get(WASM_HTTP_PATH, (c) =>
    c.body(module.bytes, 200, { "content-type": "application/wasm", etag: `"${module.sha256}"`, "cache-control": "no-cache" }),
  );
}

/** Where proxies fetch the module: `http://<host>:<port>/wasm/halyard.wasm`; an unspecified bind address cannot be fetched from. */
export function defaultWasmUrl(host: string, port: number): string {
  if (host === "0.0.0.0" || host === "::" || host === "") {
    throw new Error(`wasm module: the HTTP port is bound to ${host || "all addresses"}, which proxies cannot fetch from; give the URL they should use (--wasm-remote=http://<address>:${port}${WASM_HTTP_PATH})`);
  }
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}${WASM_HTTP_PATH}`;
}
