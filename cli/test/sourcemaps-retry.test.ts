import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retryDelaySeconds } from '../src/commands/sourcemaps.js';
import { main, startTelltale, type RunningTelltale } from '../src/index.js';
import { tempDir } from './helpers.js';

const MAP = '{"version":3,"sources":["a.ts"],"names":[],"mappings":"AAAA"}';

async function run(argv: string[]) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await main(argv, { stdout, stderr, env: {} });
  return { code, out, err };
}

describe('telltale sourcemaps upload against a rate-limited collector', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let telltale: RunningTelltale;

  beforeAll(async () => {
    work = await tempDir('maps-retry');
    await mkdir(path.join(work.dir, 'dist'), { recursive: true });
    for (const name of ['a', 'b', 'c']) {
      await writeFile(
        path.join(work.dir, 'dist', `${name}.js`),
        `x();\n//# sourceMappingURL=${name}.js.map\n`,
      );
      await writeFile(path.join(work.dir, 'dist', `${name}.js.map`), MAP);
    }
    // One upload per second from an address, no burst: the second file meets a 429 with Retry-After.
    telltale = await startTelltale({
      port: 0,
      dataDir: path.join(work.dir, 'data'),
      logger: false,
      env: { TELLTALE_RATE_LIMIT_PER_IP: '1', TELLTALE_RATE_LIMIT_PER_IP_BURST: '1' },
    });
  });
  afterAll(async () => {
    await telltale?.close();
    await work?.remove();
  });

  it('waits out each 429 for its Retry-After and uploads every file', async () => {
    const result = await run([
      'sourcemaps',
      'upload',
      path.join(work.dir, 'dist'),
      '--release',
      '2.0.0',
      '--url-prefix',
      'https://app.example.com/',
      '--endpoint',
      telltale.url,
      '--key',
      telltale.demoSecret!,
    ]);
    expect(result.err).toMatch(/rate limited on [abc]\.js: retrying in \d+ s/);
    expect(result.out).toContain('3 of 3 source maps uploaded for release 2.0.0');
    expect(result.code).toBe(0);
  }, 60_000);

  it('reads Retry-After as seconds or a date, and gives up on one longer than a minute', () => {
    const now = Date.parse('2026-12-02T08:00:00Z');
    expect(retryDelaySeconds('3', now)).toBe(3);
    expect(retryDelaySeconds(null, now)).toBe(1);
    expect(retryDelaySeconds('0', now)).toBe(1);
    expect(retryDelaySeconds('Wed, 02 Dec 2026 08:00:10 GMT', now)).toBe(10);
    expect(retryDelaySeconds('3600', now)).toBeUndefined();
  });
});
