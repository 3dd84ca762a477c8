import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '@telltale/protocol';
import { createCollectorMetrics, MAX_FUTURE_MS, MAX_PAST_MS } from '../src/index.js';
import { makeBatch, startHarness, WEB_KEY, type Harness } from './helpers.js';

/**
 * Every bad input the issue lists: the answer's status and code (and field where one is named),
 * nothing stored, a counter by reason, and the next valid batch still accepted.
 */
describe('bad input gets a clear error and harms nothing else', () => {
  let h: Harness;
  const metrics = createCollectorMetrics();
  beforeAll(async () => {
    h = await startHarness(
      { limits: { maxCompressedBytes: 256 * 1024, maxDecompressedBytes: 2 * 1024 * 1024 } },
      undefined,
      {
        metrics,
      },
    );
  });
  afterAll(() => h.close());

  const post = (body: Buffer | string, headers: Record<string, string> = {}) =>
    h.app.inject({
      method: 'POST',
      url: '/v1/batch',
      payload: body,
      headers: { 'x-telltale-key': WEB_KEY, 'content-type': 'text/plain', ...headers },
    });
  const withEvents = (events: unknown[]) => JSON.stringify({ ...makeBatch(), events });

  /** Sends `bad`, checks the refusal, then checks a valid batch right after is stored. */
  async function refusedThenRecovered(
    bad: Buffer | string,
    expected: { status: number; code: string; field?: string; reason: string },
    headers: Record<string, string> = {},
  ): Promise<Record<string, unknown>> {
    const before = (await h.envelopes()).length;
    const res = await post(bad, headers);
    expect(res.statusCode).toBe(expected.status);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    const error = res.json().error;
    expect(error.code).toBe(expected.code);
    expect(typeof error.message).toBe('string');
    if (expected.field !== undefined) expect(error.field).toBe(expected.field);
    const reasons = metrics.snapshot().rejectedByReason;
    expect(reasons[`batch ${expected.code} ${expected.reason}`]).toBeGreaterThanOrEqual(1);

    const good = makeBatch();
    const next = await post(gzipSync(JSON.stringify(good)));
    expect(next.statusCode).toBe(202);
    const stored = await h.envelopes();
    expect(stored).toHaveLength(before + 1);
    expect(stored.at(-1)!.batch.batchId).toBe(good.batchId);
    return error as Record<string, unknown>;
  }

  it('413 for a body over the compressed limit', async () => {
    const error = await refusedThenRecovered(Buffer.alloc(300 * 1024, 'x'), {
      status: 413,
      code: 'TELLTALE_ERR_BODY_TOO_LARGE',
      reason: 'body_too_large',
    });
    expect(error.limit).toBe(256 * 1024);
  });

  it('413 for a gzip bomb, stopped at the decompressed limit', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, '['), { level: 9 });
    expect(bomb.length).toBeLessThan(256 * 1024);
    const error = await refusedThenRecovered(
      bomb,
      { status: 413, code: 'TELLTALE_ERR_DECOMPRESSED_TOO_LARGE', reason: 'decompressed_too_large' },
      { 'content-encoding': 'gzip' },
    );
    expect(error.limit).toBe(2 * 1024 * 1024);
  });

  it('415 for an unknown Content-Encoding', async () => {
    await refusedThenRecovered(
      JSON.stringify(makeBatch()),
      { status: 415, code: 'TELLTALE_ERR_UNSUPPORTED_ENCODING', reason: 'unsupported_encoding' },
      { 'content-encoding': 'br' },
    );
  });

  it('400 for bad gzip, bad JSON and bad UTF-8', async () => {
    await refusedThenRecovered(Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 4]), {
      status: 400,
      code: 'TELLTALE_ERR_BAD_GZIP',
      reason: 'bad_gzip',
    });
    await refusedThenRecovered('{"v":1,"events":[', {
      status: 400,
      code: 'TELLTALE_ERR_INVALID_JSON',
      reason: 'invalid_json',
    });
    await refusedThenRecovered(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), {
      status: 400,
      code: 'TELLTALE_ERR_INVALID_JSON',
      reason: 'invalid_utf8',
    });
  });

  it('400 naming the field for a schema violation', async () => {
    await refusedThenRecovered(JSON.stringify({ ...makeBatch(), environment: 42 }), {
      status: 400,
      code: 'TELLTALE_ERR_INVALID_BATCH',
      field: '/environment',
      reason: 'schema',
    });
  });

  it('400 for more than 1,000 events, naming /events', async () => {
    const events = Array.from({ length: LIMITS.maxEventsPerBatch + 1 }, (_, i) => ({
      id: `e${i}`,
      ts: Date.now(),
      kind: 'feature',
      name: 'x',
    }));
    await refusedThenRecovered(gzipSync(withEvents(events)), {
      status: 400,
      code: 'TELLTALE_ERR_INVALID_BATCH',
      field: '/events',
      reason: 'too_many_events',
    });
  });

  it('400 for a string over 8 KB, in a known field or an unknown one', async () => {
    const long = 'm'.repeat(LIMITS.maxStringLength + 1);
    const event = { id: 'e1', ts: Date.now(), kind: 'log', level: 'info', message: long };
    const error = await refusedThenRecovered(withEvents([event]), {
      status: 400,
      code: 'TELLTALE_ERR_INVALID_BATCH',
      field: '/events/0/message',
      reason: 'string_too_long',
    });
    expect(String(error.message)).not.toContain('mmmm'); // the content never comes back
    await refusedThenRecovered(JSON.stringify({ ...makeBatch(), extra: { note: long } }), {
      status: 400,
      code: 'TELLTALE_ERR_INVALID_BATCH',
      field: '/extra/note',
      reason: 'string_too_long',
    });
  });

  it('400 for nesting deeper than 8, even 100,000 levels deep', async () => {
    let nested: unknown = 1;
    for (let i = 0; i < 8; i++) nested = { a: nested };
    const event = { id: 'e1', ts: Date.now(), kind: 'feature', name: 'x', props: nested };
    await refusedThenRecovered(withEvents([event]), {
      status: 400,
      code: 'TELLTALE_ERR_INVALID_BATCH',
      field: '/events/0/props/a/a/a/a/a',
      reason: 'too_deep',
    });
    const deep = `{"v":1,"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    await refusedThenRecovered(gzipSync(deep), {
      status: 400,
      code: 'TELLTALE_ERR_INVALID_BATCH',
      reason: 'too_deep',
    });
  });

  it('400 for __proto__, constructor and prototype keys anywhere, escaped or not; no object is polluted', async () => {
    const batch = JSON.stringify(makeBatch());
    for (const [key, field] of [
      ['"__proto__"', '/__proto__'],
      ['"\\u005f_proto__"', '/__proto__'],
      ['"constructor"', '/constructor'],
      ['"prototype"', '/prototype'],
    ] as const) {
      const bad = batch.replace('{"v":1,', `{"v":1,${key}:{"polluted":true},`);
      await refusedThenRecovered(gzipSync(bad), {
        status: 400,
        code: 'TELLTALE_ERR_INVALID_JSON',
        field,
        reason: 'forbidden_key',
      });
    }
    const inProps = withEvents([
      { id: 'e', ts: Date.now(), kind: 'feature', name: 'x', props: { constructor: 1 } },
    ]);
    await refusedThenRecovered(inProps, {
      status: 400,
      code: 'TELLTALE_ERR_INVALID_JSON',
      field: '/events/0/props/constructor',
      reason: 'forbidden_key',
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('clamps times far in the future or past to the receive time and flags them with clientTs', async () => {
    const now = Date.now();
    const batch = makeBatch({
      events: [
        { id: 'future', ts: now + MAX_FUTURE_MS + 3_600_000, kind: 'feature', name: 'a' },
        { id: 'past', ts: now - MAX_PAST_MS - 86_400_000, kind: 'feature', name: 'b' },
        { id: 'fine', ts: now - 5000, kind: 'feature', name: 'c', clientTs: 1 },
      ],
    });
    const res = await post(JSON.stringify(batch));
    expect(res.statusCode).toBe(202);
    const { batch: stored, receivedAt } = (await h.envelopes()).at(-1)!;
    const [future, past, fine] = stored.events;
    expect(future).toMatchObject({ ts: receivedAt, clientTs: batch.events[0]!.ts });
    expect(past).toMatchObject({ ts: receivedAt, clientTs: batch.events[1]!.ts });
    expect(fine!.ts).toBe(now - 5000);
    expect(fine).not.toHaveProperty('clientTs'); // only the collector sets the flag
    expect(metrics.snapshot().timestampsFixed).toMatchObject({ future: 1, past: 1 });
  });

  it('corrects a device clock that is hours off by the batch offset, keeping the order of events', async () => {
    const skew = 3 * 3_600_000; // the device thinks it is three hours later
    const now = Date.now();
    const batch = makeBatch({
      sentAt: now + skew,
      events: [
        { id: 'first', ts: now + skew - 2000, kind: 'feature', name: 'a' },
        { id: 'second', ts: now + skew - 1000, kind: 'feature', name: 'b' },
      ],
    });
    expect((await post(JSON.stringify(batch))).statusCode).toBe(202);
    const { batch: stored, receivedAt } = (await h.envelopes()).at(-1)!;
    const [first, second] = stored.events;
    expect(second!.ts - first!.ts).toBe(1000);
    expect(Math.abs(second!.ts - (receivedAt - 1000))).toBeLessThan(5000);
    expect(first!.clientTs).toBe(now + skew - 2000);
  });
});
