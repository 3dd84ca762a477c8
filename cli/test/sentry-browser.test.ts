import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopbackContext } from '../../test-support/chromium.js';
import { DEMO_PROJECT_ID } from '../src/demo-app.js';
import { startTelltale, type RunningTelltale } from '../src/index.js';
import { launchChromium, startSmtpServer, tempDir, waitFor } from './helpers.js';

const API_TOKEN = 'sentry-browser-admin-token-0123456789abcdef';
const ROOT = path.resolve(import.meta.dirname, '../..');

/** The app's own code, unchanged from a Sentry set-up: init, breadcrumbs, a captured and two uncaught errors. */
const APP_SOURCE = `
import * as Sentry from '@sentry/browser';
const config = window.SENTRY_CONFIG;
Sentry.init({ dsn: config.dsn, tunnel: config.tunnel, release: 'shop@2.0.0', environment: 'test' });
function applyCoupon() {
  throw new Error('coupon service refused the code');
}
function captureOne() {
  Sentry.addBreadcrumb({ category: 'ui.click', message: 'button#apply-coupon', level: 'info' });
  try {
    applyCoupon();
  } catch (error) {
    Sentry.captureException(error);
  }
}
function throwUncaught() {
  setTimeout(function renderBasket() {
    throw new TypeError('basket has no lines');
  });
}
function rejectUnhandled() {
  Promise.reject(new RangeError('quantity out of range'));
}
// Real clicks: a rejection inside a DevTools evaluate never reaches the page's unhandledrejection.
document.getElementById('capture').addEventListener('click', captureOne);
document.getElementById('uncaught').addEventListener('click', throwUncaught);
document.getElementById('reject').addEventListener('click', rejectUnhandled);
`;

interface Group {
  id: string;
  type: string;
  message: string;
  count: number;
}
interface Detail {
  group: { frames: Array<{ function?: string; file?: string }> };
  samples: Array<{ breadcrumbs: Array<{ category?: string; message: string }> | null }>;
}

/**
 * The page's own server: the page, the bundle and a first-party tunnel (docs/sentry.md) that
 * forwards each envelope, as sent, to Telltale's envelope endpoint; the key travels in its `dsn`.
 */
async function startShop(
  bundle: string,
  telltaleUrl: string,
  dsn: string,
): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    if (request.method === 'POST' && request.url === '/tunnel') {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        fetch(`${telltaleUrl}/api/${DEMO_PROJECT_ID}/envelope/`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-sentry-envelope' },
          body: Buffer.concat(chunks),
        })
          .then(async (answer) => response.writeHead(answer.status).end(await answer.text()))
          .catch(() => response.writeHead(502).end());
      });
      return;
    }
    if (request.url === '/app.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
      return;
    }
    const tunnel = request.url === '/?tunnel=1';
    response.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>shop</title>
<script>window.SENTRY_CONFIG = ${JSON.stringify({ dsn, tunnel: tunnel ? '/tunnel' : undefined })};</script>
<button id="capture">apply coupon</button><button id="uncaught">basket</button><button id="reject">quantity</button>
<script src="/app.js"></script>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, server };
}

describe('@sentry/browser in Chromium, with a Telltale DSN, directly and through a tunnel', () => {
  let browser: Browser;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let telltale: RunningTelltale;
  let shop: { url: string; server: Server };
  const api = async <T>(url: string): Promise<T> => {
    const response = await fetch(`${telltale.url}${url}`, {
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    return (await response.json()) as T;
  };

  beforeAll(async () => {
    [browser, data, smtp] = await Promise.all([
      launchChromium(),
      tempDir('sentry-browser'),
      startSmtpServer(),
    ]);
    telltale = await startTelltale({
      port: 0,
      dataDir: data.dir,
      logger: false,
      env: { TELLTALE_API_TOKEN: API_TOKEN },
      dispatcher: { smtpUrl: smtp.url, alertTo: 'oncall@example.test' },
    });
    const bundled = await build({
      stdin: { contents: APP_SOURCE, resolveDir: ROOT, loader: 'js' },
      bundle: true,
      format: 'iife',
      write: false,
      logLevel: 'silent',
    });
    const dsn = `${telltale.url.replace('//', `//${telltale.demoKey}@`)}/${DEMO_PROJECT_ID}`;
    shop = await startShop(bundled.outputFiles[0]!.text, telltale.url, dsn);
  });
  afterAll(async () => {
    shop?.server.close();
    await telltale?.close();
    await browser?.close();
    await smtp?.close();
    await data?.remove();
  });

  it('captureException, an uncaught error and an unhandled rejection become groups with frames, one email per group', async () => {
    const context = await loopbackContext(browser);
    const envelopes: string[] = [];
    context.on('response', (response) => {
      if (response.url().includes('/envelope/') || response.url().endsWith('/tunnel'))
        envelopes.push(`${response.url().endsWith('/tunnel') ? 'tunnel' : 'direct'} ${response.status()}`);
    });
    for (const page of [`${shop.url}/`, `${shop.url}/?tunnel=1`]) {
      const tab = await context.newPage();
      await tab.goto(page);
      for (const button of ['#capture', '#uncaught', '#reject']) await tab.click(button);
    }

    // The same bug sent directly and through the tunnel is one group, seen twice.
    const groups = await waitFor('three groups seen twice on /api/errors', async () => {
      const { groups } = await api<{ groups: Group[] }>('/api/errors');
      return groups.length >= 3 && groups.every((g) => g.count >= 2) ? groups : undefined;
    });
    expect(groups.map((g) => `${g.type} ${g.message} ×${g.count}`).sort()).toEqual([
      'Error coupon service refused the code ×2',
      'RangeError quantity out of range ×2',
      'TypeError basket has no lines ×2',
    ]);
    // Events and sessions, directly and through the tunnel: every envelope answered 200.
    expect(envelopes.length).toBeGreaterThanOrEqual(6);
    expect(new Set(envelopes)).toEqual(new Set(['direct 200', 'tunnel 200']));
    for (const group of groups) {
      const detail = await api<Detail>(`/api/errors/${encodeURIComponent(group.id)}`);
      expect(detail.group.frames.length, group.message).toBeGreaterThan(0);
      expect(
        detail.group.frames.some((f) => f.file?.endsWith('/app.js')),
        group.message,
      ).toBe(true);
      if (group.type === 'Error') {
        expect(detail.group.frames[0]!.function).toBe('applyCoupon');
        expect(detail.samples[0]!.breadcrumbs).toContainEqual(
          expect.objectContaining({ category: 'ui.click', message: 'button#apply-coupon' }),
        );
      }
      if (group.type === 'TypeError') expect(detail.group.frames[0]!.function).toBe('renderBasket');
    }
    await waitFor('one email per new group', () => (smtp.messages.length >= 3 ? true : undefined));
    for (const group of groups)
      expect(
        smtp.messages.filter((m) => m.subject.includes(group.message)),
        group.message,
      ).toHaveLength(1);
    await context.close();
  }, 90_000);
});
