#!/usr/bin/env node
import { existsSync } from "node:fs";

const entry = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("error: gen-worker is not built: run `npm run build` in its folder\n");
  process.exit(1);
}
let cli;
try {
  cli = await import(entry.href);
} catch (error) {
  process.stderr.write(
    `error: gen-worker failed to load (${error.message}): reinstall it, or run \`npm run build\`\n`,
  );
  process.exit(1);
}
await cli.main(process.argv);
