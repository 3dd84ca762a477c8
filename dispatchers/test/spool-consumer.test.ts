import path from 'node:path';
import { openSpoolWriter, type SpoolPosition, type SpoolWriter } from '@telltale/spool';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createSpoolConsumer,
  type HandleResult,
  type SourceRecord,
  type SpoolConsumer,
} from '@telltale/dispatchers';
import { tempDir, waitFor } from './helpers.js';

describe('spool consumer', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let writer: SpoolWriter;
  const consumers: SpoolConsumer[] = [];

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    // Small segments, so the test also crosses segment boundaries.
    writer = await openSpoolWriter({ dir: path.join(dir, 'spool', 'client'), segmentMaxBytes: 400 });
  });

  afterEach(async () => {
    for (const consumer of consumers.splice(0)) await consumer.stop();
    await writer.close();
    await cleanup();
  });

  function start(
    handle: (records: SourceRecord<SpoolPosition>[]) => Promise<HandleResult>,
    pollMs = 60_000,
    linger?: { maxRecords: number; maxBytes: number; maxWaitMs: number },
  ): SpoolConsumer {
    const consumer = createSpoolConsumer({
      name: 'test',
      spoolDir: path.join(dir, 'spool', 'client'),
      checkpointFile: path.join(dir, 'checkpoints', 'test.json'),
      handle,
      batchSize: 3,
      pollMs,
      notify: (listener) => writer.onAppend(listener),
      linger,
    });
    consumers.push(consumer);
    return consumer;
  }

  const append = async (from: number, to: number): Promise<void> => {
    for (let i = from; i < to; i += 1)
      await writer.append(Buffer.from(JSON.stringify({ n: i, pad: 'x'.repeat(40) })));
  };
  const numbers = (records: SourceRecord<SpoolPosition>[]): number[] =>
    records.map((r) => (JSON.parse(r.payload.toString()) as { n: number }).n);

  it('resumes from its checkpoint after a restart, without loss or duplicates', async () => {
    const seen: number[] = [];
    const handle = async (records: SourceRecord<SpoolPosition>[]): Promise<HandleResult> => {
      seen.push(...numbers(records));
      return 'done';
    };

    await append(0, 10);
    const first = start(handle);
    await first.start();
    // The poll interval is a minute: only the append notification can wake the consumer this fast.
    await waitFor('first ten records', () => seen.length >= 10);
    await append(10, 15);
    await waitFor('records 10-14', () => seen.length >= 15);
    await first.stop();
    consumers.splice(consumers.indexOf(first), 1);
    const stoppedAt = first.position();

    await append(15, 30); // written while no consumer runs
    const second = start(handle);
    await second.start();
    expect(second.position()).toEqual(stoppedAt);
    await waitFor('records 15-29', () => seen.length >= 30);
    await append(30, 33);
    await waitFor('records 30-32', () => seen.length >= 33);

    expect(seen).toEqual(Array.from({ length: 33 }, (_, i) => i));
    expect(writer.stats().segments).toBeGreaterThan(1);
  });

  it('does not commit records whose handler asked for a retry, and hands the same ones over again', async () => {
    const calls: number[][] = [];
    let failuresLeft = 2;
    await append(0, 2);
    const consumer = start(async (records) => {
      calls.push(numbers(records));
      if (failuresLeft > 0) {
        failuresLeft -= 1;
        return 'retry';
      }
      return 'done';
    });
    await consumer.start();
    await waitFor('three attempts', () => calls.length >= 3);
    await waitFor('commit', () => consumer.position().offset > 0 || consumer.position().segment > 0);
    expect(calls.slice(0, 3)).toEqual([
      [0, 1],
      [0, 1],
      [0, 1],
    ]);
    expect(consumer.stats()).toMatchObject({ records: 2, retries: 2 });
  });

  it('keeps records that a throwing handler could not handle', async () => {
    let attempts = 0;
    await append(0, 1);
    const consumer = start(async () => {
      attempts += 1;
      if (attempts === 1) throw new Error('disk full');
      return 'done';
    });
    await consumer.start();
    await waitFor('the record committed', () => consumer.stats().records === 1);
    expect(attempts).toBe(2);
    expect(consumer.stats().lastError).toBe('disk full');
  });

  it('hands the next records to prefetch while the handler still works, and commits only what it handled', async () => {
    await append(0, 6);
    const prefetched: number[][] = [];
    const handled: number[][] = [];
    let release: () => void = () => undefined;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const handle = Object.assign(
      async (records: SourceRecord<SpoolPosition>[]): Promise<HandleResult> => {
        handled.push(numbers(records));
        if (handled.length === 1) await blocked; // the sink is slow with the first hand-over
        return 'done';
      },
      { prefetch: (records: SourceRecord<SpoolPosition>[]) => void prefetched.push(numbers(records)) },
    );
    const consumer = start(handle);
    await consumer.start();
    // While records 0-2 are still being handled, 3-5 are read and offered for decoding.
    await waitFor('the next hand-over prefetched', () => prefetched.length === 1);
    expect(prefetched).toEqual([[3, 4, 5]]);
    expect(handled).toEqual([[0, 1, 2]]);
    expect(consumer.stats().records).toBe(0);
    expect(consumer.position()).toEqual({ segment: 0, offset: 0 });
    release();
    await waitFor('both hand-overs committed', () => consumer.stats().records === 6);
    expect(handled).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
  });

  it('with two hand-overs in flight, hands the next over before the first is answered, and commits in order', async () => {
    await append(0, 6);
    const handled: number[][] = [];
    let release: () => void = () => undefined;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    // As the ClickHouse sink's batching declares it (the extra field travels with the linger limits).
    const linger = { maxRecords: 3, maxBytes: 1 << 20, maxWaitMs: 0, handOversInFlight: 2 };
    const consumer = start(
      async (records) => {
        handled.push(numbers(records));
        if (handled.length === 1) {
          await blocked; // the first insert is slow, then fails once
          return 'retry';
        }
        return 'done';
      },
      60_000,
      linger,
    );
    await consumer.start();
    await waitFor('the second hand-over handled while the first is not', () => handled.length === 2);
    expect(handled).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    // Records 3-5 are stored, but the checkpoint may not pass 0-2, which are not.
    expect(consumer.stats().records).toBe(0);
    expect(consumer.position()).toEqual({ segment: 0, offset: 0 });
    release();
    await waitFor('both hand-overs committed', () => consumer.stats().records === 6);
    expect(handled).toEqual([
      [0, 1, 2],
      [3, 4, 5],
      [0, 1, 2],
    ]);
    expect(consumer.stats().retries).toBe(1);
  });
});
