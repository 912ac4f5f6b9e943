// Reads bootstrap text (YAML or JSON; JSON is parsed as YAML 1.2) into plain JSON and keeps the document so
// that a field path can be mapped back to a line number. Portable: no node: imports.
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from "yaml";
import { BootstrapError, formatPath, type FieldPath, type FieldProblem } from "./errors.js";

export interface BootstrapSource {
  file: string;
  json: unknown;
  /** One line: `file:line: path: message` (line and path when known). */
  describe(problem: FieldProblem): string;
}

export function readSource(file: string, text: string): BootstrapSource {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  if (!Array.isArray(docs)) throw new BootstrapError(`${file}: expected a YAML or JSON document`);
  const real = docs.filter((d) => d.contents !== null);
  for (const d of docs) {
    const err = d.errors[0];
    if (err) {
      const line = lineCounter.linePos(err.pos[0]).line;
      throw new BootstrapError(`${file}:${line}: ${err.message.split("\n")[0]}`);
    }
  }
  if (real.length !== 1) throw new BootstrapError(`${file}: expected exactly one YAML document, found ${real.length}`);
  const doc = real[0]!;
  let json: unknown;
  try {
    json = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    throw new BootstrapError(`${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new BootstrapError(`${file}: the bootstrap must be an object (a YAML mapping or JSON object)`);
  }

  const lineOf = (path: FieldPath, key?: string): number | undefined => {
    const node = findNode(doc, path);
    if (!node) return undefined;
    const at = key !== undefined && isMap(node) ? node.items.find((p) => keyMatches(p.key, key))?.key : node;
    const range = (at as Node | undefined)?.range ?? node.range;
    return range ? lineCounter.linePos(range[0]).line : undefined;
  };
  return {
    file,
    json,
    describe(problem) {
      const line = lineOf(problem.path, problem.key);
      const where = problem.path.length ? ` ${formatPath(problem.path)}:` : "";
      return `${file}${line !== undefined ? `:${line}` : ""}:${where} ${problem.message}`;
    },
  };
}

// Paths use proto field names; the file may spell a key in its JSON (lowerCamel) form instead.
function keyMatches(key: unknown, name: string): boolean {
  const k = isScalar(key) ? key.value : key;
  return k === name || k === snakeToCamel(name);
}

function snakeToCamel(s: string): string {
  return s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function findNode(doc: Document, path: FieldPath): Node | undefined {
  let node: unknown = doc.contents;
  for (const part of path) {
    if (typeof part === "number") {
      node = isSeq(node) ? node.items[part] : undefined;
    } else if (isMap(node)) {
      const pair = node.items.find((p) => keyMatches(p.key, part));
      node = isPair(pair) ? pair.value : undefined;
    } else {
      node = undefined;
    }
    if (node === undefined || node === null) return undefined;
  }
  return node as Node;
}
