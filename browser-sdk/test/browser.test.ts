// Real-browser test: Debian's Chromium, driven by playwright-core, against a tiny collector on 127.0.0.1.
import { validateBatch, type Batch, type TelltaleEvent } from '@telltale/protocol';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM build script without type declarations
import { build } from '../scripts/build.mjs';

const CHROMIUM = '/usr/bin/chromium';
const KEY = 'browser-test-key';

interface Received {
  contentType: string | undefined;
  gzip: boolean;
  key: string | null;
  batch: Batch;
}

const received: Received[] = [];
let server: Server;
let origin: string;
let browser: Browser;
let sdk: Buffer;
let demo: Record<string, string>;

const PAGE = `<!doctype html><html><head><meta charset="utf-8">
<script src="/app-handlers.js"></script>
<script src="/sdk/telltale.min.js"></script>
<script src="/init.js"></script>
</head><body><p>test page</p></body></html>`;

// The app's own handler, set before the SDK: it must still be called (the SDK chains, never replaces).
const APP_HANDLERS = `window.appSawErrors = 0; window.onerror = function () { window.appSawErrors++; };`;
const INIT = `Telltale.init({ endpoint: '', key: '${KEY}', release: 'e2e-1.0.0', environment: 'e2e' });`;

function events(): TelltaleEvent[] {
  return received.flatMap((r) => r.batch.events);
}

async function until<T>(what: string, probe: () => T | undefined | false, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; received ${JSON.stringify(events())}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const findEvent = (test: (e: TelltaleEvent) => boolean) => () => events().find(test);

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install it: apt-get install -y chromium`);
  await build();
  sdk = await readFile(new URL('../dist/telltale.min.js', import.meta.url));
  const demoFile = (name: string) => readFile(new URL(`../demo/${name}`, import.meta.url), 'utf8');
  demo = {
    // placeholders replaced as the cli does; an empty endpoint means the page's own origin
    html: (await demoFile('index.html'))
      .replaceAll('%TELLTALE_KEY%', KEY)
      .replaceAll('%TELLTALE_ENDPOINT%', ''),
    js: await demoFile('demo.js'),
    css: await demoFile('demo.css'),
  };

  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method == 'POST' && url.pathname == '/v1/batch') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const gzip = raw[0] == 0x1f && raw[1] == 0x8b;
        const batch = JSON.parse((gzip ? gunzipSync(raw) : raw).toString('utf8')) as Batch;
        received.push({
          contentType: req.headers['content-type'],
          gzip,
          key: url.searchParams.get('key'),
          batch,
        });
        res
          .writeHead(202, { 'content-type': 'application/json' })
          .end(JSON.stringify({ accepted: batch.events.length, duplicate: false }));
      });
      return;
    }
    const files: Record<string, [string, string | Buffer]> = {
      '/page': ['text/html', PAGE],
      '/other': ['text/html', '<!doctype html><p>elsewhere</p>'],
      '/app-handlers.js': ['text/javascript', APP_HANDLERS],
      '/init.js': ['text/javascript', INIT],
      '/sdk/telltale.min.js': ['text/javascript', sdk],
      '/demo': ['text/html', demo.html!],
      '/demo/demo.js': ['text/javascript', demo.js!],
      '/demo/demo.css': ['text/css', demo.css!],
    };
    const file = files[url.pathname];
    if (!file) return void res.writeHead(404).end();
    // The CSP we ask of users: the SDK needs no inline script, no eval and no other origin.
    res
      .writeHead(200, {
        'content-type': file[0],
        'content-security-policy':
          "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'",
      })
      .end(file[1]);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
});

describe('browser SDK in Chromium', () => {
  it('reports an uncaught error, an unhandled rejection and a feature in a gzip text/plain batch', async () => {
    const page = await browser.newPage();
    await page.goto(`${origin}/page?coupon=SECRET42#pay`);
    await page.evaluate(() => {
      setTimeout(function explodeCheckout() {
        void (undefined as unknown as { total: number }).total;
      });
      void Promise.reject(new Error('payment provider said no'));
      void Promise.reject({ code: 7, detail: 'customer text' });
      (window as unknown as { Telltale: { track(n: string, p: object): void } }).Telltale.track(
        'export-csv',
        { rows: 42 },
      );
    });

    const uncaught = await until(
      'the uncaught TypeError',
      findEvent((e) => e.kind == 'error' && e.mechanism == 'onerror'),
    );
    const rejection = await until(
      'the rejection',
      findEvent((e) => e.kind == 'error' && e.message == 'payment provider said no'),
    );
    const nonError = await until(
      'the non-Error rejection',
      findEvent((e) => e.kind == 'error' && e.type == 'NonError'),
    );
    const feature = await until(
      'the feature',
      findEvent((e) => e.kind == 'feature'),
    );

    expect(uncaught).toMatchObject({ type: 'TypeError', count: 1, url: '/page', online: true });
    expect(uncaught.kind == 'error' && uncaught.stack).toContain('explodeCheckout');
    expect(uncaught.trace).toMatch(/^[0-9a-f]{32}$/);
    expect(rejection).toMatchObject({ type: 'Error', mechanism: 'onunhandledrejection', url: '/page' });
    expect(nonError).toMatchObject({
      mechanism: 'onunhandledrejection',
      message: 'Object with keys: code,detail',
    });
    expect(feature).toMatchObject({ name: 'export-csv', props: { rows: 42 }, url: '/page' });

    for (const r of received) {
      expect(r).toMatchObject({ contentType: 'text/plain', gzip: true, key: KEY });
      expect(validateBatch(r.batch)).toMatchObject({ ok: true });
      expect(r.batch).toMatchObject({
        v: 1,
        release: 'e2e-1.0.0',
        environment: 'e2e',
        sdk: expect.stringMatching(/^telltale-browser\//),
      });
      expect(r.batch.loadMs).toBeGreaterThan(0);
      expect(JSON.stringify(r.batch)).not.toContain('SECRET42');
    }
    expect(new Set(events().map((e) => e.trace)).size).toBe(1);
    expect(await page.evaluate(() => (window as unknown as { appSawErrors: number }).appSawErrors)).toBe(1);
    await page.close();
  }, 60_000);

  it('delivers a queued event when the page is closed before the debounce fires', async () => {
    // A context of our own: closing a page that owns its context would also tear down its network, as quitting the browser does.
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${origin}/page`);
    await page.evaluate(() =>
      (window as unknown as { Telltale: { track(n: string): void } }).Telltale.track('closed-right-after'),
    );
    await page.close({ runBeforeUnload: true });
    await until(
      'the event sent on page hide',
      findEvent((e) => e.kind == 'feature' && e.name == 'closed-right-after'),
    );
    const carrier = received.find((r) =>
      r.batch.events.some((e) => e.kind == 'feature' && e.name == 'closed-right-after'),
    )!;
    expect(carrier).toMatchObject({ contentType: 'text/plain', key: KEY });
    expect(validateBatch(carrier.batch)).toMatchObject({ ok: true });
    await context.close();
  }, 60_000);

  it('delivers a queued event when the user navigates away', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${origin}/page`);
    await page.evaluate(() =>
      (window as unknown as { Telltale: { track(n: string): void } }).Telltale.track('navigated-away'),
    );
    await page.goto(`${origin}/other`);
    await until(
      'the event sent on navigation',
      findEvent((e) => e.kind == 'feature' && e.name == 'navigated-away'),
    );
    await context.close();
  }, 60_000);

  it('keeps events captured offline and sends them when the network is back', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${origin}/page`);
    // Count the SDK's failed uploads, to know one happened while offline.
    await page.evaluate(() => {
      const w = window as unknown as { failedUploads: number; fetch: typeof fetch };
      const original = w.fetch;
      w.failedUploads = 0;
      w.fetch = (...args) => original(...args).catch((e: unknown) => (w.failedUploads++, Promise.reject(e)));
    });
    await context.setOffline(true);
    await page.evaluate(() =>
      (window as unknown as { Telltale: { track(n: string): void } }).Telltale.track('used-offline'),
    );
    await page.waitForFunction(
      () => (window as unknown as { failedUploads: number }).failedUploads > 0,
      undefined,
      { timeout: 15_000 },
    );
    expect(events().some((e) => e.kind == 'feature' && e.name == 'used-offline')).toBe(false);
    await context.setOffline(false);
    // Sooner than the 30 s offline retry: the `online` event resumes the upload.
    const offline = await until(
      'the event captured offline',
      findEvent((e) => e.kind == 'feature' && e.name == 'used-offline'),
    );
    expect(offline.online).toBe(false);
    await context.close();
  }, 60_000);

  it('runs the demo page under a strict CSP: every button produces its event', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    await page.goto(`${origin}/demo`);
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
    const demoEvents = () => events().filter((e) => e.url == '/demo');
    await until('all six demo events', () => demoEvents().length >= 6 && demoEvents());
    const by = (kind: string) => demoEvents().filter((e) => e.kind == kind);
    expect(by('error').map((e) => e.kind == 'error' && [e.type, e.mechanism])).toEqual(
      expect.arrayContaining([
        ['TypeError', 'onerror'],
        ['Error', 'onunhandledrejection'],
      ]),
    );
    expect(by('error').find((e) => e.kind == 'error' && e.type == 'TypeError')).toMatchObject({
      stack: expect.stringContaining('computeCheckoutTotal'),
    });
    expect(by('assert')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          name: 'cart-total-matches',
          soft: false,
          vars: { items: 3, checksum: 'ab12' },
        }),
        expect.objectContaining({ name: 'workspace-count-under-100', soft: true, vars: { workspaces: 140 } }),
      ]),
    );
    expect(by('feature')).toEqual([expect.objectContaining({ name: 'export-csv', props: { rows: 42 } })]);
    expect(by('blocked')).toEqual([
      expect.objectContaining({ reason: 'file-too-large', props: { sizeMb: 30, limitMb: 25 } }),
    ]);
    const carriers = received.filter((r) => r.batch.events.some((e) => e.url == '/demo'));
    for (const r of carriers) expect(r.batch).toMatchObject({ release: 'demo-1.0.0', environment: 'demo' });
    await page.waitForFunction(() => document.getElementById('status')?.textContent?.includes('HTTP 202'));
    expect(violations).toEqual([]);
    await context.close();
  }, 60_000);
});
