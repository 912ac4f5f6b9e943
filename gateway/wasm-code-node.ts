// Compiled wasm modules by code path, each compiled once: read from the file, or taken from the remote code cache
// when the path names fetched code. Node-only.
import { readFile } from "node:fs/promises";
import type { RemoteCodeCache } from "./xds/remote-code.js";

export class WasmCode {
  private readonly modules = new Map<string, Promise<WebAssembly.Module>>();

  constructor(private readonly remote?: RemoteCodeCache) {}

  /** The module at `path`; a failure rejects with one line `<where>: <path>: <why>` and is not cached. */
  async module(path: string, where: string): Promise<WebAssembly.Module> {
    let mod = this.modules.get(path);
    if (!mod) {
      const remote = this.remote?.get(path);
      mod = (remote ? Promise.resolve(remote) : readFile(path).then((b) => new Uint8Array(b))).then((bytes) => WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>));
      this.modules.set(path, mod);
      mod.catch(() => this.modules.delete(path));
    }
    try {
      return await mod;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === "ENOENT" ? "wasm file not found" : code ? `cannot read wasm file (${code})` : `not a valid wasm module (${e instanceof Error ? e.message : String(e)})`;
      throw new Error(`${where}: ${path}: ${why}`);
    }
  }
}
