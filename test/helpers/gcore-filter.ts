// Builds the @gcoredev/proxy-wasm-sdk-as conformance filter (test/fixtures/gcore-filter) with the
// asc API and returns the .wasm path. Builds are cached in test/.build by source content hash.
import asc from "assemblyscript/asc";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const fixture = join(root, "test/fixtures/gcore-filter");

const rel = (p: string) => relative(process.cwd(), join(fixture, p)) || ".";

let building: Promise<string> | undefined;

/** Path of the compiled gcore filter (root id is ignored by that SDK; any works). */
export function buildGcoreFilter(): Promise<string> {
  return (building ??= build());
}

async function build(): Promise<string> {
  const h = createHash("sha256");
  h.update(readFileSync(join(fixture, "asconfig.json")));
  for (const f of readdirSync(join(fixture, "assembly")).sort()) h.update(f).update(readFileSync(join(fixture, "assembly", f)));
  h.update(JSON.parse(readFileSync(join(root, "node_modules/@gcoredev/proxy-wasm-sdk-as/package.json"), "utf8")).version);
  const out = join(root, "test/.build", `gcore-filter-${h.digest("hex").slice(0, 16)}.wasm`);
  if (existsSync(out)) return out;
  mkdirSync(dirname(out), { recursive: true });
  let stderr = "";
  const { error } = await asc.main(
    // asc resolves the extended asconfig's lib dirs correctly only for cwd-relative paths.
    [rel("assembly/index.ts"), "--config", rel("asconfig.json"), "--target", "release", "--outFile", out],
    {
      stdout: asc.createMemoryStream(),
      stderr: { write: (s: string | Uint8Array) => ((stderr += typeof s === "string" ? s : new TextDecoder().decode(s)), true) } as any,
    },
  );
  if (error) throw new Error(`building the gcore filter failed: ${error.message}\n${stderr}`);
  return out;
}
