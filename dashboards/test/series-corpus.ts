import type { SpoolEnvelope, TelltaleEvent } from '@telltale/protocol';

/**
 * A corpus spread over hours and days for the series tests, laid out from `t0` (a UTC midnight or
 * hour): two error groups in shop (one also in admin) over three releases, features with accounts,
 * one assert, one blocked reason. The counts each chart must show are spelled out in EXPECTED.
 * The first batch is sent twice (stored once).
 */
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

const STACK_A = `TypeError: Cannot read properties of undefined (reading 'total')
    at cartTotal (https://shop.example.com/assets/app.js:12:9)`;
const STACK_B = `RangeError: Invalid array length
    at payLines (https://shop.example.com/assets/pay.js:3:15)`;

const errA = (id: string, ts: number): TelltaleEvent => ({
  id,
  ts,
  kind: 'error',
  type: 'TypeError',
  message: "Cannot read properties of undefined (reading 'total')",
  stack: STACK_A,
  url: '/cart',
});
const errB = (id: string, ts: number): TelltaleEvent => ({
  id,
  ts,
  kind: 'error',
  type: 'RangeError',
  message: 'Invalid array length',
  stack: STACK_B,
  url: '/pay',
});
const feature = (id: string, ts: number, name: string, count?: number): TelltaleEvent => ({
  id,
  ts,
  kind: 'feature',
  name,
  ...(count === undefined ? {} : { count }),
});

interface Spec {
  n: number;
  app?: string;
  session: string;
  user?: string;
  account?: string;
  release: string;
  events: TelltaleEvent[];
}

function batch(spec: Spec, receivedAt: number): SpoolEnvelope {
  return {
    v: 1,
    app: spec.app ?? 'shop',
    receivedAt,
    userAgent:
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
    batch: {
      v: 1,
      batchId: `series-batch-${spec.n}`.padEnd(20, '0'),
      sentAt: receivedAt - 50,
      release: spec.release,
      environment: 'production',
      session: spec.session,
      ...(spec.user === undefined ? {} : { user: spec.user }),
      ...(spec.account === undefined ? {} : { account: spec.account }),
      events: spec.events,
    },
  } as SpoolEnvelope;
}

export function seriesEnvelopes(t0: number, receivedAt: number): SpoolEnvelope[] {
  const b1 = batch(
    {
      n: 1,
      session: 's-1',
      user: 'u-1',
      account: 'acme',
      release: '1.0.0',
      events: [
        errA('e-1', t0 + HOUR + 5 * 60_000),
        errA('e-2', t0 + HOUR + 10 * 60_000),
        feature('f-1', t0 + HOUR, 'export', 2),
        { id: 'a-1', ts: t0 + 2 * HOUR, kind: 'assert', name: 'cart-ok', soft: false },
        { id: 'x-1', ts: t0 + 2 * HOUR, kind: 'blocked', reason: 'too-large', count: 3 },
      ],
    },
    receivedAt,
  );
  const b2 = batch(
    {
      n: 2,
      session: 's-2',
      user: 'u-2',
      account: 'acme',
      release: '1.1.0',
      events: [
        errA('e-3', t0 + 3 * HOUR),
        errB('e-4', t0 + 3 * HOUR),
        feature('f-2', t0 + 3 * HOUR, 'export'),
        feature('f-3', t0 + 3 * HOUR + 60_000, 'dark'),
        { id: 'a-2', ts: t0 + 3 * HOUR, kind: 'assert', name: 'cart-ok', soft: true },
      ],
    },
    receivedAt,
  );
  const b3 = batch(
    {
      n: 3,
      session: 's-anon',
      account: 'globex',
      release: '1.1.0',
      events: [
        errA('e-5', t0 + 3 * HOUR + 30 * 60_000),
        feature('f-4', t0 + 2 * DAY, 'export'),
        { id: 'x-2', ts: t0 + 2 * DAY, kind: 'blocked', reason: 'too-large' },
      ],
    },
    receivedAt,
  );
  const b4 = batch(
    { n: 4, app: 'admin', session: 'a-1', user: 'x-1', release: '2.0.0', events: [errA('e-1', t0 + HOUR)] },
    receivedAt,
  );
  const b5 = batch(
    {
      n: 5,
      session: 's-1',
      user: 'u-1',
      account: 'acme',
      release: '1.2.0',
      events: [errA('e-6', t0 + DAY + 2 * HOUR), feature('f-5', t0 - DAY, 'dark')],
    },
    receivedAt,
  );
  return [b1, b2, b1, b3, b4, b5];
}

/** Distinct events of the corpus. */
export const SERIES_EVENTS = 16;

/** What the charts must show, per bucket index from t0 (hourly over [t0, t0 + 24 h), daily over 7 days). */
export const EXPECTED = {
  hourly: {
    shopA: { 1: 2, 3: 2 },
    shopAUsers: { 1: 1, 3: 2 },
    shopB: { 3: 1 },
    adminA: { 1: 1 },
    exportUses: { 1: 2, 3: 1 },
    darkUses: { 3: 1 },
    firstUses: { 1: 1 },
    assert: { 2: 1, 3: 1 },
    blocked: { 2: 3 },
  },
  daily: {
    shopA: { 0: 4, 1: 1 },
    exportUses: { 0: 3, 2: 1 },
    blocked: { 0: 3, 2: 1 },
  },
} as const;

/** A dense array of `n` values from a sparse {index: value} map. */
export function dense(n: number, sparse: Readonly<Record<number, number>>): number[] {
  return Array.from({ length: n }, (_v, i) => sparse[i] ?? 0);
}
