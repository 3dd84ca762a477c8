import { open, readdir, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openSpoolReader, openSpoolWriter, type SpoolWriter } from '../src/index.js';
import { readAll, tempDir, texts } from './helpers.js';

// The FileHandle class is not exported; take its prototype from a live handle to inject disk errors.
async function fileHandlePrototype(dir: string): Promise<FileHandle> {
  const handle = await open(path.join(dir, 'probe'), 'w');
  const proto = Object.getPrototypeOf(handle) as FileHandle;
  await handle.close();
  return proto;
}

const diskError = (code: string) => Object.assign(new Error(`${code}: injected`), { code });

describe('spool writer when the disk fails', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let writer: SpoolWriter | undefined;
  beforeEach(async () => {
    tmp = await tempDir();
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await writer?.close();
    writer = undefined;
    await tmp.remove();
  });

  it('rejects the group whose fsync failed, seals the segment without its tail, and goes on', async () => {
    const proto = await fileHandlePrototype(tmp.dir);
    writer = await openSpoolWriter({ dir: path.join(tmp.dir, 'spool') });
    await writer.append(Buffer.from('acked-before'));
    vi.spyOn(proto, 'datasync').mockRejectedValueOnce(diskError('EIO'));
    await expect(writer.append(Buffer.from('never-acked'))).rejects.toMatchObject({ code: 'EIO' });
    expect(await writer.append(Buffer.from('acked-after'))).toEqual({ segment: 2, offset: 0 });

    const reader = openSpoolReader({ dir: path.join(tmp.dir, 'spool') });
    expect(texts(await readAll(reader))).toEqual(['acked-before', 'acked-after']);
    expect(reader.stats().corruptSkips).toBe(0);
  });

  it('reuses a still-empty segment after a failed write instead of leaving empty files behind', async () => {
    const proto = await fileHandlePrototype(tmp.dir);
    const dir = path.join(tmp.dir, 'spool');
    writer = await openSpoolWriter({ dir });
    const writev = vi.spyOn(proto, 'writev');
    for (let i = 0; i < 5; i++) writev.mockRejectedValueOnce(diskError('ENOSPC'));
    for (let i = 0; i < 5; i++)
      await expect(writer.append(Buffer.from(`lost-${i}`))).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(await writer.append(Buffer.from('space-again'))).toEqual({ segment: 1, offset: 0 });
    expect((await readdir(dir)).filter((f) => f.endsWith('.seg'))).toHaveLength(1);
    expect(texts(await readAll(openSpoolReader({ dir })))).toEqual(['space-again']);
  });
});
