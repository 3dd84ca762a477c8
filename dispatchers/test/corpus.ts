import type { ServerLogEnvelope, SpoolEnvelope, TelltaleEvent } from '@telltale/protocol';
import { CHROME_UA, ERROR_STACK } from './helpers.js';

/** Test data for the sink tests: client batches and server-log envelopes with unique, predictable ids. */

export const DAY_MS = 86_400_000;

/** One client batch `b-<n>` of `size` events (errors, features, asserts, logs in turn), received at `receivedAt`. */
export function clientBatch(n: number, size: number, receivedAt = Date.now(), app = 'shop'): SpoolEnvelope {
  const events: TelltaleEvent[] = [];
  for (let i = 0; i < size; i += 1) {
    const id = `e-${n}-${i}`;
    const ts = receivedAt - 1_000 + i;
    const common = { id, ts, url: '/checkout', trace: '4bf92f3577b34da6a3ce929d0e0e4736' };
    switch (i % 4) {
      case 0:
        events.push({
          ...common,
          kind: 'error',
          type: 'TypeError',
          message: `Cannot read 'items' (${n % 3})`,
          stack: ERROR_STACK,
        });
        break;
      case 1:
        events.push({ ...common, kind: 'feature', name: 'export-csv', props: { rows: i } });
        break;
      case 2:
        events.push({
          ...common,
          kind: 'assert',
          name: 'cart-total-positive',
          soft: true,
          vars: { items: i },
        });
        break;
      default:
        events.push({ ...common, kind: 'log', level: 'info', message: 'cart opened' });
    }
  }
  return {
    v: 1,
    app,
    receivedAt,
    userAgent: CHROME_UA,
    batch: {
      v: 1,
      batchId: `b-${n}`,
      sentAt: receivedAt - 100,
      release: '1.4.2',
      environment: 'production',
      session: `s-${n % 5}`,
      user: `u-${n % 7}`,
      events,
    },
  };
}

/** Server logs `l-<n>-<i>` of session `s-<n % 5>`, on the same trace as the client batches. */
export function serverLogs(
  n: number,
  size: number,
  receivedAt = Date.now(),
  app = 'shop',
): ServerLogEnvelope {
  return {
    v: 1,
    app,
    receivedAt,
    logs: Array.from({ length: size }, (_, i) => ({
      id: `l-${n}-${i}`,
      ts: receivedAt - 500 + i,
      level: i % 2 === 0 ? ('info' as const) : ('error' as const),
      message: `POST /api/cart answered 500 for user@example.com`,
      service: 'api',
      trace: '4bf92f3577b34da6a3ce929d0e0e4736',
      session: `s-${n % 5}`,
      user: `u-${n % 7}`,
      release: '2.0.1',
      attrs: { status: 500, route: '/api/cart' },
    })),
  };
}

export const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
