// The charts in real Chromium: the series corpus through the real dispatchers into DuckDB, the
// dashboards over it; the errors list and a group's page draw one point per bucket of their range,
// the release markers of the range, and the strict CSP reports nothing. Screenshots of both pages go
// to test-artifacts/screenshots/ (README's docs/images/errors.png is one of them).
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import type { FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { openSpoolWriter, type SpoolWriter } from '@telltale/spool';
import { resolveDispatcherConfig, startDispatchers, type Dispatchers } from '@telltale/dispatchers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openCspTab } from '../../test-support/chromium.js';
import { tempDir, waitFor } from '../../test-support/wait.js';
import { createDuckDbStore, type DashboardStore } from '../src/index.js';
import { HOUR, SERIES_EVENTS, seriesEnvelopes } from './series-corpus.js';
import { API_TOKEN, buildDashboards, getJson } from './store-harness.js';

const SCREENSHOTS = fileURLToPath(new URL('../../test-artifacts/screenshots/', import.meta.url));

describe('charts in Chromium: one drawn point per bucket, release markers, no CSP violation', () => {
  let data: Awaited<ReturnType<typeof tempDir>>;
  let duckdb: DuckDBInstance;
  let writer: SpoolWriter;
  let dispatchers: Dispatchers;
  let store: DashboardStore;
  let app: FastifyInstance;
  let url: string;
  let browser: Browser;
  let context: BrowserContext;
  let tab: Page;
  const cspViolations: string[] = [];

  beforeAll(async () => {
    data = await tempDir('charts-browser');
    await mkdir(SCREENSHOTS, { recursive: true });
    duckdb = await DuckDBInstance.create(path.join(data.dir, 'telltale.duckdb'));
    writer = await openSpoolWriter({ dir: path.join(data.dir, 'spool', 'client') });
    dispatchers = await startDispatchers(resolveDispatcherConfig({ dataDir: data.dir, pollMs: 50 }, {}), {
      duckdb,
      spoolDir: writer.dir,
      notify: (listener) => writer.onAppend(listener),
    });
    // The corpus's first hours end two hours ago: all of them inside the last 24 hours.
    const t0 = Math.floor(Date.now() / HOUR) * HOUR - 6 * HOUR;
    for (const envelope of seriesEnvelopes(t0, Date.now()))
      await writer.append(Buffer.from(JSON.stringify(envelope)));
    store = await createDuckDbStore(duckdb);
    await waitFor(
      'the corpus in DuckDB',
      async () => Object.values(await store.eventCounts()).reduce((a, b) => a + b, 0) === SERIES_EVENTS,
      30_000,
    );
    app = await buildDashboards(store, data.dir);
    url = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('[::1]', '127.0.0.1');
    browser = await launchChromium();
    ({ context, tab } = await openCspTab(browser, cspViolations, API_TOKEN));
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await app?.close();
    await dispatchers?.close();
    await store?.close();
    await writer?.close();
    duckdb?.closeSync();
    await data?.remove();
  });

  /** Vertices of every sparkline polyline on the page, in row order. */
  const sparkVertices = (page: Page): Promise<number[]> =>
    page.$$eval('svg.spark polyline', (lines) =>
      lines.map((line) => (line.getAttribute('points') ?? '').trim().split(/\s+/).length),
    );

  it('the errors list: a sparkline per group with one vertex per hour of the last 24 hours', async () => {
    const series = (await getJson(app, '/api/series/errors')).body;
    expect(series.bucket).toBe('hour');
    expect(series.buckets).toHaveLength(24);
    const response = await tab.goto(`${url}/`);
    expect(response?.status()).toBe(200);
    const rows = await tab.locator('tbody tr').count();
    expect(rows).toBe(3);
    expect(await sparkVertices(tab)).toEqual([24, 24, 24]);
    expect(await tab.locator('svg.spark[data-points="24"]').count()).toBe(3);
    // The busiest group's label says its figures: 4 events of shop's TypeError in the day.
    const labels = await tab
      .locator('svg.spark')
      .evaluateAll((svgs) => svgs.map((s) => s.getAttribute('aria-label')));
    expect(labels).toContain('Events of this error: 4 in 24 hours, at most 2 per hour');
    // Drawn, not just present: each sparkline has a size on the screen.
    const box = await tab.locator('svg.spark').first().boundingBox();
    expect(box?.width).toBeGreaterThan(50);
    await tab.screenshot({ path: path.join(SCREENSHOTS, 'charts-errors.png'), fullPage: true });
  });

  it("the filter bar's range changes the sparklines: a week is drawn by day", async () => {
    const week = (await getJson(app, '/api/series/errors?range=7d')).body;
    expect(week.bucket).toBe('day');
    await tab.goto(`${url}/?range=7d`);
    // Every group of the corpus is inside the week; one vertex per day of the range.
    expect(await sparkVertices(tab)).toEqual([week.buckets.length, week.buckets.length, week.buckets.length]);
    expect(week.buckets.length).toBeGreaterThanOrEqual(7);
    // A named day ends now: hourly, its first hour cut by the range's start.
    const day = (await getJson(app, '/api/series/errors?range=24h')).body;
    expect(day.bucket).toBe('hour');
    await tab.goto(`${url}/?range=24h`);
    expect(new Set(await sparkVertices(tab))).toEqual(new Set([day.buckets.length]));
  });

  it("a group's page: events and users per day of the last 30 days, markers of its releases", async () => {
    const { body } = await getJson(app, '/api/errors?app=shop');
    const group = body.groups.find((g: { type: string }) => g.type === 'TypeError');
    const series = (await getJson(app, `/api/series/errors/${group.id}?app=shop`)).body;
    expect(series.bucket).toBe('day');
    const buckets = series.buckets.length;
    expect(buckets).toBe(30);
    await tab.goto(`${url}/errors/${group.id}?app=shop`);
    const chart = tab.locator('figure#chart-group');
    expect(await chart.locator('svg').getAttribute('data-points')).toBe(String(buckets));
    expect(await chart.locator('g.series').count()).toBe(2);
    for (const label of ['events', 'users'])
      expect(await chart.locator(`g.series[data-label="${label}"] circle.point`).count()).toBe(buckets);
    // 1.0.0 and 1.1.0 first showed it in the range; 1.2.0's event lies in the future.
    expect(await chart.locator('g.marker text').allTextContents()).toEqual(['1.0.0', '1.1.0']);
    // Screen readers get the figures: the summary and a row per day.
    expect(await chart.locator('desc').textContent()).toContain('events: 4 events');
    expect(await chart.locator('table.sr-only tbody tr').count()).toBe(buckets);
    await tab.screenshot({ path: path.join(SCREENSHOTS, 'charts-error-group.png'), fullPage: true });
  });

  it('features, asserts and blocked pages draw their series', async () => {
    await tab.goto(`${url}/features`);
    expect(await tab.locator('figure#chart-feature-uses g.series').count()).toBe(2);
    expect(await tab.locator('figure#chart-first-uses rect.bar').count()).toBe(30);
    expect(await tab.locator('table.adoption tbody tr').count()).toBe(2);
    await tab.goto(`${url}/asserts`);
    expect(await tab.locator('figure#chart-asserts circle.point').count()).toBe(30);
    await tab.goto(`${url}/blocked`);
    expect(await tab.locator('figure#chart-blocked svg').getAttribute('data-points')).toBe('30');
  });

  it('no page broke the strict CSP, and none has inline style or script', async () => {
    for (const page of ['/', '/features', '/asserts', '/blocked']) {
      await tab.goto(`${url}${page}`);
      expect(await tab.content()).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    }
    expect(cspViolations).toEqual([]);
  });
});
