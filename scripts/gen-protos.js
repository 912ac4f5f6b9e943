// The `protos` build step: TypeScript for the Envoy v3 API (protoc-gen-es via the buf CLI) into gen/, plus
// gen/registry.ts (a createRegistry of every generated file and the well-known types, so Any resolves by type URL).
//
// Inputs are the protos bundled with @grpc/grpc-js-xds. We stage the import closure of scripts/protos/roots.json in a
// temp dir (so validate.proto can be patched on a copy), run `buf generate` on it, and skip everything when a hash
// of the staged inputs, the buf config and the tool versions matches gen/.stamp.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";

// Provided by buf itself (and @bufbuild/protobuf/wkt at run time); never staged.
const WKT_PREFIX = "google/protobuf/";
const WKT_FILES = ["any", "duration", "empty", "struct", "timestamp", "wrappers"];

export async function genProtos(root) {
  const cfg = JSON.parse(readFileSync(join(root, "scripts/protos/roots.json"), "utf8"));
  const includes = cfg.includes.map((d) => join(root, d));
  const staged = collectClosure(includes, expandRoots(includes, cfg.roots));

  const outDir = join(root, "gen");
  const stampFile = join(outDir, ".stamp");
  const stamp = inputsHash(root, staged);
  if (existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp && existsSync(join(outDir, "registry.ts"))) return;

  const work = mkdtempSync(join(tmpdir(), "halyard-protos-"));
  // Output lands inside gen/ so the final swap is a same-filesystem rename.
  mkdirSync(outDir, { recursive: true });
  const out = mkdtempSync(join(outDir, ".tmp-"));
  try {
    const src = join(work, "src");
    for (const [rel, text] of staged) {
      mkdirSync(dirname(join(src, rel)), { recursive: true });
      writeFileSync(join(src, rel), text);
    }
    writeFileSync(join(src, "buf.yaml"), readFileSync(join(root, "scripts/protos/buf.yaml")));
    const buf = spawnSync(
      process.execPath,
      [join(root, "node_modules/@bufbuild/buf/bin/buf"), "generate", src, "--template", "scripts/protos/buf.gen.yaml", "-o", out],
      { cwd: root, encoding: "utf8" },
    );
    if (buf.status !== 0) throw new Error(`buf generate failed: ${(buf.stderr || buf.error?.message || "").trim()}`);
    writeFileSync(join(out, "registry.ts"), registrySource(out));
    replaceOutputs(out, outDir);
    writeFileSync(stampFile, stamp);
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  }
}

// Roots may end in "/*": every .proto directly in that directory.
function expandRoots(includes, roots) {
  const files = [];
  for (const r of roots) {
    if (!r.endsWith("/*")) {
      files.push(r);
      continue;
    }
    const dir = r.slice(0, -2);
    const inc = includes.find((i) => existsSync(join(i, dir)));
    if (!inc) throw new Error(`scripts/protos/roots.json: no include directory has ${dir}`);
    for (const f of readdirSync(join(inc, dir)).sort()) if (f.endsWith(".proto")) files.push(`${dir}/${f}`);
  }
  return files;
}

// Import closure of the roots, as Map<relative path, (patched) text>.
function collectClosure(includes, roots) {
  const staged = new Map();
  const pending = [...roots];
  while (pending.length) {
    const rel = pending.pop();
    if (staged.has(rel) || rel.startsWith(WKT_PREFIX)) continue;
    const inc = includes.find((i) => existsSync(join(i, rel)));
    if (!inc) throw new Error(`proto import "${rel}" not found in ${includes.map((i) => relative(process.cwd(), i)).join(", ")}`);
    let text = readFileSync(join(inc, rel), "utf8");
    if (rel === "validate/validate.proto") text = patchValidate(text);
    staged.set(rel, text);
    for (const m of text.matchAll(/^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;/gm)) pending.push(m[1]);
  }
  return new Map([...staged].sort(([a], [b]) => a.localeCompare(b)));
}

// The validate.proto bundled with grpc-js-xds predates `ignore_empty`, which Envoy's protos set on string rules.
// Field numbers are the ones upstream protoc-gen-validate uses.
function patchValidate(text) {
  if (text.includes("ignore_empty")) return text;
  const numbers = { StringRules: 26, BytesRules: 14, RepeatedRules: 5, MapRules: 6 };
  for (const [msg, n] of Object.entries(numbers)) {
    const open = new RegExp(`^message ${msg} \\{\\r?\\n`, "m");
    if (!open.test(text)) throw new Error(`validate/validate.proto: message ${msg} not found to add ignore_empty`);
    text = text.replace(open, (m) => `${m}    optional bool ignore_empty = ${n};  // added by scripts/gen-protos.js\n`);
  }
  return text;
}

function inputsHash(root, staged) {
  const h = createHash("sha256");
  for (const f of ["scripts/gen-protos.js", "scripts/protos/buf.gen.yaml", "scripts/protos/buf.yaml"]) h.update(readFileSync(join(root, f)));
  for (const pkg of ["@bufbuild/buf", "@bufbuild/protoc-gen-es", "@bufbuild/protobuf"]) {
    h.update(JSON.parse(readFileSync(join(root, "node_modules", pkg, "package.json"), "utf8")).version);
  }
  for (const [rel, text] of staged) h.update(`${rel}\0${text}\0`);
  return h.digest("hex");
}

function listFiles(dir, base = dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name), base) : [relative(base, join(dir, e.name))],
  );
}

function registrySource(out) {
  const imports = [];
  const names = [];
  for (const rel of listFiles(out).filter((f) => f.endsWith("_pb.ts")).sort()) {
    const m = readFileSync(join(out, rel), "utf8").match(/^export const (file_\w+): GenFile\b/m);
    if (!m) throw new Error(`gen/${rel}: no file descriptor export found`);
    imports.push(`import { ${m[1]} } from "./${rel.replace(/\.ts$/, ".js")}";`);
    names.push(m[1]);
  }
  const wkt = WKT_FILES.map((f) => `file_google_protobuf_${f}`);
  return [
    "// Generated by scripts/gen-protos.js. Every generated file plus the well-known types, so that",
    "// google.protobuf.Any values (typed_config) resolve by type URL in fromJson/toJson/anyUnpack.",
    'import { createRegistry } from "@bufbuild/protobuf";',
    `import { ${wkt.join(", ")} } from "@bufbuild/protobuf/wkt";`,
    ...imports,
    "",
    "export const registry = createRegistry(",
    ...[...wkt, ...names].map((n) => `  ${n},`),
    ");",
    "",
  ].join("\n");
}

// Swap in the new tree: the top-level entries of `out` replace their namesakes in gen/ (other files are left alone).
function replaceOutputs(out, outDir) {
  mkdirSync(outDir, { recursive: true });
  for (const name of readdirSync(out)) {
    // Two builds racing (parallel `npm test`s) may both get here; the later one simply wins.
    for (let attempt = 0; ; attempt++) {
      rmSync(join(outDir, name), { recursive: true, force: true });
      try {
        renameSync(join(out, name), join(outDir, name));
        break;
      } catch (e) {
        if (attempt >= 3 || !["ENOTEMPTY", "EEXIST"].includes(e.code)) throw e;
      }
    }
  }
}
