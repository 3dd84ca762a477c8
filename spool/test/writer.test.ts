import { appendFile, readdir, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openSpoolReader, openSpoolWriter, segmentFileName, type SpoolWriter } from '../src/index.js';
import { readAll, tempDir, texts } from './helpers.js';

const segFiles = async (dir: string) => (await readdir(dir)).filter((n) => n.endsWith('.seg')).sort();

describe('spool writer', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let writer: SpoolWriter | undefined;
  beforeEach(async () => {
    tmp = await tempDir();
  });
  afterEach(async () => {
    await writer?.close();
    writer = undefined;
    await tmp.remove();
  });

  it('round-trips records in order across size rotation, naming segments by zero-padded sequence', async () => {
    writer = await openSpoolWriter({ dir: tmp.dir, segmentMaxBytes: 100 });
    const sent = Array.from({ length: 25 }, (_, i) => `record-${i}-${'x'.repeat(i)}`);
    for (const text of sent) await writer.append(Buffer.from(text));

    const files = await segFiles(tmp.dir);
    expect(files.length).toBeGreaterThan(3);
    expect(files[0]).toBe('00000000000000000001.seg');
    for (const file of files)
      expect((await stat(path.join(tmp.dir, file))).size).toBeLessThanOrEqual(100 + 8 + 40);
    expect(writer.stats()).toMatchObject({ segments: files.length, records: 25 });

    expect(texts(await readAll(openSpoolReader({ dir: tmp.dir })))).toEqual(sent);
  });

  it('puts a record larger than segmentMaxBytes alone in its own segment instead of refusing it', async () => {
    writer = await openSpoolWriter({ dir: tmp.dir, segmentMaxBytes: 16 });
    const big = 'b'.repeat(1000);
    await writer.append(Buffer.from('small'));
    await writer.append(Buffer.from(big));
    await writer.append(Buffer.from('after'));
    expect(texts(await readAll(openSpoolReader({ dir: tmp.dir })))).toEqual(['small', big, 'after']);
    expect(await segFiles(tmp.dir)).toHaveLength(3);
  });

  it('rotates by age at the next append', async () => {
    // Only Date is faked: the clock moves past the age at once, and the fsyncs run for real.
    vi.useFakeTimers({ toFake: ['Date'] });
    let position;
    try {
      writer = await openSpoolWriter({ dir: tmp.dir, segmentMaxAgeMs: 30 });
      await writer.append(Buffer.from('old'));
      vi.setSystemTime(Date.now() + 50);
      position = await writer.append(Buffer.from('new'));
    } finally {
      vi.useRealTimers();
    }
    expect(position).toEqual({ segment: 2, offset: 0 });
    expect(texts(await readAll(openSpoolReader({ dir: tmp.dir })))).toEqual(['old', 'new']);
  });

  it('lets concurrent appends share fsyncs (group commit) and resolves each with its own position', async () => {
    writer = await openSpoolWriter({ dir: tmp.dir });
    const positions = await Promise.all(
      Array.from({ length: 200 }, (_, i) => writer!.append(Buffer.from(`r${i}`))),
    );
    const { fsyncs, records } = writer.stats();
    expect(records).toBe(200);
    expect(fsyncs).toBeLessThan(10);
    expect(new Set(positions.map((p) => `${p.segment}:${p.offset}`)).size).toBe(200);
    const read = await readAll(openSpoolReader({ dir: tmp.dir }));
    expect(read.map((r) => r.position)).toEqual(positions);
    expect(texts(read)).toEqual(Array.from({ length: 200 }, (_, i) => `r${i}`));
  });

  it('notifies onAppend listeners after each durable group, and stops after unsubscribe', async () => {
    writer = await openSpoolWriter({ dir: tmp.dir });
    let calls = 0;
    const off = writer.onAppend(() => {
      calls += 1;
    });
    writer.onAppend(() => {
      throw new Error('a faulty consumer');
    });
    await writer.append(Buffer.from('a'));
    expect(calls).toBe(1);
    off();
    await writer.append(Buffer.from('b'));
    expect(calls).toBe(1);
  });

  it('refuses empty payloads and appends after close', async () => {
    writer = await openSpoolWriter({ dir: tmp.dir });
    await expect(writer.append(Buffer.alloc(0))).rejects.toThrow(RangeError);
    await writer.close();
    await expect(writer.append(Buffer.from('late'))).rejects.toThrow(/closed/);
    writer = undefined;
  });

  it('refuses a second writer on the same directory while the first is open', async () => {
    writer = await openSpoolWriter({ dir: tmp.dir });
    await expect(openSpoolWriter({ dir: tmp.dir })).rejects.toThrow(/already open/);
  });

  describe('recovery from a torn tail', () => {
    async function tornTail(garbage: (file: string) => Promise<void>): Promise<void> {
      writer = await openSpoolWriter({ dir: tmp.dir });
      await writer.append(Buffer.from('one'));
      await writer.append(Buffer.from('two'));
      await writer.close();
      const file = path.join(tmp.dir, segmentFileName(1));
      const goodSize = (await stat(file)).size;
      await garbage(file);

      writer = await openSpoolWriter({ dir: tmp.dir });
      expect(writer.stats().truncatedBytes).toBeGreaterThan(0);
      expect((await stat(file)).size).toBe(goodSize);
      await writer.append(Buffer.from('three'));
      expect(texts(await readAll(openSpoolReader({ dir: tmp.dir })))).toEqual(['one', 'two', 'three']);
    }

    it('cuts random garbage after the last good record', () =>
      tornTail((file) => appendFile(file, Buffer.from('\x00\x00\x00\x05garbage-garbage'))));

    it('cuts half a record (header says more bytes than the file has)', () =>
      tornTail(async (file) => {
        const header = Buffer.alloc(8);
        header.writeUInt32BE(500, 0);
        await appendFile(file, Buffer.concat([header, Buffer.from('only part of the payload')]));
      }));

    it('cuts a complete-length record whose CRC does not match', () =>
      tornTail(async (file) => {
        const header = Buffer.alloc(8);
        header.writeUInt32BE(4, 0);
        header.writeUInt32BE(0xdeadbeef, 4);
        await appendFile(file, Buffer.concat([header, Buffer.from('oops')]));
      }));

    it('cuts a zero-filled tail (what some filesystems leave after a power cut)', () =>
      tornTail((file) => appendFile(file, Buffer.alloc(64))));

    it('cuts a header cut short (fewer than 8 bytes)', () =>
      tornTail((file) => appendFile(file, Buffer.from([0, 0, 1]))));
  });

  it('keeps a reader from serving a half-written record at the end of the active segment', async () => {
    writer = await openSpoolWriter({ dir: tmp.dir });
    await writer.append(Buffer.from('whole'));
    const file = path.join(tmp.dir, segmentFileName(1));
    const header = Buffer.alloc(8);
    header.writeUInt32BE(100, 0);
    await appendFile(file, header); // as if another write were in flight
    const reader = openSpoolReader({ dir: tmp.dir });
    expect(texts(await readAll(reader))).toEqual(['whole']);
    expect(reader.stats().corruptSkips).toBe(0);
    await truncate(file, (await stat(file)).size - 8);
  });

  it('removes only sealed segments below the given sequence, never the active one', async () => {
    writer = await openSpoolWriter({ dir: tmp.dir, segmentMaxBytes: 20 });
    for (let i = 0; i < 5; i++) await writer.append(Buffer.from(`record-number-${i}`));
    expect(await segFiles(tmp.dir)).toHaveLength(5);
    const bytesBefore = writer.stats().bytes;

    expect(await writer.removeSegmentsBefore(3)).toBe(2);
    expect(await segFiles(tmp.dir)).toEqual([3, 4, 5].map(segmentFileName));
    expect(writer.stats()).toMatchObject({ segments: 3 });
    expect(writer.stats().bytes).toBeLessThan(bytesBefore);

    expect(await writer.removeSegmentsBefore(1000)).toBe(2);
    expect(await segFiles(tmp.dir)).toEqual([segmentFileName(5)]);
    await writer.append(Buffer.from('still appending'));
    const read = texts(await readAll(openSpoolReader({ dir: tmp.dir })));
    expect(read).toEqual(['record-number-4', 'still appending']);
  });

  it('continues the newest segment after a clean reopen and keeps sequence numbers rising', async () => {
    writer = await openSpoolWriter({ dir: tmp.dir, segmentMaxBytes: 30 });
    await writer.append(Buffer.from('a'.repeat(25)));
    await writer.append(Buffer.from('b'.repeat(25)));
    await writer.close();
    writer = await openSpoolWriter({ dir: tmp.dir, segmentMaxBytes: 30 });
    expect(writer.stats()).toMatchObject({ segments: 2, truncatedBytes: 0 });
    const position = await writer.append(Buffer.from('c'.repeat(25)));
    expect(position.segment).toBe(3);
    expect(texts(await readAll(openSpoolReader({ dir: tmp.dir })))).toEqual(
      ['a', 'b', 'c'].map((c) => c.repeat(25)),
    );
  });

  it('starts from a stale lock file left by a crashed process', async () => {
    await writeFile(path.join(tmp.dir, 'writer.lock'), '999999999');
    writer = await openSpoolWriter({ dir: tmp.dir });
    await writer.append(Buffer.from('ok'));
  });
});
