import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium, tempDir, waitFor } from './helpers.js';
import { startTelltaleProcess, type TelltaleProcess } from './roles-process.js';

/**
 * The demo shows both sides: in real Chromium, one click on "Check out" calls the demo API (served
 * by this process through @telltale/node's fastify plugin and telltaleDestination), the page throws, and
 * the error's detail links to a timeline with the click, the server's lines and the client error
 * under one trace id. A real `telltale start` process (the built cli), as a user runs it:
 * telltaleDestination ships from a worker thread loaded from the package's dist/.
 */
const TOKEN = 'demo-timeline-token-0123456789-abcdefghij';

describe('the demo page: one click, client and server on one timeline', () => {
  let browser: Browser;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let telltale: { process: TelltaleProcess; url: string; loginLink: string };

  beforeAll(async () => {
    [browser, data] = await Promise.all([launchChromium(), tempDir('demo-timeline')]);
    const started = await startTelltaleProcess(
      ['start'],
      {
        TELLTALE_PORT: '0',
        TELLTALE_DATA_DIR: data.dir,
        TELLTALE_LOG_LEVEL: 'warn',
        TELLTALE_API_TOKEN: TOKEN,
      },
      { ready: /(http:\/\/127\.0\.0\.1:\d+\/login\/token\/\S+)\s/ },
    );
    const loginLink = started.url;
    telltale = { process: started, url: new URL(loginLink).origin, loginLink };
  });

  afterAll(async () => {
    // The page stays open through the SIGTERM, as a user's tab would: shutdown must not wait on it.
    // stop() prints the server's output when it exits non-zero, and throws with it when it hangs.
    try {
      if (telltale) expect(await telltale.process.stop()).toBe(0);
    } finally {
      await browser?.close();
      await data?.remove();
    }
  });

  it('one click on Check out: the timeline shows the click, the server lines and the client error under one trace', async () => {
    const page = await browser.newPage();
    const violations: string[] = [];
    page.on('console', (message) => {
      if (message.text().includes('Content Security Policy')) violations.push(message.text());
    });
    await page.goto(telltale.loginLink);
    await page.goto(`${telltale.url}/demo`);
    await page.click('#checkout');
    const link = await page.waitForSelector('#checkout-timeline', { timeout: 10_000 });
    const href = (await link.getAttribute('href'))!;
    const trace = new URL(href, telltale.url).searchParams.get('trace')!;
    expect(trace).toMatch(/^[0-9a-f]{32}$/);

    // The SDK sends about a second later; the destination ships from its disk buffer in the background.
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

  it("the demo API's own lines reach the timeline of its trace through telltaleDestination", async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const answer = await fetch(`${telltale.url}/demo/api/checkout`, { method: 'POST', headers: auth });
    expect(answer.status).toBe(502);
    const { trace } = (await answer.json()) as { trace: string };
    expect(trace).toMatch(/^[0-9a-f]{32}$/);
    const items = await waitFor(
      'the server lines of the checkout on its timeline',
      async () => {
        const response = await fetch(`${telltale.url}/api/timeline?trace=${trace}`, { headers: auth });
        expect(response.status).toBe(200);
        const text = JSON.stringify(await response.json());
        return text.includes('payment provider declined the card') && text.includes('charging the card')
          ? text
          : undefined;
      },
      30_000,
      250,
    );
    expect(items).toContain('demo-api');
  }, 60_000);
});
