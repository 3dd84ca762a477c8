import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planUploads } from '../src/commands/sourcemaps.js';
import { main } from '../src/index.js';
import { tempDir } from './helpers.js';

const MAP = '{"version":3,"sources":["a.ts"],"names":[],"mappings":"AAAA"}';

async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await main(argv, { stdout, stderr, env });
  return { code, out, err };
}

describe('telltale sourcemaps / telltale mute (command line)', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    work = await tempDir('cli-maps');
    const dist = path.join(work.dir, 'dist');
    await mkdir(path.join(dist, 'assets'), { recursive: true });
    await mkdir(path.join(dist, 'node_modules', 'x'), { recursive: true });
    // A script pointing at its map, one with an inline map, one without any, and a React Native style orphan map.
    await writeFile(
      path.join(dist, 'assets', 'app.1a2b3c4d.js'),
      'x();\n//# sourceMappingURL=app.1a2b3c4d.js.map\n',
    );
    await writeFile(path.join(dist, 'assets', 'app.1a2b3c4d.js.map'), MAP);
    await writeFile(
      path.join(dist, 'assets', 'inline.js'),
      `y();\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(MAP).toString('base64')}\n`,
    );
    await writeFile(path.join(dist, 'assets', 'plain.js'), 'z();\n');
    await writeFile(path.join(dist, 'index.android.bundle.map'), MAP);
    await writeFile(path.join(dist, 'node_modules', 'x', 'skip.js'), '//# sourceMappingURL=skip.js.map\n');
  });

  afterAll(async () => {
    await work?.remove();
  });

  it('finds each script with its map (beside it, inline, or a bundle map alone) and the URL it is served from', async () => {
    const { uploads, withoutMap } = await planUploads(
      path.join(work.dir, 'dist'),
      'https://app.example.com/',
    );
    expect(uploads.map((u) => [u.file, u.name, u.map === MAP])).toEqual([
      ['assets/app.1a2b3c4d.js', 'https://app.example.com/assets/app.1a2b3c4d.js', true],
      ['assets/inline.js', 'https://app.example.com/assets/inline.js', true],
      ['index.android.bundle', 'https://app.example.com/index.android.bundle', true],
    ]);
    expect(withoutMap).toEqual(['assets/plain.js']);
  });

  it('lists a dry run, and refuses a missing release or URL prefix with the usage', async () => {
    const dist = path.join(work.dir, 'dist');
    const dry = await run([
      'sourcemaps',
      'upload',
      dist,
      '--release',
      '1.0.0',
      '--url-prefix',
      '~/',
      '--dry-run',
    ]);
    expect(dry.code).toBe(0);
    expect(dry.out).toContain('would upload assets/app.1a2b3c4d.js as ~/assets/app.1a2b3c4d.js');
    const noRelease = await run(['sourcemaps', 'upload', dist, '--url-prefix', '~/']);
    expect(noRelease.code).toBe(2);
    expect(noRelease.err).toContain('--release is required');
    const noPrefix = await run(['sourcemaps', 'upload', dist, '--release', '1.0.0']);
    expect(noPrefix.code).toBe(2);
    expect(noPrefix.err).toContain('--url-prefix is required');
    expect((await run(['sourcemaps', 'upload', dist, '--bogus'])).code).toBe(2);
    expect((await run(['mute', 'frobnicate'])).code).toBe(2);
  });

  it('says so when the server cannot be reached', async () => {
    const result = await run(['mute', 'list', '--endpoint', 'http://127.0.0.1:9']);
    expect(result.code).toBe(1);
    expect(result.err).toContain('cannot reach http://127.0.0.1:9');
  });
});
