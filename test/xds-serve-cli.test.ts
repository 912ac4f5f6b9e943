// The serve command in a child process: argument errors, config errors, printed addresses, SIGTERM/SIGINT exit 0.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { root } from "./helpers/gateway-process.js";

const script = join(root, "test/fixtures/xds/serve-cli.mjs");
let dir: string;
let stateDir: string;

beforeAll(() => {
  if (!existsSync(join(root, "dist/control/cli/serve.js"))) {
    throw new Error("dist/control/cli/serve.js is missing: run `node scripts/build.js protos ts` before these tests");
  }
  dir = mkdtempSync(join(tmpdir(), "halyard-serve-cli-"));
  stateDir = mkdtempSync(join(tmpdir(), "halyard-serve-state-"));
  writeFileSync(
    join(dir, "se.yaml"),
    "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: a, namespace: default}\nspec:\n  hosts: [a.example.com]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  resolution: DNS\n",
  );
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Run {
  lines: string[];
  stderr: string;
  waitForLine(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  signal(sig: NodeJS.Signals): void;
  exit(timeoutMs?: number): Promise<number | null>;
}

function start(args: string[]): Run {
  const child = spawn(process.execPath, [script, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  const run: Run & { out: string } = {
    out: "",
    lines: [],
    stderr: "",
    waitForLine: async (re, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (const l of run.out.split("\n")) {
          const m = l.match(re);
          if (m) return m;
        }
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no line matching ${re}; stdout:\n${run.out}\nstderr:\n${run.stderr}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    signal: (sig) => child.kill(sig),
    exit: (timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        const t = setTimeout(() => {
          child.kill("SIGKILL");
          reject(new Error(`did not exit within ${timeoutMs} ms`));
        }, timeoutMs);
        child.on("exit", (code) => {
          clearTimeout(t);
          resolve(code);
        });
      }),
  };
  child.stdout.on("data", (d) => {
    run.out += d;
    run.lines = run.out.split("\n").filter(Boolean);
  });
  child.stderr.on("data", (d) => (run.stderr += d));
  return run;
}

describe("halyard serve (CLI)", () => {
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    it(`prints its addresses, serves, and exits 0 on ${sig}`, async () => {
      const run = start(["-f", dir, "--host", "127.0.0.1", "--xds-port", "0", "--http-port", "0", "--ca-port", "0", "--state-dir", stateDir]);
      const [, xdsPort] = await run.waitForLine(/^xds grpc on 127\.0\.0\.1:(\d+)$/);
      const [, httpPort] = await run.waitForLine(/^http on http:\/\/127\.0\.0\.1:(\d+) /);
      expect(Number(xdsPort)).toBeGreaterThan(0);
      expect((await fetch(`http://127.0.0.1:${httpPort}/healthz/ready`)).status).toBe(200);
      const r = await fetch(`http://127.0.0.1:${httpPort}/v3/discovery:clusters`, { method: "POST", body: JSON.stringify({ node: { id: "n" } }) });
      expect(((await r.json()) as { resources: { name: string }[] }).resources.map((x) => x.name)).toEqual(["a.example.com"]);
      run.signal(sig);
      expect(await run.exit()).toBe(0);
      expect(run.lines.at(-1)).toBe(`${sig}: shutting down`);
      // The only stderr output allowed is the CA's note that it created its root on first start.
      expect(run.stderr.replace(/^ca: created a self-signed root CA in .*\n/m, "")).toBe("");
    });
  }

  it("exits 1 with one line for bad arguments", async () => {
    for (const [args, message] of [
      [[], /^halyard serve: no config given \(-f\); usage: /],
      [["-f", dir, "--xds-port", "http"], /^halyard serve: --xds-port: "http" is not a port number/],
      [["-f", dir, "--bogus"], /^halyard serve: unknown option --bogus; usage: /],
    ] as [string[], RegExp][]) {
      const run = start(args);
      expect(await run.exit()).toBe(1);
      expect(run.stderr).toMatch(message);
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
    }
  });

  it("exits 1 with file:line errors for invalid config", async () => {
    const bad = mkdtempSync(join(tmpdir(), "halyard-serve-cli-bad-"));
    try {
      writeFileSync(join(bad, "x.yaml"), "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: x}\nspec: {hosts: 5}\n");
      const run = start(["-f", bad, "--host", "127.0.0.1", "--xds-port", "0", "--http-port", "0", "--ca-port", "0", "--state-dir", stateDir]);
      expect(await run.exit()).toBe(1);
      expect(run.stderr).toMatch(new RegExp(`^${join(bad, "x.yaml").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+: ServiceEntry default/x: `));
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });

  it("exits 1 naming the port when it is taken", async () => {
    const first = start(["-f", dir, "--host", "127.0.0.1", "--xds-port", "0", "--http-port", "0", "--ca-port", "0", "--state-dir", stateDir]);
    const [, httpPort] = await first.waitForLine(/^http on http:\/\/127\.0\.0\.1:(\d+) /);
    try {
      const second = start(["-f", dir, "--host", "127.0.0.1", "--xds-port", "0", "--http-port", httpPort!, "--ca-port", "0", "--state-dir", stateDir]);
      expect(await second.exit()).toBe(1);
      expect(second.stderr.trim()).toBe(`halyard serve: HTTP server on 127.0.0.1:${httpPort}: address already in use`);
    } finally {
      first.signal("SIGTERM");
      await first.exit();
    }
  });
});
