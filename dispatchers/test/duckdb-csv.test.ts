import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { openSpoolWriter } from '@telltale/spool';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createDuckDbSink,
  enrichEnvelope,
  resolveDispatcherConfig,
  startDispatchers,
  WIRE_ENCODERS,
  type EncodedEvents,
  type EnrichedEvent,
  type Sink,
} from '@telltale/dispatchers';
import type { SpoolEnvelope } from '@telltale/protocol';
import { clientBatch, json } from './corpus.js';
import { tempDir, waitFor } from './helpers.js';

/** Text the CSV must carry exactly: separators, quotes, NULL-looking text, control characters, non-ASCII. */
const AWKWARD = [
  'a,b',
  '"quoted" ""twice""',
  'line\nbreak\r\n',
  'tab\tand \\N \\ back',
  '',
  'ünï 😀 中文 \u0001',
  'nul \u0000 inside',
];

function hostileBatches(): SpoolEnvelope[] {
  return AWKWARD.map((text, n) => {
    const batch = clientBatch(200 + n, 8);
    if (text === '') delete batch.batch.user;
    else batch.batch.user = `u ${text}`;
    batch.batch.loadMs = n === 0 ? 12.5 : n * 1e21;
    for (const event of batch.batch.events) {
      if (event.kind === 'error') event.message = text;
      if (event.kind === 'log') event.message = `log ${text}`;
      if (event.kind === 'feature') event.props = { text };
      event.url = `/p?q=${text}`;
    }
    return batch;
  }).concat([clientBatch(1, 20), clientBatch(2, 3)]);
}

const csv = (events: readonly EnrichedEvent[]): EncodedEvents => ({
  chunks: [Buffer.from(WIRE_ENCODERS['duckdb-csv'](events))],
  rows: events.length,
  regroupable: new Set(),
  events: async () => [...events],
});

describe('DuckDB through the CSV wire format', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let instance: DuckDBInstance;
  let reader: DuckDBConnection;
  let sink: Sink | undefined;

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    instance = await DuckDBInstance.create(path.join(dir, 'telltale.duckdb'));
    reader = await instance.connect();
  });
  afterEach(async () => {
    await sink?.close();
    sink = undefined;
    reader.closeSync();
    instance.closeSync();
    await cleanup();
  });

  const everyRow = async (table = 'events'): Promise<unknown[]> =>
    (await reader.runAndReadAll(`SELECT * FROM ${table} ORDER BY app, id`)).getRowObjectsJson();

  it('stores every value exactly as the Appender does, and leaves no file behind', async () => {
    const loadDir = path.join(dir, 'loads');
    const events = hostileBatches().flatMap((b) => enrichEnvelope(b));
    // The Appender's rows, in a second database file of the same schema.
    const other = await DuckDBInstance.create(path.join(dir, 'appender.duckdb'));
    const appender = await createDuckDbSink(other);
    expect(await appender.export([...events])).toEqual({ status: 'ok' });
    await appender.close();
    const otherReader = await other.connect();
    const expected = (
      await otherReader.runAndReadAll('SELECT * FROM events ORDER BY app, id')
    ).getRowObjectsJson();
    otherReader.closeSync();
    other.closeSync();

    sink = await createDuckDbSink(instance, { loadDir });
    expect(sink.encoding).toBe('duckdb-csv');
    expect(await sink.exportEncoded!(csv(events))).toEqual({ status: 'ok' });
    const stored = await everyRow();
    expect(stored).toHaveLength(events.length);
    expect(stored).toEqual(expected);
    expect(await readdir(loadDir)).toEqual([]);
  });

  it('stores each event once: a second copy in the same load, and one already stored', async () => {
    sink = await createDuckDbSink(instance, { loadDir: path.join(dir, 'loads') });
    const first = enrichEnvelope({ ...clientBatch(5, 4), receivedAt: 1_800_000_000_000 });
    const later = enrichEnvelope({ ...clientBatch(5, 4), receivedAt: 1_800_000_060_000 });
    // The same batch twice in one hand-over (a retried upload stored twice): its first copy is stored.
    const raw = (receivedAt: number) => ({
      app: 'shop',
      batchId: 'b-5',
      receivedAt,
      kind: 'client' as const,
      payload: Buffer.alloc(0),
    });
    expect(
      await sink.exportEncoded!(
        { ...csv([...first, ...later]), chunks: [...csv(first).chunks, ...csv(later).chunks] },
        [raw(1_800_000_000_000), raw(1_800_000_060_000)],
      ),
    ).toEqual({ status: 'ok' });
    expect(await sink.exportEncoded!(csv(later))).toEqual({ status: 'ok' });
    const rows = (
      await reader.runAndReadAll(
        `SELECT count(*) AS n, min(received_at) AS first, max(received_at) AS last FROM events`,
      )
    ).getRowObjectsJson();
    expect(rows).toEqual([{ n: '4', first: '2027-01-15 08:00:00', last: '2027-01-15 08:00:00' }]);
  });

  it('stores the new events of a load that also carries stored ones, each once, the stored copies unchanged', async () => {
    sink = await createDuckDbSink(instance, { loadDir: path.join(dir, 'loads') });
    const stored = enrichEnvelope({ ...clientBatch(7, 4), receivedAt: 1_800_000_000_000 });
    expect(await sink.exportEncoded!(csv(stored))).toEqual({ status: 'ok' });
    // A replay of that record (received later this time) next to two new records, and a new event
    // id twice in the load under two batch ids: the load meets a stored key and is done again.
    const replayed = enrichEnvelope({ ...clientBatch(7, 4), receivedAt: 1_800_000_060_000 });
    const fresh = enrichEnvelope(clientBatch(8, 3));
    const again = enrichEnvelope(clientBatch(9, 2));
    const twice = { ...again[0]!, batchId: 'b-9-copy' };
    expect(await sink.exportEncoded!(csv([...fresh, ...replayed, ...again, twice]))).toEqual({
      status: 'ok',
    });
    const rows = (
      await reader.runAndReadAll(
        `SELECT batch_id, count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS ids,
           strftime(min(received_at), '%Y-%m-%d %H:%M:%S') AS received
         FROM events GROUP BY batch_id ORDER BY batch_id`,
      )
    ).getRowObjectsJson();
    expect(rows).toEqual([
      { batch_id: stored[0]!.batchId, n: 4, ids: 4, received: '2027-01-15 08:00:00' },
      { batch_id: fresh[0]!.batchId, n: 3, ids: 3, received: expect.any(String) },
      { batch_id: again[0]!.batchId, n: 2, ids: 2, received: expect.any(String) },
    ]);
    expect(await readdir(path.join(dir, 'loads'))).toEqual([]);
  });

  it('rejects a load DuckDB cannot read, stores none of it, removes its file and stays usable', async () => {
    const loadDir = path.join(dir, 'loads');
    sink = await createDuckDbSink(instance, { loadDir });
    const good = enrichEnvelope(clientBatch(6, 3));
    const broken: EncodedEvents = {
      ...csv(good),
      chunks: [...csv(good).chunks, Buffer.from('"app","id",not-a-number\n')],
    };
    const result = await sink.exportEncoded!(broken);
    expect(result.status).toBe('rejected');
    expect(await everyRow()).toEqual([]);
    expect(await readdir(loadDir)).toEqual([]);
    expect(await sink.exportEncoded!(csv(good))).toEqual({ status: 'ok' });
    expect(await everyRow()).toHaveLength(3);
  });

  it("the dispatchers store the workers' CSV lines in DuckDB, with no row built for the sink", async () => {
    const spool = await openSpoolWriter({ dir: path.join(dir, 'spool', 'client') });
    const batches = hostileBatches();
    for (const batch of batches) await spool.append(json(batch));
    const config = resolveDispatcherConfig(
      { dataDir: dir, pollMs: 50, dispatchThreads: 1, sinks: ['duckdb'], retention: { duckdb: 0 } },
      {},
    );
    const dispatchers = await startDispatchers(config, {
      duckdb: instance,
      spoolDir: spool.dir,
      notify: (listener) => spool.onAppend(listener),
    });
    try {
      const consumer = () => dispatchers.stats().consumers.find((c) => c.name === 'duckdb');
      await waitFor(
        'the DuckDB consumer past every record',
        () => consumer()?.records === batches.length,
        30_000,
      );
      const total = batches.reduce((n, b) => n + b.batch.events.length, 0);
      expect(consumer()).toMatchObject({ events: total, encodedEvents: total });
      expect(await everyRow()).toHaveLength(total);
    } finally {
      await dispatchers.close();
      await spool.close();
    }
  });
});
