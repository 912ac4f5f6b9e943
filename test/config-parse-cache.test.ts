// Reloads keep the document objects of unchanged resources, also inside an edited multi-document file, so that
// validation and incremental translation (keyed by identity) only see what was edited; line numbers stay right.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigStore } from "../control/config/store.js";

const serviceEntry = (name: string, host: string) =>
  `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: ${name}\n  namespace: default\nspec:\n  hosts: [${host}]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  resolution: DNS\n`;
const virtualService = (weight: number, extraLines = "") =>
  `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: vs\n  namespace: default\nspec:\n${extraLines}  hosts: [a.example.com]\n  http:\n  - route:\n    - destination: {host: a.example.com}\n      weight: ${weight}\n    - destination: {host: b.example.com}\n      weight: ${100 - weight}\n`;

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const byName = (docs: readonly { kind: string; name: string }[], kind: string, name: string) => docs.find((d) => d.kind === kind && d.name === name)!;

describe("ParseCache through ConfigStore reloads", () => {
  it("an edit to one document of a file keeps the other documents' objects, before and after it", async () => {
    dir = mkdtempSync(join(tmpdir(), "halyard-parse-cache-"));
    const file = join(dir, "mesh.yaml");
    const write = (weight: number, extra = "") =>
      writeFileSync(file, [serviceEntry("a", "a.example.com"), virtualService(weight, extra), serviceEntry("b", "b.example.com")].join("---\n"));
    write(90);
    const store = new ConfigStore();
    const first = await store.load([dir]);
    expect(first.ok).toBe(true);
    const [a1, vs1, b1] = [byName(first.config!.documents, "ServiceEntry", "a"), byName(first.config!.documents, "VirtualService", "vs"), byName(first.config!.documents, "ServiceEntry", "b")];

    write(50);
    const second = await store.load([dir]);
    const docs2 = second.config!.documents;
    expect(byName(docs2, "ServiceEntry", "a")).toBe(a1);
    expect(byName(docs2, "ServiceEntry", "b")).toBe(b1);
    const vs2 = byName(docs2, "VirtualService", "vs");
    expect(vs2).not.toBe(vs1);
    expect(JSON.stringify(vs2.object)).toContain('"weight":50');

    // Two lines more in the VirtualService: the ServiceEntry after it moves down and is a new object with its new line.
    write(50, "  exportTo: ['*']\n  gateways: [mesh]\n");
    const third = await store.load([dir]);
    const docs3 = third.config!.documents;
    expect(third.ok).toBe(true);
    expect(byName(docs3, "ServiceEntry", "a")).toBe(a1);
    const b3 = byName(docs3, "ServiceEntry", "b");
    expect(b3).not.toBe(b1);
    expect(b3.line).toBe(b1.line + 2);
    expect(b3.lineOf(["spec", "resolution"])).toBe(b1.lineOf(["spec", "resolution"]) + 2);
    store.close();
  });

  it("an unchanged file keeps its documents; a document that turns invalid is reported with its line", async () => {
    dir = mkdtempSync(join(tmpdir(), "halyard-parse-cache-"));
    writeFileSync(join(dir, "a.yaml"), serviceEntry("a", "a.example.com"));
    writeFileSync(join(dir, "b.yaml"), [serviceEntry("b", "b.example.com"), virtualService(90)].join("---\n"));
    const store = new ConfigStore();
    const first = await store.load([dir]);
    const a1 = byName(first.config!.documents, "ServiceEntry", "a");
    const b1 = byName(first.config!.documents, "ServiceEntry", "b");
    writeFileSync(join(dir, "b.yaml"), [serviceEntry("b", "b.example.com"), virtualService(90).replace("weight: 10", "weight: -10")].join("---\n"));
    const second = await store.load([dir]);
    expect(second.ok).toBe(false);
    expect(second.errors.map((e) => `${e.file.endsWith("b.yaml")}:${e.line}`)).toEqual(["true:23"]);
    // The last valid config is kept, with the same objects.
    expect(byName(second.config!.documents, "ServiceEntry", "a")).toBe(a1);
    expect(byName(second.config!.documents, "ServiceEntry", "b")).toBe(b1);
    store.close();
  });
});
