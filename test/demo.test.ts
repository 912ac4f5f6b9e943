// `npm start` runs `halyard demo`: the example bootstrap's gateway in front of a sample app.
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { requireBuiltCli, root } from "./helpers/gateway-process.js";

describe("npm start (halyard demo)", () => {
  it("serves the example gateway with the echo filter and prints what to curl", async () => {
    requireBuiltCli();
    const child = spawn(process.execPath, ["bin/halyard.js", "demo"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    try {
      const deadline = Date.now() + 20_000;
      while (!out.includes("Ctrl-C") && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      expect(out).toContain("curl -i http://127.0.0.1:10000/hello");
      const ok = await fetch("http://127.0.0.1:10000/hello");
      expect(ok.status).toBe(200);
      expect(ok.headers.get("x-b")).toBe("2");
      expect((await ok.json()).headers["x-a"]).toBe("1");
      const blocked = await fetch("http://127.0.0.1:10000/blocked");
      expect([blocked.status, await blocked.text()]).toEqual([403, "no"]);
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once("close", r)));
    }
  });
});
