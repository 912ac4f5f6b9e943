// Runs `node bin/halyard.js gateway -c <file>` as a real child process, plus small real upstream servers, for the
// gateway end-to-end tests. Everything binds to 127.0.0.1 with ephemeral ports.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, request as httpRequestRaw, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const bin = join(root, "bin/halyard.js");

export function requireBuiltCli(): void {
  if (!existsSync(join(root, "dist/gateway/cli.js"))) {
    throw new Error("dist/gateway/cli.js is missing: run `node scripts/build.js protos ts` before these tests");
  }
}

export function tempDir(prefix = "halyard-gw-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function writeYaml(dir: string, name: string, doc: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof doc === "string" ? doc : stringify(doc));
  return file;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion (bounded). */
export function runCli(args: string[], timeoutMs = 15_000): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`halyard ${args.join(" ")} did not exit within ${timeoutMs} ms\n${stdout}${stderr}`));
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

export interface GatewayProcess {
  /** Listener name -> base URL, from the "listener ... on http://..." lines. */
  urls: Record<string, string>;
  admin?: string;
  child: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<CliResult>;
}

/** Starts the gateway and waits until it printed every listener address (or exited). */
export function startGateway(file: string, listeners: number, timeoutMs = 20_000): Promise<GatewayProcess> {
  const child = spawn(process.execPath, [bin, "gateway", "-c", file], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  const exited = new Promise<CliResult>((r) => child.on("close", (code) => r({ code, stdout, stderr })));
  return new Promise((resolvePromise, reject) => {
    const urls: Record<string, string> = {};
    let admin: string | undefined;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`gateway did not start within ${timeoutMs} ms\n${stdout}${stderr}`));
    }, timeoutMs);
    child.stderr!.on("data", (d) => (stderr += d));
    child.stdout!.on("data", (d) => {
      stdout += d;
      for (const m of stdout.matchAll(/listener "([^"]+)" on (http:\/\/\S+)/g)) urls[m[1]!] = m[2]!;
      admin = /admin on (http:\/\/\S+)/.exec(stdout)?.[1];
      if (Object.keys(urls).length >= listeners) {
        clearTimeout(timer);
        resolvePromise({
          urls,
          ...(admin ? { admin } : {}),
          child,
          output: () => stdout + stderr,
          stop: async (signal = "SIGTERM") => {
            if (child.exitCode === null) child.kill(signal);
            const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
            const r = await exited;
            clearTimeout(killer);
            return r;
          },
        });
      }
    });
    void exited.then((r) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${r.code} before listening\n${r.stdout}${r.stderr}`));
    });
  });
}

/** A free TCP port on 127.0.0.1 (bind :0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolvePromise(port));
    });
  });
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

export interface Upstream {
  name: string;
  port: number;
  seen: SeenRequest[];
  close(): Promise<void>;
}

/** An upstream that answers JSON {upstream, ...request}; `/slow?ms=N` waits N ms first. */
export function startUpstream(name: string): Promise<Upstream> {
  const seen: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r: SeenRequest = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString() };
      seen.push(r);
      const wait = Number(new URL(r.url, "http://x").searchParams.get("ms") ?? 0);
      setTimeout(() => {
        res.setHeader("content-type", "application/json");
        res.setHeader("x-upstream", name);
        res.end(JSON.stringify({ upstream: name, ...r }));
      }, r.url.startsWith("/slow") ? wait : 0);
    });
  });
  server.keepAliveTimeout = 1_000;
  return new Promise((resolvePromise) => {
    server.listen(0, "127.0.0.1", () => {
      resolvePromise({
        name,
        port: (server.address() as AddressInfo).port,
        seen,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}

export interface HttpResult {
  status: number;
  headers: IncomingMessage["headers"];
  body: string;
}

/** One request over a fresh connection (node:http, so Host and hop-by-hop headers can be set freely). */
export function httpRequest(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<HttpResult> {
  return new Promise((resolvePromise, reject) => {
    const req = httpRequestRaw(url, { method: opts.method ?? "GET", headers: opts.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.setTimeout(opts.timeoutMs ?? 10_000, () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on("error", reject);
    req.end(opts.body);
  });
}
