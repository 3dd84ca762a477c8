import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const ROOT = fileURLToPath(new URL('.', import.meta.url));
const src = (pkg: string) => fileURLToPath(new URL(`./${pkg}/src/index.ts`, import.meta.url));

// Tests import each package's source, so they never run against a stale dist/.
const alias = {
  '@telltale/protocol': src('protocol'),
  '@telltale/spool': src('spool'),
  '@telltale/schema': src('schema'),
  '@telltale/collector': src('collector'),
  '@telltale/dispatchers': src('dispatchers'),
  '@telltale/dashboards': src('dashboards'),
  '@telltale/node': src('node'),
};

/** Every test file (`<package>/test/**` and `<package>/src/**`), as paths from the root. */
function testFiles(): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory() && entry.name !== 'node_modules' && entry.name !== 'dist') walk(rel);
      else if (entry.isFile() && entry.name.endsWith('.test.ts')) found.push(rel);
    }
  };
  for (const pkg of readdirSync(ROOT, { withFileTypes: true })) {
    if (!pkg.isDirectory() || pkg.name.startsWith('.') || pkg.name === 'node_modules') continue;
    for (const sub of ['test', 'src'])
      if (readdirSync(path.join(ROOT, pkg.name)).includes(sub)) walk(`${pkg.name}/${sub}`);
  }
  return found.sort();
}

/**
 * An integration test starts something outside plain function calls: a real server on a socket, a
 * child process (ClickHouse, Azurite, kcat, the CLI), Chromium, SMTP, an IdP. Read from the file's
 * imports and calls, so a new test lands in the right project without a list to keep.
 */
const STARTS_A_SERVICE = new RegExp(
  [
    'test-support/',
    '/services\\.js',
    '/mail\\.js',
    '/harness\\.js',
    'playwright-core',
    'smtp-server',
    'node:child_process',
    '\\bstartTelltale\\(',
    '\\bstartCollectorServer\\(',
    '\\bstartSmtpServer\\(',
    '\\blaunchChromium\\(',
    '\\.listen\\(',
  ].join('|'),
);
const files = testFiles();
const integration = files.filter((file) =>
  STARTS_A_SERVICE.test(readFileSync(path.join(ROOT, file), 'utf8')),
);
const unit = files.filter((file) => !integration.includes(file));

export default defineConfig({
  resolve: { alias },
  test: {
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests start real servers (Chromium, SMTP); two cores do not like many at once.
    maxWorkers: 2,
    minWorkers: 1,
    // Two projects that split the test files between them, so `vitest run` runs each file once and
    // `vitest run --project unit` (npm run test:unit) only the ones that start no service.
    projects: [
      { extends: true, test: { name: 'unit', include: unit } },
      { extends: true, test: { name: 'integration', include: integration } },
    ],
  },
});
