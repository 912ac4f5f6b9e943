// Config errors: one object per problem, formatted as one line
// `file:line: Kind namespace/name: field.path: reason`.

/** A field path as a list of object keys and array indexes, e.g. ["spec", "http", 0, "route"]. */
export type FieldPath = readonly (string | number)[];

/** A problem inside one document, before it is tied to the document's file and line. */
export interface Issue {
  path: FieldPath;
  message: string;
}

export interface ConfigError {
  file: string;
  /** 1-based line of the offending field when known, else of the document; 0 when there is no document. */
  line: number;
  /** Empty when the error is about a file rather than a document. */
  kind: string;
  namespace: string;
  name: string;
  /** `spec.http[0].route[1].weight`; empty when the error concerns the whole document or file. */
  path: string;
  message: string;
}

const IDENTIFIER = /^[A-Za-z_$@][\w$@-]*$/;

/** `["spec", "http", 0, "x.y"]` -> `spec.http[0]["x.y"]`. */
export function formatPath(path: FieldPath): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (IDENTIFIER.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

export function formatError(e: ConfigError): string {
  const where = e.line > 0 ? `${e.file}:${e.line}` : e.file;
  const parts = [where];
  if (e.kind) parts.push(`${e.kind} ${e.namespace}/${e.name}`);
  if (e.path) parts.push(e.path);
  parts.push(e.message);
  return parts.join(": ");
}

/** Errors about a file as a whole (missing, unreadable, not YAML). */
export function fileError(file: string, message: string, line = 0): ConfigError {
  return { file, line, kind: "", namespace: "", name: "", path: "", message };
}

/** Stable order for reports: by file, then line, then path. */
export function compareErrors(a: ConfigError, b: ConfigError): number {
  return a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
}
