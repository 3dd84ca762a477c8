import { APPS } from './helpers.js';

/** The web app as project 7: its DSN is http://tt_web_0123456789abcdef@host/7. */
export const SENTRY_APPS = [{ ...APPS[0]!, projectId: 7 }, APPS[1]!];
export const EVENT_ID = '0123456789abcdef0123456789abcdef';

export function envelope(header: object, items: Array<[object, string | Buffer]>): Buffer {
  const parts: Buffer[] = [Buffer.from(JSON.stringify(header) + '\n')];
  for (const [itemHeader, payload] of items) {
    const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
    parts.push(
      Buffer.from(JSON.stringify({ ...itemHeader, length: bytes.length }) + '\n'),
      bytes,
      Buffer.from('\n'),
    );
  }
  return Buffer.concat(parts);
}

/** A browser SDK's event, as @sentry/browser v8 builds it. */
export function sentryEvent(overrides: object = {}): object {
  return {
    event_id: EVENT_ID,
    timestamp: Date.now() / 1000,
    platform: 'javascript',
    level: 'error',
    release: 'web@1.4.0',
    environment: 'staging',
    exception: {
      values: [
        {
          type: 'TypeError',
          value: "Cannot read properties of undefined (reading 'total')",
          mechanism: { type: 'onerror', handled: false },
          stacktrace: {
            frames: [
              {
                filename: 'http://localhost:3000/assets/vendor.js',
                function: 'run',
                lineno: 1,
                colno: 200,
                in_app: false,
              },
              {
                filename: 'http://localhost:3000/assets/app.js',
                function: 'renderCart',
                lineno: 12,
                colno: 34,
                in_app: true,
              },
            ],
          },
        },
      ],
    },
    breadcrumbs: [
      { timestamp: Date.now() / 1000 - 2, category: 'ui.click', message: 'button#checkout' },
      {
        timestamp: Date.now() / 1000 - 1,
        category: 'fetch',
        data: { method: 'POST', url: '/api/cart?token=s3cret', status_code: 500 },
      },
    ],
    user: { id: 'user-42', email: 'ann@example.com', username: 'ann', ip_address: '203.0.113.9' },
    tags: { plan: 'pro' },
    contexts: {
      browser: { name: 'Chrome', version: '120.0' },
      os: { name: 'Windows', version: '10' },
      trace: { trace_id: 'ab'.repeat(16) },
    },
    request: {
      url: 'http://localhost:3000/cart?coupon=FREE#top',
      headers: { 'User-Agent': 'Mozilla/5.0 Test' },
    },
    sdk: { name: 'sentry.javascript.browser', version: '8.55.0' },
    ...overrides,
  };
}

export const eventEnvelope = (event: object = sentryEvent(), header: object = { event_id: EVENT_ID }) =>
  envelope(header, [[{ type: 'event' }, JSON.stringify(event)]]);
