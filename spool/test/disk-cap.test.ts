import { readdir } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSpoolReader, openSpoolWriter, SpoolFullError, type SpoolWriter } from '../src/index.js';
import { readAll, tempDir, texts } from './helpers.js';

const segFiles = async (dir: string) => (await readdir(dir)).filter((n) => n.endsWith('.seg')).sort();

/** Polls `check` until it holds, or fails after `timeoutMs` naming `what`. */
async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('spool disk cap', () => {
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

  it('refuses appends past the cap without writing them, keeps every acknowledged record, and takes more once segments are removed', async () => {
    writer = await openSpoolWriter({ dir: tmp.dir, segmentMaxBytes: 200, maxTotalBytes: 1000 });
    const accepted: string[] = [];
    let refused: unknown;
    for (let i = 0; i < 100 && refused === undefined; i++) {
      const text = `record-${String(i).padStart(3, '0')}-${'x'.repeat(40)}`;
      await writer.append(Buffer.from(text)).then(
        () => accepted.push(text),
        (error: unknown) => (refused = error),
      );
    }
    expect(refused).toBeInstanceOf(SpoolFullError);
    expect((refused as SpoolFullError).code).toBe('SPOOL_FULL');
    expect(writer.isFull(60)).toBe(true);
    const stats = writer.stats();
    expect(stats.bytes).toBeLessThanOrEqual(1000);
    expect(stats).toMatchObject({ maxTotalBytes: 1000, refusedFull: 1, writable: true });
    // Everything acknowledged is there, nothing else: the cap refuses new data, it never drops old data.
    expect(texts(await readAll(openSpoolReader({ dir: tmp.dir })))).toEqual(accepted);

    // Concurrent appends count against the cap while queued: a burst cannot overshoot it.
    await writer.removeSegmentsBefore(Number.MAX_SAFE_INTEGER);
    const burst = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => writer!.append(Buffer.from(`burst-${i}-${'y'.repeat(40)}`))),
    );
    expect(burst.some((r) => r.status === 'fulfilled')).toBe(true);
    expect(burst.some((r) => r.status === 'rejected' && r.reason instanceof SpoolFullError)).toBe(true);
    expect(writer.stats().bytes).toBeLessThanOrEqual(1000);
  });

  it('rejects a bad cap at open', async () => {
    await expect(openSpoolWriter({ dir: tmp.dir, maxTotalBytes: 0 })).rejects.toThrow(/maxTotalBytes/);
  });
});

describe('spool age rotation and fsync latency', () => {
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

  it('seals an old segment even when no append comes', async () => {
    writer = await openSpoolWriter({ dir: tmp.dir, segmentMaxAgeMs: 200 });
    await writer.append(Buffer.from('lonely'));
    expect(await segFiles(tmp.dir)).toEqual(['00000000000000000001.seg']);
    await eventually('an idle rotation', async () => (await segFiles(tmp.dir)).length === 2);
    // The sealed segment can go now; the active (empty) one stays; the record is still readable until then.
    expect(texts(await readAll(openSpoolReader({ dir: tmp.dir })))).toEqual(['lonely']);
    expect(await writer.removeSegmentsBefore(2)).toBe(1);
    const position = await writer.append(Buffer.from('next'));
    expect(position).toEqual({ segment: 2, offset: 0 });
  });

  it('does not rotate an empty idle segment', async () => {
    writer = await openSpoolWriter({ dir: tmp.dir, segmentMaxAgeMs: 100 });
    await new Promise((r) => setTimeout(r, 400)); // four ages idle: a longer wait only makes this stronger
    expect(await segFiles(tmp.dir)).toEqual(['00000000000000000001.seg']);
    // The age timer was alive all along: the same writer seals a segment once it holds a record.
    await writer.append(Buffer.from('now it has one'));
    await eventually(
      'an idle rotation once the segment holds a record',
      async () => (await segFiles(tmp.dir)).length === 2,
    );
  });

  it('records the latency of every fsync in a cumulative histogram', async () => {
    writer = await openSpoolWriter({ dir: tmp.dir });
    for (let i = 0; i < 5; i++) await writer.append(Buffer.from(`r${i}`));
    const { fsyncLatency, fsyncs } = writer.stats();
    expect(fsyncLatency.count).toBe(fsyncs);
    expect(fsyncLatency.count).toBe(5);
    expect(fsyncLatency.sum).toBeGreaterThan(0);
    expect(fsyncLatency.counts.at(-1)).toBeLessThanOrEqual(5);
    expect([...fsyncLatency.counts]).toEqual([...fsyncLatency.counts].sort((a, b) => a - b));
  });
});
