import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecodePool, decodeRecord, type DecodePool, type EnrichedEvent } from '@telltale/dispatchers';
import { clientBatch, json } from './corpus.js';
import { envelope, errorEvent } from './helpers.js';

/** Every field of a stored row set, each to a value no other field has; then every nullable one null. */
const full = envelope(
  'b-full',
  [
    {
      ...errorEvent('e-full', { count: 3, fingerprint: 'checkout', trace: 'a'.repeat(32), online: true }),
      breadcrumbs: [{ ts: 1, category: 'ui', message: 'clicked pay' }],
    },
    {
      kind: 'assert',
      id: 'a-full',
      ts: 2,
      name: 'cart-total',
      soft: false,
      vars: { items: 2 },
      online: false,
    },
  ],
  'shop',
  { account: 'acct-9', loadMs: 812.5, adblock: true },
);
const bare = {
  v: 1,
  app: 'other',
  receivedAt: 1_714_000_002_000,
  batch: {
    v: 1,
    batchId: 'b-bare',
    sentAt: 1,
    release: 'r',
    environment: 'e',
    session: 's',
    events: [{ kind: 'feature', id: 'f-bare', ts: 5, name: 'x' }],
  },
};

describe('rows handed from a decode worker to the main thread', () => {
  let pool: DecodePool;
  beforeAll(async () => {
    pool = await createDecodePool({ threads: 1 });
  });
  afterAll(async () => {
    await pool.close();
  });

  it('arrive field for field as enrichment made them, nulls, flags and numbers included', async () => {
    const payloads = [json(full), json(bare), json(full)];
    const results = await pool.decode(payloads, 'client');
    const rows = (r: (typeof results)[number]): EnrichedEvent[] =>
      r.ok && r.value.kind === 'client' ? r.value.events : [];
    const inline = payloads.map((p) => decodeRecord(p, 'client'));
    expect(results.map(rows)).toEqual(inline.map(rows));
    const [error, assert] = rows(results[0]!);
    // The values that tell a field swap apart.
    expect(error).toMatchObject({
      accountId: 'acct-9',
      loadMs: 812.5,
      adblock: true,
      online: true,
      count: 3,
    });
    expect(assert).toMatchObject({ soft: false, online: false, name: 'cart-total', attrs: '{"items":2}' });
    expect(rows(results[1]!)[0]).toMatchObject({
      userId: null,
      accountId: null,
      url: null,
      trace: null,
      online: null,
      soft: null,
      loadMs: null,
      adblock: null,
      browser: null,
      device: null,
      breadcrumbs: null,
    });
  });

  it('arrive intact from chunks of many rows whose fields alternate between values', async () => {
    // More rows than the column writer's first allocation, and values that come back after others
    // (apps, the null and non-null bare fields), so repeated, returning and new strings all travel.
    const payloads = [
      ...Array.from({ length: 6 }, (_, n) =>
        json(clientBatch(n, 100, 1_714_000_000_000 + n, `app-${n % 2}`)),
      ),
      json(bare),
      json(full),
      json(bare),
    ];
    const results = await pool.decode(payloads, 'client');
    const rows = (r: (typeof results)[number]): EnrichedEvent[] =>
      r.ok && r.value.kind === 'client' ? r.value.events : [];
    const inline = payloads.map((p) => decodeRecord(p, 'client'));
    expect(results.map(rows).flat()).toHaveLength(604);
    expect(results.map(rows)).toEqual(inline.map(rows));
  });

  it('gives each reader its own rows, so one consumer changing them cannot touch another', async () => {
    const [result] = await pool.decode([json(full)], 'client');
    if (!result?.ok || result.value.kind !== 'client') throw new Error('not decoded');
    const first = result.value.events;
    const second = result.value.events;
    expect(second).toEqual(first);
    expect(second[0]).not.toBe(first[0]);
  });
});
