// ConfigStore.watch on a directory as editors and deploy tools change it: files replaced by rename again and
// again, plain rewrites afterwards, and config in a directory created after the watch began.
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigStore, type StoreLoadResult } from "../control/config/store.js";
import { waitFor } from "./helpers/xds-server.js";

const serviceEntry = (name: string, host: string) =>
  `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: ${name}\n  namespace: default\nspec:\n  hosts: [${host}]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  resolution: DNS\n`;

const hosts = (r: StoreLoadResult | undefined) => r?.config?.serviceEntries.flatMap((se) => se.spec.hosts ?? []).sort();

let dir: string | undefined;
let store: ConfigStore | undefined;
afterEach(() => {
  store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("ConfigStore.watch", () => {
  it("sees every replace-by-rename of a file, and plain writes after them", async () => {
    dir = mkdtempSync(join(tmpdir(), "halyard-store-watch-"));
    writeFileSync(join(dir, "se.yaml"), serviceEntry("a", "v0.example.com"));
    const results: StoreLoadResult[] = [];
    store = new ConfigStore({ debounceMs: 20 });
    expect(hosts(await store.watch([dir], (r) => results.push(r)))).toEqual(["v0.example.com"]);
    for (let i = 1; i <= 3; i++) {
      writeFileSync(join(dir, ".se.yaml.tmp"), serviceEntry("a", `v${i}.example.com`));
      renameSync(join(dir, ".se.yaml.tmp"), join(dir, "se.yaml"));
      await waitFor(`rename ${i} to be loaded`, () => (hosts(results.at(-1))?.[0] === `v${i}.example.com` ? true : undefined), 3000);
    }
    writeFileSync(join(dir, "se.yaml"), serviceEntry("a", "written.example.com"));
    await waitFor("the plain write to be loaded", () => (hosts(results.at(-1))?.[0] === "written.example.com" ? true : undefined), 3000);
    expect(results.every((r) => r.ok)).toBe(true);
  });

  it("reports when the file event that started a reload arrived", async () => {
    dir = mkdtempSync(join(tmpdir(), "halyard-store-watch-"));
    writeFileSync(join(dir, "se.yaml"), serviceEntry("a", "v0.example.com"));
    const results: { result: StoreLoadResult; at: number }[] = [];
    store = new ConfigStore({ debounceMs: 20 });
    expect((await store.watch([dir], (r) => results.push({ result: r, at: Date.now() }))).changedAt).toBeUndefined();
    const wroteAt = Date.now();
    writeFileSync(join(dir, "se.yaml"), serviceEntry("a", "v1.example.com"));
    const last = await waitFor("the write to be loaded", () => (hosts(results.at(-1)?.result)?.[0] === "v1.example.com" ? results.at(-1) : undefined), 3000);
    expect(last.result.changedAt).toBeGreaterThanOrEqual(wroteAt);
    // The reload starts only after 20 ms of quiet, so the event precedes the result by at least that.
    expect(last.at - last.result.changedAt!).toBeGreaterThanOrEqual(19);
  });

  it("loads config from a directory created after the watch began, and edits inside it", async () => {
    dir = mkdtempSync(join(tmpdir(), "halyard-store-watch-"));
    writeFileSync(join(dir, "a.yaml"), serviceEntry("a", "a.example.com"));
    const results: StoreLoadResult[] = [];
    store = new ConfigStore({ debounceMs: 20 });
    await store.watch([dir], (r) => results.push(r));
    mkdirSync(join(dir, "team", "b"), { recursive: true });
    writeFileSync(join(dir, "team", "b", "b.yaml"), serviceEntry("b", "b.example.com"));
    await waitFor("the new directory's file", () => (hosts(results.at(-1))?.includes("b.example.com") ? true : undefined), 3000);
    writeFileSync(join(dir, "team", "b", "b.yaml"), serviceEntry("b", "b2.example.com"));
    await waitFor("the edit inside it", () => (hosts(results.at(-1))?.includes("b2.example.com") ? true : undefined), 3000);
    rmSync(join(dir, "team"), { recursive: true });
    await waitFor("its removal", () => (JSON.stringify(hosts(results.at(-1))) === JSON.stringify(["a.example.com"]) ? true : undefined), 3000);
  });
});
