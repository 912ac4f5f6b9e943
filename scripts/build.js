// Builds everything the tests and the CLI need: generated proto types, halyard.wasm, then dist/.
// Each step is its own module; `node scripts/build.js [step...]` runs a subset.
import { spawnSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

const steps = {
  protos: () => import("./gen-protos.js").then((m) => m.genProtos(root)),
  wasm: () => import("./build-wasm.js").then((m) => m.buildWasm(root)),
  ts: () => {
    const r = spawnSync(process.execPath, [resolve(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], {
      cwd: root,
      stdio: "inherit",
    });
    if (r.status !== 0) throw new Error("tsc failed");
  },
};

const wanted = process.argv.slice(2);
for (const [name, step] of Object.entries(steps)) {
  if (wanted.length && !wanted.includes(name)) continue;
  const t0 = Date.now();
  try {
    await step();
  } catch (e) {
    process.stderr.write(`build: ${name}: ${e instanceof Error ? e.message : e}\n`);
    process.exit(1);
  }
  process.stdout.write(`build: ${name} (${Date.now() - t0} ms)\n`);
}
