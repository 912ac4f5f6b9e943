// `halyard analyze -f <file|dir>... [-o log|json]`: istioctl analyze's report for local config. Validation errors
// come first (as `halyard validate` lines), then analyzer messages; exit 1 when anything is an error.
import { formatError, type ConfigError } from "../config/errors.js";
import { analyzePaths } from "./analyze.js";
import { DOCUMENTATION_BASE, formatMessage, messageJSON, type AnalysisMessage } from "./messages.js";

const USAGE = "usage: halyard analyze -f <file|dir> [-f <file|dir>]... [-o log|json] (directories are read recursively)";
const FORMATS = ["log", "json"] as const;
type Format = (typeof FORMATS)[number];

export interface AnalyzeArgs {
  paths: string[];
  format: Format;
}

export function parseAnalyzeArgs(argv: readonly string[]): AnalyzeArgs | { error: string } {
  const paths: string[] = [];
  let format: string = "log";
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-f" || arg === "--filename") {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith("-")) return { error: `${arg} needs a file or directory; ${USAGE}` };
      paths.push(value);
      i++;
    } else if (arg.startsWith("--filename=")) paths.push(arg.slice("--filename=".length));
    else if (arg === "-o" || arg === "--output") {
      const value = argv[i + 1];
      if (value === undefined) return { error: `${arg} needs a format (${FORMATS.join(", ")}); ${USAGE}` };
      format = value;
      i++;
    } else if (arg.startsWith("--output=")) format = arg.slice("--output=".length);
    else if (arg === "-h" || arg === "--help") return { error: USAGE };
    else if (arg.startsWith("-")) return { error: `unknown option ${arg}; ${USAGE}` };
    // Like istioctl, bare arguments are files too.
    else paths.push(arg);
  }
  if (!(FORMATS as readonly string[]).includes(format)) return { error: `unknown output format ${JSON.stringify(format)}: expected one of ${FORMATS.join(", ")}` };
  if (paths.length === 0) return { error: `no files given; ${USAGE}` };
  return { paths, format: format as Format };
}

/** A validation error in istioctl's JSON shape: IST0106 SchemaValidationError. */
function validationErrorJSON(e: ConfigError): Record<string, string> {
  const out: Record<string, string> = { code: "IST0106", documentationUrl: `${DOCUMENTATION_BASE}/ist0106/`, level: "Error" };
  out.message = `Schema validation error: ${e.path ? `${e.path}: ` : ""}${e.message}`;
  if (e.kind) out.origin = `${e.kind} ${e.namespace}/${e.name}`;
  out.reference = e.line > 0 ? `${e.file}:${e.line}` : e.file;
  return out;
}

function render(format: Format, errors: readonly ConfigError[], messages: readonly AnalysisMessage[]): string {
  if (format === "json") return `${JSON.stringify([...errors.map(validationErrorJSON), ...messages.map(messageJSON)], null, "\t")}\n`;
  return [...errors.map(formatError), ...messages.map(formatMessage)].map((l) => `${l}\n`).join("");
}

export async function run(argv: string[]): Promise<number> {
  const args = parseAnalyzeArgs(argv);
  if ("error" in args) {
    process.stderr.write(`halyard analyze: ${args.error}\n`);
    return 1;
  }
  const { files, documents, errors, messages } = await analyzePaths(args.paths);
  if (documents.length === 0 && errors.length === 0) {
    process.stderr.write(`halyard analyze: no documents found in ${args.paths.join(", ")}\n`);
    return 1;
  }
  process.stdout.write(render(args.format, errors, messages));
  if (errors.length > 0 || messages.some((m) => m.level === "Error")) {
    process.stderr.write(
      `Error: Analyzers found issues when analyzing all namespaces.\nSee ${DOCUMENTATION_BASE} for more information about causes and resolutions.\n`,
    );
    return 1;
  }
  if (messages.length === 0) process.stderr.write(`\u2714 No validation issues found when analyzing ${files.join("\n")}.\n`);
  return 0;
}
