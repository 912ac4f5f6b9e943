// halyard.wasm on serve()'s HTTP port and `halyard serve --wasm-remote`: the module served as built, the URL and
// sha256 handed to the builder factory, and one-line errors for what cannot work.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseServeArgs } from "../control/cli/serve.js";
import { serve, type ServedWasm } from "../control/serve.js";
import { defaultWasmUrl, readWasmModule } from "../control/serve-wasm.js";
import { root } from "./helpers/gateway-process.js";

const WASM = join(root, "wasm/build/halyard.wasm");
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "halyard-serve-wasm-"));
  writeFileSync(
    join(dir, "se.yaml"),
    "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: a, namespace: default}\nspec:\n  hosts: [a.example.com]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  resolution: DNS\n",
  );
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("serve() with a wasm module", () => {
  it("serves the module's bytes as application/wasm and gives the factory its URL and sha256", async () => {
    let served: { wasm?: ServedWasm } | undefined;
    const plane = await serve({
      paths: [dir],
      host: "127.0.0.1",
      xdsPort: 0,
      httpPort: 0,
      wasm: { file: WASM },
      builder: (s) => {
        served = s;
        return { build: () => ({}) };
      },
      log: () => {},
    });
    try {
      const sha256 = createHash("sha256").update(readFileSync(WASM)).digest("hex");
      expect(served).toEqual({ wasm: { url: `http://127.0.0.1:${plane.http.port}/wasm/halyard.wasm`, sha256 } });
      expect(plane.wasm).toEqual(served!.wasm);
      const r = await fetch(plane.wasm!.url);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toBe("application/wasm");
      expect(createHash("sha256").update(new Uint8Array(await r.arrayBuffer())).digest("hex")).toBe(sha256);
    } finally {
      await plane.close();
    }
  });

  it("takes the URL proxies should use instead of the bound address, and refuses to guess one for 0.0.0.0 or ::", async () => {
    const url = "http://10.0.0.5:15014/wasm/halyard.wasm";
    const plane = await serve({ paths: [dir], host: "127.0.0.1", xdsPort: 0, httpPort: 0, wasm: { file: WASM, url }, builder: () => ({ build: () => ({}) }), log: () => {} });
    try {
      expect(plane.wasm?.url).toBe(url);
      expect((await fetch(`http://127.0.0.1:${plane.http.port}/wasm/halyard.wasm`)).status).toBe(200);
    } finally {
      await plane.close();
    }
    for (const host of ["0.0.0.0", "::"]) {
      expect(() => defaultWasmUrl(host, 15014)).toThrow(
        `wasm module: the HTTP port is bound to ${host}, which proxies cannot fetch from; give the URL they should use (--wasm-remote=http://<address>:15014/wasm/halyard.wasm)`,
      );
    }
    expect(defaultWasmUrl("::1", 15014)).toBe("http://[::1]:15014/wasm/halyard.wasm");
  });

  it("names the file when the module is missing or not WebAssembly", async () => {
    await expect(readWasmModule(join(dir, "nope.wasm"))).rejects.toThrow(`wasm module ${join(dir, "nope.wasm")}: no such file (run \`node scripts/build.js wasm\`)`);
    await expect(readWasmModule(join(dir, "se.yaml"))).rejects.toThrow(`wasm module ${join(dir, "se.yaml")}: not a valid WebAssembly module`);
  });
});

describe("halyard serve --wasm-remote", () => {
  it("parses the flag alone or with the URL proxies should fetch from", () => {
    expect(parseServeArgs(["-f", dir])).not.toHaveProperty("wasmRemote");
    expect(parseServeArgs(["-f", dir, "--wasm-remote"])).toMatchObject({ paths: [dir], wasmRemote: true });
    expect(parseServeArgs(["--wasm-remote=http://10.0.0.5:15014/wasm/halyard.wasm", "-f", dir])).toMatchObject({ paths: [dir], wasmRemote: "http://10.0.0.5:15014/wasm/halyard.wasm" });
    expect(parseServeArgs(["-f", dir, "--wasm-remote=ftp://x/y"])).toEqual({
      error: expect.stringMatching(/^--wasm-remote: "ftp:\/\/x\/y" is not an http:\/\/ URL \(e\.g\. http:\/\/10\.0\.0\.5:15014\/wasm\/halyard\.wasm\); usage: /),
    });
  });
});
