import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { openSpoolWriter, type SpoolWriter } from '@telltale/spool';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveDispatcherConfig, startDispatchers, type Dispatchers } from '@telltale/dispatchers';
import { envelope, errorEvent, featureEvent, payload, tempDir, waitFor } from './helpers.js';

describe('dispatchers', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let duckdb: DuckDBInstance;
  let reader: DuckDBConnection;
  let writer: SpoolWriter;
  let dispatchers: Dispatchers | undefined;
  const removable: number[] = [];

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    duckdb = await DuckDBInstance.create(path.join(dir, 'telltale.duckdb'));
    reader = await duckdb.connect();
    // Tiny segments: every batch seals one, so retention of passed segments is exercised too.
    writer = await openSpoolWriter({ dir: path.join(dir, 'spool', 'client'), segmentMaxBytes: 256 });
    removable.length = 0;
    const config = resolveDispatcherConfig({ dataDir: dir, pollMs: 50 }, {});
    dispatchers = await startDispatchers(config, {
      duckdb,
      spoolDir: writer.dir,
      notify: (listener) => writer.onAppend(listener),
      onRemovableSegment: (segment) => removable.push(segment),
    });
  });

  afterEach(async () => {
    await dispatchers?.close();
    await writer.close();
    reader.closeSync();
    duckdb.closeSync();
    await cleanup();
  });

  const storedIds = async (): Promise<string[]> =>
    (await reader.runAndReadAll('SELECT id FROM events ORDER BY id'))
      .getRowObjectsJson()
      .map((row) => String(row.id));

  it('dead-letters poison records with their reason and keeps storing the good batches after them', async () => {
    await writer.append(payload(envelope('b-1', [errorEvent('e-1')])));
    const notJson = Buffer.from('{"v":1,"app":"shop", this is not json');
    await writer.append(notJson);
    const badBatch = Buffer.from(
      JSON.stringify({ ...envelope('b-bad', [errorEvent('e-bad')]), batch: { v: 1, events: [] } }),
    );
    await writer.append(badBatch);
    await writer.append(payload(envelope('b-2', [featureEvent('f-1', 'export-csv'), errorEvent('e-2')])));

    await waitFor('both good batches stored', async () => (await storedIds()).length === 3);
    expect(await storedIds()).toEqual(['e-1', 'e-2', 'f-1']);

    const deadDir = path.join(dir, 'dead-letter', 'duckdb');
    // One folder per day of dead-lettering (retention drops whole days).
    const files = (await readdir(deadDir, { recursive: true })).sort();
    expect(files.filter((f) => f.endsWith('.payload'))).toHaveLength(2);
    const reasons = await Promise.all(
      files
        .filter((f) => f.endsWith('.reason.json'))
        .map(
          async (f) => JSON.parse(await readFile(path.join(deadDir, f), 'utf8')) as Record<string, unknown>,
        ),
    );
    expect(reasons.map((r) => r.code).sort()).toEqual(['invalid_batch', 'invalid_json']);
    expect(
      reasons.every(
        (r) => typeof r.time === 'string' && typeof r.position === 'object' && r.consumer === 'duckdb',
      ),
    ).toBe(true);
    // Scrubbed copies: with nothing to scrub, the same bytes, for inspection and replay.
    const payloads = await Promise.all(
      files.filter((f) => f.endsWith('.payload')).map((f) => readFile(path.join(deadDir, f))),
    );
    expect(payloads.map((p) => p.toString()).sort()).toEqual(
      [badBatch.toString(), notJson.toString()].sort(),
    );

    const stats = dispatchers?.stats();
    expect(stats?.consumers.find((c) => c.name === 'duckdb')?.deadLettered).toEqual({
      invalid_json: 1,
      invalid_batch: 1,
    });
    // The alerts consumer parks the same poison in its own folder and moves on too.
    await waitFor(
      'alerts consumer past the poison',
      () => (dispatchers?.stats().consumers.find((c) => c.name === 'alerts')?.records ?? 0) >= 4,
    );
    expect(
      (await readdir(path.join(dir, 'dead-letter', 'alerts'), { recursive: true })).filter((f) =>
        f.endsWith('.payload'),
      ),
    ).toHaveLength(2);
  });

  it('reports spool segments every consumer has passed, and keeps working after they are removed', async () => {
    for (let i = 0; i < 5; i += 1) await writer.append(payload(envelope(`b-${i}`, [errorEvent(`e-${i}`)])));
    await waitFor('five events stored', async () => (await storedIds()).length === 5);
    const segment = await waitFor('a removable segment', () => {
      const consumers = dispatchers?.stats().consumers ?? [];
      const lowest = Math.min(...consumers.map((c) => c.position?.segment ?? 0));
      return removable.length > 0 && removable[removable.length - 1] === lowest && lowest > 1
        ? lowest
        : undefined;
    });
    const before = writer.stats().segments;
    expect(await writer.removeSegmentsBefore(segment)).toBeGreaterThan(0);
    expect(writer.stats().segments).toBeLessThan(before);

    await writer.append(payload(envelope('b-late', [errorEvent('e-late')])));
    await waitFor('the late event stored', async () => (await storedIds()).includes('e-late'));
  });

  it('with TELLTALE_DISPATCH_PAUSED=1 drains nothing, and the next start stores every record', async () => {
    expect(() => resolveDispatcherConfig({ dataDir: dir }, { TELLTALE_DISPATCH_PAUSED: 'yes' })).toThrow(
      /TELLTALE_DISPATCH_PAUSED/,
    );
    await dispatchers?.close();
    const deps = {
      duckdb,
      spoolDir: writer.dir,
      notify: (listener: () => void) => writer.onAppend(listener),
    };
    const paused = resolveDispatcherConfig({ dataDir: dir, pollMs: 50 }, { TELLTALE_DISPATCH_PAUSED: '1' });
    expect(paused.dispatchPaused).toBe(true);
    dispatchers = await startDispatchers(paused, deps);
    await writer.append(payload(envelope('b-1', [errorEvent('e-1'), featureEvent('f-1', 'export-csv')])));
    await new Promise((resolve) => setTimeout(resolve, 300)); // six poll intervals: time enough to drain, were it running
    expect(dispatchers.stats().consumers.map((c) => [c.name, c.running, c.records])).toEqual([
      ['duckdb', false, 0],
      ['alerts', false, 0],
    ]);
    expect(await storedIds()).toEqual([]);
    await dispatchers.close();

    dispatchers = await startDispatchers(resolveDispatcherConfig({ dataDir: dir, pollMs: 50 }, {}), deps);
    await waitFor('the spooled batch stored', async () => (await storedIds()).length === 2);
    expect(await storedIds()).toEqual(['e-1', 'f-1']);
  });
});
