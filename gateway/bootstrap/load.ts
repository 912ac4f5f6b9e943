// Node side of bootstrap loading: reads the file and checks referenced files on disk.
import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileSecrets } from "../secrets-node.js";
import { BootstrapError } from "./errors.js";
import { parseBootstrap } from "./parse.js";
import type { GatewayConfig } from "./types.js";

export interface LoadOptions {
  /** `--secrets-dir`: where SDS secrets (credentialName) of TLS listeners are read from. */
  secretsDir?: string;
}

export function loadBootstrapFile(file: string, opts: LoadOptions = {}): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new BootstrapError(`${file}: cannot read the bootstrap file (${code === "ENOENT" ? "no such file" : code ?? String(e)})`);
  }
  const base = dirname(resolve(file));
  return parseBootstrap(file, text, {
    resolvePath: (name) => resolve(base, name),
    checkFile: wasmFileProblem,
    secrets: fileSecrets({ baseDir: base, ...(opts.secretsDir ? { secretsDir: opts.secretsDir } : {}) }),
  });
}

function wasmFileProblem(path: string): string | undefined {
  try {
    if (!statSync(path).isFile()) return "not a file";
    accessSync(path, constants.R_OK);
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? "wasm file not found" : `cannot read wasm file (${code ?? String(e)})`;
  }
}
