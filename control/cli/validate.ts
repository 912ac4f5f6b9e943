// `halyard validate -f <file|dir>...`: exit 0 with "N documents valid", or exit 1 with one line per error
// (`file:line: Kind namespace/name: field.path: reason`).
import { formatError } from "../config/errors.js";
import { loadAndValidate } from "../config/validate.js";

const USAGE = "usage: halyard validate -f <file|dir> [-f <file|dir>]... (directories are read recursively)";

export function parseValidateArgs(argv: string[]): { paths: string[] } | { error: string } {
  const paths: string[] = [];
  let takingPaths = false;
  for (const arg of argv) {
    if (arg === "-f" || arg === "--filename") takingPaths = true;
    else if (arg.startsWith("--filename=")) paths.push(arg.slice("--filename=".length));
    else if (arg === "-h" || arg === "--help") return { error: USAGE };
    else if (arg.startsWith("-")) return { error: `unknown option ${arg}; ${USAGE}` };
    else if (takingPaths) paths.push(arg);
    else return { error: `unexpected argument ${JSON.stringify(arg)}; ${USAGE}` };
  }
  if (paths.length === 0) return { error: `no files given; ${USAGE}` };
  return { paths };
}

export async function run(argv: string[]): Promise<number> {
  const args = parseValidateArgs(argv);
  if ("error" in args) {
    process.stderr.write(`halyard validate: ${args.error}\n`);
    return 1;
  }
  const { documents, errors } = await loadAndValidate(args.paths);
  if (errors.length > 0) {
    process.stderr.write(errors.map((e) => formatError(e) + "\n").join(""));
    return 1;
  }
  if (documents.length === 0) {
    process.stderr.write(`halyard validate: no documents found in ${args.paths.join(", ")}\n`);
    return 1;
  }
  process.stdout.write(`${documents.length} document${documents.length === 1 ? "" : "s"} valid\n`);
  return 0;
}
