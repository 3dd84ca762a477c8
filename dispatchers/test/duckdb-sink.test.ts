import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDuckDbSink, enrichEnvelope, type Sink } from '@telltale/dispatchers';
import { envelope, errorEvent, featureEvent, tempDir } from './helpers.js';

async function rows(connection: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  return (await connection.runAndReadAll(sql)).getRowObjectsJson();
}

describe('duckdb sink', () => {
  let cleanup: () => Promise<void>;
  let instance: DuckDBInstance;
  let sink: Sink;
  let reader: DuckDBConnection;

  beforeEach(async () => {
    const tmp = await tempDir();
    cleanup = tmp.cleanup;
    instance = await DuckDBInstance.create(path.join(tmp.dir, 'telltale.duckdb'));
    sink = await createDuckDbSink(instance);
    reader = await instance.connect();
  });

  afterEach(async () => {
    await sink.close();
    reader.closeSync();
    instance.closeSync();
    await cleanup();
  });

  it('stores each event once, however often it is exported', async () => {
    const first = enrichEnvelope(
      envelope('b-1', [
        errorEvent('e-1'),
        featureEvent('f-1', 'export-csv'),
        errorEvent('e-2', { count: 3 }),
      ]),
    );
    const second = enrichEnvelope(envelope('b-2', [errorEvent('e-2'), featureEvent('f-2', 'export-csv')]));
    expect(await sink.export(first)).toEqual({ status: 'ok' });
    expect(await sink.export(first)).toEqual({ status: 'ok' }); // a replay
    expect(await sink.export([...second, ...second])).toEqual({ status: 'ok' }); // a duplicate inside one export

    expect(
      await rows(reader, 'SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS ids FROM events'),
    ).toEqual([{ n: 4, ids: 4 }]);
    // The first copy wins: e-2 keeps its count from batch b-1.
    expect(await rows(reader, "SELECT batch_id, count FROM events WHERE id = 'e-2'")).toEqual([
      { batch_id: 'b-1', count: 3 },
    ]);
  });

  it('dedupes per app, not across apps', async () => {
    await sink.export(enrichEnvelope(envelope('b-1', [errorEvent('same-id')], 'shop')));
    await sink.export(enrichEnvelope(envelope('b-1', [errorEvent('same-id')], 'admin')));
    expect(await rows(reader, 'SELECT app FROM events ORDER BY app')).toEqual([
      { app: 'admin' },
      { app: 'shop' },
    ]);
  });

  it('fills the columns the dashboards query', async () => {
    await sink.export(
      enrichEnvelope(
        envelope('b-1', [errorEvent('e-1'), featureEvent('f-1', 'export-csv')], 'shop', {
          loadMs: 812.5,
          adblock: true,
        }),
      ),
    );
    const [error] = await rows(
      reader,
      `SELECT kind, strftime(ts, '%Y-%m-%d %H:%M:%S.%g') AS ts, strftime(received_at, '%Y-%m-%d %H:%M:%S') AS received_at, day::VARCHAR AS day,
              release, environment, session, user_id, url, fingerprint, error_type, level, count, browser, browser_version, os, device, load_ms, adblock
       FROM events WHERE id = 'e-1'`,
    );
    expect(error).toMatchObject({
      kind: 'error',
      ts: '2024-04-24 23:06:40.000',
      received_at: '2024-04-24 23:06:41',
      day: '2024-04-24',
      release: '1.4.2',
      environment: 'production',
      session: 's-1',
      user_id: 'u-7',
      url: '/checkout',
      error_type: 'TypeError',
      level: 'error',
      count: 1,
      browser: 'Chrome',
      browser_version: '124.0.0.0',
      os: 'Windows',
      device: 'desktop',
      load_ms: 812.5,
      adblock: true,
    });
    expect(String(error?.fingerprint)).toMatch(/^[0-9a-f]{32}$/);
    expect(await rows(reader, "SELECT name, attrs, fingerprint FROM events WHERE id = 'f-1'")).toEqual([
      { name: 'export-csv', attrs: '{"rows":120}', fingerprint: null },
    ]);
  });

  it('rejects an export the store cannot take, stores none of it, and stays usable', async () => {
    const [good] = enrichEnvelope(envelope('b-1', [errorEvent('e-good')]));
    const broken = { ...good, id: 'e-broken', app: null } as unknown as NonNullable<typeof good>;
    const result = await sink.export([good!, broken]);
    expect(result).toMatchObject({ status: 'rejected', reason: expect.stringContaining('NOT NULL') });
    expect(await sink.export(enrichEnvelope(envelope('b-2', [errorEvent('e-next')])))).toEqual({
      status: 'ok',
    });
    expect(await rows(reader, 'SELECT id FROM events')).toEqual([{ id: 'e-next' }]);
  });

  it('answers retryable instead of throwing once closed', async () => {
    await sink.close();
    const result = await sink.export(enrichEnvelope(envelope('b-1', [errorEvent('e-1')])));
    expect(result.status).toBe('retryable');
    sink = await createDuckDbSink(instance); // afterEach closes this one
  });
});
