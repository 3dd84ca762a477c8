import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./${pkg}/src/index.ts`, import.meta.url));

// Tests import each package's source, so they never run against a stale dist/.
const alias = {
  '@telltale/protocol': src('protocol'),
  '@telltale/spool': src('spool'),
  '@telltale/collector': src('collector'),
  '@telltale/dispatchers': src('dispatchers'),
  '@telltale/dashboards': src('dashboards'),
};

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['*/test/**/*.test.ts', '*/src/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests start real servers (Chromium, SMTP); two cores do not like many at once.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
