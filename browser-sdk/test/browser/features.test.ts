// What a page gets from the SDK in real Chromium, against the real collector: capture and metadata,
// fallbacks (no IndexedDB, no CompressionStream), the add-ons, the demo page under a strict CSP.
import { validateBatch, type TelltaleEvent } from '@telltale/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, carrying, cspViolations, read, startHarness, until, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
}, 120_000);

afterAll(async () => {
  await h?.close();
});

const find = (test: (e: TelltaleEvent) => boolean) => () =>
  h.uploads.find((u) => u.status == 202 && u.batch?.events.some(test));

describe('the SDK in a page', () => {
  it('reports an uncaught error, a rejection and a feature, with the metadata, in gzip batches the collector stores', async () => {
    const url = h.scenario('basic', {});
    const { context, page } = await h.newPage();
    await page.goto(`${url}?coupon=SECRET42#pay`);
    await page.evaluate(() => {
      setTimeout(function explodeCheckout() {
        void (undefined as unknown as { total: number }).total;
      });
      void Promise.reject(new Error('payment provider said no'));
      void Promise.reject({ code: 7, detail: 'customer text' });
    });
    await call(page, 'track', 'export-csv', { rows: 42, email: 'jane@example.com' });
    await call(page, 'log', 'info', 'opened cart');
    const carrier = await until('all four events', () => {
      const events = h.uploads.filter((u) => u.status == 202).flatMap((u) => u.batch?.events ?? []);
      return events.filter((e) => e.url == '/page/basic').length >= 4 && events;
    });
    const ours = carrier.filter((e) => e.url == '/page/basic');
    const uncaught = ours.find((e) => e.kind == 'error' && e.mechanism == 'onerror');
    expect(uncaught).toMatchObject({ type: 'TypeError', count: 1, online: true });
    expect(uncaught?.kind == 'error' && uncaught.stack).toContain('explodeCheckout');
    expect(ours.find((e) => e.kind == 'error' && e.message == 'payment provider said no')).toMatchObject({
      mechanism: 'onunhandledrejection',
    });
    expect(ours.find((e) => e.kind == 'error' && e.type == 'NonError')).toMatchObject({
      message: 'code,detail',
    });
    expect(ours.find((e) => e.kind == 'feature')).toMatchObject({
      name: 'export-csv',
      props: { rows: 42, email: '[filtered]' },
    });
    const batches = h.uploads.filter((u) => u.batch?.events.some((e) => e.url == '/page/basic'));
    for (const u of batches) {
      expect(u.gzip).toBe(true);
      expect(validateBatch(u.batch)).toMatchObject({ ok: true });
      expect(u.batch).toMatchObject({ release: 'e2e-1.0.0', environment: 'e2e', adblock: false });
      expect(u.batch!.loadMs).toBeGreaterThan(0);
      expect(u.batch!.sdk).toMatch(/^telltale-browser\//);
      expect(JSON.stringify(u.batch)).not.toMatch(/SECRET42|customer text|jane/);
    }
    const session = batches[0]!.batch!.session;
    expect(ours.every((e) => e.trace == session)).toBe(true);
    // the app's own window.onerror still ran (the SDK adds listeners, never replaces handlers)
    expect(await read<number>(page, 'appSawErrors')).toBe(1);
    // and the events reached the store behind the collector
    await until('the events in the store', async () => (await h.storedEvents(session)).length >= 4);
    await context.close();
  }, 60_000);

  it('detects an ad blocker (the bait element is hidden)', async () => {
    const url = h.scenario('adblock', { css: true });
    const { context, page } = await h.newPage();
    await page.goto(url);
    await call(page, 'track', 'with-blocker');
    await call(page, 'flush');
    const u = await until(
      'the batch',
      find((e) => e.kind == 'feature' && e.name == 'with-blocker'),
    );
    expect(u.batch!.adblock).toBe(true);
    await context.close();
  }, 60_000);

  it('without IndexedDB (private modes), keeps the queue in memory and still delivers', async () => {
    const url = h.scenario('no-idb', {
      pre: `Object.defineProperty(window, 'indexedDB', { get: function () { throw new Error('SecurityError'); } });`,
    });
    const { context, page } = await h.newPage();
    await page.goto(url);
    await call(page, 'track', 'memory-only');
    await until(
      'the event',
      find((e) => e.kind == 'feature' && e.name == 'memory-only'),
    );
    await context.close();
  }, 60_000);

  it('without CompressionStream, loads the fflate fallback on first use and still sends gzip', async () => {
    const url = h.scenario('no-cs', { pre: `delete window.CompressionStream;` });
    const { context, page } = await h.newPage();
    const scripts: string[] = [];
    page.on('request', (r) => {
      if (r.resourceType() == 'script') scripts.push(new URL(r.url()).pathname);
    });
    await page.goto(url);
    expect(scripts).not.toContain('/sdk/gzip.js'); // not before it is needed
    await call(page, 'track', 'fflate-gzip');
    await call(page, 'flush');
    const u = await until(
      'the event',
      find((e) => e.kind == 'feature' && e.name == 'fflate-gzip'),
    );
    expect(u.gzip).toBe(true);
    expect(scripts).toContain('/sdk/gzip.js');
    await context.close();
  }, 60_000);

  it('traceparent add-on: the app’s own fetch and XHR calls to listed origins carry the session’s trace id', async () => {
    const url = h.scenario('trace', { addons: true, options: `propagateTraceparent: [location.origin]` });
    const { context, page } = await h.newPage();
    await page.goto(url);
    const [viaFetch, viaXhr] = await page.evaluate(async () => {
      const f = (await (await fetch('/api/echo')).json()) as { traceparent: string };
      const x = await new Promise<{ traceparent: string }>((resolve) => {
        const r = new XMLHttpRequest();
        r.open('GET', '/api/echo');
        r.onload = () => resolve(JSON.parse(r.responseText) as { traceparent: string });
        r.send();
      });
      return [f.traceparent, x.traceparent];
    });
    const w3c = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;
    expect(viaFetch).toMatch(w3c);
    expect(viaXhr).toMatch(w3c);
    expect(viaFetch!.split('-')[2]).not.toBe(viaXhr!.split('-')[2]); // a new span per call
    await call(page, 'track', 'traced');
    await call(page, 'flush');
    const u = await until(
      'the event',
      find((e) => e.kind == 'feature' && e.name == 'traced'),
    );
    expect(viaFetch!.split('-')[1]).toBe(u.batch!.session);
    await context.close();

    // an origin not listed gets nothing (a header there would cost a CORS preflight)
    const unlisted = h.scenario('trace-unlisted', {
      addons: true,
      options: `propagateTraceparent: ['https://api.example.com']`,
    });
    const other = await h.newPage();
    await other.page.goto(unlisted);
    const echoed = await other.page.evaluate(
      async () => ((await (await fetch('/api/echo')).json()) as { traceparent: null }).traceparent,
    );
    expect(echoed).toBeNull();
    await other.context.close();
  }, 60_000);

  it('reportBug add-on: a gzipped, scrubbed bug report is stored by the collector, tied to the session', async () => {
    const url = h.scenario('bug', { addons: true });
    const { context, page } = await h.newPage();
    await page.goto(url);
    await call(page, 'log', 'info', 'opened settings');
    const ok = await call(page, 'reportBug', {
      description: 'the save button does nothing; mail me at jane@example.com',
      state: { workspaces: 3, owner: 'jane@example.com', apiToken: 'secret' },
    });
    expect(ok).toBe(true);
    const upload = h.uploads.find((u) => u.path == '/v1/attachments')!;
    expect(upload).toMatchObject({ gzip: true, status: 202, answer: { duplicate: false } });
    const files = await until('the stored attachment', async () => {
      const all = await h.attachmentFiles();
      return all.some((f) => f.endsWith(`${upload.answer!.id}.gz`)) && all;
    });
    const { readFile } = await import('node:fs/promises');
    const { gunzipSync } = await import('node:zlib');
    const report = JSON.parse(
      gunzipSync(await readFile(files.find((f) => f.endsWith('.gz'))!)).toString('utf8'),
    ) as Record<string, unknown>;
    expect(report).toMatchObject({
      kind: 'bug-report',
      description: 'the save button does nothing; mail me at [filtered]',
      state: { workspaces: 3, owner: '[filtered]', apiToken: '[filtered]' },
      breadcrumbs: [expect.objectContaining({ message: 'opened settings' })],
      release: 'e2e-1.0.0',
    });
    const meta = JSON.parse(
      await readFile(
        files.find((f) => f.endsWith('.json'))!,
        'utf8',
      ),
    ) as { session: string };
    expect(meta.session).toBe(report.session);
    await context.close();
  }, 60_000);

  it('runs the demo page under a strict CSP: every button produces its event', async () => {
    const { context, page, violations } = await h.newPage();
    await page.goto(`${h.origin}/demo`);
    await page.waitForFunction(() => document.getElementById('status')?.textContent?.startsWith('Ready'));
    for (const id of [
      'throw-error',
      'reject-promise',
      'fail-assert',
      'soft-assert',
      'use-feature',
      'blocked',
    ])
      await page.click(`#${id}`);
    await page.click('#flush');
    const demoEvents = () =>
      h.uploads
        .filter((u) => u.status == 202)
        .flatMap((u) => u.batch?.events ?? [])
        .filter((e) => e.url == '/demo');
    await until('all six demo events', () => demoEvents().length >= 6);
    expect(new Set(demoEvents().map((e) => e.kind))).toEqual(
      new Set(['error', 'assert', 'feature', 'blocked']),
    );
    // the demo lists what its uploads got (its status line may end on "nothing was waiting to be sent")
    await page.waitForFunction(() => document.getElementById('history')?.textContent?.includes('HTTP 202'));
    expect(await cspViolations(page, violations)).toEqual([]);
    await context.close();
  }, 60_000);

  it('the npm build works as an ES module too, with its gzip.js beside it', async () => {
    const url = h.scenario('esm', { esm: true, pre: `delete window.CompressionStream;` });
    const { context, page } = await h.newPage();
    await page.goto(url);
    await page.waitForFunction(() => 'Telltale' in window);
    await call(page, 'track', 'from-esm');
    await call(page, 'flush');
    const u = await until(
      'the event',
      find((e) => e.kind == 'feature' && e.name == 'from-esm'),
    );
    expect(u.gzip).toBe(true);
    await context.close();
  }, 60_000);

  it('before init, every call is ignored without an error, and flush still returns a promise', async () => {
    const url = h.scenario('no-init', { noInit: true });
    const { context, page } = await h.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    const flushed = await page.evaluate(async () => {
      const T = (window as unknown as { Telltale: Record<string, (...a: unknown[]) => unknown> }).Telltale;
      T.track!('before-init');
      T.captureError!(new Error('before init'));
      T.reportBug!({ description: 'no add-on loaded' });
      return (await T.flush!()) === undefined;
    });
    expect(flushed).toBe(true);
    expect(errors).toEqual([]);
    expect(carrying(h, (e) => e.kind == 'feature' && e.name == 'before-init')).toEqual([]);
    await context.close();
  }, 60_000);

  it('a page with the add-ons and the ad-blocker bait runs under the strict CSP without a violation', async () => {
    // Its own page, so the test proves its point when run alone (vitest -t) or first.
    const url = h.scenario('csp-features', { addons: true, css: true });
    const { context, page, violations } = await h.newPage();
    await page.goto(url);
    await page.evaluate(() => {
      setTimeout(function cspPageError() {
        throw new Error('csp page error');
      });
    });
    await call(page, 'track', 'csp-features-used');
    await call(page, 'flush');
    await until('the page’s error and feature at the collector', () => {
      const events = h.uploads.filter((u) => u.status == 202).flatMap((u) => u.batch?.events ?? []);
      return (
        events.some((e) => e.kind == 'feature' && e.name == 'csp-features-used') &&
        events.some((e) => e.kind == 'error' && e.message == 'csp page error')
      );
    });
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
