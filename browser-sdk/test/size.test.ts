// Size budget, checked like Sentry's size-limit: the script-tag build, minified and gzipped.
import { expect, it } from 'vitest';
// @ts-expect-error plain ESM build script without type declarations
import { SIZE_BUDGET, build } from '../scripts/build.mjs';

it('keeps telltale.min.js within its min+gz budget', async () => {
  const { iife } = (await build({ write: false })) as { iife: { min: number; gzip: number } };
  expect(iife.gzip).toBeLessThanOrEqual(SIZE_BUDGET);
}, 30_000);
