// Loading multi-document Istio YAML (and JSON) from files and directories, keeping for every document where it
// came from and a way to find the line of any of its fields.
import { readdir, readFile, stat } from "node:fs/promises";
import { extname, join } from "node:path";
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, Scalar, visit, type Document, type Node } from "yaml";
import { fileError, type ConfigError, type FieldPath } from "./errors.js";
import { lookupKind, type KindInfo } from "./kinds.js";

export interface ConfigDocument {
  file: string;
  /** Position among the non-empty documents of the file, from 0. */
  index: number;
  /** Line where the document's content starts. */
  line: number;
  apiVersion: string;
  kind: string;
  /** metadata.name, or "" when missing (validation reports that). */
  name: string;
  /** metadata.namespace, defaulting to "default". */
  namespace: string;
  info: KindInfo;
  /** The document as plain data (JSON-compatible values). */
  object: Record<string, unknown>;
  /** Line of the field at `path`; for a missing field, the line of its nearest present ancestor. */
  lineOf(path: FieldPath): number;
}

export interface LoadedConfig {
  /** Config files read, in load order. */
  files: string[];
  documents: ConfigDocument[];
  errors: ConfigError[];
}

export const CONFIG_EXTENSIONS = new Set([".yaml", ".yml", ".json"]);
export const DEFAULT_NAMESPACE = "default";

/** Files and directories, in the order given; directories recursively, sorted, skipping dot-entries. */
export async function listConfigFiles(paths: readonly string[]): Promise<{ files: string[]; errors: ConfigError[] }> {
  const files: string[] = [];
  const errors: ConfigError[] = [];
  for (const p of paths) {
    let st;
    try {
      st = await stat(p);
    } catch (e) {
      errors.push(fileError(p, describeFsError(e)));
      continue;
    }
    if (st.isDirectory()) files.push(...(await walkDirectory(p, errors)));
    else files.push(p);
  }
  return { files, errors };
}

async function walkDirectory(dir: string, errors: ConfigError[]): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    errors.push(fileError(dir, describeFsError(e)));
    return [];
  }
  const out: string[] = [];
  // Editors leave dot-files (locks, swap files) beside the config; they are never config.
  const names = entries.filter((e) => !e.name.startsWith(".")).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of names) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walkDirectory(full, errors)));
    else if (CONFIG_EXTENSIONS.has(extname(entry.name).toLowerCase())) out.push(full);
  }
  return out;
}

function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === "ENOENT") return "no such file or directory";
  if (code === "EACCES") return "permission denied";
  return e instanceof Error ? e.message : String(e);
}

/**
 * Each file's parse, kept across loads: a reload re-parses only files whose text changed, and unchanged files
 * keep their ConfigDocument objects (so per-document results can be cached by identity). Files no longer loaded
 * are dropped at the next load.
 */
export class ParseCache {
  #byFile = new Map<string, { text: string; parsed: LoadedConfig }>();

  /** @internal */
  parse(file: string, text: string): LoadedConfig {
    const known = this.#byFile.get(file);
    if (known && known.text === text) return known.parsed;
    const parsed = parseConfigText(text, file);
    if (known) parsed.documents = parsed.documents.map((d, i) => sameSource(known.parsed.documents[i], d) ?? d);
    this.#byFile.set(file, { text, parsed });
    return parsed;
  }

  /** @internal */
  keepOnly(files: readonly string[]): void {
    const keep = new Set(files);
    for (const f of this.#byFile.keys()) if (!keep.has(f)) this.#byFile.delete(f);
  }
}

/** Where a document came from in its file: its source text and its position among the file's YAML documents. */
const sources = new WeakMap<ConfigDocument, { text: string; at: number }>();

/**
 * `before` when it was parsed from exactly the same text at the same place as `after`: then it is the same document,
 * line numbers included, and keeping the object lets validation and translation (keyed by identity) skip it. An edit
 * to one resource of a multi-document file so leaves the file's other resources unchanged.
 */
function sameSource(before: ConfigDocument | undefined, after: ConfigDocument): ConfigDocument | undefined {
  if (!before || before.line !== after.line) return undefined;
  const a = sources.get(before);
  const b = sources.get(after);
  return a && b && a.at === b.at && a.text === b.text ? before : undefined;
}

/** Files read at once: a reload of thousands of files waits on the file system, not on the CPU. */
const READ_CONCURRENCY = 32;

/** Every file's text (or why it could not be read), in the order given. */
async function readAll(files: readonly string[]): Promise<(string | { error: unknown })[]> {
  const out = new Array<string | { error: unknown }>(files.length);
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const i = next++;
      try {
        out[i] = await readFile(files[i]!, "utf8");
      } catch (error) {
        out[i] = { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, files.length) }, worker));
  return out;
}

export async function loadConfigFiles(paths: readonly string[], cache?: ParseCache): Promise<LoadedConfig> {
  const { files, errors } = await listConfigFiles(paths);
  const documents: ConfigDocument[] = [];
  const texts = await readAll(files);
  for (const [i, file] of files.entries()) {
    const text = texts[i]!;
    if (typeof text !== "string") {
      errors.push(fileError(file, describeFsError(text.error)));
      continue;
    }
    const parsed = cache ? cache.parse(file, text) : parseConfigText(text, file);
    documents.push(...parsed.documents);
    errors.push(...parsed.errors);
  }
  cache?.keepOnly(files);
  return { files, documents, errors };
}

/** The last few files' syntax trees, for line lookups (errors come in bursts from the same files). */
const recentTrees = new Map<string, { docs: Document[]; lineCounter: LineCounter }>();

function syntaxTrees(text: string): { docs: Document[]; lineCounter: LineCounter } {
  let trees = recentTrees.get(text);
  if (trees) {
    recentTrees.delete(text);
  } else {
    const lineCounter = new LineCounter();
    const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false }) as Document[];
    for (const d of docs) if (d.errors.length === 0) keepFlowColonScalars(d, text);
    trees = { docs, lineCounter };
  }
  recentTrees.set(text, trees);
  if (recentTrees.size > 16) recentTrees.delete(recentTrees.keys().next().value!);
  return trees;
}

/**
 * A document's line lookup that parses its file again when asked. Made here, not inline in the parse loop: a
 * closure there would share the loop's scope with the closures that use the syntax tree, and keep every tree alive.
 */
function lineOfReparsed(text: string, at: number, line: number): (path: FieldPath) => number {
  return (path) => {
    const reparsed = syntaxTrees(text);
    const tree = reparsed.docs[at];
    return (tree && lineOfPath(tree, reparsed.lineCounter, path)) ?? line;
  };
}

/** Parses one file's text; JSON is YAML, so one parser serves both. */
export function parseConfigText(text: string, file: string): LoadedConfig {
  const lineCounter = new LineCounter();
  const documents: ConfigDocument[] = [];
  const errors: ConfigError[] = [];
  let index = 0;
  let rawIndex = -1;
  for (const doc of parseAllDocuments(text, { lineCounter, prettyErrors: false })) {
    rawIndex++;
    const line = lineOfOffset(lineCounter, doc.contents?.range?.[0] ?? doc.range[0]);
    if (doc.errors.length > 0) {
      const err = doc.errors[0]!;
      errors.push(fileError(file, `invalid YAML: ${err.message.split("\n")[0]}`, lineOfOffset(lineCounter, err.pos[0])));
      continue;
    }
    keepFlowColonScalars(doc, text);
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue; // empty document, or only comments
    const docIndex = index++;
    if (typeof value !== "object" || Array.isArray(value)) {
      errors.push(fileError(file, "document must be a mapping with apiVersion, kind, metadata", line));
      continue;
    }
    const object = value as Record<string, unknown>;
    const header = readHeader(object);
    const lineOf = (path: FieldPath) => lineOfPath(doc, lineCounter, path) ?? line;
    if (typeof header === "string") {
      errors.push({ ...fileError(file, header, line), kind: String(object.kind ?? ""), name: nameOf(object), namespace: namespaceOf(object) });
      continue;
    }
    const info = lookupKind(header.apiVersion, header.kind);
    if (!info) {
      const message = `unknown kind: apiVersion "${header.apiVersion}" kind "${header.kind}" is not an Istio or supported Kubernetes kind`;
      errors.push({ ...fileError(file, message, lineOf(["kind"])), kind: header.kind, name: nameOf(object), namespace: namespaceOf(object) });
      continue;
    }
    // The syntax tree is not kept (it is many times the size of the data, for thousands of documents); the rare
    // line lookup (errors, warnings) parses the file again.
    const at = rawIndex;
    const document: ConfigDocument = {
      file,
      index: docIndex,
      line,
      apiVersion: header.apiVersion,
      kind: header.kind,
      name: nameOf(object),
      namespace: namespaceOf(object),
      info,
      object,
      lineOf: lineOfReparsed(text, at, line),
    };
    sources.set(document, { text: text.slice(doc.range[0], doc.range[2]), at });
    documents.push(document);
  }
  return { files: [file], documents, errors };
}

/**
 * Kubernetes reads YAML with go-yaml, where `:` inside a flow collection only indicates a mapping when a space
 * follows. So `[1.2.3.4, 2001:db8::]` is two strings there, while YAML 1.2 parsers read `2001:db8::` as a
 * one-entry mapping `{"2001:db8:": null}`. Turn such implicit mappings back into the plain scalars Kubernetes sees.
 */
function keepFlowColonScalars(doc: Document, text: string): void {
  visit(doc, {
    Map(_, map, path) {
      const parent = path[path.length - 1];
      if (!isSeq(parent) || !parent.flow || map.items.length !== 1 || !map.range || text[map.range[0]] === "{") return;
      const pair = map.items[0];
      if (!isPair(pair) || !isScalar(pair.key) || pair.key.type !== "PLAIN" || !pair.key.range) return;
      if (!isScalar(pair.value) || pair.value.source !== "") return;
      const end = pair.key.range[1];
      if (text[end] !== ":" || !/[,\]}]/.test(text[end + 1] ?? "")) return;
      const scalar = new Scalar(`${pair.key.source}:`);
      scalar.range = [pair.key.range[0], end + 1, end + 1];
      return scalar;
    },
  });
}

function readHeader(object: Record<string, unknown>): { apiVersion: string; kind: string } | string {
  const { apiVersion, kind } = object;
  if (apiVersion === undefined) return "apiVersion: required field is missing";
  if (typeof apiVersion !== "string" || apiVersion === "") return "apiVersion: must be a non-empty string";
  if (kind === undefined) return "kind: required field is missing";
  if (typeof kind !== "string" || kind === "") return "kind: must be a non-empty string";
  return { apiVersion, kind };
}

function nameOf(object: Record<string, unknown>): string {
  const md = object.metadata as Record<string, unknown> | undefined;
  return md && typeof md === "object" && typeof md.name === "string" ? md.name : "";
}

function namespaceOf(object: Record<string, unknown>): string {
  const md = object.metadata as Record<string, unknown> | undefined;
  const ns = md && typeof md === "object" ? md.namespace : undefined;
  return typeof ns === "string" && ns !== "" ? ns : DEFAULT_NAMESPACE;
}

function lineOfOffset(lc: LineCounter, offset: number): number {
  return lc.linePos(offset).line;
}

/** Walks the YAML node tree along `path`; a map entry's line is its key's line. */
function lineOfPath(doc: Document, lc: LineCounter, path: FieldPath): number | undefined {
  let node: unknown = doc.contents;
  let best: number | undefined = rangeLine(lc, node);
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return best;
      best = rangeLine(lc, pair.key) ?? best;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === "number") {
      node = node.items[seg];
      if (node === undefined) return best;
      best = rangeLine(lc, node) ?? best;
    } else {
      return best;
    }
  }
  return best;
}

function rangeLine(lc: LineCounter, node: unknown): number | undefined {
  const range = (node as Node | null)?.range;
  return range ? lineOfOffset(lc, range[0]) : undefined;
}
