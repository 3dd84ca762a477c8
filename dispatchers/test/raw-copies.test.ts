import { mkdir, readdir, readFile, rename, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { openSpoolWriter } from '@telltale/spool';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  containerFromConnectionString,
  createBlobArchiveSink,
  createDeadLetterWriter,
  decodeRecord,
  dropDeadLetterDaysBefore,
  readDeadLetters,
  resolveDispatcherConfig,
  scrubRawPayload,
  startDispatchers,
} from '@telltale/dispatchers';
import { DAY_MS, json } from './corpus.js';
import { ERROR_STACK, envelope, errorEvent, featureEvent, tempDir } from './helpers.js';
import { startAzurite, type Azurite } from '../../test-support/azurite.js';

/** A batch carrying what the stores would scrub, in every place a sender can put it. */
function leakyBatch(batchId: string, receivedAt = Date.now()) {
  const env = envelope(batchId, [
    errorEvent('e-leak-1', {
      message: 'login failed for alice@example.com with password=hunter2',
      url: '/account?email=alice@example.com',
      breadcrumbs: [{ ts: 1, category: 'ui', message: 'Authorization: Bearer abcdefghijklmnop.qrstuvwx' }],
    }),
    {
      ...featureEvent('f-leak-1', 'export-csv'),
      props: { password: 'hunter2', rows: 3, note: 'card 4111 1111 1111 1111' },
    } as ReturnType<typeof featureEvent>,
  ]);
  return { ...env, receivedAt };
}
const SECRETS = ['alice@example.com', 'hunter2', 'abcdefghijklmnop', '4111 1111 1111 1111'];

const modeOf = async (file: string): Promise<string> => ((await stat(file)).mode & 0o777).toString(8);

describe('raw copies outside the spool: scrubbed, private, expiring', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const previousUmask = process.umask(0o022); // the common default: no help from the umask
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterEach(async () => {
    await cleanup();
  });
  afterAll(() => {
    process.umask(previousUmask);
  });

  it('scrubs a JSON payload like the stores, keeping ids, structure and stack frames', () => {
    const raw = json(leakyBatch('b-1', 1_714_000_001_000));
    const copy = scrubRawPayload(raw);
    const text = copy.body.toString();
    for (const secret of SECRETS) expect(text).not.toContain(secret);
    const parsed = JSON.parse(text) as ReturnType<typeof leakyBatch>;
    expect(parsed.batch.batchId).toBe('b-1');
    expect(parsed.batch.events.map((e) => e.id)).toEqual(['e-leak-1', 'f-leak-1']);
    expect(parsed.receivedAt).toBe(1_714_000_001_000);
    const [error, feature] = parsed.batch.events as Array<Record<string, unknown>>;
    expect(error!.url).toBe('/account');
    expect(error!.stack).toBe(ERROR_STACK); // frames intact: a replay groups it as live
    expect(feature!.props).toMatchObject({ password: '[Filtered]', rows: 3 });
    // Still a batch the pipeline decodes: a dead letter that a sink refused can be replayed.
    expect(decodeRecord(copy.body, 'client').ok).toBe(true);
    expect(copy.info).toMatchObject({ format: 'json', bytes: raw.length, truncated: false });
  });

  it('bounds the walk: deep nesting replaced, a "__proto__" key stays a plain key', () => {
    const deep = `${'['.repeat(10_000)}"alice@example.com"${']'.repeat(10_000)}`;
    const copy = scrubRawPayload(Buffer.from(`{"deep":${deep},"__proto__":{"polluted":true}}`));
    expect(copy.body.toString()).not.toContain('alice@example.com');
    expect(copy.body.toString()).toContain('[Filtered: nested too deep]');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('keeps of a payload that is not JSON only capped scrubbed text, its size and sha256', () => {
    const poison = Buffer.from(`{"v":1, oops alice@example.com token=abc123secret\n${'x'.repeat(200_000)}`);
    const copy = scrubRawPayload(poison);
    expect(copy.info).toMatchObject({ format: 'text', bytes: poison.length, truncated: true });
    expect(copy.info.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(copy.body.length).toBeLessThanOrEqual(64 * 1024);
    expect(copy.body.toString()).toContain('{"v":1, oops');
    expect(copy.body.toString()).not.toMatch(/alice@example\.com|abc123secret/);
  });

  it('writes dead letters scrubbed, 0600 in 0700 day folders, and lists them', async () => {
    const writer = createDeadLetterWriter(dir, 'duckdb');
    await writer.write({ segment: 2, offset: 0 }, json(leakyBatch('b-2')), 'sink_rejected', 'duckdb: …');
    await writer.write(
      { segment: 2, offset: 700 },
      Buffer.from('not json alice@example.com'),
      'invalid_json',
      'x',
    );
    const day = new Date().toISOString().slice(0, 10);
    const dayDir = path.join(dir, 'dead-letter', 'duckdb', day);
    expect((await readdir(dayDir)).sort()).toEqual([
      '0000000002-000000000000.payload',
      '0000000002-000000000000.reason.json',
      '0000000002-000000000700.payload',
      '0000000002-000000000700.reason.json',
    ]);
    for (const folder of [path.join(dir, 'dead-letter'), path.join(dir, 'dead-letter', 'duckdb'), dayDir])
      expect(await modeOf(folder)).toBe('700');
    for (const file of await readdir(dayDir)) expect(await modeOf(path.join(dayDir, file))).toBe('600');
    for (const file of await readdir(dayDir)) {
      const text = await readFile(path.join(dayDir, file), 'utf8');
      for (const secret of SECRETS) expect(text).not.toContain(secret);
    }
    const entries = await readDeadLetters(dir, 'duckdb');
    expect(entries.map((e) => [e.name, e.day, e.code, e.payload?.format])).toEqual([
      ['0000000002-000000000000', day, 'sink_rejected', 'json'],
      ['0000000002-000000000700', day, 'invalid_json', 'text'],
    ]);
  });

  it('drops whole day folders past retention, replayed entries and undated old ones included', async () => {
    const writer = createDeadLetterWriter(dir, 'duckdb');
    await writer.write({ segment: 1, offset: 0 }, json(leakyBatch('b-old')), 'sink_rejected', 'old');
    const consumerDir = path.join(dir, 'dead-letter', 'duckdb');
    const today = new Date().toISOString().slice(0, 10);
    const old = new Date(Date.now() - 20 * DAY_MS).toISOString().slice(0, 10);
    // What 20 days leave: an old day folder (with a replayed entry), today's, and a flat entry of an older version.
    await rename(path.join(consumerDir, today), path.join(consumerDir, old));
    await mkdir(path.join(consumerDir, old, 'replayed'));
    await writeFile(path.join(consumerDir, old, 'replayed', 'x.payload'), '{}');
    await writer.write({ segment: 1, offset: 500 }, json(leakyBatch('b-new')), 'sink_rejected', 'new');
    for (const ext of ['payload', 'reason.json']) {
      const file = path.join(consumerDir, `0000000000-000000000001.${ext}`);
      await writeFile(
        file,
        ext === 'payload' ? '{}' : '{"consumer":"duckdb","code":"x","reason":"y","time":"z"}',
      );
      await utimes(file, new Date(Date.now() - 30 * DAY_MS), new Date(Date.now() - 30 * DAY_MS));
    }
    expect((await readDeadLetters(dir, 'duckdb')).map((e) => e.day ?? 'undated')).toEqual([
      old,
      today,
      'undated',
    ]);

    // Through the dispatchers, as the hourly retention runs it (default 14 days).
    const config = resolveDispatcherConfig({ dataDir: dir, pollMs: 50, retention: { duckdb: 0 } }, {});
    expect(config.retention.deadLetters).toBe(14);
    const spool = await openSpoolWriter({ dir: path.join(dir, 'spool', 'client') });
    const duckdb = await DuckDBInstance.create(path.join(dir, 'telltale.duckdb'));
    const dispatchers = await startDispatchers(config, { duckdb, spoolDir: spool.dir });
    try {
      const report = (await dispatchers.runRetention()).find((r) => r.sink === 'dead-letter');
      expect(report).toMatchObject({ days: 14, lastError: undefined });
      expect(report?.dropped).toContain(`duckdb/${old}`);
    } finally {
      await dispatchers.close();
      duckdb.closeSync();
      await spool.close();
    }
    expect((await readDeadLetters(dir, 'duckdb')).map((e) => e.day)).toEqual([today]);
    expect(await readdir(consumerDir)).toEqual([today]);
    expect(await dropDeadLetterDaysBefore(dir, today)).toEqual([]);
  });

  it('keeps dead letters forever only when told: TELLTALE_DEAD_LETTER_RETENTION_DAYS=0, and refuses nonsense', () => {
    expect(
      resolveDispatcherConfig({}, { TELLTALE_DEAD_LETTER_RETENTION_DAYS: '0' }).retention.deadLetters,
    ).toBe(0);
    expect(() => resolveDispatcherConfig({}, { TELLTALE_DEAD_LETTER_RETENTION_DAYS: 'two weeks' })).toThrow(
      /TELLTALE_DEAD_LETTER_RETENTION_DAYS: "two weeks" must be a whole number/,
    );
    // The archive's default is finite too.
    expect(resolveDispatcherConfig({}, {}).retention.blobArchive).toBe(30);
  });
});

describe('the Blob archive keeps scrubbed batches', () => {
  let azurite: Azurite;
  beforeAll(async () => {
    azurite = await startAzurite();
  });
  afterAll(async () => {
    await azurite?.stop();
  });

  it('archives a batch with what the stores would scrub scrubbed', async () => {
    const archive = createBlobArchiveSink({
      connectionString: azurite.connectionString,
      container: 'scrubbed',
    });
    const batch = leakyBatch('b-leak', Date.parse('2024-05-01T10:00:00Z'));
    const decoded = decodeRecord(json(batch), 'client');
    if (!decoded.ok) throw new Error(decoded.reason);
    const events = decoded.value.kind === 'client' ? decoded.value.events : [];
    expect(await archive.export(events, [decoded.value.raw])).toEqual({ status: 'ok' });
    await archive.close();
    const stored = gunzipSync(
      await containerFromConnectionString(azurite.connectionString, 'scrubbed')
        .getBlobClient('shop/2024/05/01/10/b-leak.json.gz')
        .downloadToBuffer(),
    ).toString();
    for (const secret of SECRETS) expect(stored).not.toContain(secret);
    expect(JSON.parse(stored)).toMatchObject({ app: 'shop', batch: { batchId: 'b-leak' } });
  });
});
