// `halyard <command>`: each command lives in its own module and is loaded on demand.
import { commands } from "./commands.js";

function usage(): string {
  const lines = Object.entries(commands)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, c]) => `  ${name.padEnd(16)} ${c.summary}`);
  return `usage: halyard <command> [options]\n\ncommands:\n${lines.join("\n")}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    (name ? process.stdout : process.stderr).write(usage());
    return name ? 0 : 1;
  }
  // Two-word commands such as `x check`.
  const twoWord = rest.length > 0 ? `${name} ${rest[0]}` : "";
  const cmd = commands[twoWord] ?? commands[name];
  if (commands[twoWord]) rest.shift();
  if (!cmd) {
    process.stderr.write(`halyard: unknown command "${name}"\n${usage()}`);
    return 1;
  }
  try {
    return await (await cmd.load()).run(rest);
  } catch (e) {
    // Commands report user errors themselves; anything reaching here still becomes one line, not a stack.
    process.stderr.write(`halyard ${name}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
