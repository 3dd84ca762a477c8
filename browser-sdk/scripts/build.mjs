// Bundles the SDK: dist/telltale.min.js (script tag, global `Telltale`) and dist/index.js (ESM).
import { build as esbuild } from 'esbuild';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

/** What we aim for, min+gz, in bytes (the brief: several times smaller than the smallest anchor). */
export const SIZE_AIM = 3072;
/** Hard limit of the script-tag build, min+gz: the build fails above it, so growth is a decision. */
export const SIZE_BUDGET = 3840;

const common = {
  absWorkingDir: fileURLToPath(new URL('..', import.meta.url)),
  bundle: true,
  minify: true,
  // optional chaining and ?? stay native: every browser with fetch keepalive has them
  target: 'es2020',
  legalComments: 'none',
  logLevel: 'warning',
};

export const BUNDLES = {
  iife: { ...common, entryPoints: ['src/iife.ts'], format: 'iife', outfile: 'dist/telltale.min.js' },
  esm: { ...common, entryPoints: ['src/index.ts'], format: 'esm', outfile: 'dist/index.js' },
};

/** Builds both bundles and returns their sizes; `write: false` only measures (a size test in parallel with the build). */
export async function build({ write = true } = {}) {
  const sizes = {};
  for (const [name, options] of Object.entries(BUNDLES)) {
    const [file] = (await esbuild({ ...options, write: false })).outputFiles;
    if (write) {
      await mkdir(dirname(file.path), { recursive: true });
      await writeFile(file.path, file.contents);
    }
    sizes[name] = { min: file.contents.length, gzip: gzipSync(file.contents, { level: 9 }).length };
  }
  return sizes;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { iife, esm } = await build();
  console.log(
    `dist/telltale.min.js  ${iife.min} B min, ${iife.gzip} B min+gz (aim ${SIZE_AIM} B, budget ${SIZE_BUDGET} B)`,
  );
  console.log(`dist/index.js         ${esm.min} B min, ${esm.gzip} B min+gz`);
  if (iife.gzip > SIZE_BUDGET) {
    console.error(`telltale.min.js is over its size budget by ${iife.gzip - SIZE_BUDGET} B`);
    process.exitCode = 1;
  }
}
