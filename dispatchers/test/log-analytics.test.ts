import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { openSpoolWriter, type SpoolWriter } from '@telltale/spool';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  enrichEnvelope,
  logAnalyticsEventRow,
  logAnalyticsServerLogRow,
  resolveDispatcherConfig,
  serverLogRows,
  startDispatchers,
  type Dispatchers,
} from '@telltale/dispatchers';
import { clientBatch, json, serverLogs } from './corpus.js';
import { tempDir, waitFor } from './helpers.js';
import {
  LA_MAX_BYTES,
  LA_RULE_ID,
  startLogsIngestionServer,
  staticCredential,
  type LogsIngestionServer,
} from './services.js';

const EVENTS = 'Custom-TelltaleEvents_CL';
const SERVER = 'Custom-TelltaleServerLogs_CL';

/** The real @azure/monitor-ingestion client against a contract server of the Logs Ingestion API. */
describe('Log Analytics sink', () => {
  let la: LogsIngestionServer;
  let dir: string;
  let cleanup: () => Promise<void>;
  let client: SpoolWriter;
  let server: SpoolWriter;
  let dispatchers: Dispatchers | undefined;

  beforeAll(async () => {
    la = await startLogsIngestionServer();
  });
  afterAll(async () => {
    await la?.close();
  });

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    client = await openSpoolWriter({ dir: path.join(dir, 'spool', 'client') });
    server = await openSpoolWriter({ dir: path.join(dir, 'spool', 'server') });
    la.accepted.clear();
    la.requests.length = 0;
  });

  afterEach(async () => {
    await dispatchers?.close();
    dispatchers = undefined;
    await client.close();
    await server.close();
    await cleanup();
  });

  async function start(): Promise<Dispatchers> {
    // Log Analytics alone: no DuckDB instance is needed when duckdb is not among the sinks.
    const config = resolveDispatcherConfig(
      { dataDir: dir, pollMs: 50, sinks: ['log-analytics'] },
      { TELLTALE_LA_ENDPOINT: la.endpoint, TELLTALE_LA_RULE_ID: LA_RULE_ID },
    );
    dispatchers = await startDispatchers(config, {
      spoolDir: client.dir,
      notify: (listener) => client.onAppend(listener),
      serverLogs: { spoolDir: server.dir, notify: (listener) => server.onAppend(listener) },
      azureCredential: staticCredential,
      logAnalyticsClientOptions: { tlsOptions: { ca: la.ca } },
    });
    return dispatchers;
  }

  const ids = (stream: string, key = 'EventId'): string[] =>
    (la.accepted.get(stream) ?? []).map((row) => String(row[key]));
  const consumer = (name: string) => dispatchers?.stats().consumers.find((c) => c.name === name);

  it('delivers every event exactly once through a spell of 429s and 500s', async () => {
    await start();
    const stopThrottling = la.fail({ status: 429, retryAfterSeconds: 1 });
    for (let n = 0; n < 6; n += 1) await client.append(json(clientBatch(n, 25)));
    await waitFor('throttled calls', () => la.requests.filter((r) => r.status === 429).length >= 2);
    stopThrottling();
    la.fail({ status: 500, times: 3 });
    for (let n = 6; n < 12; n += 1) await client.append(json(clientBatch(n, 25)));
    await waitFor('a 500 answered', () => la.requests.some((r) => r.status === 500));

    await waitFor('every event arrived', () => ids(EVENTS).length >= 300, 60_000);
    await waitFor('checkpoint past the last batch', () => consumer('log-analytics')?.records === 12);
    const arrived = ids(EVENTS);
    expect(arrived).toHaveLength(300);
    expect(new Set(arrived).size).toBe(300); // none twice
    expect(consumer('log-analytics')?.retries).toBeGreaterThanOrEqual(2);
    expect(consumer('log-analytics')?.deadLettered).toEqual({});

    const error = la.accepted.get(EVENTS)?.find((row) => row.EventId === 'e-0-0');
    expect(error).toMatchObject({
      App: 'shop',
      Kind: 'error',
      ErrorType: 'TypeError',
      SessionId: 's-0',
      UserId: 'u-0',
      Release: '1.4.2',
      TraceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      Browser: 'Chrome',
      Count: 1,
    });
    expect(typeof error?.Fingerprint).toBe('string');
    expect(new Date(String(error?.TimeGenerated)).toISOString()).toBe(error?.TimeGenerated);
    const feature = la.accepted.get(EVENTS)?.find((row) => row.EventId === 'e-0-1');
    expect(feature?.Attributes).toEqual({ rows: 1 }); // a dynamic column, not a JSON string
  });

  it('keeps every call under 1 MB, and retries only the logs of the call that failed', async () => {
    const d = await start();
    // ~2.5 MB of rows in one hand-over: several calls; the one holding e-3-0 fails twice.
    const big = (n: number) => {
      const batch = clientBatch(n, 100);
      for (const event of batch.batch.events)
        if (event.kind === 'log') event.message = 'cart opened; '.repeat(600);
      return batch;
    };
    la.fail({ status: 503, times: 2, when: (rows) => rows.some((row) => row.EventId === 'e-3-0') });
    for (let n = 0; n < 10; n += 1) await client.append(json(big(n)));

    await waitFor('every event arrived', () => ids(EVENTS).length >= 1000, 60_000);
    await waitFor('checkpoint moved', () => consumer('log-analytics')?.records === 10);
    expect(ids(EVENTS)).toHaveLength(1000);
    expect(new Set(ids(EVENTS)).size).toBe(1000);
    expect(la.requests.every((r) => r.bytes <= LA_MAX_BYTES)).toBe(true);
    expect(la.requests.some((r) => r.status === 413)).toBe(false);
    const ok = la.requests.filter((r) => r.status === 204);
    expect(ok.length).toBeGreaterThanOrEqual(3);
    // The two failures were re-sent alone: the rows accepted add up exactly, with nothing resent.
    expect(la.requests.filter((r) => r.status === 503)).toHaveLength(2);
    expect(ok.reduce((sum, r) => sum + r.rows, 0)).toBe(1000);
    expect(d.stats().sinks[0]?.name).toBe('log-analytics');
  });

  it('dead-letters a batch the service refuses, with the reason, and ships the ones after it', async () => {
    await start();
    la.fail({ status: 400, when: (rows) => rows.some((row) => row.EventId === 'e-2-0') });
    for (let n = 0; n < 2; n += 1) await client.append(json(clientBatch(n, 4)));
    await client.append(json(clientBatch(2, 4))); // refused by the service
    await client.append(Buffer.from('{"v":1,"app":"shop", not json')); // cannot even be decoded
    for (let n = 3; n < 5; n += 1) await client.append(json(clientBatch(n, 4)));

    await waitFor('the good batches arrived', () => ids(EVENTS).length >= 16, 30_000);
    await waitFor('all six records handled', () => consumer('log-analytics')?.records === 6);
    expect(ids(EVENTS).sort()).toEqual(
      [0, 1, 3, 4].flatMap((n) => [0, 1, 2, 3].map((i) => `e-${n}-${i}`)).sort(),
    );
    expect(consumer('log-analytics')?.deadLettered).toEqual({ sink_rejected: 1, invalid_json: 1 });
    const deadDir = path.join(dir, 'dead-letter', 'log-analytics');
    const reasons = await Promise.all(
      (await readdir(deadDir, { recursive: true }))
        .filter((f) => f.endsWith('.reason.json'))
        .map(
          async (f) =>
            JSON.parse(await readFile(path.join(deadDir, f), 'utf8')) as { code: string; reason: string },
        ),
    );
    expect(reasons.find((r) => r.code === 'sink_rejected')?.reason).toMatch(/^log-analytics: HTTP 400/);
    expect(reasons.find((r) => r.code === 'invalid_json')?.reason).toMatch(/not JSON/);
  });

  it("ships server logs to their own table, on the client events' keys", async () => {
    await start();
    await server.append(json(serverLogs(1, 3)));
    await waitFor('server logs arrived', () => ids(SERVER, 'LogId').length === 3);
    expect(la.accepted.get(SERVER)?.[0]).toMatchObject({
      LogId: 'l-1-0',
      App: 'shop',
      Service: 'api',
      Level: 'info',
      TraceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      SessionId: 's-1',
      UserId: 'u-1',
      Release: '2.0.1',
      Attributes: { status: 500, route: '/api/cart' },
    });
    expect(String(la.accepted.get(SERVER)?.[0]?.Message)).not.toContain('user@example.com');
    // The consumer counts a call once it returns, a moment after the server has the rows.
    await waitFor(
      'the consumer to count the shipped logs',
      () =>
        dispatchers?.stats().serverLogConsumers.find((c) => c.name === 'log-analytics.server')?.logs === 3,
    );
  });
});

describe('Log Analytics deployment (deploy/azure/log-analytics.json)', () => {
  it('declares exactly the columns the sink writes, for both streams and tables', async () => {
    const template = JSON.parse(
      await readFile(new URL('../../deploy/azure/log-analytics.json', import.meta.url), 'utf8'),
    ) as {
      resources: Array<{
        type: string;
        name: string;
        properties: {
          schema?: { name: string; columns: Array<{ name: string }> };
          streamDeclarations?: Record<string, { columns: Array<{ name: string }> }>;
        };
      }>;
    };
    const names = (columns: Array<{ name: string }>) => columns.map((c) => c.name).sort();
    const written = {
      Custom_TelltaleEvents_CL: Object.keys(
        logAnalyticsEventRow(enrichEnvelope(clientBatch(1, 1))[0]!),
      ).sort(),
      Custom_TelltaleServerLogs_CL: Object.keys(
        logAnalyticsServerLogRow(serverLogRows(serverLogs(1, 1))[0]!),
      ).sort(),
    };
    const rule = template.resources.find((r) => r.type === 'Microsoft.Insights/dataCollectionRules');
    expect(names(rule!.properties.streamDeclarations!['Custom-TelltaleEvents_CL']!.columns)).toEqual(
      written.Custom_TelltaleEvents_CL,
    );
    expect(names(rule!.properties.streamDeclarations!['Custom-TelltaleServerLogs_CL']!.columns)).toEqual(
      written.Custom_TelltaleServerLogs_CL,
    );
    const tables = template.resources.filter(
      (r) => r.type === 'Microsoft.OperationalInsights/workspaces/tables',
    );
    expect(
      names(
        tables.find((t) => t.properties.schema?.name === 'TelltaleEvents_CL')!.properties.schema!.columns,
      ),
    ).toEqual(written.Custom_TelltaleEvents_CL);
    expect(
      names(
        tables.find((t) => t.properties.schema?.name === 'TelltaleServerLogs_CL')!.properties.schema!.columns,
      ),
    ).toEqual(written.Custom_TelltaleServerLogs_CL);
  });
});
