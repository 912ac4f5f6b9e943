// Problems the registry finds while building (config that validates field by field but cannot be served),
// reported as config errors on the offending field so they print like `halyard validate` lines.
import type { ConfigSet } from "../config/config-set.js";
import type { ConfigError, FieldPath } from "../config/errors.js";
import { formatPath } from "../config/errors.js";
import type { ConfigDocument } from "../config/load.js";
import type { Resource } from "../config/types.js";

export class IssueCollector {
  readonly list: ConfigError[] = [];
  readonly #documents = new Map<string, ConfigDocument>();

  constructor(config: ConfigSet) {
    for (const d of config.documents) this.#documents.set(`${d.file}:${d.line}`, d);
  }

  add(resource: Resource<string, unknown>, path: FieldPath, message: string): void {
    const doc = this.#documents.get(`${resource.source.file}:${resource.source.line}`);
    this.list.push({
      file: resource.source.file,
      line: doc ? doc.lineOf(path) : resource.source.line,
      kind: resource.kind,
      namespace: resource.metadata.namespace,
      name: resource.metadata.name,
      path: formatPath(path),
      message,
    });
  }
}
