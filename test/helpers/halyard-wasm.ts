// The real halyard.wasm for tests: `node scripts/build.js` brings it (and, when asked, dist/) up to date first —
// a no-op when its inputs have not changed since the last build.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** Runs build steps ("wasm", "ts"); throws with the build's output when one fails. */
export function build(...steps: string[]): void {
  const r = spawnSync(process.execPath, ["scripts/build.js", ...steps], { cwd: root, encoding: "utf8", timeout: 300_000 });
  if (r.status !== 0) throw new Error(`node scripts/build.js ${steps.join(" ")} failed:\n${r.stderr}${r.stdout}`);
}

export function halyardWasmBytes(): Uint8Array {
  build("wasm");
  return new Uint8Array(readFileSync(join(root, "wasm/build/halyard.wasm")));
}

export function halyardModule(): WebAssembly.Module {
  return new WebAssembly.Module(halyardWasmBytes());
}
