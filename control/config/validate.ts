// Validation of loaded documents: each against its kind's schema (Istio's CRDs: structure and CEL rules), then
// the checks Istio makes in Go code, then checks across the whole set (duplicates).
import { compareErrors, formatPath, type ConfigError, type Issue } from "./errors.js";
import { loadConfigFiles, type ConfigDocument, type ParseCache } from "./load.js";
import { validateDocumentSchema } from "./schema.js";
import { semanticIssues } from "./semantic/index.js";

export function toConfigError(doc: ConfigDocument, issue: Issue): ConfigError {
  return {
    file: doc.file,
    line: doc.lineOf(issue.path),
    kind: doc.kind,
    namespace: doc.namespace,
    name: doc.name,
    path: formatPath(issue.path),
    message: issue.message,
  };
}

/** A document's own errors depend on nothing else: a reload (ParseCache) re-validates only changed files. */
const documentErrors = new WeakMap<ConfigDocument, ConfigError[]>();

/** Errors of one document on its own. Semantic checks run only on schema-valid documents. */
export function validateDocument(doc: ConfigDocument): ConfigError[] {
  const known = documentErrors.get(doc);
  if (known) return [...known];
  const structural = validateDocumentSchema(doc.object, doc.info);
  const issues = structural.length > 0 ? structural : semanticIssues(doc);
  const errors = issues.map((i) => toConfigError(doc, { path: i.path, message: i.message })).sort(compareErrors);
  documentErrors.set(doc, errors);
  return [...errors];
}

/** Errors of a set of documents: each on its own, then the same kind/namespace/name defined twice. */
export function validateDocuments(docs: readonly ConfigDocument[]): ConfigError[] {
  const errors = docs.flatMap((d) => validateDocument(d));
  const seen = new Map<string, ConfigDocument>();
  for (const doc of docs) {
    if (!doc.name) continue;
    const key = `${doc.info.group}/${doc.kind}/${doc.namespace}/${doc.name}`;
    const first = seen.get(key);
    if (first) {
      errors.push(toConfigError(doc, { path: ["metadata", "name"], message: `duplicate ${doc.kind} ${doc.namespace}/${doc.name}: already defined at ${first.file}:${first.line}` }));
    } else {
      seen.set(key, doc);
    }
  }
  return errors;
}

export interface ValidatedConfig {
  /** Every document that parsed, valid or not. */
  documents: ConfigDocument[];
  /** Load errors (missing files, bad YAML, unknown kinds) and validation errors, in file order. */
  errors: ConfigError[];
}

/** Loads files and directories and validates everything in them (with `cache`, only what changed since). */
export async function loadAndValidate(paths: readonly string[], cache?: ParseCache): Promise<ValidatedConfig> {
  const { files, documents, errors } = await loadConfigFiles(paths, cache);
  const order = new Map(files.map((f, i) => [f, i]));
  const rank = (e: ConfigError) => order.get(e.file) ?? -1;
  const all = [...errors, ...validateDocuments(documents)];
  return { documents, errors: all.sort((a, b) => rank(a) - rank(b) || (a.file === b.file ? a.line - b.line : 0)) };
}
