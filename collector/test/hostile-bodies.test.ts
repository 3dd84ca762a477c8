import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { createCollectorMetrics, type CollectorMetrics } from '../src/index.js';
import type { IngestPoolOptions } from '../src/ingest-pool.js';
import { APPS, makeBatch, startHarness, WEB_KEY, WEB_SECRET, type Harness } from './helpers.js';
import { envelope, eventEnvelope, SENTRY_APPS, sentryEvent } from './sentry-fixtures.js';

/**
 * The security review's reproductions, scaled down but keeping their shape: bodies that are tiny
 * as sent and cheap to inflate but hold far more values (or lines, or protobuf records) than any
 * real SDK sends. Each gets a clear 413 (401 without a key) before any parser runs, and the
 * collector keeps serving other apps while they are answered.
 */
const MAX_VALUES = 512_000; // the default limits.maxBodyValues
const API_KEY = APPS[1]!.ingestKeys[0]!;

type Answer = { statusCode: number; headers: Record<string, unknown>; body: string; json(): unknown };
const errorOf = (answer: Answer) =>
  (answer.json() as { error: { code: string; message: string; limit?: number } }).error;

/** `{"events":[],"x":[{},{},…]}`: a few KB of gzip, a million empty objects once parsed. */
const manyObjects = (n: number) => Buffer.from(`{"events":[],"x":[${'{},'.repeat(n - 1)}{}]}`);
/** `{"events":[0,0,…]}` */
const manyZeros = (n: number) => Buffer.from(`{"events":[${'0,'.repeat(n - 1)}0]}`);

describe('hostile ingest bodies', () => {
  let h: Harness;
  let metrics: CollectorMetrics;
  afterEach(async () => h?.close());

  const start = async (decode?: IngestPoolOptions) => {
    metrics = createCollectorMetrics();
    h = await startHarness({ apps: SENTRY_APPS }, undefined, { metrics, ...(decode ? { decode } : {}) });
  };
  const batch = (payload: Buffer | object, key = WEB_KEY, gzip = true) =>
    h.app.inject({
      method: 'POST',
      url: '/v1/batch',
      headers: {
        'x-telltale-key': key,
        'content-type': 'application/json',
        ...(gzip ? { 'content-encoding': 'gzip' } : {}),
      },
      payload: gzip ? gzipSync(Buffer.isBuffer(payload) ? payload : JSON.stringify(payload)) : payload,
    });
  const refusedBy = (route: string, code: string, reason: string) =>
    metrics.snapshot().rejectedByReason[`${route} ${code} ${reason}`] ?? 0;

  it('refuses batches of empty objects and of zeros with 413 naming the limit, counted by reason', async () => {
    await start();
    const objects = gzipSync(manyObjects(MAX_VALUES + 1));
    expect(objects.length).toBeLessThan(20 * 1024);
    for (const body of [manyObjects(MAX_VALUES + 1), manyZeros(MAX_VALUES + 1)]) {
      const answer = await batch(body);
      expect(answer.statusCode).toBe(413);
      expect(errorOf(answer)).toMatchObject({ code: 'TELLTALE_ERR_BODY_TOO_COMPLEX', limit: MAX_VALUES });
      expect(errorOf(answer).message).toContain(`more than ${MAX_VALUES} JSON values`);
    }
    expect(refusedBy('batch', 'TELLTALE_ERR_BODY_TOO_COMPLEX', 'too_many_values')).toBe(2);
    const text = await h.app.inject({ method: 'GET', url: '/metrics' });
    expect(text.body).toContain(
      'telltale_collector_rejected_total{route="batch",code="TELLTALE_ERR_BODY_TOO_COMPLEX",reason="too_many_values"} 2',
    );
    // Commas, brackets and braces inside strings are not values: a real batch with long messages passes.
    const wordy = makeBatch();
    (wordy.events[1] as { message: string }).message = '[{,}]'.repeat(1600);
    expect((await batch(wordy)).statusCode).toBe(202);
    expect(await h.envelopes()).toHaveLength(1);
  });

  it('answers six hostile batches at once, and meanwhile another app’s batch is stored and /healthz answers', async () => {
    await start();
    const hostile = manyObjects(MAX_VALUES * 2);
    const attacks = Array.from({ length: 6 }, () => batch(hostile));
    const normal = batch(makeBatch({ release: 'normal-1' }), API_KEY);
    const health = h.app.inject({ method: 'GET', url: '/healthz' });
    // Each is refused by its budget, or, when every decode worker is taken, told to retry later.
    for (const answer of await Promise.all(attacks)) {
      const { code } = errorOf(answer);
      expect(['TELLTALE_ERR_BODY_TOO_COMPLEX', 'TELLTALE_ERR_BUSY'], answer.body).toContain(code);
      expect(answer.statusCode).toBe(code === 'TELLTALE_ERR_BUSY' ? 503 : 413);
    }
    expect((await normal).statusCode).toBe(202);
    expect((await health).json()).toEqual({ status: 'ok' });
    expect(await h.envelopes()).toMatchObject([{ app: 'api', batch: { release: 'normal-1' } }]);
  });

  it('decodes a large real batch in a worker and stores it as sent; a saturated pool answers 503 with Retry-After', async () => {
    await start({ threads: 1, maxQueue: 1, inlineMaxBytes: 1024 });
    const big = makeBatch({
      events: Array.from({ length: 200 }, (_, i) => ({
        id: `big-${i}`,
        ts: Date.now() - 1000,
        kind: 'error' as const,
        type: 'Error',
        message: `failure ${i} `.repeat(20),
      })),
    });
    const one = await batch(big);
    expect(one.statusCode).toBe(202);
    expect(one.json()).toEqual({ accepted: 200, duplicate: false });
    const [stored] = await h.envelopes();
    expect(stored).toMatchObject({ app: 'web', batch: { batchId: big.batchId } });
    expect(stored!.batch.events).toHaveLength(200);

    // Eight large batches at once with one thread and one queue slot: some wait, the rest are told to retry.
    const many = await Promise.all(
      Array.from({ length: 8 }, (_, i) => batch(makeBatch({ ...big, batchId: `${big.batchId}-${i}` }))),
    );
    const accepted = many.filter((a) => a.statusCode === 202);
    const busy = many.filter((a) => a.statusCode === 503);
    expect(accepted.length + busy.length).toBe(8);
    expect(busy.length).toBeGreaterThan(0);
    for (const answer of busy) {
      expect(errorOf(answer).code).toBe('TELLTALE_ERR_BUSY');
      expect(answer.headers['retry-after']).toBe('2');
    }
    expect(refusedBy('batch', 'TELLTALE_ERR_BUSY', 'decode_busy')).toBe(busy.length);
    expect(await h.envelopes()).toHaveLength(1 + accepted.length);
  });

  it('refuses OTLP protobuf with millions of empty ResourceLogs, OTLP JSON and /v1/logs arrays of empty objects, and NDJSON of blank lines', async () => {
    await start();
    const secret = { authorization: `Bearer ${WEB_SECRET}`, 'content-encoding': 'gzip' };
    // Field 1 (resourceLogs), length 0, repeated: two bytes a record.
    const proto = await h.app.inject({
      method: 'POST',
      url: '/otlp/v1/logs',
      headers: { ...secret, 'content-type': 'application/x-protobuf' },
      payload: gzipSync(Buffer.from('\x0a\x00'.repeat(MAX_VALUES + 1), 'latin1')),
    });
    expect(proto.statusCode).toBe(413);
    expect(proto.headers['content-type']).toContain('application/x-protobuf');
    expect(proto.body).toContain('TELLTALE_ERR_BODY_TOO_COMPLEX');
    expect(refusedBy('logs', 'TELLTALE_ERR_BODY_TOO_COMPLEX', 'too_many_fields')).toBe(1);

    const json = await h.app.inject({
      method: 'POST',
      url: '/otlp/v1/logs',
      headers: { ...secret, 'content-type': 'application/json' },
      payload: gzipSync(`{"resourceLogs":[${'{},'.repeat(MAX_VALUES)}{}]}`),
    });
    expect(json.statusCode).toBe(413);
    expect(errorOf(json)).toMatchObject({ code: 'TELLTALE_ERR_BODY_TOO_COMPLEX', limit: MAX_VALUES });

    const logs = (payload: string) =>
      h.app.inject({
        method: 'POST',
        url: '/v1/logs',
        headers: { ...secret, 'content-type': 'application/json' },
        payload: gzipSync(payload),
      });
    const array = await logs(`[${'{},'.repeat(MAX_VALUES)}{}]`);
    expect(array.statusCode).toBe(413);
    expect(errorOf(array)).toMatchObject({ code: 'TELLTALE_ERR_BODY_TOO_COMPLEX', limit: MAX_VALUES });
    const blank = await logs(`{}\n${'\n'.repeat(100_000)}`);
    expect(blank.statusCode).toBe(413);
    expect(errorOf(blank)).toMatchObject({ code: 'TELLTALE_ERR_BODY_TOO_COMPLEX', limit: 2000 });
    expect(errorOf(blank).message).toContain('more than 2000 lines');

    // A real export still goes through.
    const line = { ts: Date.now(), level: 'info', message: 'ok', service: 'api' };
    expect((await logs(JSON.stringify([line]))).statusCode).toBe(202);
    expect(await h.serverLogEnvelopes()).toHaveLength(1);
  });

  describe('Sentry envelopes', () => {
    const DSN = `https://${WEB_KEY}@telltale.example/7`;
    const tunnel = (payload: Buffer, headers: Record<string, string> = {}) =>
      h.app.inject({
        method: 'POST',
        url: '/api/7/envelope/',
        headers: { 'content-type': 'application/x-sentry-envelope', ...headers },
        payload,
      });

    it('refuses a tunnel envelope whose event items hold too many values, and serves the next one', async () => {
      await start();
      // 19 event items of {"extra":[{},…]}, the DSN only in the envelope header.
      const item = `{"extra":[${'{},'.repeat(30_000)}{}]}`;
      const body = envelope(
        { dsn: DSN },
        Array.from({ length: 19 }, () => [{ type: 'event' }, item] as [object, string]),
      );
      const answer = await tunnel(gzipSync(body), { 'content-encoding': 'gzip' });
      expect(answer.statusCode).toBe(413);
      expect(errorOf(answer)).toMatchObject({ code: 'TELLTALE_ERR_BODY_TOO_COMPLEX', limit: MAX_VALUES });
      expect(refusedBy('sentry', 'TELLTALE_ERR_BODY_TOO_COMPLEX', 'too_many_values')).toBe(1);
      expect((await tunnel(eventEnvelope(sentryEvent(), { dsn: DSN }))).statusCode).toBe(200);
      expect(await h.envelopes()).toHaveLength(1);
    });

    it('answers a keyless envelope of many large item headers 401 from its header line, and caps tunnel bodies', async () => {
      await start();
      const header = { type: 'client_report', pad: 'p'.repeat(16 * 1024 - 64) };
      const keyless = envelope(
        {},
        Array.from({ length: 100 }, () => [header, '{}'] as [object, string]),
      );
      const attacks = Array.from({ length: 10 }, () =>
        tunnel(gzipSync(keyless), { 'content-encoding': 'gzip' }),
      );
      const normal = batch(makeBatch({ release: 'normal-2' }), API_KEY);
      const health = h.app.inject({ method: 'GET', url: '/healthz' });
      for (const answer of await Promise.all(attacks)) {
        expect(answer.statusCode).toBe(401);
        expect(errorOf(answer).code).toBe('TELLTALE_ERR_UNAUTHORIZED');
      }
      expect((await normal).statusCode).toBe(202);
      expect((await health).statusCode).toBe(200);
      expect(await h.envelopes()).toMatchObject([{ app: 'api', batch: { release: 'normal-2' } }]);
      expect(refusedBy('sentry', 'TELLTALE_ERR_UNAUTHORIZED', 'missing_key')).toBe(10);

      // Without a key outside the body, 1 MiB as sent and 2 MiB inflated at most.
      const big = envelope({ dsn: DSN }, [[{ type: 'attachment' }, Buffer.alloc(1024 * 1024 + 1, 1)]]);
      const sent = await tunnel(big);
      expect(sent.statusCode).toBe(413);
      expect(errorOf(sent)).toMatchObject({ code: 'TELLTALE_ERR_BODY_TOO_LARGE', limit: 1024 * 1024 });
      const inflated = await tunnel(gzipSync(Buffer.concat([big, big])), { 'content-encoding': 'gzip' });
      expect(inflated.statusCode).toBe(413);
      expect(errorOf(inflated)).toMatchObject({
        code: 'TELLTALE_ERR_DECOMPRESSED_TOO_LARGE',
        limit: 2 * 1024 * 1024,
      });
      // With the key in the URL the same envelope is read under the 20 MiB limit.
      const keyed = await h.app.inject({
        method: 'POST',
        url: `/api/7/envelope/?sentry_key=${WEB_KEY}`,
        headers: { 'content-type': 'application/x-sentry-envelope' },
        payload: big,
      });
      expect(keyed.statusCode).toBe(200);
    });
  });
});
