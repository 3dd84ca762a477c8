#!/usr/bin/env node
// A committed shim (not a build output), so `npm ci` can link `telltale` before anything is built.
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('telltale: not built yet; run `npm run build` in the repository first\n');
  process.exit(1);
}
const { main: run } = await import(main.href);
process.exit(
  await run(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    stdin: process.stdin,
  }),
);
