// Problems the registry finds while building (config that validates field by field but cannot be served),
// reported as config errors on the offending field so they print like `halyard validate` lines.
import type { ConfigSet } from "../config/config-set.js";
import type { ConfigError, FieldPath } from "../config/errors.js";
import { formatPath } from "../config/errors.js";
import type { ConfigDocument } from "../config/load.js";
import type { Resource } from "../config/types.js";

/** Documents by `file:line`, built once per config set (collectors are made per proxy translation). */
const documentIndexes = new WeakMap<ConfigSet, Map<string, ConfigDocument>>();

function documentIndex(config: ConfigSet): Map<string, ConfigDocument> {
  let index = documentIndexes.get(config);
  if (!index) {
    index = new Map();
    for (const d of config.documents) index.set(`${d.file}:${d.line}`, d);
    documentIndexes.set(config, index);
  }
  return index;
}

export class IssueCollector {
  readonly list: ConfigError[] = [];

  constructor(private readonly config: ConfigSet) {}

  add(resource: Resource<string, unknown>, path: FieldPath, message: string): void {
    const doc = documentIndex(this.config).get(`${resource.source.file}:${resource.source.line}`);
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
