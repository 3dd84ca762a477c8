import path from 'node:path';
import { openSpoolWriter, type SpoolWriter } from '@telltale/spool';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  clickHouseEventRow,
  createClickHouseSink,
  createDecodePool,
  decodeRecord,
  enrichEnvelope,
  eventsTabSeparated,
  resolveDispatcherConfig,
  startDispatchers,
  WIRE_ENCODERS,
  type DecodePool,
  type Dispatchers,
  type EnrichedEvent,
} from '@telltale/dispatchers';
import type { SpoolEnvelope } from '@telltale/protocol';
import { clientBatch, json, serverLogs } from './corpus.js';
import { tempDir, waitFor } from './helpers.js';
import { startClickHouse, type ClickHouseServer } from './services.js';

/** Values every text format must carry exactly: separators, escapes, quotes, NULL-looking text, non-ASCII. */
const AWKWARD = ['a\tb', 'line\nbreak\r\n', 'back\\slash \\N \\t', '"quoted", \'single\'', '', 'ünï 😀 中文'];

/** Client batches whose error messages, users and urls are the awkward values, plus plain ones. */
function hostileBatches(): SpoolEnvelope[] {
  return AWKWARD.map((text, n) => {
    const batch = clientBatch(100 + n, 8);
    if (text === '') delete batch.batch.user;
    else batch.batch.user = `u ${text}`;
    for (const event of batch.batch.events) {
      if (event.kind === 'error') event.message = text;
      if (event.kind === 'log') event.message = `log ${text}`;
      event.url = `/p?q=${text}`;
    }
    return batch;
  }).concat([clientBatch(1, 20), clientBatch(2, 3)]);
}

describe('wire formats: sink text rendered by the decode workers', () => {
  let pool: DecodePool | undefined;
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
  });

  it("renders exactly the ClickHouse sink's own TabSeparated body, record by record", () => {
    const events = hostileBatches().flatMap((b) => enrichEnvelope(b));
    const sinkBody = Buffer.concat(eventsTabSeparated(events).chunks).toString('utf8');
    expect(WIRE_ENCODERS['clickhouse-tsv']!(events)).toBe(sinkBody);
    expect(sinkBody.split('\n')).toHaveLength(events.length + 1);
  });

  it("gives each event its own record's batch values when one body mixes records", () => {
    // Records that differ in every batch-level column (user, release, session, user agent, load time,
    // receive time), rendered in one body, switching back to the first record at the end.
    const [first, second] = [clientBatch(7, 5, 1_700_000_000_000), clientBatch(8, 5, 1_700_000_999_000)];
    Object.assign(second.batch, { user: 'u2', account: 'acc', release: '2.0', session: 's-2', loadMs: 7.5 });
    second.batch.adblock = true;
    second.userAgent =
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1';
    const events = [first, second, first].flatMap((b) => enrichEnvelope(b));
    const unescape = (v: string): string | null =>
      v === '\\N' ? null : v.replace(/\\(.)/g, (_, c: string) => ({ t: '\t', n: '\n', r: '\r' })[c] ?? c);
    const lines = WIRE_ENCODERS['clickhouse-tsv']!(events).split('\n').slice(0, -1);
    expect(lines).toHaveLength(events.length);
    for (const [i, line] of lines.entries()) {
      const expected = Object.values(clickHouseEventRow(events[i]!)).map((v) =>
        v === null ? null : String(v),
      );
      expect(line.split('\t').map(unescape)).toEqual(expected);
    }
    expect(new Set(events.map((e) => `${e.browser}/${e.os}`)).size).toBe(2);
  });

  it('hands each record its own lines, its event count and its regroup keys; none for server logs or poison', async () => {
    pool = await createDecodePool({ threads: 1, formats: ['clickhouse-tsv'] });
    const batches = hostileBatches();
    const payloads = [...batches.map(json), json(serverLogs(3, 2)), Buffer.from('{"v":1,')];
    const results = await pool.decode(payloads, 'mixed');
    expect(pool.stats().tasks).toBeGreaterThan(0);
    for (const [i, batch] of batches.entries()) {
      const result = results[i]!;
      if (!result.ok || result.value.kind !== 'client') throw new Error(`record ${i} not decoded`);
      const events = enrichEnvelope(batch);
      expect(result.value.encoded?.['clickhouse-tsv']?.toString('utf8')).toBe(
        WIRE_ENCODERS['clickhouse-tsv']!(events),
      );
      expect(result.value.count).toBe(events.length);
      expect(result.value.regroupable).toEqual(['shop\u00001.4.2']);
      // The rows are still there for consumers without a wire format (the alerter), the same as inline.
      const inline = decodeRecord(payloads[i]!, 'client');
      expect(inline.ok && inline.value.kind === 'client' ? inline.value.events : []).toEqual(
        result.value.events,
      );
    }
    // Without rows (every consumer takes a wire format) a reader of `events` still gets the same rows.
    await pool.close();
    pool = await createDecodePool({ threads: 1, formats: ['clickhouse-tsv'], rows: false });
    const bare = await pool.decode(payloads, 'mixed');
    for (const [i, result] of bare.entries())
      if (result.ok && result.value.kind === 'client') {
        expect(result.value.count).toBe(batches[i]!.batch.events.length);
        expect(result.value.events).toEqual(enrichEnvelope(batches[i]!));
      }
    const server = results[batches.length]!;
    expect(server.ok && server.value.kind).toBe('server');
    expect(results[batches.length + 1]).toMatchObject({ ok: false, code: 'invalid_json' });
  });
});

/** Against a real ClickHouse server: the bytes path stores what the row path stores. */
describe('ClickHouse through the wire format', () => {
  let clickhouse: ClickHouseServer;
  let dir: string;
  let cleanup: () => Promise<void>;
  let spool: SpoolWriter;
  let dispatchers: Dispatchers | undefined;

  beforeAll(async () => {
    clickhouse = await startClickHouse();
  });
  afterAll(async () => {
    await clickhouse?.destroy();
  });
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    spool = await openSpoolWriter({ dir: path.join(dir, 'spool', 'client') });
  });
  afterEach(async () => {
    await dispatchers?.close();
    dispatchers = undefined;
    await spool.close();
    await cleanup();
  });

  const everyColumn = (database: string): Promise<string> =>
    clickhouse.query(`SELECT * FROM ${database}.events FINAL ORDER BY app, id FORMAT TSV`);

  it('stores every value exactly as the row path does, each event once', async () => {
    const batches = hostileBatches();
    // The row path: the sink's export() with enriched rows, into its own database.
    const rowsSink = createClickHouseSink({ url: clickhouse.url, database: 'by_rows' });
    const rows: EnrichedEvent[] = batches.flatMap((b) => enrichEnvelope(b));
    try {
      expect(await rowsSink.export(rows)).toEqual({ status: 'ok' });
    } finally {
      await rowsSink.close();
    }

    // The live path: spool → decode pool (renders TabSeparated) → exportEncoded; one record twice.
    for (const batch of [...batches, batches[0]!]) await spool.append(json(batch));
    const config = resolveDispatcherConfig(
      {
        dataDir: dir,
        pollMs: 50,
        dispatchThreads: 1,
        sinks: ['clickhouse'],
        clickhouse: { url: clickhouse.url, database: 'by_bytes' },
        retention: { clickhouse: 0 },
      },
      {},
    );
    dispatchers = await startDispatchers(config, {
      spoolDir: spool.dir,
      notify: (listener) => spool.onAppend(listener),
    });
    const consumer = () => dispatchers!.stats().consumers.find((c) => c.name === 'clickhouse');
    await waitFor(
      'the ClickHouse consumer past every record',
      () => consumer()?.records === batches.length + 1,
      30_000,
    );
    // Every event went as the workers' bytes (the repeated record's too): no row was built for the sink.
    const all = rows.length + batches[0]!.batch.events.length;
    expect(consumer()).toMatchObject({ events: all, encodedEvents: all });

    // No sink needs rows, so the workers built none; the alerter still decided the new subjects
    // (it decodes the rows again for a record that raises something new).
    await waitFor('the alerts consumer past every record', () =>
      dispatchers!.stats().consumers.every((c) => c.records === batches.length + 1),
    );
    const alerts = (await dispatchers.listAlerts()).map((a) => a.key).sort();
    expect(alerts).toEqual(
      expect.arrayContaining(['first-feature:shop:export-csv', 'new-assert:shop:cart-total-positive']),
    );
    expect(alerts.filter((key) => key.startsWith('new-error:shop:'))).toHaveLength(
      new Set(rows.filter((e) => e.kind === 'error').map((e) => e.fingerprint)).size,
    );

    // FINAL: what a reader sees once ReplacingMergeTree has folded the repeated record's rows.
    const stored = await everyColumn('by_bytes');
    expect(stored.split('\n').filter((line) => line !== '')).toHaveLength(rows.length);
    expect(stored).toBe(await everyColumn('by_rows'));
    const messages = (
      await clickhouse.query(
        `SELECT DISTINCT message FROM by_bytes.events WHERE kind = 'error' FORMAT JSONEachRow`,
      )
    )
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => (JSON.parse(line) as { message: string }).message);
    for (const text of AWKWARD) expect(messages).toContain(text);
  });
});
