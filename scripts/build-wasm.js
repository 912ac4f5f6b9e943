// Compiles the AssemblyScript filters into wasm/build/halyard.wasm using asconfig.json's target.
import asc from "assemblyscript/asc";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

export async function buildWasm(root) {
  mkdirSync(join(root, "wasm/build"), { recursive: true });
  let errText = "";
  const stderr = { write: (s) => { errText += typeof s === "string" ? s : new TextDecoder().decode(s); return true; } };
  const { error } = await asc.main(
    ["filters/index.ts", "--config", "asconfig.json", "--target", "release"],
    { stdout: asc.createMemoryStream(), stderr, baseDir: root },
  );
  if (error) throw new Error(`asc failed: ${error.message}\n${errText}`);
}
