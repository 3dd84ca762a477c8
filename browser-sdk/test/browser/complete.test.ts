// Issue 16 in real Chromium against the real Telltale server: exact usage counts (the Features API),
// SPA navigation and failed-call breadcrumbs, an HTTP-date Retry-After, a bug report written offline.
import type { Breadcrumb } from '@telltale/protocol';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, carrying, startHarness, until, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
}, 120_000);

afterAll(async () => {
  await h?.close();
});

// The harness's API token (harness.ts): the Features list is behind access control.
const API_TOKEN = 'sdk-harness-admin-token-0123456789abcdef';

/** What the Features page lists for one feature: its uses (sum of counts) as the dashboards API answers. */
async function uses(name: string): Promise<number | undefined> {
  const r = await fetch(`${h.telltale.url}/api/features?limit=200`, {
    headers: { authorization: `Bearer ${API_TOKEN}` },
  });
  if (!r.ok) throw new Error(`/api/features answered ${r.status}`);
  const body = (await r.json()) as { features: Array<{ name: string; uses: number }> };
  return body.features.find((f) => f.name == name)?.uses;
}

/** Feature events carrying `name` in batches the collector accepted as new, and the uses they carry. */
const wire = (name: string) => {
  const events = [
    ...new Map(
      h.uploads
        .filter((u) => u.status == 202 && u.answer?.duplicate === false)
        .flatMap((u) => u.batch!.events)
        .filter((e) => e.kind == 'feature' && e.name == name)
        .map((e) => [e.id, e]),
    ).values(),
  ];
  return { events: events.length, uses: events.reduce((n, e) => n + ('count' in e ? (e.count ?? 1) : 1), 0) };
};

const useTimes = (page: Page, name: string, n: number) =>
  page.evaluate(
    ([f, k]) => {
      for (let i = 0; i < k; i++)
        (window as unknown as { Telltale: { track(f: string): void } }).Telltale.track(f);
    },
    [name, n] as const,
  );

/** Polls until the Features page shows `n` uses, then checks a while later that it still shows exactly `n`. */
async function settlesAt(name: string, n: number) {
  await until(
    `${n} uses of ${name} on the Features page`,
    async () => ((await uses(name)) ?? 0) >= n,
    30_000,
  );
  await new Promise((r) => setTimeout(r, 2000));
  expect(await uses(name)).toBe(n);
}

describe('exact usage counts, on the Features page', () => {
  it('1,000 uses of one feature: the Features page shows 1,000, with a handful of events on the wire', async () => {
    const url = h.scenario('counts', {});
    const { context, page } = await h.newPage();
    await page.goto(url);
    await useTimes(page, 'export-csv-1000', 600);
    await call(page, 'flush');
    await useTimes(page, 'export-csv-1000', 400);
    await call(page, 'flush');
    await settlesAt('export-csv-1000', 1000);
    const { events, uses: carried } = wire('export-csv-1000');
    expect(carried).toBe(1000);
    expect(events).toBeLessThanOrEqual(4);
    await context.close();
  }, 90_000);

  it('offline in between, with a reload: still exactly 1,000 after reconnecting', async () => {
    const url = h.scenario('counts-offline', {});
    const { context, page } = await h.newPage();
    await page.goto(url);
    await useTimes(page, 'import-offline', 300);
    await call(page, 'flush');
    await until('the first 300 delivered', () => wire('import-offline').uses == 300);
    await context.setOffline(true);
    h.network.down = true;
    await useTimes(page, 'import-offline', 400);
    await call(page, 'flush'); // fails: offline
    await page.waitForTimeout(300); // the IndexedDB writes of the last counts
    await page.goto(url); // reopened while offline, from the HTTP cache: the queue comes back
    await useTimes(page, 'import-offline', 300);
    await call(page, 'flush');
    h.network.down = false;
    await context.setOffline(false);
    await settlesAt('import-offline', 1000);
    expect(wire('import-offline').uses).toBe(1000);
    expect(wire('import-offline').events).toBeLessThanOrEqual(6);
    await context.close();
  }, 90_000);
});

describe('breadcrumbs add-on', () => {
  it('an SPA navigation and failed fetch / XHR calls are breadcrumbs of the next error: no query, no body, not the SDK’s own calls', async () => {
    const url = h.scenario('crumbs', {
      // loaded by the app after telltale.min.js, as a script tag would be (allowed by the strict CSP)
      app: `var s = document.createElement('script'); s.src = '/sdk/telltale-breadcrumbs.js';
        s.onload = function () { window.crumbsReady = true; }; document.head.appendChild(s);`,
    });
    const { context, page } = await h.newPage();
    await page.goto(url);
    await page.waitForFunction(() => (window as unknown as { crumbsReady?: boolean }).crumbsReady);
    // the SDK's own upload refused (429): never a breadcrumb
    h.refuse.count = 1;
    h.refuse.retryAfter = '1';
    await call(page, 'track', 'before-crumbs');
    await call(page, 'flush');
    await until('the refused upload', () =>
      carrying(h, (e) => e.kind == 'feature' && e.name == 'before-crumbs').some((u) => u.status == 429),
    );
    await page.evaluate(async () => {
      history.pushState({}, '', '/app/orders/42?tab=secret-tab#frag');
      history.replaceState({}, '', '/app/orders/42?tab=other'); // same path: no second crumb
      await fetch('/api/orders?token=abc123', { method: 'POST', body: 'customer-body-text' });
      await fetch('/api/ok-or-not').catch(() => {}); // 404 too: a crumb
      await new Promise<void>((resolve) => {
        const x = new XMLHttpRequest();
        x.open('PUT', '/api/profile?email=jane@example.com');
        x.onloadend = () => resolve();
        x.send('{"name":"Jane"}');
      });
      await fetch('/api/echo'); // 200: not a crumb
      history.back();
      await new Promise((r) => addEventListener('popstate', r, { once: true }));
      setTimeout(function afterNavigation() {
        throw new Error('checkout broke');
      });
    });
    await call(page, 'flush');
    const u = await until('the error with its breadcrumbs', () =>
      h.uploads.find(
        (x) =>
          x.status == 202 && x.batch?.events.some((e) => e.kind == 'error' && e.message == 'checkout broke'),
      ),
    );
    const error = u.batch!.events.find((e) => e.kind == 'error' && e.message == 'checkout broke')!;
    const crumbs = (error.breadcrumbs ?? []) as Breadcrumb[];
    const text = crumbs.map((c) => `${c.category} ${c.level} ${c.message}`);
    expect(text.filter((t) => t.startsWith('navigation'))).toEqual([
      'navigation info /app/orders/42',
      'navigation info /page/crumbs',
    ]);
    const http = crumbs.filter((c) => c.category == 'http').map((c) => c.message);
    expect(http).toHaveLength(3);
    expect(http[0]).toMatch(/^POST \/api\/orders 404 \d+ms$/);
    expect(http[1]).toMatch(/^GET \/api\/ok-or-not 404 \d+ms$/);
    expect(http[2]).toMatch(/^PUT \/api\/profile 404 \d+ms$/);
    expect(crumbs.filter((c) => c.category == 'http').every((c) => c.level == 'warn')).toBe(true);
    const all = JSON.stringify(crumbs);
    expect(all).not.toMatch(/secret-tab|abc123|customer-body|jane|Jane|\/v1\/|frag|\?/);
    await context.close();
  }, 60_000);
});

describe('Retry-After as an HTTP date', () => {
  it('429 with a date 5 s ahead: nothing is sent before it, even from the reloaded page, then delivery under the same batch id', async () => {
    const url = h.scenario('retry-date', {});
    const { context, page } = await h.newPage();
    await page.goto(url);
    const until5s = Date.now() + 5000;
    h.refuse.count = 1;
    h.refuse.retryAfter = new Date(until5s).toUTCString();
    const notBefore = Date.parse(h.refuse.retryAfter); // whole seconds: up to 1 s before until5s
    await call(page, 'track', 'during-dated-429');
    await call(page, 'flush');
    const refused = await until('the 429', () =>
      carrying(h, (e) => e.kind == 'feature' && e.name == 'during-dated-429').find((x) => x.status == 429),
    );
    await page.goto(url);
    await call(page, 'track', 'after-reload-dated-429');
    await call(page, 'flush');
    const delivered = await until('delivery after the date', () =>
      carrying(h, (e) => e.kind == 'feature' && e.name == 'during-dated-429').find((x) => x.status == 202),
    );
    await until('the reloaded page’s event', () =>
      carrying(h, (e) => e.kind == 'feature' && e.name == 'after-reload-dated-429').some(
        (x) => x.status == 202,
      ),
    );
    const after = h.uploads.filter((x) => x.path == '/v1/batch' && x.at > refused.at);
    expect(after.length).toBeGreaterThan(0);
    // the exponential backoff (what an unread date got) would have retried after 0.5-1 s
    for (const x of after) expect(x.at).toBeGreaterThanOrEqual(notBefore - 50);
    expect(notBefore - refused.at).toBeGreaterThan(3000);
    expect(delivered.batch!.batchId).toBe(refused.batch!.batchId);
    await context.close();
  }, 60_000);
});

describe('reportBug add-on, offline', () => {
  it('a bug report made offline is kept (IndexedDB) across a reload and arrives after reconnect, once', async () => {
    const url = h.scenario('bug-offline', { addons: true });
    const { context, page } = await h.newPage();
    await page.goto(url);
    await context.setOffline(true);
    h.network.down = true;
    const ok = await call(page, 'reportBug', { description: 'written on the train', state: { tab: 3 } });
    expect(ok).toBe(true); // kept for later
    expect(h.uploads.filter((x) => x.path == '/v1/attachments' && x.status == 202)).toEqual([]);
    await page.goto(url); // reopened while still offline: its load event tries, and fails
    h.network.down = false;
    await context.setOffline(false); // the online event sends it
    const stored = await until('the report stored by the collector', () =>
      h.uploads.find((x) => x.path == '/v1/attachments' && x.status == 202),
    );
    expect(stored.answer).toMatchObject({ duplicate: false });
    const files = await until('the attachment file', async () => {
      const all = await h.attachmentFiles();
      return all.some((f) => f.endsWith(`${stored.answer!.id}.gz`)) && all;
    });
    // opened again online: nothing left to send, no second copy
    await page.goto(url);
    await call(page, 'track', 'after-bug');
    await until('the next page’s event', () =>
      carrying(h, (e) => e.kind == 'feature' && e.name == 'after-bug').some((x) => x.status == 202),
    );
    expect(h.uploads.filter((x) => x.path == '/v1/attachments' && x.status == 202)).toHaveLength(1);
    expect((await h.attachmentFiles()).filter((f) => f.endsWith('.gz'))).toHaveLength(
      files.filter((f) => f.endsWith('.gz')).length,
    );
    await context.close();
  }, 60_000);
});
