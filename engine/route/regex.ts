// The route engine's only contact with engine/regex: patterns are compiled once while the config
// is decoded; requests only call fullMatch / replaceAll on the compiled Regex.
import { compileRegex, Regex } from "../regex/index";

export { Regex };

export class CompiledPattern {
  constructor(public regex: Regex | null, public error: string) {}
}

/** Compiles `pattern` with engine/regex's default program-size limit; on failure `error` names
 *  the pattern and the reason. */
export function compilePattern(pattern: string): CompiledPattern {
  const r = compileRegex(pattern);
  if (r.regex) return new CompiledPattern(r.regex, "");
  return new CompiledPattern(null, r.error.length ? r.error : "invalid regex \"" + pattern + "\"");
}
