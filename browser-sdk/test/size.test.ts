// The size budget and the debug flag, checked on the real bundles (size-limit checks the same files in CI).
import { expect, it } from 'vitest';
// @ts-expect-error plain ESM build script without type declarations
import { SIZE_BUDGET, build } from '../scripts/build.mjs';

type Bundles = Record<string, { min: number; gzip: number; code: string }>;

it('keeps the full browser bundle within 3 KB min+gz, and its debug lines out of it', async () => {
  // write: false: other tests build and serve dist/ at the same time
  const bundles = (await build({ write: false })) as Bundles;
  const code = (file: string) => bundles[file]!.code;
  expect(bundles['telltale.min.js']!.gzip).toBeLessThanOrEqual(SIZE_BUDGET);
  // The debug build says what it does; production builds carry none of it (the flag tree-shakes away).
  expect(code('telltale.debug.js')).toContain('[telltale]');
  for (const file of ['telltale.min.js', 'index.js', 'react-native.js'])
    expect(code(file)).not.toContain('[telltale]');
  // fflate is only in gzip.js, which the browser imports when it lacks CompressionStream
  expect(code('telltale.min.js')).toContain('import("./gzip.js")');
  expect(code('telltale.min.js')).not.toMatch(/inflate|deflate/i);
  expect(code('gzip.js')).toMatch(/export\s*\{/);
}, 60_000);
