// Compiles the AssemblyScript filters into wasm/build/halyard.wasm using asconfig.json's target.
// AssemblyScript's own env.abort / env.trace / env.seed imports are routed to the guest layer
// here rather than in asconfig.json: asc also applies asconfig.json's release target when
// test/helpers/as.ts compiles engine test entries, and those must not depend on filters/.
// Outputs are written to a temporary name and renamed, so a test reading halyard.wasm while
// another process rebuilds it never sees a half-written file.
import asc from "assemblyscript/asc";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

const RUNTIME_ROUTES = [
  "abort=filters/abi/runtime/abortWithLog",
  "trace=filters/abi/runtime/traceToLog",
  "seed=filters/abi/runtime/seedFromHost",
];

function writeAtomically(filename, contents, baseDir) {
  const target = resolve(baseDir, filename);
  mkdirSync(dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, target);
}

export async function buildWasm(root) {
  mkdirSync(join(root, "wasm/build"), { recursive: true });
  let errText = "";
  const stderr = { write: (s) => { errText += typeof s === "string" ? s : new TextDecoder().decode(s); return true; } };
  const { error } = await asc.main(
    ["filters/index.ts", "--config", "asconfig.json", "--target", "release", ...RUNTIME_ROUTES.flatMap((u) => ["--use", u])],
    { stdout: asc.createMemoryStream(), stderr, baseDir: root, writeFile: writeAtomically },
  );
  if (error) throw new Error(`asc failed: ${error.message}\n${errText}`);
}
