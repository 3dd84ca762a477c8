// Every dashboard page in real Chromium, as `telltale start` serves it with a seeded corpus: axe-core
// finds no serious or critical accessibility violation in the light or the dark colour scheme, the
// strict CSP holds, and a full-page screenshot of each is written to test-artifacts/screenshots/.
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

  /** axe-core through CDP (page.evaluate is not subject to the page's CSP; a script tag would be). */
  async function audit(name: string, url: string): Promise<void> {
    for (const colorScheme of SCHEMES) {
      await tab.emulateMedia({ colorScheme });
      const response = await tab.goto(`${telltale.url}${url}`);
      expect(response?.status(), `${url} answered`).toBe(200);
      // List pages reload themselves every 5 s: a reload in the middle of a run starts it again.
      const violations = await waitFor(
        `axe-core on ${url} (${colorScheme})`,
        async () => {
          await tab.waitForLoadState('load');
          await tab.evaluate(axeSource);
          return tab.evaluate(async () => {
            const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: unknown[] }> } }).axe;
            return (await axe.run()).violations;
          });
        },
        30_000,
      );
      expect(blocking(violations as AxeViolation[]), `${url} in the ${colorScheme} scheme`).toEqual([]);
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

  it('no page broke the strict CSP', () => {
    expect(cspViolations).toEqual([]);
  });
});
