// Istio's own validation corpus (istio/api testdata, vendored in test/fixtures/istio-api): every document in a
// *-valid.yaml file is accepted, every document in a *-invalid.yaml file is rejected once its `_err` key (the API
// server's message for it) is removed. One case per document, named by file and index.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { formatError } from "../control/config/errors.js";
import { parseConfigText } from "../control/config/load.js";
import { validateDocuments } from "../control/config/validate.js";

const dir = join(import.meta.dirname, "fixtures/istio-api");
const files = readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort();

function documentsOf(file: string) {
  const { documents, errors } = parseConfigText(readFileSync(join(dir, file), "utf8"), file);
  expect(errors.map(formatError)).toEqual([]);
  return documents;
}

test("the corpus is all here", () => {
  expect(files.filter((f) => f.endsWith("-valid.yaml")).length).toBe(11);
  expect(files.filter((f) => f.endsWith("-invalid.yaml")).length).toBe(11);
});

for (const file of files.filter((f) => f.endsWith("-valid.yaml"))) {
  describe(file, () => {
    const docs = documentsOf(file);
    test("has documents", () => expect(docs.length).toBeGreaterThan(0));
    for (const doc of docs) {
      test(`${file}#${doc.index} ${doc.kind} ${doc.name} is accepted`, () => {
        expect(validateDocuments([doc]).map(formatError)).toEqual([]);
      });
    }
  });
}

for (const file of files.filter((f) => f.endsWith("-invalid.yaml"))) {
  describe(file, () => {
    const docs = documentsOf(file);
    test("has documents", () => expect(docs.length).toBeGreaterThan(0));
    for (const doc of docs) {
      const expected = String(doc.object._err ?? "");
      test(`${file}#${doc.index} ${doc.kind} ${doc.name} is rejected (${expected})`, () => {
        expect(expected, "every invalid document states the API server's error").not.toBe("");
        delete doc.object._err;
        const errors = validateDocuments([doc]);
        expect(errors.length, "expected at least one error").toBeGreaterThan(0);
        for (const e of errors) {
          expect(e.file).toBe(file);
          expect(e.kind).toBe(doc.kind);
          expect(e.name).toBe(doc.name);
          expect(e.line).toBeGreaterThanOrEqual(doc.line);
        }
      });
    }
  });
}
