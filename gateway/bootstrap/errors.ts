// A bootstrap problem located by field path; rendered as ONE line naming the file, line and field.
export type FieldPath = ReadonlyArray<string | number>;

export class BootstrapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BootstrapError";
  }
}

/** A problem found while reading the bootstrap; `key` names an offending key inside the object at `path`. */
export interface FieldProblem {
  path: FieldPath;
  message: string;
  key?: string;
}

export function formatPath(path: FieldPath): string {
  let out = "";
  for (const part of path) out += typeof part === "number" ? `[${part}]` : out ? `.${part}` : part;
  return out;
}

export function problemAt(path: FieldPath, message: string, key?: string): FieldProblem {
  return key === undefined ? { path, message } : { path, message, key };
}
