// Istio's CustomResourceDefinitions, read once from the copy vendored beside this module (crds/istio-crds.yaml).
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import type { Schema } from "./schema-types.js";

export interface CrdVersion {
  group: string;
  version: string;
  kind: string;
  namespaced: boolean;
  /** The version's openAPIV3Schema (root object with spec/status). */
  schema: Schema;
}

// Compiled code runs from dist/control/config/, sources (vitest) from control/config/; the YAML is not compiled.
const CANDIDATES = ["./crds/istio-crds.yaml", "../../../control/config/crds/istio-crds.yaml"];

export function crdFilePath(): string {
  for (const rel of CANDIDATES) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error("Istio CRD schemas not found: control/config/crds/istio-crds.yaml is missing from the installation");
}

// Parsing all of the file takes ~0.6 s, so it is split into CRDs by text and each CRD is parsed on first use.
let index: Map<string, string> | undefined;
const parsed = new Map<string, Map<string, CrdVersion>>();

function crdTexts(): Map<string, string> {
  if (index) return index;
  index = new Map();
  for (const chunk of readFileSync(crdFilePath(), "utf8").split(/^---$/m)) {
    const group = /^ {2}group: (\S+)$/m.exec(chunk)?.[1];
    const kind = /^ {2}names:\n(?: {4}.*\n| {4,}- .*\n)*? {4}kind: (\S+)$/m.exec(chunk)?.[1];
    if (group && kind) index.set(`${group}/${kind}`, chunk);
  }
  return index;
}

/** The served version of an Istio kind, or undefined if Istio has no such kind/version. */
export function crdVersion(group: string, version: string, kind: string): CrdVersion | undefined {
  const key = `${group}/${kind}`;
  let versions = parsed.get(key);
  if (!versions) {
    versions = new Map();
    const text = crdTexts().get(key);
    const crd = text ? (parse(text) as CrdDocument | null) : null;
    for (const v of crd?.kind === "CustomResourceDefinition" ? crd.spec.versions : []) {
      if (!v.served) continue;
      versions.set(v.name, {
        group,
        version: v.name,
        kind: crd!.spec.names.kind,
        namespaced: crd!.spec.scope !== "Cluster",
        schema: v.schema.openAPIV3Schema,
      });
    }
    parsed.set(key, versions);
  }
  return versions.get(version);
}

interface CrdDocument {
  kind: string;
  spec: {
    group: string;
    scope: string;
    names: { kind: string };
    versions: { name: string; served: boolean; schema: { openAPIV3Schema: Schema } }[];
  };
}
