// Bundles the SDK into dist/ (esbuild bundles, terser minifies) and prints each file's min+gz size.
// What each file is, and which ones size-limit checks: browser-sdk/README.md, "Files and sizes".
import { build as esbuild } from 'esbuild';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { minify } from 'terser';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The full browser bundle (dist/telltale.min.js), min+gz: the budget; size-limit checks it too. */
export const SIZE_BUDGET = 3072;

// Production builds: TELLTALE_DEBUG is false, so every debug line is removed (see src/core/client.ts).
const esbuildOptions = (debug) => ({
  absWorkingDir: root,
  bundle: true,
  write: false,
  // optional chaining and ?? stay native: every browser with fetch keepalive has them
  target: 'es2020',
  legalComments: 'none',
  logLevel: 'warning',
  define: { TELLTALE_DEBUG: String(debug) },
});

// Terser after esbuild: its scope-wise renaming reuses the same few names, which gzip rewards (about 8 %).
// Its `unsafe` rewrites assume what holds here: no getters with side effects, no `arguments` tricks.
const terserOptions = (module) => ({
  ecma: 2020,
  module,
  compress: {
    passes: 3,
    unsafe: true,
    unsafe_arrows: true,
    unsafe_methods: true,
    unsafe_comps: true,
    unsafe_undefined: true,
    pure_getters: true,
  },
  mangle: true,
  format: { comments: false },
});

// `const` is 2 bytes longer than `let` and terser keeps it; no string or regex in the SDK contains
// the word, so the swap is safe (fflate's gzip.js is left as it is). The IIFE needs no "use strict"
// either: it declares every variable.
// Terser keeps unused catch bindings: `catch(e){}` is `catch{}` since ES2019.
const shrink = (code) =>
  code
    .replace(/\bconst\b/g, 'let')
    .replace(/^"use strict";/, '')
    .replace(/catch\(\w+\)\{\}/g, 'catch{}');

/** Every file of dist/; `size` marks the bundles only built to be measured (size-limit), never served. */
export const BUNDLES = [
  { out: 'telltale.min.js', entry: 'src/iife.ts', format: 'iife' },
  { out: 'telltale-bug.js', entry: 'src/addons/report-bug-iife.ts', format: 'iife' },
  { out: 'telltale-trace.js', entry: 'src/addons/traceparent-iife.ts', format: 'iife' },
  { out: 'telltale-breadcrumbs.js', entry: 'src/addons/breadcrumbs-iife.ts', format: 'iife' },
  { out: 'telltale.debug.js', entry: 'src/iife.ts', format: 'iife', debug: true },
  { out: 'index.js', entry: 'src/index.ts', format: 'esm' },
  // Add-ons import the core's own dist/index.js, so they share its running client.
  { out: 'report-bug.js', entry: 'src/report-bug.ts', format: 'esm', external: ['./index.js'] },
  { out: 'traceparent.js', entry: 'src/traceparent.ts', format: 'esm', external: ['./index.js'] },
  { out: 'breadcrumbs.js', entry: 'src/breadcrumbs.ts', format: 'esm', external: ['./index.js'] },
  { out: 'gzip.js', entry: 'src/platform/browser/gzip.ts', format: 'esm' },
  { out: 'react-native.js', entry: 'src/react-native.ts', format: 'esm', external: ['fflate'] },
  // What an app's bundler makes of the realistic imports (tree-shaken), for size-limit.
  {
    out: 'size/esm-init-capture-track.js',
    format: 'esm',
    source: `import { init, captureError, track } from './src/index.ts'; export { init, captureError, track };`,
  },
  {
    out: 'size/esm-all.js',
    format: 'esm',
    source: `export * from './src/index.ts'; export * from './src/report-bug.ts'; import './src/traceparent.ts'; import './src/breadcrumbs.ts';`,
  },
  {
    out: 'size/react-native.js',
    format: 'esm',
    source: `export * from './src/react-native.ts';`,
  },
];

async function bundle({ entry, source, format, debug = false, external = [] }) {
  const result = await esbuild({
    ...esbuildOptions(debug),
    format,
    external,
    ...(source
      ? { stdin: { contents: source, resolveDir: root, loader: 'ts', sourcefile: 'size-entry.ts' } }
      : { entryPoints: [entry] }),
  });
  const code = result.outputFiles[0].text;
  // The debug build stays readable: it is for people reading the console, not for size.
  if (debug) return code;
  const min = (await minify(code, terserOptions(format == 'esm'))).code;
  return entry?.endsWith('gzip.ts') ? min : shrink(min);
}

/** Builds every bundle (in parallel) and returns their sizes and code; `write: false` only measures. */
export async function build({ write = true } = {}) {
  const sizes = {};
  await Promise.all(
    BUNDLES.map(async (b) => {
      const code = Buffer.from(await bundle(b));
      if (write) {
        const file = join(root, 'dist', b.out);
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, code);
      }
      sizes[b.out] = { min: code.length, gzip: gzipSync(code, { level: 9 }).length, code: code.toString() };
    }),
  );
  return sizes;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const sizes = await build();
  for (const { out } of BUNDLES)
    console.log(
      `dist/${out.padEnd(32)} ${String(sizes[out].min).padStart(6)} B min, ${sizes[out].gzip} B min+gz`,
    );
  const main = sizes['telltale.min.js'].gzip;
  console.log(`full browser bundle: ${main} B min+gz of ${SIZE_BUDGET} B`);
  if (main > SIZE_BUDGET) {
    console.error(`dist/telltale.min.js is over its size budget by ${main - SIZE_BUDGET} B`);
    process.exitCode = 1;
  }
}
