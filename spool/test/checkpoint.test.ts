import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCheckpoint } from '../src/index.js';
import { tempDir } from './helpers.js';

describe('checkpoint', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => {
    tmp = await tempDir();
  });
  afterEach(() => tmp.remove());

  it('starts at {0, 0} and survives reopen, creating its directory', async () => {
    const file = path.join(tmp.dir, 'checkpoints', 'duckdb.json');
    const checkpoint = await openCheckpoint(file);
    expect(checkpoint.position).toEqual({ segment: 0, offset: 0 });
    await checkpoint.commit({ segment: 3, offset: 120 });
    expect(checkpoint.position).toEqual({ segment: 3, offset: 120 });
    expect((await openCheckpoint(file)).position).toEqual({ segment: 3, offset: 120 });
    expect(await readdir(path.dirname(file))).toEqual(['duckdb.json']); // no tmp file left behind
  });

  it('applies concurrent commits in call order', async () => {
    const file = path.join(tmp.dir, 'c.json');
    const checkpoint = await openCheckpoint(file);
    await Promise.all([1, 2, 3, 4, 5].map((offset) => checkpoint.commit({ segment: 1, offset })));
    expect((await openCheckpoint(file)).position).toEqual({ segment: 1, offset: 5 });
  });

  it('ignores a tmp file left by a crash before rename', async () => {
    const file = path.join(tmp.dir, 'c.json');
    await (await openCheckpoint(file)).commit({ segment: 2, offset: 8 });
    await writeFile(`${file}.tmp`, '{"segment":9');
    expect((await openCheckpoint(file)).position).toEqual({ segment: 2, offset: 8 });
  });

  it('refuses an unreadable checkpoint with the fix in the message, and refuses bad positions', async () => {
    const file = path.join(tmp.dir, 'c.json');
    await writeFile(file, 'not json');
    await expect(openCheckpoint(file)).rejects.toThrow(/delete it/);
    const ok = await openCheckpoint(path.join(tmp.dir, 'ok.json'));
    await expect(ok.commit({ segment: -1, offset: 0 })).rejects.toThrow(RangeError);
  });
});
