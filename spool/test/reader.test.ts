import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSpoolReader, openSpoolWriter, segmentFileName, type SpoolWriter } from '../src/index.js';
import { readAll, tempDir, texts } from './helpers.js';

describe('spool reader', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let writer: SpoolWriter;
  beforeEach(async () => {
    tmp = await tempDir();
    writer = await openSpoolWriter({ dir: tmp.dir, segmentMaxBytes: 40 });
  });
  afterEach(async () => {
    await writer.close();
    await tmp.remove();
  });

  // Records of 8 + 12 bytes in segments of 40 bytes: two records per segment.
  const fill = async (count: number) => {
    for (let i = 0; i < count; i++) await writer.append(Buffer.from(`payload-${String(i).padStart(4, '0')}`));
  };

  it('returns [] on an empty spool and on a missing directory', async () => {
    expect(await openSpoolReader({ dir: tmp.dir }).read({ segment: 0, offset: 0 }, 10)).toEqual([]);
    expect(
      await openSpoolReader({ dir: path.join(tmp.dir, 'nope') }).read({ segment: 0, offset: 0 }, 10),
    ).toEqual([]);
  });

  it("resumes from a record's `next` and sees records appended later", async () => {
    await fill(3);
    const reader = openSpoolReader({ dir: tmp.dir });
    const first = await reader.read({ segment: 0, offset: 0 }, 2);
    expect(texts(first)).toEqual(['payload-0000', 'payload-0001']);
    // End of a sealed segment: `next` already points at the start of the following one.
    expect(first[1]!.next).toEqual({ segment: 2, offset: 0 });
    const rest = await reader.read(first[1]!.next, 10);
    expect(texts(rest)).toEqual(['payload-0002']);
    expect(await reader.read(rest[0]!.next, 10)).toEqual([]);
    await writer.append(Buffer.from('late-arrival'));
    expect(texts(await reader.read(rest[0]!.next, 10))).toEqual(['late-arrival']);
  });

  it("continues at the oldest segment present when the position's segment was removed", async () => {
    await fill(6);
    await writer.removeSegmentsBefore(2);
    const reader = openSpoolReader({ dir: tmp.dir });
    expect(texts(await reader.read({ segment: 1, offset: 20 }, 1))).toEqual(['payload-0002']);
    expect(texts(await reader.read({ segment: 0, offset: 0 }, 1))).toEqual(['payload-0002']);
  });

  it('skips a CRC-bad record in a sealed segment to the next segment, counts it, and never serves it', async () => {
    await fill(6); // segments 1..3, two records each
    const file = path.join(tmp.dir, segmentFileName(2));
    const handle = await open(file, 'r+');
    await handle.write(Buffer.from('X'), 0, 1, 8 + 3); // flip a byte inside the first record's payload
    await handle.close();

    const reader = openSpoolReader({ dir: tmp.dir });
    const read = await readAll(reader);
    expect(texts(read)).toEqual(['payload-0000', 'payload-0001', 'payload-0004', 'payload-0005']);
    expect(read.some((r) => r.payload.includes('X'))).toBe(false);
    expect(reader.stats().corruptSkips).toBe(1);
    expect(reader.stats().bytesSkipped).toBe((await stat(file)).size);
  });

  it('skips a sealed segment whose length field is absurd instead of allocating it', async () => {
    await fill(4);
    const handle = await open(path.join(tmp.dir, segmentFileName(1)), 'r+');
    await handle.write(Buffer.from([0xff, 0xff, 0xff, 0xff]), 0, 4, 20); // second record's length
    await handle.close();
    const reader = openSpoolReader({ dir: tmp.dir });
    expect(texts(await readAll(reader))).toEqual(['payload-0000', 'payload-0002', 'payload-0003']);
    expect(reader.stats().corruptSkips).toBe(1);
  });

  it('reads records larger than its 1 MiB read block', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 'q');
    await writer.append(Buffer.from('before'));
    await writer.append(big);
    await writer.append(Buffer.from('after'));
    const read = await readAll(openSpoolReader({ dir: tmp.dir }));
    expect(read.map((r) => r.payload.length)).toEqual([6, big.length, 5]);
    expect(read[1]!.payload.equals(big)).toBe(true);
  });
});
