// Every dashboard page in real Chromium, as `telltale start` serves it with a seeded corpus: axe-core
// finds no serious or critical accessibility violation in the light or the dark colour scheme (each
// page drawn in that scheme's palette), the header's theme switch overrides the OS and is remembered,
// the strict CSP holds, and a full-page screenshot of each is written to test-artifacts/screenshots/.
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientEnvelopes, serverEnvelopes, T0, TRACE_A } from '../../dashboards/test/store-corpus.js';
import { openCspTab } from '../../test-support/chromium.js';
import { startTelltale, type RunningTelltale } from '../src/index.js';
import { launchChromium, tempDir, waitFor } from './helpers.js';

const SCREENSHOTS = fileURLToPath(new URL('../../test-artifacts/screenshots/', import.meta.url));
const TOKEN = 'a11y-test-token-0123456789abcdef0123';
const SCHEMES = ['light', 'dark'] as const;
const BLOCKING = new Set(['serious', 'critical']);
/** The page background of each palette (--bg in dashboards/src/views/stylesheet.ts), as Chromium reports it. */
const BACKGROUND = { light: 'rgb(255, 255, 255)', dark: 'rgb(13, 17, 23)' } as const;
/** What the page is drawn on (an expression: the tests are typed without the DOM library). */
const BACKGROUND_OF_PAGE = 'getComputedStyle(document.documentElement).backgroundColor';

/** What the pages are asked for; the ids come from the seeded store. */
interface Seeded {
  group: string;
  app: string;
  event: string;
}

/** One line per page: name (the screenshot's file name) and path. Signed-out pages come first. */
const SIGNED_OUT: Array<[string, () => string]> = [['sign-in', () => '/login']];
const PAGES: Array<[string, (s: Seeded) => string]> = [
  ['errors', () => '/'],
  ['error-group', (s) => `/errors/${s.group}?app=${s.app}`],
  ['events', () => '/events'],
  ['event', (s) => `/events/${s.app}/${s.event}`],
  ['features', () => '/features'],
  ['asserts', () => '/asserts'],
  ['blocked', () => '/blocked'],
  ['timeline', () => `/timeline?trace=${TRACE_A}`],
  ['logs', () => '/logs'],
  ['alerts', () => '/alerts'],
  ['rules', () => '/alerts/rules'],
  ['health', () => '/health'],
  ['apps', () => '/apps'],
  ['account', () => '/account'],
  ['search', () => '/search?q=Error'],
  ['errors-filtered', (s) => `/?range=7d&app=${s.app}`],
];

interface AxeNode {
  target: string[];
  failureSummary?: string;
}
interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: AxeNode[];
}

/** The violations people notice most, one readable line per element. */
function blocking(violations: AxeViolation[]): string[] {
  return violations
    .filter((v) => v.impact !== null && BLOCKING.has(v.impact))
    .flatMap((v) =>
      v.nodes.map(
        (n) =>
          `${v.impact} ${v.id} (${v.help}): ${n.target.join(' ')} — ${(n.failureSummary ?? '').replace(/\s+/g, ' ')}`,
      ),
    );
}

describe('every dashboard page passes axe-core in light and dark, with a screenshot of each', () => {
  let browser: Browser;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let telltale: RunningTelltale;
  let context: BrowserContext;
  let tab: Page;
  let seeded: Seeded;
  let axeSource: string;
  const cspViolations: string[] = [];

  const api = async <T>(url: string): Promise<T> => {
    const response = await fetch(`${telltale.url}${url}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    return (await response.json()) as T;
  };

  beforeAll(async () => {
    axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
    await mkdir(SCREENSHOTS, { recursive: true });
    [browser, data] = await Promise.all([launchChromium(), tempDir('a11y')]);
    telltale = await startTelltale({
      port: 0,
      dataDir: data.dir,
      logger: false,
      env: { TELLTALE_API_TOKEN: TOKEN },
    });
    // The corpus as the SDK and a server would send it, moved to the last hours (the collector clamps old times).
    const shift = Date.now() - 3 * 3_600_000 - T0;
    for (const envelope of clientEnvelopes()) {
      const batch = {
        ...envelope.batch,
        sentAt: envelope.batch.sentAt + shift,
        events: envelope.batch.events.map((e) => ({ ...e, ts: e.ts + shift })),
      };
      const res = await fetch(`${telltale.url}/v1/batch?key=${telltale.demoKey}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify(batch),
      });
      expect(res.status).toBe(202);
    }
    for (const envelope of serverEnvelopes()) {
      const res = await fetch(`${telltale.url}/v1/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${telltale.demoSecret}` },
        body: JSON.stringify(envelope.logs.map((line) => ({ ...line, ts: line.ts + shift }))),
      });
      expect(res.status).toBe(202);
    }
    await waitFor(
      'the corpus in the store',
      async () => {
        const { events } = await api<{ events: Record<string, number> }>('/api/stats');
        const { logs } = await api<{ logs: unknown[] }>('/api/logs');
        return events.error! >= 3 && events.blocked! > 0 && events.log! > 0 && logs.length >= 4;
      },
      30_000,
    );
    const { groups } = await api<{ groups: Array<{ fingerprint: string; app: string }> }>('/api/errors');
    const { events } = await api<{ events: Array<{ id: string; app: string }> }>('/api/events?kind=error');
    seeded = { group: groups[0]!.fingerprint, app: groups[0]!.app, event: events[0]!.id };

    ({ context, tab } = await openCspTab(browser, cspViolations));
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await telltale?.close();
    await data?.remove();
  });

  const background = (): Promise<string> => tab.evaluate<string>(BACKGROUND_OF_PAGE);

  /**
   * axe-core through CDP (page.evaluate is not subject to the page's CSP; a script tag would be) on
   * the page open in the tab, and the background it is drawn on.
   */
  async function inspect(what: string): Promise<{ violations: string[]; background: string }> {
    // List pages reload themselves every 5 s: a reload in the middle of a run starts it again.
    return waitFor(
      `axe-core on ${what}`,
      async () => {
        await tab.waitForLoadState('load');
        await tab.evaluate(axeSource);
        const violations = await tab.evaluate(async () => {
          const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: unknown[] }> } }).axe;
          return (await axe.run()).violations;
        });
        return { violations: blocking(violations as AxeViolation[]), background: await background() };
      },
      30_000,
    );
  }

  async function audit(name: string, url: string): Promise<void> {
    for (const colorScheme of SCHEMES) {
      await tab.emulateMedia({ colorScheme });
      const response = await tab.goto(`${telltale.url}${url}`);
      expect(response?.status(), `${url} answered`).toBe(200);
      const found = await inspect(`${url} (${colorScheme})`);
      expect(found.violations, `${url} in the ${colorScheme} scheme`).toEqual([]);
      expect(found.background, `${url} drawn in the ${colorScheme} palette`).toBe(BACKGROUND[colorScheme]);
      await tab.screenshot({ path: path.join(SCREENSHOTS, `${name}-${colorScheme}.png`), fullPage: true });
    }
  }

  it.each(SIGNED_OUT)(
    '%s, signed out',
    async (name, url) => {
      await audit(name, url());
    },
    60_000,
  );

  it('signs in with the first-start link', async () => {
    expect(telltale.loginLink).toBeDefined();
    await tab.goto(telltale.loginLink!);
    expect(new URL(tab.url()).pathname).toBe('/account');
  });

  it.each(PAGES)(
    '%s',
    async (name, url) => {
      await audit(name, url(seeded));
      expect(new URL(tab.url()).pathname, 'still signed in').not.toBe('/login');
    },
    60_000,
  );

  it('the live switch of a list page pauses its refresh on every list page until pressed again', async () => {
    await tab.goto(`${telltale.url}/features`);
    const live = tab.locator('header button.live');
    await waitFor('the live script ran', async () => (await live.getAttribute('aria-pressed')) === 'true');
    await live.click();
    expect(await live.getAttribute('aria-pressed')).toBe('false');
    expect(await live.innerText()).toBe('paused');
    await tab.goto(`${telltale.url}/events`);
    await waitFor('the paused state shown', async () => (await live.innerText()) === 'paused');
    await live.click();
    expect(await live.getAttribute('aria-pressed')).toBe('true');
  });

  it('the theme switch overrides the OS either way, on every page, until set back to system', async () => {
    const theme = tab.locator('header button.theme');
    await tab.emulateMedia({ colorScheme: 'light' });
    await tab.goto(`${telltale.url}/account`);
    expect(await theme.isVisible(), 'shown once its script ran').toBe(true);
    expect(await theme.getAttribute('aria-label')).toBe('Colour theme: follows the system. Press for light.');
    await theme.click();
    await theme.click();
    expect(await theme.getAttribute('aria-label')).toBe('Colour theme: dark. Press for the system setting.');
    expect(await background()).toBe(BACKGROUND.dark);

    // Remembered on the next page, which is dark from its first paint (the script runs in <head>).
    await tab.goto(`${telltale.url}/errors/${seeded.group}?app=${seeded.app}`);
    expect(await theme.getAttribute('data-choice')).toBe('dark');
    const forced = await inspect('a group page in the dark theme chosen over a light OS');
    expect(forced).toEqual({ violations: [], background: BACKGROUND.dark });
    await tab.screenshot({ path: path.join(SCREENSHOTS, 'error-group-switch-dark.png'), fullPage: true });

    await tab.emulateMedia({ colorScheme: 'dark' });
    await theme.click(); // back to the system's, dark now
    expect(await background()).toBe(BACKGROUND.dark);
    await theme.click();
    expect(await background(), 'light chosen over a dark OS').toBe(BACKGROUND.light);
    await tab.goto(`${telltale.url}/apps`);
    expect(await background()).toBe(BACKGROUND.light);

    await theme.click();
    await theme.click();
    expect(await theme.getAttribute('data-choice')).toBe('system');
    await tab.emulateMedia({ colorScheme: 'light' });
    expect(await background()).toBe(BACKGROUND.light);
  });

  it('without script a page follows the OS, and shows no switch that could not work', async () => {
    const bare = await browser.newContext({
      javaScriptEnabled: false,
      colorScheme: 'dark',
      extraHTTPHeaders: { authorization: `Bearer ${TOKEN}` },
    });
    try {
      const page = await bare.newPage();
      await page.goto(`${telltale.url}/events`);
      expect(await page.evaluate<string>(BACKGROUND_OF_PAGE)).toBe(BACKGROUND.dark);
      expect(await page.locator('header button.theme').isVisible()).toBe(false);
    } finally {
      await bare.close();
    }
  });

  it('no page broke the strict CSP', () => {
    expect(cspViolations).toEqual([]);
  });
});
