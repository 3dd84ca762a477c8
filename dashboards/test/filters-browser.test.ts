// The filter bar and the search box in real Chromium over a real DuckDB store: picking a time range
// and a release changes the URL and the rows, the nav and pager links keep the filter, and the
// search box lands on an event by its id and on a trace's timeline by its trace id. No script runs:
// the bar is a plain GET form under the strict CSP.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { DUCKDB_DDL } from '@telltale/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openCspTab } from '../../test-support/chromium.js';
import { tempDir } from '../../test-support/wait.js';
import { createDuckDbStore, type DashboardStore } from '../src/index.js';
import { insertRows, MIN, type Row } from './fixtures.js';
import { API_TOKEN, buildDashboards } from './store-harness.js';

const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

const error = (id: string, ago: number, release: string, type: string, extra: Partial<Row> = {}): Row => ({
  id,
  kind: 'error',
  ts: Date.now() - ago,
  release,
  fingerprint: type.toLowerCase().padEnd(32, '0').slice(0, 32),
  errorType: type,
  message: `${type} in checkout`,
  ...extra,
});

describe('filter bar and search box in Chromium', () => {
  let data: Awaited<ReturnType<typeof tempDir>>;
  let instance: DuckDBInstance;
  let db: DuckDBConnection;
  let store: DashboardStore;
  let app: FastifyInstance;
  let url: string;
  let browser: Browser;
  let context: BrowserContext;
  let tab: Page;
  const cspViolations: string[] = [];

  beforeAll(async () => {
    data = await tempDir('filters-browser');
    instance = await DuckDBInstance.create(':memory:');
    db = await instance.connect();
    for (const statement of DUCKDB_DDL) await db.run(statement);
    // Three groups: one in the last hour (2.0.0), one three days ago (1.0.0), one ten days ago (2.0.0).
    await insertRows(db, [
      error('recent-1', 30 * MIN, '2.0.0', 'TypeError'),
      error('older-1', 3 * DAY, '1.0.0', 'RangeError'),
      error('oldest-1', 10 * DAY, '2.0.0', 'SyntaxError'),
      { id: 'log-1', kind: 'log', ts: Date.now() - 20 * MIN, level: 'info', message: 'cart opened' },
    ]);
    await db.run(`UPDATE events SET trace = '${TRACE}' WHERE id IN ('recent-1', 'log-1')`);
    store = await createDuckDbStore(instance);
    app = await buildDashboards(store, data.dir);
    url = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('[::1]', '127.0.0.1');
    browser = await launchChromium();
    ({ context, tab } = await openCspTab(browser, cspViolations, API_TOKEN));
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await app?.close();
    await store?.close();
    db?.closeSync();
    instance?.closeSync();
    await data?.remove();
  });

  const errorTypes = (page: Page) => page.locator('tbody tr .etype').allTextContents();

  it('a time range and a release narrow the errors list, in the URL', async () => {
    await tab.goto(`${url}/`);
    expect((await errorTypes(tab)).sort()).toEqual(['RangeError', 'SyntaxError', 'TypeError']);
    // The release choices come from the data.
    const releases = await tab.locator('select[name="release"] option').allTextContents();
    expect(releases).toEqual(expect.arrayContaining(['1.0.0', '2.0.0']));

    await tab.selectOption('select[name="range"]', '7d');
    await tab.selectOption('select[name="release"]', '2.0.0');
    await Promise.all([tab.waitForURL(/range=7d/), tab.click('form.filter-bar button[type="submit"]')]);
    const params = new URL(tab.url()).searchParams;
    expect(params.get('range')).toBe('7d');
    expect(params.get('release')).toBe('2.0.0');
    expect(await errorTypes(tab)).toEqual(['TypeError']);
    // The form shows what is applied, and the other lists' links keep it.
    expect(await tab.locator('select[name="range"]').inputValue()).toBe('7d');
    expect(await tab.locator('select[name="release"]').inputValue()).toBe('2.0.0');
    const eventsLink = await tab.locator('header nav a', { hasText: 'Events' }).getAttribute('href');
    expect(eventsLink).toContain('range=7d');
    expect(eventsLink).toContain('release=2.0.0');
    const statusTab = await tab.locator('main nav.filters a', { hasText: 'Unresolved' }).getAttribute('href');
    expect(statusTab).toContain('range=7d');
    expect(statusTab).toContain('release=2.0.0');

    // Thirty days and every release: the ten-day-old group is back, the three-day-old one too.
    await tab.selectOption('select[name="range"]', '30d');
    await tab.selectOption('select[name="release"]', '');
    await Promise.all([tab.waitForURL(/range=30d/), tab.click('form.filter-bar button[type="submit"]')]);
    expect(await errorTypes(tab)).toHaveLength(3);
    expect(new URL(tab.url()).searchParams.get('release')).toBe('');
  });

  it('pager links carry the filter', async () => {
    await tab.goto(`${url}/events?range=30d&release=2.0.0&limit=1`);
    const older = await tab.locator('a[rel="next"]').getAttribute('href');
    expect(older).toContain('range=30d');
    expect(older).toContain('release=2.0.0');
    const kindTab = await tab
      .locator('main nav.filters a', { hasText: 'error' })
      .first()
      .getAttribute('href');
    expect(kindTab).toContain('range=30d');
    // The click only starts the navigation: wait for the older page itself before reading its rows.
    const olderUrl = new URL(older!, tab.url()).href;
    await Promise.all([tab.waitForURL(olderUrl), tab.click('a[rel="next"]')]);
    expect(new URL(tab.url()).searchParams.get('release')).toBe('2.0.0');
    expect(await tab.locator('tbody tr').count()).toBe(1);
  });

  it('the search box: an event id opens the event, a trace id its timeline, text lists matches', async () => {
    await tab.goto(`${url}/`);
    await tab.fill('header input[name="q"]', 'older-1');
    await Promise.all([
      tab.waitForURL(/\/events\/shop\/older-1$/),
      tab.press('header input[name="q"]', 'Enter'),
    ]);
    expect(await tab.locator('main').textContent()).toContain('RangeError');

    await tab.fill('header input[name="q"]', TRACE);
    await Promise.all([tab.waitForURL(/\/timeline\?trace=/), tab.press('header input[name="q"]', 'Enter')]);
    expect(new URL(tab.url()).searchParams.get('trace')).toBe(TRACE);
    expect(await tab.locator('main').textContent()).toContain('cart opened');

    await tab.fill('header input[name="q"]', 'in CHECKOUT');
    await Promise.all([tab.waitForURL(/\/search\?q=/), tab.press('header input[name="q"]', 'Enter')]);
    expect(await tab.locator('.search-kind tbody tr').count()).toBe(3);
    expect(cspViolations).toEqual([]);
  });
});
