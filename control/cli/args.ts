// Command-line arguments as the halyard commands take them: `--flag value`, `--flag=value`, short flags with a
// separate value (`-o json`) and bare words.

export interface CliArg {
  /** The argument as given. */
  arg: string;
  /** `--flag` of `--flag=value`, else the whole argument. */
  flag: string;
  /** The value after `=`, if the argument had one. */
  inline: string | undefined;
  /** The flag's value: the inline one, else the next argument (consumed); throws "<flag> needs a value". */
  value(): string;
}

export function* cliArgs(argv: readonly string[]): Generator<CliArg> {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const [flag, inline] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    yield {
      arg,
      flag,
      inline,
      value: () => {
        const v = inline ?? argv[++i];
        if (v === undefined || v === "") throw new Error(`${flag} needs a value`);
        return v;
      },
    };
  }
}

/** `k=v` of a flag such as --label; throws naming the flag. */
export function keyValue(flag: string, v: string): [string, string] {
  const eq = v.indexOf("=");
  if (eq <= 0) throw new Error(`${flag}: expected KEY=VALUE, got ${JSON.stringify(v)}`);
  return [v.slice(0, eq), v.slice(eq + 1)];
}
