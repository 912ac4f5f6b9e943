// Compiles an AssemblyScript entry file for a test and instantiates it with string helpers.
// Engine modules are pure (no imports), so tests can load them directly; builds are cached per
// content hash in test/.build so repeated runs stay fast.
import asc from "assemblyscript/asc";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const buildDir = join(root, "test/.build");

function hashSources(dirs: string[], extra: string): string {
  const h = createHash("sha256").update(extra);
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith(".ts")) h.update(p).update(readFileSync(p));
    }
  };
  dirs.forEach(walk);
  return h.digest("hex").slice(0, 16);
}

/** Compile `entry` (path relative to the repo root) to wasm; returns the .wasm bytes. */
export async function compileAS(entry: string, extraArgs: string[] = []): Promise<Uint8Array> {
  const key = hashSources([join(root, "engine"), join(root, "filters"), join(root, "test")], entry + extraArgs.join(" "));
  const out = join(buildDir, `${entry.replace(/[\/.]/g, "_")}-${key}.wasm`);
  if (existsSync(out)) return readFileSync(out);
  mkdirSync(buildDir, { recursive: true });
  // An explicit config keeps asc from applying the product's asconfig.json (its release target sets
  // exportStart, which would leave test modules uninitialised).
  const args = [
    join(root, entry), "--config", join(root, "test/fixtures/as/asconfig.json"), "--outFile", out,
    "--optimizeLevel", "2", "--runtime", "incremental", "--exportRuntime", "--bindings", "raw", ...extraArgs,
  ];
  let stderrText = "";
  const { error } = await asc.main(args, {
    stdout: asc.createMemoryStream(),
    stderr: { write: (s: string | Uint8Array) => { stderrText += typeof s === "string" ? s : new TextDecoder().decode(s); return true; } } as any,
  });
  if (error) throw new Error(`asc ${relative(root, join(root, entry))} failed: ${error.message}\n${stderrText}`);
  return readFileSync(out);
}

export interface ASInstance {
  exports: any;
  memory: WebAssembly.Memory;
  /** Read an AssemblyScript string (UTF-16, length in the object header) at ptr. */
  getString(ptr: number): string;
  /** Allocate an AssemblyScript string. It is unpinned: pass it straight into one call, or `exports.__pin` it. */
  newString(s: string): number;
  /** Copy bytes into a new ArrayBuffer object and return its pointer. */
  newArrayBuffer(bytes: Uint8Array): number;
  getArrayBuffer(ptr: number): Uint8Array;
}

/** Compile and instantiate an engine test entry. `abort` throws a JS error with the AS message. */
export async function loadAS(entry: string, imports: Record<string, any> = {}): Promise<ASInstance> {
  const bytes = await compileAS(entry);
  let inst: ASInstance;
  const env = {
    abort(msg: number, file: number, line: number, col: number) {
      throw new Error(`abort: ${msg ? inst.getString(msg) : ""} at ${file ? inst.getString(file) : "?"}:${line}:${col}`);
    },
    trace(msg: number, n: number, ...args: number[]) {
      console.log(`trace: ${inst.getString(msg)}`, ...args.slice(0, n));
    },
    seed: () => Date.now(),
    ...(imports.env ?? {}),
  };
  const { instance } = (await WebAssembly.instantiate(bytes, { ...imports, env })) as unknown as WebAssembly.WebAssemblyInstantiatedSource;
  const ex: any = instance.exports;
  ex._initialize?.(); // only when a module was built with exportStart
  const memory = ex.memory as WebAssembly.Memory;
  inst = {
    exports: ex,
    memory,
    getString(ptr) {
      const len = new Uint32Array(memory.buffer, ptr - 4, 1)[0] >>> 1;
      return String.fromCharCode(...new Uint16Array(memory.buffer, ptr, len)).toString();
    },
    newString(s) {
      const ptr = ex.__new(s.length << 1, 2) >>> 0;
      const u16 = new Uint16Array(memory.buffer, ptr, s.length);
      for (let i = 0; i < s.length; i++) u16[i] = s.charCodeAt(i);
      return ptr;
    },
    newArrayBuffer(bytes) {
      const ptr = ex.__new(bytes.length, 1) >>> 0;
      new Uint8Array(memory.buffer, ptr, bytes.length).set(bytes);
      return ptr;
    },
    getArrayBuffer(ptr) {
      const len = new Uint32Array(memory.buffer, ptr - 4, 1)[0];
      return new Uint8Array(memory.buffer.slice(ptr, ptr + len));
    },
  };
  return inst;
}
