import type { ServerLogEnvelope, SpoolEnvelope, TelltaleEvent } from '@telltale/protocol';

/**
 * One corpus for the store parity tests: two apps, errors in three groups over four releases and
 * users (one anonymous session), features, soft and hard asserts of one name, blocked events,
 * client logs, a browser clock ahead of the collector, server logs of several services, traces and
 * requests — with ties everywhere a list can tie (same times, same ids in two apps), so only the
 * SORT_KEYS tie-breakers decide the order. Duplicates: three envelopes are appended twice.
 */
export const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);
export const TRACE_A = '4bf92f3577b34da6a3ce929d0e0e4736';
export const TRACE_B = '0af7651916cd43dd8448eb211c80319c';
export const TRACE_C = '1af7651916cd43dd8448eb211c80319c';
export const TRACE_D = '2af7651916cd43dd8448eb211c80319c';
export const SPAN_A = '00f067aa0ba902b7';
export const SPAN_B = '11f067aa0ba902b7';
export const SPAN_C = '22f067aa0ba902b7';

const CART_STACK = `TypeError: Cannot read properties of undefined (reading 'total')
    at cartTotal (https://shop.example.com/assets/app.3f9a2c1b.js:12:9)
    at checkout (https://shop.example.com/assets/app.3f9a2c1b.js:40:3)`;
const PAY_STACK = `RangeError: Invalid array length
    at payLines (https://shop.example.com/assets/pay.77aa.js:3:15)
    at pay (https://shop.example.com/assets/pay.77aa.js:9:2)`;

const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const FIREFOX = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.1; rv:121.0) Gecko/20100101 Firefox/121.0';

interface BatchSpec {
  n: number;
  app?: string;
  session: string;
  user?: string;
  release: string;
  receivedAt: number;
  events: TelltaleEvent[];
}

function batch(spec: BatchSpec): SpoolEnvelope {
  return {
    v: 1,
    app: spec.app ?? 'shop',
    receivedAt: spec.receivedAt,
    userAgent: spec.n % 2 === 0 ? FIREFOX : CHROME,
    batch: {
      v: 1,
      batchId: `batch-${spec.n}`.padEnd(16, '0'),
      sentAt: spec.receivedAt - 50,
      release: spec.release,
      environment: 'production',
      session: spec.session,
      ...(spec.user === undefined ? {} : { user: spec.user }),
      events: spec.events,
    },
  } as SpoolEnvelope;
}

const cartError = (id: string, ts: number, trace: string, count?: number): TelltaleEvent => ({
  id,
  ts,
  kind: 'error',
  type: 'TypeError',
  message: "Cannot read properties of undefined (reading 'total')",
  stack: CART_STACK,
  trace,
  url: '/cart',
  ...(count === undefined ? {} : { count }),
  breadcrumbs: [{ ts: ts - 500, level: 'info', category: 'ui.click', message: 'button#pay' }],
});
const payError = (id: string, ts: number, trace: string): TelltaleEvent => ({
  id,
  ts,
  kind: 'error',
  type: 'RangeError',
  message: 'Invalid array length',
  stack: PAY_STACK,
  trace,
  url: '/pay',
  online: false,
});

export function clientEnvelopes(): SpoolEnvelope[] {
  const b1 = batch({
    n: 1,
    session: 's-1',
    user: 'u-1',
    release: '1.3.9',
    receivedAt: T0 + 1_000,
    events: [
      cartError('e-1', T0, TRACE_A, 4),
      {
        id: 'f-1',
        ts: T0 + 100,
        kind: 'feature',
        name: 'export-csv',
        count: 3,
        props: { rows: 120 },
        trace: TRACE_A,
      },
      {
        id: 'a-1',
        ts: T0 + 200,
        kind: 'assert',
        name: 'workspaces-under-100',
        soft: true,
        vars: { workspaces: 131 },
      },
      { id: 'l-1', ts: T0 + 200, kind: 'log', level: 'info', message: 'cart opened', trace: TRACE_A },
      {
        id: 'x-1',
        ts: T0 + 300,
        kind: 'blocked',
        reason: 'file-too-large',
        props: { sizeMb: 42 },
        trace: TRACE_A,
      },
    ],
  });
  const b2 = batch({
    n: 2,
    session: 's-2',
    user: 'u-2',
    release: '1.4.0',
    receivedAt: T0 + 60_000,
    events: [
      cartError('e-2', T0 + 50_000, TRACE_B, 2),
      payError('e-3', T0 + 50_000, TRACE_B),
      {
        id: 'a-2',
        ts: T0 + 51_000,
        kind: 'assert',
        name: 'cart-total-matches',
        soft: false,
        vars: { lines: 3 },
      },
      { id: 'a-3', ts: T0 + 51_000, kind: 'assert', name: 'cart-total-matches', soft: true, count: 5 },
      { id: 'f-2', ts: T0 + 52_000, kind: 'feature', name: 'dark-mode' },
    ],
  });
  const b3 = batch({
    n: 3,
    session: 's-anon',
    release: '1.4.0',
    receivedAt: T0 + 120_000,
    events: [
      cartError('e-4', T0 + 110_000, TRACE_C),
      {
        id: 'e-5',
        ts: T0 + 111_000,
        kind: 'error',
        type: 'Error',
        message: '<script>alert("pwned")</script>',
      },
      { id: 'f-3', ts: T0 + 112_000, kind: 'feature', name: 'export-csv', trace: TRACE_C },
      {
        id: 'x-2',
        ts: T0 + 113_000,
        kind: 'blocked',
        reason: 'file-too-large',
        props: { sizeMb: 77 },
        count: 2,
      },
    ],
  });
  // Another app, received at the same moment as b3, with the same event times and one of its ids.
  const b4 = batch({
    n: 4,
    app: 'admin',
    session: 'sa-1',
    user: 'admin-1',
    release: '2.0.0',
    receivedAt: T0 + 120_000,
    events: [
      cartError('e-6', T0 + 110_000, TRACE_D),
      { id: 'f-3', ts: T0 + 112_000, kind: 'feature', name: 'invite-user' },
      { id: 'f-4', ts: T0 + 112_000, kind: 'feature', name: 'export-csv' },
    ],
  });
  // s-1 again, later, on a browser clock 20 s ahead of the collector's.
  const b5 = batch({
    n: 5,
    session: 's-1',
    user: 'u-1',
    release: '1.4.1',
    receivedAt: T0 + 180_000,
    events: [
      payError('e-7', T0 + 170_000, TRACE_A),
      {
        id: 'l-2',
        ts: T0 + 171_000,
        kind: 'log',
        level: 'warn',
        message: 'retrying payment',
        trace: TRACE_A,
      },
      { id: 'f-5', ts: T0 + 200_000, kind: 'feature', name: 'dark-mode', trace: TRACE_A },
    ],
  });
  // b1 and b5 arrive twice (a retried upload, a replay): stored once in DuckDB, twice in ClickHouse until merged.
  return [b1, b2, b1, b3, b4, b5, b5];
}

export function serverEnvelopes(): ServerLogEnvelope[] {
  const sl1: ServerLogEnvelope = {
    v: 1,
    app: 'shop',
    receivedAt: T0 + 2_000,
    logs: [
      {
        id: 's-0',
        ts: T0 + 200,
        level: 'debug',
        message: 'session resumed',
        service: 'api',
        trace: TRACE_A,
        session: 's-1',
      },
      {
        id: 's-1',
        ts: T0 + 500,
        level: 'info',
        message: 'POST /api/checkout',
        service: 'api',
        trace: TRACE_A,
        span: SPAN_A,
        session: 's-1',
        user: 'u-1',
        release: '9.0.0',
        attrs: { route: '/api/checkout', status: 502 },
      },
      {
        id: 's-2',
        ts: T0 + 600,
        level: 'error',
        message: 'payment provider 502',
        service: 'payments',
        trace: TRACE_A,
        span: SPAN_A,
        user: 'u-1',
        environment: 'production',
      },
      {
        id: 's-3',
        ts: T0 + 600,
        level: 'warn',
        message: 'retrying',
        service: 'api',
        trace: TRACE_A,
        span: SPAN_B,
      },
    ],
  };
  const sl2: ServerLogEnvelope = {
    v: 1,
    app: 'shop',
    receivedAt: T0 + 181_000,
    logs: [
      {
        id: 's-4',
        ts: T0 + 175_000,
        level: 'info',
        message: 'POST /api/pay',
        service: 'api',
        trace: TRACE_A,
        span: SPAN_C,
        session: 's-1',
      },
      { id: 's-5', ts: T0 + 176_000, level: 'info', message: 'cron tick', service: 'cron' },
      {
        id: 's-6',
        ts: T0 + 176_000,
        level: 'info',
        message: 'Unrelated PAYMENT audit',
        service: 'audit',
        trace: TRACE_B,
      },
    ],
  };
  const sl3: ServerLogEnvelope = {
    v: 1,
    app: 'admin',
    receivedAt: T0 + 121_000,
    logs: [
      {
        id: 's-1',
        ts: T0 + 500,
        level: 'info',
        message: 'GET /admin',
        service: 'api',
        trace: TRACE_D,
        user: 'admin-1',
      },
    ],
  };
  return [sl1, sl2, sl3, sl2];
}

/** Distinct stored items: client events (app, id) and server lines (app, id). */
export const DISTINCT_EVENTS = 20;
export const DISTINCT_LOGS = 8;
