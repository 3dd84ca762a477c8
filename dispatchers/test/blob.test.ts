import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { openSpoolReader, openSpoolWriter, type SpoolPosition, type SpoolWriter } from '@telltale/spool';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  containerFromConnectionString,
  readDeadLetters,
  resolveDispatcherConfig,
  startDispatchers,
  type DispatcherOptions,
  type Dispatchers,
} from '@telltale/dispatchers';
import { clientBatch, DAY_MS, json, serverLogs } from './corpus.js';
import { tempDir, waitFor } from './helpers.js';
import { startAzurite, type Azurite } from '../../test-support/azurite.js';

/** The Blob archive sink and the Blob container source, against Azurite. */
describe('Azure Blob', () => {
  let azurite: Azurite;
  let dir: string;
  let cleanup: () => Promise<void>;
  let duckdb: DuckDBInstance;
  let reader: DuckDBConnection;
  let client: SpoolWriter;
  let server: SpoolWriter;
  let dispatchers: Dispatchers | undefined;
  let containers = 0;
  let container: string;

  beforeAll(async () => {
    azurite = await startAzurite();
  });
  afterAll(async () => {
    await azurite?.stop();
  });

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    duckdb = await DuckDBInstance.create(path.join(dir, 'telltale.duckdb'));
    reader = await duckdb.connect();
    client = await openSpoolWriter({ dir: path.join(dir, 'spool', 'client') });
    server = await openSpoolWriter({ dir: path.join(dir, 'spool', 'server') });
    containers += 1;
    container = `test-${containers}`;
  });

  afterEach(async () => {
    await dispatchers?.close();
    dispatchers = undefined;
    await client.close();
    await server.close();
    reader.closeSync();
    duckdb.closeSync();
    await cleanup();
  });

  async function start(options: DispatcherOptions): Promise<Dispatchers> {
    const config = resolveDispatcherConfig(
      { dataDir: dir, pollMs: 50, retention: { duckdb: 0, blobArchive: 0 }, ...options },
      { TELLTALE_BLOB_CONNECTION_STRING: azurite.connectionString },
    );
    dispatchers = await startDispatchers(config, {
      duckdb,
      spoolDir: client.dir,
      notify: (listener) => client.onAppend(listener),
      serverLogs: { spoolDir: server.dir, notify: (listener) => server.onAppend(listener) },
    });
    return dispatchers;
  }

  const blobs = async (name = container): Promise<string[]> => {
    const out: string[] = [];
    for await (const blob of containerFromConnectionString(azurite.connectionString, name).listBlobsFlat())
      out.push(blob.name);
    return out.sort();
  };
  const download = async (name: string): Promise<Buffer> =>
    containerFromConnectionString(azurite.connectionString, container).getBlobClient(name).downloadToBuffer();
  const hourPrefix = (ms: number): string => new Date(ms).toISOString().slice(0, 13).replace(/[-T]/g, '/');
  const duckCount = async (sql: string): Promise<number> =>
    Number((await reader.runAndReadAll(sql)).getRows()[0]?.[0] ?? -1);

  it('archives each raw batch gzipped at app/yyyy/mm/dd/hh/<batchId>.json.gz', async () => {
    await start({ sinks: ['duckdb', 'blob-archive'], blobArchive: { container } });
    const now = Date.now();
    const batches = [clientBatch(1, 3, now), clientBatch(2, 3, now)];
    for (const batch of batches) await client.append(json(batch));
    await server.append(json(serverLogs(1, 2, now)));
    await waitFor('three blobs', async () => (await blobs()).length === 3, 20_000);

    const names = await blobs();
    expect(names.filter((n) => !n.includes('/server-'))).toEqual([
      `shop/${hourPrefix(now)}/b-1.json.gz`,
      `shop/${hourPrefix(now)}/b-2.json.gz`,
    ]);
    expect(names.find((n) => n.includes('/server-'))).toMatch(
      new RegExp(`^shop/${hourPrefix(now)}/server-[0-9a-f]{32}\\.json\\.gz$`),
    );
    // Exactly the batch as the collector accepted it.
    expect(JSON.parse(gunzipSync(await download(`shop/${hourPrefix(now)}/b-1.json.gz`)).toString())).toEqual(
      batches[0],
    );
    await waitFor(
      'the archive checkpoint moved',
      () => dispatchers?.stats().consumers.find((c) => c.name === 'blob-archive')?.records === 2,
    );
  });

  it('drops archived days past retention by prefix', async () => {
    const now = Date.now();
    const d = await start({
      sinks: ['duckdb', 'blob-archive'],
      blobArchive: { container },
      retention: { blobArchive: 30 },
    });
    await client.append(json(clientBatch(1, 2, now - 400 * DAY_MS))); // a whole older year or month goes at once
    await client.append(json(clientBatch(2, 2, now - 35 * DAY_MS)));
    await client.append(json(clientBatch(3, 2, now)));
    await waitFor('three blobs', async () => (await blobs()).length === 3, 20_000);

    const report = (await d.runRetention()).find((r) => r.sink === 'blob-archive');
    expect(report?.dropped).toHaveLength(2);
    expect(await blobs()).toEqual([`shop/${hourPrefix(now)}/b-3.json.gz`]);
  });

  it('ingests each blob of a container once, across restarts, into every sink', async () => {
    const source = containerFromConnectionString(azurite.connectionString, container);
    await source.createIfNotExists();
    const upload = (name: string, body: Buffer, metadata?: Record<string, string>) =>
      source.getBlockBlobClient(name).uploadData(body, metadata === undefined ? {} : { metadata });
    // What clients and other systems drop there: a bare batch (app from the name), a gzipped
    // envelope, JSON lines with the app in metadata, server logs, and one blob that is not JSON.
    await upload('shop/2024/upload-1.json', json(clientBatch(1, 4).batch));
    await upload('archive/b-2.json.gz', gzipSync(json(clientBatch(2, 4))));
    await upload(
      'ndjson/two.jsonl',
      Buffer.from(`${JSON.stringify(clientBatch(3, 4).batch)}\n${JSON.stringify(clientBatch(4, 4).batch)}\n`),
      {
        app: 'shop',
      },
    );
    await upload('logs/api.json', json(serverLogs(1, 3)));
    await upload('junk/readme.txt', Buffer.from('hello, not a batch'));

    const options: DispatcherOptions = { sinks: ['duckdb'], blobSource: { container, pollMs: 100 } };
    let d = await start(options);
    await waitFor(
      'four batches and the server logs in DuckDB',
      async () =>
        (await duckCount('SELECT count(*) FROM events')) === 16 &&
        (await duckCount('SELECT count(*) FROM server_logs')) === 3,
    );
    await waitFor('the poison blob parked', () => d.stats().blobSource?.deadLettered === 1);
    const [poison] = await readDeadLetters(dir, 'blob-source');
    expect(poison).toMatchObject({ blob: 'junk/readme.txt', code: 'invalid_json' });
    expect(d.stats().blobSource).toMatchObject({ blobs: 4, records: 5 });
    await waitFor(
      'alerts read the Blob batches too',
      () => (d.stats().blobConsumers.find((c) => c.name === 'alerts.blob')?.records ?? 0) === 5,
    );
    await d.close();

    await upload('shop/2024/upload-5.json', json(clientBatch(5, 4).batch));
    await upload('shop/2024/upload-6.json', json(clientBatch(6, 4).batch));
    d = await start(options);
    await waitFor(
      'the two new blobs stored',
      async () => (await duckCount('SELECT count(*) FROM events')) === 24,
    );
    await waitFor('listing done', () => (d.stats().blobSource?.listings ?? 0) >= 2);
    // After the restart only the new blobs were read: nothing twice, nothing lost.
    expect(d.stats().blobSource).toMatchObject({ blobs: 2, records: 2, deadLettered: 0, known: 7 });
    expect(await duckCount('SELECT count(DISTINCT id) FROM events')).toBe(24);

    // The intake spool holds each blob's batches exactly once.
    const intake = openSpoolReader({ dir: path.join(dir, 'spool', 'blob') });
    let position: SpoolPosition = { segment: 0, offset: 0 };
    const batchIds: string[] = [];
    for (;;) {
      const records = await intake.read(position, 100);
      if (records.length === 0) break;
      for (const r of records) {
        const envelope = JSON.parse(r.payload.toString()) as {
          batch?: { batchId: string };
          logs?: unknown[];
        };
        batchIds.push(envelope.batch?.batchId ?? 'server-logs');
      }
      position = records[records.length - 1]!.next;
    }
    expect(batchIds.sort()).toEqual(['b-1', 'b-2', 'b-3', 'b-4', 'b-5', 'b-6', 'server-logs']);
  });
});
