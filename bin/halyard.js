#!/usr/bin/env node
// The CLI is compiled TypeScript; `npm install` (prepare) or `npm run build` produces dist/.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const entry = new URL("../dist/control/cli/main.js", import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write("halyard: dist/ is missing; run `npm install` (or `npm run build`) in the repository first\n");
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
