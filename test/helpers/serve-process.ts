// `node bin/halyard.js serve ...` as a real child process: its stdout/stderr lines, the addresses it prints, and a
// bounded SIGTERM shutdown. Loopback only; pass port 0 to get ephemeral ports.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { root } from "./gateway-process.js";

export interface ServeProcess {
  readonly child: ChildProcess;
  xdsPort: number;
  httpPort: number;
  httpUrl: string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stderr line (after `fromOffset` characters) matching `re`; bounded. */
  waitForStderr(re: RegExp, timeoutMs?: number, fromOffset?: number): Promise<string>;
  /** SIGTERM, then the exit code (SIGKILL and a rejection after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<number | null>;
}

export function requireBuiltServe(): void {
  for (const f of ["dist/control/cli/main.js", "dist/control/translate/xds/index.js", "wasm/build/halyard.wasm"]) {
    if (!existsSync(join(root, f))) throw new Error(`${f} is missing: run \`node scripts/build.js\` before these tests`);
  }
}

async function until<T>(what: string, check: () => T | undefined, timeoutMs: number, child: ChildProcess, output: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`halyard serve: no ${what} (exit ${child.exitCode}); output:\n${output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Starts `halyard serve` with `args` and waits until it prints its xDS and HTTP addresses. */
export async function startServe(args: string[], timeoutMs = 15_000): Promise<ServeProcess> {
  requireBuiltServe();
  const child = spawn(process.execPath, [join(root, "bin/halyard.js"), "serve", ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const output = () => `stdout:\n${out}\nstderr:\n${err}`;
  const line = (re: RegExp) => () => out.split("\n").map((l) => l.match(re)).find(Boolean) ?? undefined;
  let exitCode: Promise<number | null> | undefined;
  const stop = (ms = 10_000) =>
    (exitCode ??= new Promise<number | null>((resolve, reject) => {
      if (child.exitCode !== null) return resolve(child.exitCode);
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`halyard serve did not exit within ${ms} ms of SIGTERM; ${output()}`));
      }, ms);
      child.once("exit", (code) => {
        clearTimeout(timer);
        resolve(code);
      });
      child.kill("SIGTERM");
    }));
  try {
    const [, xds] = await until("xds address line", line(/^xds grpc on 127\.0\.0\.1:(\d+)$/), timeoutMs, child, output);
    const [, http] = await until("http address line", line(/^http on http:\/\/127\.0\.0\.1:(\d+) /), timeoutMs, child, output);
    return {
      child,
      xdsPort: Number(xds),
      httpPort: Number(http),
      httpUrl: `http://127.0.0.1:${http}`,
      stdout: () => out,
      stderr: () => err,
      waitForStderr: (re, ms = 5000, from = 0) =>
        until(`stderr line matching ${re}`, () => err.slice(from).split("\n").find((l) => re.test(l)), ms, child, output),
      stop,
    };
  } catch (e) {
    if (child.exitCode === null) child.kill("SIGKILL");
    throw e;
  }
}
