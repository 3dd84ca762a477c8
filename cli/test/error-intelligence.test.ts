import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildShop, type ShopBuild } from '../../dispatchers/test/fixtures/shop-app.js';
import { main, startTelltale, type RunningTelltale } from '../src/index.js';
import {
  launchChromium,
  readSpool,
  startSmtpServer,
  tempDir,
  waitFor,
  type ReceivedMail,
} from './helpers.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const RECIPIENT = 'founders@example.test';
const API_TOKEN = 'error-intelligence-admin-token-0123456789';

interface Frame {
  function?: string;
  file?: string;
  line?: number;
  column?: number;
  inApp: boolean;
  symbolicated?: boolean;
}
interface Group {
  id: string;
  type: string;
  message: string;
  events: number;
  releases: string[];
  status: string;
}

/** Runs `telltale …` in this process, capturing what it prints. */
async function telltaleCli(
  argv: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const code = await main(argv, { stdout, stderr, env });
  return { code, out, err };
}

/** Serves the builds' assets and one page per (build, release), as the app's own web server would. */
async function serveShop(builds: ShopBuild[], telltale: () => RunningTelltale) {
  const server = http.createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://x');
      const page = /^\/page\/(\d)\/([\w.-]+)$/.exec(url.pathname);
      if (page !== null) {
        const build = builds[Number(page[1]) - 1]!;
        const t = telltale();
        response.setHeader('content-type', 'text/html; charset=utf-8');
        response.end(`<!doctype html><button id="checkout">Checkout</button><button id="redeem">Redeem</button>
<script src="${t.url}/sdk/telltale.min.js"></script>
<script>Telltale.init({ endpoint: ${JSON.stringify(t.url)}, key: ${JSON.stringify(t.demoKey)}, release: ${JSON.stringify(page[2])}, environment: 'production' });</script>
<script src="/${build.script}"></script>`);
        return;
      }
      for (const build of builds) {
        const file = path.join(build.dir, path.normalize(url.pathname).replace(/^(\.\.[/\\])+/, ''));
        const body = await readFile(file).catch(() => undefined);
        if (body !== undefined && file.startsWith(build.dir)) {
          response.setHeader('content-type', file.endsWith('.map') ? 'application/json' : 'text/javascript');
          response.end(body);
          return;
        }
      }
      response.statusCode = 404;
      response.end();
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('error intelligence end to end: a minified app in Chromium, maps uploaded with the CLI, one email per new thing', () => {
  let browser: Browser;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let work: Awaited<ReturnType<typeof tempDir>>;
  let telltale: RunningTelltale;
  let shop: Awaited<ReturnType<typeof serveShop>>;
  let one: ShopBuild;
  let two: ShopBuild;

  const start = () =>
    startTelltale({
      port: 0,
      dataDir: data.dir,
      logger: false,
      env: { TELLTALE_API_TOKEN: API_TOKEN },
      dispatcher: { smtpUrl: smtp.url, alertTo: RECIPIENT },
    });
  // The dashboards and their API need credentials (docs/security.md): scripts send a token.
  const authorization = { authorization: `Bearer ${API_TOKEN}` };
  const cliEnv = { TELLTALE_API_TOKEN: API_TOKEN };
  const api = async <T>(p: string): Promise<T> => {
    const response = await fetch(`${telltale.url}${p}`, { headers: authorization });
    if (!response.ok) throw new Error(`${p} answered ${response.status}`);
    return (await response.json()) as T;
  };
  const mails = (text: string): ReceivedMail[] => smtp.messages.filter((m) => m.subject.includes(text));
  const upload = (build: ShopBuild, release: string) =>
    telltaleCli([
      'sourcemaps',
      'upload',
      build.dir,
      '--release',
      release,
      '--url-prefix',
      `${shop.url}/`,
      '--endpoint',
      telltale.url,
      '--key',
      telltale.demoSecret!,
    ]);

  /** Opens the page of a build under a release in a fresh browser profile, clicks, and flushes the SDK. */
  async function crash(build: 1 | 2, release: string, buttons: string[]): Promise<string[]> {
    const context = await browser.newContext();
    const page = await context.newPage();
    const seen: string[] = [];
    page.on('pageerror', (error) => seen.push(error.stack ?? error.message));
    await page.goto(`${shop.url}/page/${build}/${release}`);
    for (const id of buttons) await page.click(`#${id}`);
    await waitFor(`${buttons.length} uncaught errors in the page`, async () =>
      seen.length >= buttons.length ? true : undefined,
    );
    await page.evaluate(() =>
      (globalThis as unknown as { Telltale: { flush(): Promise<void> } }).Telltale.flush(),
    );
    await context.close();
    return seen;
  }

  beforeAll(async () => {
    [browser, smtp, data, work] = await Promise.all([
      launchChromium(),
      startSmtpServer(),
      tempDir('ei'),
      tempDir('ei-build'),
    ]);
    one = await buildShop(work.dir, 1);
    two = await buildShop(work.dir, 2);
    telltale = await start();
    shop = await serveShop([one, two], () => telltale);
  });

  afterAll(async () => {
    await shop?.close();
    await telltale?.close();
    await browser?.close();
    await smtp?.close();
    await data?.remove();
    await work?.remove();
  });

  it('shows original file, line and function; groups one bug across two builds; emails each new group once with its frames', async () => {
    expect(one.script).not.toBe(two.script);
    // Build one's maps through the CLI in this process; build two's through `npx telltale`, as a developer would.
    const first = await upload(one, '1.4.2');
    expect(first.code, first.err).toBe(0);
    expect(first.out).toContain(`uploaded ${one.script} → ${shop.url}/${one.script}`);
    const { stdout } = await promisify(execFile)(
      'npx',
      [
        '--no-install',
        'telltale',
        'sourcemaps',
        'upload',
        two.dir,
        '--release',
        '1.4.3',
        '--url-prefix',
        `${shop.url}/`,
        '--endpoint',
        telltale.url,
      ],
      { cwd: REPO, env: { ...process.env, TELLTALE_SECRET_KEY: telltale.demoSecret }, timeout: 60_000 },
    );
    expect(stdout).toContain('1 of 1 source map uploaded for release 1.4.3');

    const stacks = [
      ...(await crash(1, '1.4.2', ['checkout', 'redeem'])),
      ...(await crash(2, '1.4.3', ['checkout'])),
    ];
    expect(stacks.join('\n')).toMatch(/at [a-zA-Z]\b/); // what the browser saw: minified names

    const groups = await waitFor('two error groups with all three events', async () => {
      const { groups: list } = await api<{ groups: Group[] }>('/api/errors');
      return list.reduce((n, g) => n + g.events, 0) >= 3 ? list : undefined;
    });
    expect(groups).toHaveLength(2);
    const cart = groups.find((g) => g.message.includes("reading 'items'"))!;
    const coupon = groups.find((g) => g.message.includes("reading 'percent'"))!;
    expect(cart).toMatchObject({ events: 2, releases: ['1.4.2', '1.4.3'], status: 'new' });
    expect(coupon).toMatchObject({ events: 1, releases: ['1.4.2'] });

    const detail = await api<{
      group: { frames: Frame[]; sourceMaps: { status: string } };
      samples: Array<{ frames: Frame[] }>;
    }>(`/api/errors/${cart.id}`);
    expect(detail.group.sourceMaps.status).toBe('ok');
    expect(detail.group.frames.slice(0, 3).map((f) => [f.function, f.file, f.line, f.inApp])).toEqual([
      ['renderCart', 'shop/src/cart.ts', 5, true],
      ['handleCheckout', 'shop/src/store.ts', 14, true],
      ['Store.dispatch', 'shop/src/store.ts', 7, true],
    ]);
    expect(detail.group.frames[0]?.column).toBe(23);
    // Both builds' samples resolve, each through its own release's map.
    expect(
      detail.samples.every((s) => s.frames[0]?.function === 'renderCart' && s.frames[0].line === 5),
    ).toBe(true);

    const page = await (await fetch(`${telltale.url}/errors/${cart.id}`, { headers: authorization })).text();
    expect(page).toContain('renderCart');
    expect(page).toContain('shop/src/cart.ts');
    expect(page).toContain('const total = cart!.items!.reduce');
    expect(page).not.toContain('No source maps were uploaded');

    await waitFor('two new-error emails', async () => (mails('New error').length >= 2 ? true : undefined));
    const cartMail = mails("reading 'items'")[0]!;
    const body = cartMail.text;
    expect(cartMail.subject).toBe(
      "[Telltale] New error in demo: TypeError: Cannot read properties of undefined (reading 'items')",
    );
    expect(cartMail.to).toEqual([RECIPIENT]);
    expect(body).toContain('at renderCart (shop/src/cart.ts:5:23)');
    expect(body).toContain('at handleCheckout (shop/src/store.ts:14:');
    expect(body).toContain('> const total = cart!.items!.reduce');
    expect(body).toMatch(/Release:\s+1\.4\.2/);
    expect(body).toMatch(/Users:\s+1 so far/);
    expect(mails("reading 'percent'")[0]!.text).toContain('at applyCoupon (shop/src/coupon.ts:3:');
  });

  it('mutes with a rule from the CLI, explains a missing map, and sends nothing twice after a restart and a re-upload', async () => {
    const mute = await telltaleCli(
      [
        'mute',
        'add',
        '--message',
        "*reading 'percent'*",
        '--release',
        '2.*',
        '--note',
        'coupon table migration',
        '--endpoint',
        telltale.url,
      ],
      cliEnv,
    );
    expect(mute.code, mute.err).toBe(0);
    expect((await telltaleCli(['mute', 'list', '--endpoint', telltale.url], cliEnv)).out).toContain(
      "message=*reading 'percent'*",
    );

    // A release nobody uploaded maps for: a group of its own (minified frames), muted, with the reason on its page.
    await crash(2, '2.0.0', ['redeem']);
    const unmapped = await waitFor('the unmapped group', async () => {
      const { groups } = await api<{ groups: Group[] }>('/api/errors');
      return groups.find((g) => g.releases.includes('2.0.0'));
    });
    const notice = await (
      await fetch(`${telltale.url}/errors/${unmapped.id}`, { headers: authorization })
    ).text();
    expect(notice).toContain('No source maps were uploaded for release 2.0.0');
    expect(notice).toContain(`Looked for <code>/${two.script}</code>`);
    expect(notice).toContain('Releases with maps: <code>1.4.2</code> <code>1.4.3</code>');
    await waitFor('the muted alert', async () => {
      const { alerts } = await api<{ alerts: Array<{ status: string; subject: string }> }>('/api/alerts');
      return alerts.some((a) => a.status === 'muted' && a.subject.includes("reading 'percent'"))
        ? true
        : undefined;
    });
    expect(smtp.messages.map((m) => m.subject)).toHaveLength(2);

    // Restart, upload the same maps again, and send every batch again under new ids (a replay).
    const stored = (await readSpool(data.dir)).map((envelope) => envelope.batch);
    await telltale.close();
    telltale = await start();
    expect((await upload(one, '1.4.2')).code).toBe(0);
    // Every batch again, with its own release, under a new batch id; a marker feature last proves all were processed.
    const marker = { id: 'ei-marker', kind: 'feature' as const, ts: Date.now(), name: 'ei-marker' };
    const replays = stored.map((batch, i) => ({
      ...batch,
      batchId: `ei-replay-${i}`,
      events: i === stored.length - 1 ? [...batch.events, marker] : batch.events,
    }));
    for (const replay of replays) {
      const response = await fetch(`${telltale.url}/v1/batch?key=${telltale.demoKey}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: gzipSync(JSON.stringify(replay)),
      });
      expect(response.status).toBe(202);
    }
    await waitFor('the marker email', async () => (mails('ei-marker').length === 1 ? true : undefined));
    expect(smtp.messages.map((m) => m.subject)).toHaveLength(3);
    expect(mails('New error')).toHaveLength(2);
    const { groups } = await api<{ groups: Group[] }>('/api/errors');
    expect(groups).toHaveLength(3);
  });
});
