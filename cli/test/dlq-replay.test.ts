import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { DuckDBInstance } from '@duckdb/node-api';
import { openSpoolWriter } from '@telltale/spool';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBlobArchiveSink, createDeadLetterWriter, decodeRecord } from '@telltale/dispatchers';
import { main } from '../src/index.js';
import { clientBatch, DAY_MS, json, serverLogs } from '../../dispatchers/test/corpus.js';
import { startAzurite, type Azurite } from '../../dispatchers/test/services.js';
import { tempDir } from './helpers.js';

function io(env: NodeJS.ProcessEnv) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const text = { out: '', err: '' };
  stdout.on('data', (chunk: Buffer) => (text.out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (text.err += chunk.toString()));
  return { streams: { stdout, stderr, env }, text };
}

/** `telltale dlq` and `telltale replay` on a data directory, as an operator runs them with the server stopped. */
describe('telltale dlq and replay', () => {
  let azurite: Azurite;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    azurite = await startAzurite();
  });
  afterAll(async () => {
    await azurite?.stop();
  });
  beforeEach(async () => {
    data = await tempDir('replay');
    env = { TELLTALE_DATA_DIR: data.dir };
  });
  afterEach(async () => {
    await data.remove();
  });

  async function rows(sql: string): Promise<Record<string, unknown>[]> {
    const instance = await DuckDBInstance.create(path.join(data.dir, 'telltale.duckdb'));
    const connection = await instance.connect();
    try {
      return (await connection.runAndReadAll(sql)).getRowObjectsJson();
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  }

  it('lists dead letters with their reasons, and replays the ones that now go through', async () => {
    // What a night of trouble leaves behind: a batch DuckDB refused before a fix, and one that is not JSON.
    const duckdb = createDeadLetterWriter(data.dir, 'duckdb');
    await duckdb.write(
      { segment: 3, offset: 0 },
      json(clientBatch(7, 3)),
      'sink_rejected',
      'duckdb: Conversion Error: …',
    );
    await duckdb.write(
      { segment: 3, offset: 900 },
      Buffer.from('{"v":1,"app":"shop", oops'),
      'invalid_json',
      'payload is not JSON',
    );
    const server = createDeadLetterWriter(data.dir, 'duckdb.server');
    await server.write(
      { segment: 1, offset: 0 },
      json(serverLogs(2, 2)),
      'sink_rejected',
      'duckdb: disk full',
    );

    const listed = io(env);
    expect(await main(['dlq', 'list'], listed.streams)).toBe(0);
    expect(listed.text.out).toMatch(
      /^duckdb\s+0000000003-000000000000\s+\S+\s+sink_rejected\s+duckdb: Conversion Error/m,
    );
    expect(listed.text.out).toMatch(
      /^duckdb\s+0000000003-000000000900\s+\S+\s+invalid_json\s+payload is not JSON/m,
    );
    expect(listed.text.out).toContain('3 dead letters: duckdb 2, duckdb.server 1');

    const replayed = io(env);
    expect(await main(['dlq', 'replay'], replayed.streams)).toBe(1); // one is still poison
    expect(replayed.text.out).toContain('replayed duckdb/0000000003-000000000000: 3 events, 0 server logs');
    expect(replayed.text.out).toContain(
      'replayed duckdb.server/0000000001-000000000000: 0 events, 2 server logs',
    );
    expect(replayed.text.out).toMatch(/still failing duckdb\/0000000003-000000000900: invalid_json/);
    expect(replayed.text.out).toContain('2 replayed, 1 left in the dead-letter folder');

    expect((await rows('SELECT id FROM events ORDER BY id')).map((r) => r.id)).toEqual([
      'e-7-0',
      'e-7-1',
      'e-7-2',
    ]);
    expect((await rows('SELECT id FROM server_logs ORDER BY id')).map((r) => r.id)).toEqual([
      'l-2-0',
      'l-2-1',
    ]);
    // Replayed entries move to replayed/ inside their day folder, and expire with it.
    expect(
      (await readdir(path.join(data.dir, 'dead-letter', 'duckdb'), { recursive: true })).filter((f) =>
        /^\d{4}-\d{2}-\d{2}\/replayed\/0000000003-000000000000\.(payload|reason\.json)$/.test(f),
      ),
    ).toHaveLength(2);

    const after = io(env);
    expect(await main(['dlq', 'list', '--json'], after.streams)).toBe(0);
    expect((JSON.parse(after.text.out) as Array<{ code: string }>).map((e) => e.code)).toEqual([
      'invalid_json',
    ]);
  });

  it('replays the spools received since a time into a sink, idempotently', async () => {
    const now = Date.now();
    const client = await openSpoolWriter({ dir: path.join(data.dir, 'spool', 'client') });
    const server = await openSpoolWriter({ dir: path.join(data.dir, 'spool', 'server') });
    await client.append(json(clientBatch(1, 4, now - 10 * DAY_MS))); // too old for --since 2d
    await client.append(json(clientBatch(2, 4, now - DAY_MS)));
    await client.append(json(clientBatch(3, 4, now - 1000, 'other-app')));
    await server.append(json(serverLogs(4, 3, now - 1000)));
    await client.close();
    await server.close();

    for (let round = 0; round < 2; round += 1) {
      const run = io(env);
      expect(await main(['replay', '--sink', 'duckdb', '--since', '2d'], run.streams)).toBe(0);
      expect(run.text.out).toMatch(/^replayed 8 events and 3 server logs from 3 batches to duckdb/);
    }
    expect((await rows('SELECT count(*) AS n, count(DISTINCT id) AS d FROM events'))[0]).toEqual({
      n: '8',
      d: '8',
    });
    expect((await rows('SELECT count(*) AS n FROM server_logs'))[0]).toEqual({ n: '3' });

    const oneApp = io(env);
    expect(
      await main(['replay', '--sink', 'duckdb', '--since', '30d', '--app', 'shop'], oneApp.streams),
    ).toBe(0);
    expect(oneApp.text.out).toMatch(/^replayed 8 events and 3 server logs from 3 batches/);
    expect((await rows('SELECT count(*) AS n FROM events'))[0]).toEqual({ n: '12' });
  });

  it('replays from the Blob archive', async () => {
    const archive = createBlobArchiveSink({
      connectionString: azurite.connectionString,
      container: 'replay-archive',
    });
    const batches = [
      clientBatch(1, 5, Date.parse('2024-05-01T10:00:00Z')),
      clientBatch(2, 5, Date.parse('2024-05-03T09:00:00Z')),
    ];
    for (const batch of batches) {
      const decoded = decodeRecord(json(batch), 'client');
      if (!decoded.ok) throw new Error(decoded.reason);
      expect(
        await archive.export(decoded.value.kind === 'client' ? decoded.value.events : [], [
          decoded.value.raw,
        ]),
      ).toEqual({
        status: 'ok',
      });
    }
    await archive.close();

    const archiveEnv = {
      ...env,
      TELLTALE_BLOB_CONNECTION_STRING: azurite.connectionString,
      TELLTALE_BLOB_ARCHIVE_CONTAINER: 'replay-archive',
    };
    const run = io(archiveEnv);
    const code = await main(
      ['replay', '--sink', 'duckdb', '--from', 'archive', '--since', '2024-05-02', '--until', '2024-06-01'],
      run.streams,
    );
    expect(run.text.err).toBe('');
    expect(code).toBe(0);
    expect(run.text.out).toContain('replayed 5 events and 0 server logs from 1 batches to duckdb');
    expect(run.text.out).toContain('from the Blob archive');
    expect((await rows('SELECT DISTINCT batch_id FROM events'))[0]).toEqual({ batch_id: 'b-2' });
  });

  it('refuses a wrong command line with the usage, and an unknown sink naming the choices', async () => {
    const missing = io(env);
    expect(await main(['replay', '--sink', 'duckdb'], missing.streams)).toBe(2);
    expect(missing.text.err).toContain('--since is required');
    const badTime = io(env);
    expect(await main(['replay', '--sink', 'duckdb', '--since', 'yesterday'], badTime.streams)).toBe(2);
    expect(badTime.text.err).toContain('--since "yesterday" is not a time');
    const badSink = io(env);
    expect(await main(['replay', '--sink', 'kafka', '--since', '1d'], badSink.streams)).toBe(1);
    expect(badSink.text.err).toContain('TELLTALE_ERR_INVALID_CONFIG: --sink: "kafka" is not a sink');
    const unconfigured = io(env);
    expect(await main(['replay', '--sink', 'clickhouse', '--since', '1d'], unconfigured.streams)).toBe(1);
    expect(unconfigured.text.err).toContain('TELLTALE_CLICKHOUSE_URL: is required');
  });
});
