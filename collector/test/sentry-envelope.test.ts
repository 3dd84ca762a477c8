import { deflateSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { ErrorEvent, LogEvent } from '@telltale/protocol';
import { build, createCollectorMetrics, openCollectorStores, resolveCollectorConfig } from '../src/index.js';
import { APPS, makeBatch, startHarness, tempDir, WEB_KEY, type Harness } from './helpers.js';
import { envelope, EVENT_ID, eventEnvelope, SENTRY_APPS, sentryEvent } from './sentry-fixtures.js';

describe('Sentry envelope endpoint', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  const post = (
    body: Buffer | string,
    url = `/api/7/envelope/?sentry_key=${WEB_KEY}&sentry_version=7`,
    headers: Record<string, string> = {},
  ) =>
    h.app.inject({
      method: 'POST',
      url,
      payload: body,
      headers: { 'content-type': 'text/plain;charset=UTF-8', ...headers },
    });

  it('stores an event as a Telltale error batch: frames newest first, user id only, URLs without queries', async () => {
    h = await startHarness({ apps: SENTRY_APPS });
    const answer = await post(eventEnvelope(), undefined, { origin: 'http://localhost:3000' });
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toEqual({ id: EVENT_ID });
    expect(answer.headers['access-control-allow-origin']).toBe('*');

    const [stored, more] = await h.envelopes();
    expect(more).toBeUndefined();
    expect(stored).toMatchObject({ app: 'web', userAgent: 'Mozilla/5.0 Test' });
    const { batch } = stored!;
    expect(batch).toMatchObject({
      release: 'web@1.4.0',
      environment: 'staging',
      user: 'user-42',
      session: 'ab'.repeat(16),
    });
    const event = batch.events[0] as ErrorEvent;
    expect(event).toMatchObject({
      kind: 'error',
      id: EVENT_ID,
      type: 'TypeError',
      message: "Cannot read properties of undefined (reading 'total')",
      mechanism: 'onerror',
      url: 'http://localhost:3000/cart',
      trace: 'ab'.repeat(16),
    });
    expect(event.stack!.split('\n')).toEqual([
      "TypeError: Cannot read properties of undefined (reading 'total')",
      '    at renderCart (http://localhost:3000/assets/app.js:12:34)',
      '    at run (http://localhost:3000/assets/vendor.js:1:200)',
    ]);
    expect(event.breadcrumbs!.map((b) => [b.category, b.message])).toEqual([
      ['ui.click', 'button#checkout'],
      ['fetch', 'POST /api/cart → 500'],
      ['sentry.tags', 'plan=pro'],
      ['sentry.contexts', 'browser=Chrome 120.0 os=Windows 10'],
    ]);
    const text = JSON.stringify(stored);
    for (const secret of ['ann@example.com', '203.0.113.9', '"ann"', 's3cret', 'FREE'])
      expect(text).not.toContain(secret);
  });

  it('takes the key from X-Sentry-Auth or from the envelope dsn (a tunnel), and refuses a wrong one', async () => {
    h = await startHarness({ apps: SENTRY_APPS });
    const auth = {
      'x-sentry-auth': `Sentry sentry_version=7, sentry_client=sentry.javascript.node/8.55.0, sentry_key=${WEB_KEY}`,
    };
    expect((await post(eventEnvelope(), '/api/7/envelope/', auth)).statusCode).toBe(200);
    const tunnelled = eventEnvelope(sentryEvent({ event_id: 'f'.repeat(32) }), {
      event_id: 'f'.repeat(32),
      dsn: `https://${WEB_KEY}@telltale.example.com/7`,
    });
    expect((await post(tunnelled, '/api/7/envelope/')).json()).toEqual({ id: 'f'.repeat(32) });
    expect(await h.envelopes()).toHaveLength(2);

    const none = await post(
      eventEnvelope(sentryEvent({ event_id: 'e'.repeat(32) }), { event_id: 'e'.repeat(32) }),
      '/api/7/envelope/',
    );
    expect(none.statusCode).toBe(401);
    expect(none.json().error).toMatchObject({ code: 'TELLTALE_ERR_UNAUTHORIZED' });
    const otherProject = await post(eventEnvelope(), `/api/8/envelope/?sentry_key=${WEB_KEY}`);
    expect(otherProject.statusCode).toBe(401);
    expect(otherProject.json().error.message).toContain('telltale apps dsn web');
    expect((await post(eventEnvelope(), `/api/web/envelope/?sentry_key=${WEB_KEY}`)).statusCode).toBe(404);
    expect(await h.envelopes()).toHaveLength(2);
  });

  it('inflates gzip and deflate bodies, and a retried envelope is stored once', async () => {
    h = await startHarness({ apps: SENTRY_APPS });
    const body = eventEnvelope();
    expect((await post(gzipSync(body), undefined, { 'content-encoding': 'gzip' })).statusCode).toBe(200);
    expect((await post(deflateSync(body), undefined, { 'content-encoding': 'deflate' })).json()).toEqual({
      id: EVENT_ID,
    });
    expect((await post(body)).statusCode).toBe(200);
    expect(await h.envelopes()).toHaveLength(1);
    const other = eventEnvelope(sentryEvent({ event_id: '1'.repeat(32) }), { event_id: '1'.repeat(32) });
    expect((await post(deflateSync(other), undefined, { 'content-encoding': 'deflate' })).statusCode).toBe(
      200,
    );
    expect(await h.envelopes()).toHaveLength(2);
    expect((await post(body, undefined, { 'content-encoding': 'br' })).json().error.code).toBe(
      'TELLTALE_ERR_UNSUPPORTED_ENCODING',
    );
  });

  it('accepts the legacy store endpoint with a JSON body', async () => {
    h = await startHarness({ apps: SENTRY_APPS });
    const answer = await h.app.inject({
      method: 'POST',
      url: `/api/7/store/?sentry_key=${WEB_KEY}`,
      payload: JSON.stringify(
        sentryEvent({
          event_id: '2'.repeat(32),
          exception: undefined,
          message: 'checkout slow',
          level: 'warning',
        }),
      ),
      headers: { 'content-type': 'application/json' },
    });
    expect(answer.json()).toEqual({ id: '2'.repeat(32) });
    const [stored] = await h.envelopes();
    expect(stored!.batch.events[0]).toMatchObject({
      kind: 'error',
      type: 'Message',
      message: 'checkout slow',
    });
  });

  it('turns log items into log events and counts every other item type without storing it', async () => {
    const metrics = createCollectorMetrics();
    h = await startHarness({ apps: SENTRY_APPS }, undefined, { metrics });
    const logs = {
      items: [
        {
          timestamp: Date.now() / 1000,
          level: 'warn',
          body: 'cart total mismatch',
          trace_id: 'cd'.repeat(16),
          attributes: { 'sentry.release': { value: 'web@2', type: 'string' } },
        },
      ],
    };
    const body = envelope({}, [
      [{ type: 'session' }, '{"sid":"x","status":"ok"}'],
      [{ type: 'client_report' }, '{"discarded_events":[]}'],
      [{ type: 'replay_recording' }, Buffer.from([0, 1, 2, 255])],
      [{ type: 'brand_new_thing' }, 'whatever'],
      [{ type: 'log' }, JSON.stringify(logs)],
    ]);
    const answer = await post(body);
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toEqual({});
    const [stored] = await h.envelopes();
    expect(stored!.batch.release).toBe('web@2');
    expect(stored!.batch.events as LogEvent[]).toMatchObject([
      { kind: 'log', level: 'warn', message: 'cart total mismatch', trace: 'cd'.repeat(16) },
    ]);
    expect((await post(envelope({}, [[{ type: 'transaction' }, '{}']]))).statusCode).toBe(200);
    expect(await h.envelopes()).toHaveLength(1);
    expect(metrics.snapshot().sentryItems).toEqual({
      'web session': 1,
      'web client_report': 1,
      'web replay_recording': 1,
      'web other': 1,
      'web log': 1,
      'web transaction': 1,
    });
  });

  it('answers a quota refusal 429 with Retry-After and X-Sentry-Rate-Limits', async () => {
    h = await startHarness({ apps: [{ ...SENTRY_APPS[0]!, quotas: { eventsPerMinute: 1 } }, APPS[1]!] });
    expect((await post(eventEnvelope())).statusCode).toBe(200);
    const second = await post(
      eventEnvelope(sentryEvent({ event_id: '3'.repeat(32) }), { event_id: '3'.repeat(32) }),
    );
    expect(second.statusCode).toBe(429);
    expect(second.json().error.code).toBe('TELLTALE_ERR_QUOTA_EXCEEDED');
    const retryAfter = Number(second.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(second.headers['x-sentry-rate-limits']).toBe(`${retryAfter}::project:quota_exceeded`);
    expect(second.headers['access-control-expose-headers']).toContain('X-Sentry-Rate-Limits');
    // Another app's own batch is not held back by this app's quota.
    const batch = await h.app.inject({
      method: 'POST',
      url: '/v1/batch',
      headers: { 'x-telltale-key': APPS[1]!.ingestKeys[0]! },
      payload: makeBatch(),
    });
    expect(batch.statusCode).toBe(202);
  });

  it("applies the app's origin allow-list and keeps a custom fingerprint, but not {{ default }}", async () => {
    h = await startHarness({
      apps: [{ ...SENTRY_APPS[0]!, allowedOrigins: ['https://shop.example.com'] }, APPS[1]!],
    });
    const foreign = await post(eventEnvelope(), undefined, { origin: 'https://evil.example.com' });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json().error.code).toBe('TELLTALE_ERR_ORIGIN_NOT_ALLOWED');
    const custom = sentryEvent({ fingerprint: ['checkout', 'card-declined'] });
    const own = await post(eventEnvelope(custom), undefined, { origin: 'https://shop.example.com' });
    expect(own.statusCode).toBe(200);
    expect(own.headers['access-control-allow-origin']).toBe('https://shop.example.com');
    const fallback = sentryEvent({ event_id: '4'.repeat(32), fingerprint: ['{{ default }}', 'x'] });
    expect((await post(eventEnvelope(fallback, { event_id: '4'.repeat(32) }))).statusCode).toBe(200);
    const [first, second] = await h.envelopes();
    expect(first!.batch.events[0]).toMatchObject({ fingerprint: 'checkout card-declined' });
    expect(second!.batch.events[0]).not.toHaveProperty('fingerprint');
  });

  it('warns at start-up about an ingest key that a DSN cannot carry', async () => {
    const tmp = await tempDir();
    const lines: string[] = [];
    const apps = [{ id: 'old', name: 'Old', ingestKeys: ['tt_live_abc-def-0123456789'] }, ...SENTRY_APPS];
    const config = resolveCollectorConfig({ apps }, {});
    const stores = await openCollectorStores(tmp.dir, config);
    const app = await build(config, {
      spool: stores.spool,
      logger: { level: 'warn', stream: { write: (line: string) => lines.push(line) } },
    });
    await app.ready();
    await app.close();
    await stores.close();
    await tmp.remove();
    const warnings = lines
      .map((l) => (JSON.parse(l) as { msg: string }).msg)
      .filter((m) => m.includes('DSN'));
    expect(warnings).toEqual([expect.stringContaining('"telltale apps rotate-key old"')]);
  });
});
