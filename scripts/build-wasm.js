// Compiles the AssemblyScript filters into wasm/build/halyard.wasm using asconfig.json's target.
// AssemblyScript's own env.abort / env.trace / env.seed imports are routed to the guest layer
// here rather than in asconfig.json: asc also applies asconfig.json's release target when
// test/helpers/as.ts compiles engine test entries, and those must not depend on filters/.
// Outputs are written to a temporary name and renamed, so a test reading halyard.wasm while
// another process rebuilds it never sees a half-written file. A build whose inputs (the AssemblyScript
// sources, asconfig.json, this script, the compiler's version) hash to what the last build recorded is
// skipped: the tests that need halyard.wasm ask for it, and after `npm run build` it is already there.
import asc from "assemblyscript/asc";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

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

const OUTPUTS = ["wasm/build/halyard.wasm", "wasm/build/halyard.js", "wasm/build/halyard.d.ts"];
const STAMP = "wasm/build/halyard.inputs";

function sourceFiles(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

function inputsDigest(root) {
  const hash = createHash("sha256");
  const compiler = createRequire(join(root, "package.json"))("assemblyscript/package.json").version;
  hash.update(`assemblyscript ${compiler}\0`);
  const files = [...sourceFiles(join(root, "filters")), ...sourceFiles(join(root, "engine")), join(root, "asconfig.json"), fileURLToPath(import.meta.url)];
  for (const f of files) hash.update(`${relative(root, f)}\0`).update(readFileSync(f)).update("\0");
  return hash.digest("hex");
}

/** Builds halyard.wasm unless its inputs are unchanged since the last build; resolves whether it compiled. */
export async function buildWasm(root) {
  const digest = inputsDigest(root);
  const stamp = join(root, STAMP);
  if (OUTPUTS.every((o) => existsSync(join(root, o))) && existsSync(stamp) && readFileSync(stamp, "utf8") === digest) return false;
  await compile(root);
  writeAtomically(STAMP, digest, root);
  return true;
}

async function compile(root) {
  mkdirSync(join(root, "wasm/build"), { recursive: true });
  let errText = "";
  const stderr = { write: (s) => { errText += typeof s === "string" ? s : new TextDecoder().decode(s); return true; } };
  const { error } = await asc.main(
    ["filters/index.ts", "--config", "asconfig.json", "--target", "release", ...RUNTIME_ROUTES.flatMap((u) => ["--use", u])],
    { stdout: asc.createMemoryStream(), stderr, baseDir: root, writeFile: writeAtomically },
  );
  if (error) throw new Error(`asc failed: ${error.message}\n${errText}`);
}
