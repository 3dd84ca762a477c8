import { chmod, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCheckpoint, openSpoolWriter, writeFileDurably } from '../src/index.js';
import { tempDir } from './helpers.js';

const modeOf = async (file: string): Promise<number> => (await stat(file)).mode & 0o777;

/** Every entry under `dir` (itself excluded) with its permission bits, as `relative path → mode`. */
async function modes(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true }))
    out[entry] = (await modeOf(path.join(dir, entry))).toString(8);
  return out;
}

/** Spool segments hold raw batches: this user only, whatever the process umask lets through. */
describe('spool files are private', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  const previousUmask = process.umask(0o022); // the common default: files would be 0644 without a mode
  beforeEach(async () => {
    tmp = await tempDir();
  });
  afterEach(async () => {
    await tmp.remove();
  });
  afterAll(() => {
    process.umask(previousUmask);
  });

  it('creates segments, the lock and checkpoints 0600 in 0700 folders, parents included', async () => {
    const data = path.join(tmp.dir, 'data');
    const writer = await openSpoolWriter({ dir: path.join(data, 'spool', 'client'), segmentMaxBytes: 64 });
    for (let i = 0; i < 3; i += 1)
      await writer.append(Buffer.from(`{"record":${i},"pad":"${'x'.repeat(40)}"}`));
    const checkpoint = await openCheckpoint(path.join(data, 'checkpoints', 'duckdb.json'));
    await checkpoint.commit({ segment: 2, offset: 0 });
    await writeFileDurably(path.join(data, 'checkpoints', 'other.json'), '{}');

    const seen = await modes(data);
    expect(Object.keys(seen).filter((name) => name.endsWith('.seg')).length).toBeGreaterThan(2);
    expect(seen).toMatchObject({
      spool: '700',
      [path.join('spool', 'client')]: '700',
      [path.join('spool', 'client', 'writer.lock')]: '600',
      checkpoints: '700',
      [path.join('checkpoints', 'duckdb.json')]: '600',
      [path.join('checkpoints', 'other.json')]: '600',
    });
    for (const [name, mode] of Object.entries(seen)) {
      const isDir = (await stat(path.join(data, name))).isDirectory();
      expect({ name, mode }).toEqual({ name, mode: isDir ? '700' : '600' });
    }
    expect(await modeOf(data)).toBe(0o700);
    await writer.close();
  });

  it('tightens world-readable segments, checkpoints and folders an older version left', async () => {
    const dir = path.join(tmp.dir, 'spool');
    const first = await openSpoolWriter({ dir });
    await first.append(Buffer.from('{"old":true}'));
    await first.close();
    const [segment] = (await readdir(dir)).filter((name) => name !== 'writer.lock');
    const checkpointFile = path.join(tmp.dir, 'checkpoints', 'duckdb.json');
    await mkdir(path.dirname(checkpointFile), { mode: 0o755 });
    await writeFile(checkpointFile, '{"segment":1,"offset":0}', { mode: 0o644 });
    await chmod(dir, 0o755);
    await chmod(path.join(dir, segment!), 0o644);
    await chmod(path.dirname(checkpointFile), 0o755);

    const writer = await openSpoolWriter({ dir });
    const checkpoint = await openCheckpoint(checkpointFile);
    expect(checkpoint.position).toEqual({ segment: 1, offset: 0 });
    expect(await modeOf(dir)).toBe(0o700);
    expect(await modeOf(path.join(dir, segment!))).toBe(0o600);
    expect(await modeOf(checkpointFile)).toBe(0o600);
    expect(await modeOf(path.dirname(checkpointFile))).toBe(0o700);
    await writer.close();
  });

  it('replaces a file durably with 0600 even over a stale world-readable tmp', async () => {
    const file = path.join(tmp.dir, 'outbox.eml');
    await writeFile(`${file}.tmp`, 'half written', { mode: 0o666 });
    await chmod(`${file}.tmp`, 0o666);
    await writeFileDurably(file, 'whole');
    expect(await modeOf(file)).toBe(0o600);
    expect(await readdir(tmp.dir)).toEqual(['outbox.eml']);
  });
});
