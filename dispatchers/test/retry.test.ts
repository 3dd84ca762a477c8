import { gzipSync } from 'node:zlib';
import { assert, describe, expect, it } from 'vitest';
import {
  archiveBlobName,
  backoffDelay,
  chunkRows,
  createCircuitBreaker,
  decodeBlob,
  guardSink,
  parseRetryAfter,
  retryUntil,
  SINK_BACKOFF,
  type ExportResult,
  type Sink,
} from '@telltale/dispatchers';
import { clientBatch, json } from './corpus.js';

const policy = { failureThreshold: 3, openMs: 1_000, maxOpenMs: 4_000 };

describe('circuit breaker', () => {
  it('opens after failures in a row, lets one probe through once open time passed, and closes on success', () => {
    let now = 0;
    const breaker = createCircuitBreaker(policy, () => now);
    for (let i = 0; i < 3; i += 1) {
      expect(breaker.check()).toBeUndefined();
      breaker.record(false);
    }
    expect(breaker.stats()).toMatchObject({ state: 'open', failures: 3, opened: 1 });
    expect(breaker.check()).toBe(1_000); // not called: wait this long
    now = 600;
    expect(breaker.check()).toBe(400);

    now = 1_000;
    expect(breaker.check()).toBeUndefined(); // the probe
    expect(breaker.check()).toBeGreaterThan(0); // only one at a time
    breaker.record(false); // still dead: open twice as long
    expect(breaker.stats()).toMatchObject({ state: 'open', opened: 2 });
    now = 2_999;
    expect(breaker.check()).toBe(1);
    now = 3_000;
    expect(breaker.check()).toBeUndefined();
    breaker.record(true);
    expect(breaker.stats()).toMatchObject({ state: 'closed', failures: 0 });
    expect(breaker.check()).toBeUndefined();
  });

  it('keeps a dead sink from being called while open, answering retry-after instead', async () => {
    let now = 0;
    let calls = 0;
    const dead: Sink = {
      name: 'dead',
      async export(): Promise<ExportResult> {
        calls += 1;
        return { status: 'retryable', reason: 'connection refused' };
      },
      async close() {},
    };
    const sink = guardSink(dead, policy, () => now);
    for (let i = 0; i < 10; i += 1) await sink.export([]);
    expect(calls).toBe(3);
    expect(await sink.export([])).toEqual({
      status: 'retryable',
      retryAfterMs: 1_000,
      reason: 'circuit open, next probe in 1 s',
    });
    now = 1_000;
    await sink.export([]);
    expect(calls).toBe(4); // the probe
    expect(sink.breaker.stats().shortCircuited).toBe(8);
  });

  it('counts a rejection as a live sink', async () => {
    const refusing: Sink = {
      name: 'refusing',
      export: async () => ({ status: 'rejected', reason: 'bad row' }),
      async close() {},
    };
    const sink = guardSink(refusing, policy);
    for (let i = 0; i < 5; i += 1) expect((await sink.export([])).status).toBe('rejected');
    expect(sink.breaker.stats().state).toBe('closed');
  });
});

describe('retry helpers', () => {
  it('reads Retry-After as seconds, as a date, or in ms', () => {
    const headers = (h: Record<string, string>) => (name: string) => h[name];
    expect(parseRetryAfter(headers({ 'retry-after': '7' }))).toBe(7_000);
    expect(parseRetryAfter(headers({ 'retry-after-ms': '250', 'retry-after': '7' }))).toBe(250);
    expect(
      parseRetryAfter(
        headers({ 'retry-after': 'Wed, 21 Oct 2015 07:28:10 GMT' }),
        Date.parse('2015-10-21T07:28:00Z'),
      ),
    ).toBe(10_000);
    expect(parseRetryAfter(headers({}))).toBeUndefined();
    expect(parseRetryAfter(headers({ 'retry-after': 'soon' }))).toBeUndefined();
  });

  it('waits at least what the server asked, within the cap', () => {
    expect(backoffDelay(1, SINK_BACKOFF, 5_000, () => 0)).toBe(5_000);
    expect(backoffDelay(1, SINK_BACKOFF, 10 * 60_000, () => 0)).toBe(SINK_BACKOFF.capMs);
    expect(backoffDelay(30, SINK_BACKOFF, undefined, () => 1)).toBe(SINK_BACKOFF.capMs);
  });

  it('gives up at the deadline with the last reason', async () => {
    let attempts = 0;
    await expect(
      retryUntil(async () => ({ done: false, reason: `down (${++attempts})` }), {
        deadlineMs: 300,
        policy: { baseMs: 50, multiplier: 2, capMs: 100, jitter: 0 },
      }),
    ).rejects.toThrow(/gave up after \d+ attempts: down/);
    expect(attempts).toBeGreaterThan(1);
  });
});

describe('shapes on the wire', () => {
  it('splits Log Analytics calls under the byte limit, brackets and commas counted', () => {
    const rows = Array.from({ length: 50 }, (_, i) => ({ i, text: 'x'.repeat(90) }));
    const size = (r: object) => Buffer.byteLength(JSON.stringify(r));
    const { chunks, oversized } = chunkRows([...rows, { i: 99, text: 'y'.repeat(2_000) }], size, 1_000);
    expect(oversized).toHaveLength(1);
    expect(chunks.flat()).toHaveLength(50);
    for (const chunk of chunks) expect(Buffer.byteLength(JSON.stringify(chunk))).toBeLessThanOrEqual(1_000);
  });

  it('names archive blobs by app and UTC hour, hashing ids that are not plain', () => {
    const at = Date.parse('2024-04-25T09:30:00Z');
    expect(archiveBlobName({ app: 'shop', receivedAt: at, batchId: 'b-1' })).toBe(
      'shop/2024/04/25/09/b-1.json.gz',
    );
    expect(archiveBlobName({ app: 'shop', receivedAt: at, batchId: '../../etc/passwd' })).toMatch(
      /^shop\/2024\/04\/25\/09\/x-[0-9a-f]{32}\.json\.gz$/,
    );
  });

  it('reads blobs as envelopes, bare batches (app from the name or metadata) and JSON lines', () => {
    const info = { name: 'shop/uploads/1.json', lastModified: 1_714_000_000_000, metadata: {} };
    const bare = decodeBlob(json(clientBatch(1, 2).batch), info);
    assert(bare.ok, 'a bare batch is read');
    expect(JSON.parse(bare.payloads[0]!.toString())).toMatchObject({
      v: 1,
      app: 'shop',
      receivedAt: 1_714_000_000_000,
    });
    const zipped = decodeBlob(gzipSync(json(clientBatch(2, 2, 1_700_000_000_000))), info);
    assert(zipped.ok, 'a gzip batch is read');
    expect(JSON.parse(zipped.payloads[0]!.toString()).receivedAt).toBe(1_700_000_000_000);
    const lines = Buffer.from(
      `${JSON.stringify(clientBatch(3, 1).batch)}\n${JSON.stringify(clientBatch(4, 1).batch)}\n`,
    );
    expect(decodeBlob(lines, { ...info, name: 'top.jsonl', metadata: { app: 'shop' } })).toMatchObject({
      ok: true,
      payloads: [expect.anything(), expect.anything()],
    });
    expect(decodeBlob(json(clientBatch(5, 1).batch), { ...info, name: 'top.json' })).toMatchObject({
      ok: false,
      code: 'invalid_envelope',
      reason: expect.stringContaining('needs an `app` metadata entry'),
    });
    expect(decodeBlob(Buffer.from('hello'), info)).toMatchObject({ ok: false, code: 'invalid_json' });
  });
});
