import { afterEach, describe, expect, it } from 'vitest';
import { createBatchIndex } from '../src/index.js';
import { failingSpool, makeBatch, startHarness, WEB_KEY, API_KEY, type Harness } from './helpers.js';

describe('idempotency by app + batch id', () => {
  let h: Harness;
  afterEach(() => h.close());

  const send = (batch: unknown, key = WEB_KEY) =>
    h.app.inject({
      method: 'POST',
      url: '/v1/batch',
      payload: JSON.stringify(batch),
      headers: { 'x-telltale-key': key, 'content-type': 'text/plain' },
    });

  it('answers a repeated batch duplicate: true and stores it once', async () => {
    h = await startHarness();
    const batch = makeBatch();
    expect((await send(batch)).json()).toEqual({ accepted: 2, duplicate: false });
    const again = await send(batch);
    expect(again.statusCode).toBe(202);
    expect(again.json()).toEqual({ accepted: 2, duplicate: true });
    expect(await h.envelopes()).toHaveLength(1);
  });

  it('remembers stored batches across a restart (index rebuilt from the spool)', async () => {
    h = await startHarness();
    const batches = [makeBatch(), makeBatch(), makeBatch()];
    for (const batch of batches) expect((await send(batch)).statusCode).toBe(202);
    await h.restart();
    for (const batch of batches) expect((await send(batch)).json()).toEqual({ accepted: 2, duplicate: true });
    expect((await send(makeBatch())).json().duplicate).toBe(false);
    expect(await h.envelopes()).toHaveLength(4);
  });

  it('stores concurrent uploads of one batch once; the others wait and answer duplicate', async () => {
    h = await startHarness();
    const batch = makeBatch();
    const answers = await Promise.all(Array.from({ length: 8 }, () => send(batch)));
    expect(answers.map((a) => a.statusCode)).toEqual(Array(8).fill(202));
    expect(answers.filter((a) => a.json().duplicate === false)).toHaveLength(1);
    expect(await h.envelopes()).toHaveLength(1);
  });

  it('when the first of two concurrent uploads fails, the second stores the batch itself', async () => {
    h = await startHarness({}, (spool) => failingSpool(spool, 1, 50));
    const batch = makeBatch();
    const [first, second] = await Promise.all([send(batch), send(batch)]);
    expect(first!.statusCode).toBe(503);
    expect(second!.json()).toEqual({ accepted: 2, duplicate: false });
    expect(await h.envelopes()).toHaveLength(1);
  });

  it('keeps the same batch id of two apps apart', async () => {
    h = await startHarness();
    const batch = makeBatch();
    expect((await send(batch, WEB_KEY)).json().duplicate).toBe(false);
    expect((await send(batch, API_KEY)).json().duplicate).toBe(false);
    expect((await h.envelopes()).map((e) => e.app)).toEqual(['web', 'api']);
  });
});

describe('batch index', () => {
  it('forgets ids older than its window and keeps at most maxEntries', () => {
    let now = 1_000_000;
    const index = createBatchIndex({ windowMs: 1000, maxEntries: 3, now: () => now });
    index.remember('web', 'a', 1, now);
    expect(index.lookup('web', 'a')).toBe(1);
    now += 1001;
    expect(index.lookup('web', 'a')).toBeUndefined();
    for (const id of ['b', 'c', 'd', 'e']) index.remember('web', id, 2, now);
    expect(index.size).toBe(3);
    expect(index.lookup('web', 'b')).toBeUndefined();
    expect(index.lookup('web', 'e')).toBe(2);
    expect(index.lookup('api', 'e')).toBeUndefined();
  });
});
