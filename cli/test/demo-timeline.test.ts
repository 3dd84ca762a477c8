import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startTelltale, type RunningTelltale } from '../src/index.js';
import { launchChromium, tempDir, waitFor } from './helpers.js';

/**
 * The demo shows both sides: in real Chromium, one click on "Check out" calls the demo API (served
 * by this process through @telltale/node's fastify plugin and pino transport), the page throws, and
 * the error's detail links to a timeline with the click, the server's lines and the client error
 * under one trace id.
 */
describe('the demo page: one click, client and server on one timeline', () => {
  let browser: Browser;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let telltale: RunningTelltale;

  beforeAll(async () => {
    [browser, data] = await Promise.all([launchChromium(), tempDir('demo-timeline')]);
    telltale = await startTelltale({ port: 0, dataDir: data.dir, logger: false });
  });

  afterAll(async () => {
    await telltale?.close();
    await browser?.close();
    await data?.remove();
  });

  it('one click on Check out: the timeline shows the click, the server lines and the client error under one trace', async () => {
    const page = await browser.newPage();
    const violations: string[] = [];
    page.on('console', (message) => {
      if (message.text().includes('Content Security Policy')) violations.push(message.text());
    });
    await page.goto(telltale.loginLink!);
    await page.goto(`${telltale.url}/demo`);
    await page.click('#checkout');
    const link = await page.waitForSelector('#checkout-timeline', { timeout: 10_000 });
    const href = (await link.getAttribute('href'))!;
    const trace = new URL(href, telltale.url).searchParams.get('trace')!;
    expect(trace).toMatch(/^[0-9a-f]{32}$/);

    // The SDK sends about a second later; the transport ships from its disk buffer in the background.
    await waitFor(
      'the client error and the server lines on the timeline',
      async () => {
        await page.goto(`${telltale.url}/timeline?trace=${trace}`);
        const rows = await page.$$eval('table.timeline tbody tr', (trs) =>
          trs.map((tr) => `${tr.getAttribute('data-source')}|${tr.textContent ?? ''}`),
        );
        const text = rows.join('\n');
        return text.includes('checkout failed: HTTP 502') &&
          text.includes('payment provider declined the card') &&
          text.includes('POST /demo/api/checkout 502')
          ? rows
          : undefined;
      },
      30_000,
      500,
    );
    const rows = await page.$$eval('table.timeline tbody tr', (trs) =>
      trs.map((tr) => ({ source: tr.getAttribute('data-source'), text: tr.textContent ?? '' })),
    );
    const at = (needle: string) => rows.findIndex((r) => r.text.includes(needle));
    // In time order: the click, then the server's lines, then the error the page threw.
    expect(rows[at('checkout-click')]?.source).toBe('client');
    expect(rows[at('charging the card')]?.source).toBe('server');
    expect(rows[at('POST /demo/api/checkout 502')]?.source).toBe('server');
    expect(rows[at('checkout failed: HTTP 502')]?.source).toBe('client');
    expect(at('checkout-click')).toBeLessThan(at('charging the card'));
    expect(at('charging the card')).toBeLessThan(at('checkout failed: HTTP 502'));

    // The error's detail page links to this same timeline.
    await page.click('text=checkout failed: HTTP 502');
    await page.waitForSelector('a.trace-timeline');
    expect(await page.getAttribute('a.trace-timeline', 'href')).toBe(`/timeline?trace=${trace}`);
    expect(violations).toEqual([]);
  }, 90_000);
});
