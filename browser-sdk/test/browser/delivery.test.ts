// Delivery in real Chromium against the real collector: offline and reloads, closed pages, 429, loops.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RETRY_BASE_MS } from '../../src/core/retry.js';
import { call, carrying, cspViolations, read, startHarness, until, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
}, 120_000);

afterAll(async () => {
  await h?.close();
});

const named = (name: string) => (e: { kind: string } & Record<string, unknown>) => e.name == name;

describe('delivery in Chromium against the real collector', () => {
  it('offline → captured → reopened while still offline → online: every event arrives exactly once', async () => {
    const url = h.scenario('offline', {});
    const { context, page } = await h.newPage();
    await page.goto(url);
    await context.setOffline(true);
    h.network.down = true;
    await page.evaluate(() => {
      setTimeout(function failWhileOffline() {
        throw new TypeError('offline boom');
      });
    });
    await call(page, 'track', 'offline-first-page');
    await call(page, 'assert', false, 'offline-assert', { items: 2 });
    await call(page, 'flush'); // fails: offline
    // Opened again while still offline (from the HTTP cache, as an offline-capable app is): the
    // queue comes back from IndexedDB, and more is captured.
    await page.goto(url);
    await call(page, 'track', 'offline-second-page');
    await call(page, 'flush');
    expect(h.uploads.filter((u) => u.status != 0 && u.batch?.events.some((e) => e.online === false))).toEqual(
      [],
    );

    h.network.down = false;
    await context.setOffline(false); // the `online` event resumes the upload at once
    const wanted = ['offline-first-page', 'offline-assert', 'offline-second-page'];
    await until('the offline events at the collector', () =>
      wanted.every((n) => carrying(h, named(n)).some((u) => u.status == 202)),
    );
    await until('the offline error at the collector', () =>
      h.uploads.some(
        (u) =>
          u.status == 202 && u.batch?.events.some((e) => e.kind == 'error' && e.message == 'offline boom'),
      ),
    );
    // every attempt the front server saw (the failed ones while the network was down included)
    const attempts = h.uploads.filter((u) => u.batch?.events.some((e) => e.online === false));
    expect(attempts.some((u) => u.status == 0)).toBe(true);
    const batches = attempts.filter((u) => u.status == 202);
    const events = [
      ...new Map(
        batches.flatMap((u) => u.batch!.events.filter((e) => e.online === false).map((e) => [e.id, e])),
      ).values(),
    ];
    expect(events.map((e) => e.kind).sort()).toEqual(['assert', 'error', 'feature', 'feature']);
    // each exactly once in what the collector accepted (its spool), whatever was retried
    const accepted = h.acceptedIds();
    for (const e of events) expect(accepted.filter((id) => id == e.id)).toHaveLength(1);
    // one session across the reopen, and every event in the store
    const sessions = new Set(batches.map((u) => u.batch!.session));
    expect(sessions.size).toBe(1);
    const [session] = sessions;
    const stored = await until('the offline events in the store', async () => {
      const rows = await h.storedEvents(session!);
      return events.every((e) => rows.some((r) => r.id == e.id)) && rows;
    });
    expect(stored.filter((r) => events.some((e) => e.id == r.id))).toHaveLength(4);
    await context.close();
  }, 90_000);

  it('a page closed right after an event: the event arrives (keepalive now, or from IndexedDB next visit)', async () => {
    const url = h.scenario('closed', {});
    const { context, page } = await h.newPage();
    await page.goto(url);
    await call(page, 'track', 'closed-right-after');
    await page.close({ runBeforeUnload: true });
    const next = await context.newPage();
    await next.goto(url); // the next visit, in case the keepalive request was lost
    const carrier = await until('the event sent on page hide', () =>
      carrying(h, named('closed-right-after')).find((u) => u.status == 202),
    );
    const event = carrier.batch!.events.find(named('closed-right-after'))!;
    await until('the event in the store', async () =>
      (await h.storedEvents(carrier.batch!.session)).some((r) => r.id == event.id),
    );
    await context.close();
  }, 60_000);

  it('a page hidden right after an event (tab switched): sent at once with keepalive', async () => {
    const url = h.scenario('hidden', {});
    const { context, page } = await h.newPage();
    await page.goto(url);
    await call(page, 'track', 'hidden-right-after');
    await page.evaluate(() => {
      Object.defineProperty(document, 'hidden', { value: true, configurable: true });
      document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
    });
    await until('the event sent on visibilitychange', () =>
      carrying(h, named('hidden-right-after')).some((u) => u.status == 202 && !u.gzip),
    );
    await context.close();
  }, 60_000);

  it('429 with Retry-After: 5 — nothing is sent before 5 s, even after a reload, then it is delivered', async () => {
    const url = h.scenario('retry-after', {});
    const { context, page } = await h.newPage();
    await page.goto(url);
    h.refuse.count = 1;
    h.refuse.retryAfter = '5';
    await call(page, 'track', 'during-429');
    await call(page, 'flush');
    const refused = await until('the 429', () => h.uploads.find((u) => u.status == 429));
    await page.goto(url); // a reload must not send before the Retry-After either
    await call(page, 'track', 'after-reload-during-429');
    await call(page, 'flush');
    const delivered = await until('delivery after Retry-After', () =>
      carrying(h, named('during-429')).find((u) => u.status == 202),
    );
    await until('the reloaded page’s event', () =>
      carrying(h, named('after-reload-during-429')).some((u) => u.status == 202),
    );
    const after = h.uploads.filter((u) => u.path == '/v1/batch' && u.at > refused.at);
    expect(after.length).toBeGreaterThan(0);
    for (const u of after) expect(u.at - refused.at).toBeGreaterThanOrEqual(5000);
    expect(delivered.batch!.batchId).toBe(refused.batch!.batchId);
    await context.close();
  }, 60_000);

  it('a throwing beforeSend and a throwing transport do not loop, and nothing is lost', async () => {
    const url = h.scenario('throwing', {
      options: `beforeSend: function (e) { window.beforeSendCalls = (window.beforeSendCalls || 0) + 1;
        if (e.kind == 'error') throw new Error('bug in beforeSend'); return e; }`,
      // A transport that throws: fetch itself is broken (a bad polyfill, an extension).
      pre: `window.fetchCalls = 0; window.fetchTimes = []; window.realFetch = window.fetch;
        window.fetch = function () { window.fetchCalls++; window.fetchTimes.push(performance.now()); throw new Error('broken fetch'); };`,
    });
    const { context, page } = await h.newPage();
    await page.goto(url);
    await page.evaluate(() => {
      setTimeout(() => {
        throw new Error('app error');
      });
    });
    await call(page, 'track', 'with-broken-transport');
    await call(page, 'flush');
    // No loop: three attempts arrive (waited for, not slept on), each after the backoff's delay; a
    // loop would make them back to back. Load only stretches the gaps, so the bound cannot flake.
    const times = await until('three upload attempts', async () => {
      const t = await read<number[]>(page, 'fetchTimes');
      return t.length >= 3 && t;
    });
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // The SDK's backoff (core/retry.ts): 1 s doubled per failed attempt, jittered to 50..100 %.
    expect(gaps[0]).toBeGreaterThanOrEqual(RETRY_BASE_MS * 0.5 - 50);
    expect(gaps[1]).toBeGreaterThanOrEqual(RETRY_BASE_MS * 2 * 0.5 - 50);
    expect(await read<number>(page, 'beforeSendCalls')).toBe(2);
    expect(await read<number>(page, 'appSawErrors')).toBe(1);
    // The transport works again: the feature arrives; the error was dropped by beforeSend (counted).
    await page.evaluate(() => {
      const w = window as unknown as { fetch: typeof fetch; realFetch: typeof fetch };
      w.fetch = w.realFetch;
    });
    await call(page, 'flush');
    const carrier = await until('the event after the transport recovered', () =>
      carrying(h, named('with-broken-transport')).find((u) => u.status == 202),
    );
    expect(carrier.batch!.dropped).toBe(1);
    expect(
      h.uploads
        .flatMap((u) => u.batch?.events ?? [])
        .some((e) => e.kind == 'error' && /beforeSend|broken fetch/.test(e.message)),
    ).toBe(false);
    await context.close();
  }, 60_000);

  it('10,000 identical errors in a loop: one event with count 10000, and the page stays responsive', async () => {
    const url = h.scenario('loop', {});
    const { context, page } = await h.newPage();
    await page.goto(url);
    await page.evaluate(() => {
      const T = (window as unknown as { Telltale: { captureError(e: unknown): void } }).Telltale;
      for (let i = 0; i < 10_000; i++) {
        try {
          JSON.parse('{not json');
        } catch (e) {
          T.captureError(e);
        }
      }
    });
    // responsive: the page still handles a click and answers right away
    await page.evaluate(() =>
      document.body.addEventListener(
        'click',
        () => ((window as unknown as { clicked: boolean }).clicked = true),
      ),
    );
    await page.click('#p', { timeout: 5000 });
    expect(await read<boolean>(page, 'clicked')).toBe(true);
    await call(page, 'flush');
    const carrier = await until('the counted error', () =>
      h.uploads.find(
        (u) => u.status == 202 && u.batch?.events.some((e) => e.kind == 'error' && e.type == 'SyntaxError'),
      ),
    );
    const errors = carrier.batch!.events.filter((e) => e.kind == 'error');
    expect(errors).toEqual([expect.objectContaining({ type: 'SyntaxError', count: 10_000 })]);
    await context.close();
  }, 60_000);

  it('a page that uploads, retries after a 429 and sends on hide runs under the strict CSP without a violation', async () => {
    // Its own page, so the test proves its point when run alone (vitest -t) or first.
    const url = h.scenario('csp-delivery', {});
    const { context, page, violations } = await h.newPage();
    await page.goto(url);
    h.refuse.count = 1;
    h.refuse.retryAfter = '1';
    await call(page, 'track', 'csp-delivery-retried');
    await call(page, 'flush');
    await until('the retried upload', () =>
      carrying(h, named('csp-delivery-retried')).some((u) => u.status == 202),
    );
    await call(page, 'track', 'csp-delivery-hidden');
    await page.evaluate(() => {
      Object.defineProperty(document, 'hidden', { value: true, configurable: true });
      document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
    });
    await until('the event sent on hide', () =>
      carrying(h, named('csp-delivery-hidden')).some((u) => u.status == 202),
    );
    expect(await cspViolations(page, violations)).toEqual([]);
    await context.close();

    // The detector itself works: a page that breaks the policy (an upload to another origin) is
    // caught by both listeners, its console and its securitypolicyviolation handler.
    const control = await h.newPage();
    const blocked = `fetch('http://localhost:9/csp-control').catch(function () {});`;
    await control.page.goto(h.scenario('csp-control', { noInit: true, app: blocked }));
    const caught = await until('the control page’s violation', async () => {
      const found = await cspViolations(control.page, []);
      return control.violations.length > 0 && found.length > 0 && found;
    });
    expect(caught).toEqual([expect.stringMatching(/^connect-src http:\/\/localhost:9\/csp-control/)]);
    expect(control.violations.join('\n')).toContain('csp-control');
    await control.context.close();
  }, 60_000);
});
