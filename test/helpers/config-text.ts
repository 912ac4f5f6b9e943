// A validated ConfigSet from YAML text (as if read from a file), for translation unit tests.
import { buildConfigSet, type ConfigSet } from "../../control/config/config-set.js";
import { parseConfigText } from "../../control/config/load.js";
import { validateDocuments } from "../../control/config/validate.js";

/** `validate: false` keeps documents the CRD schema rejects, to test translation's own defences. */
export function configFromYaml(text: string, file = "inline.yaml", validate = true): ConfigSet {
  const { documents, errors } = parseConfigText(text, file);
  const all = [...errors, ...(validate ? validateDocuments(documents) : [])];
  if (all.length) throw new Error(`config invalid: ${all.map((e) => e.message).join("; ")}`);
  return buildConfigSet(documents);
}
