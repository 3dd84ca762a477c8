import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import Fastify, { type FastifyInstance } from 'fastify';
import { openSpoolWriter, type SpoolWriter } from '@telltale/spool';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDeadLetterWriter,
  createPipelineMonitor,
  replayDeadLetters,
  resolveDispatcherConfig,
  startDispatchers,
  summarizeDeadLetters,
  type Dispatchers,
  type ExportResult,
  type PipelineMonitor,
  type Sink,
} from '@telltale/dispatchers';
import { launchChromium, loopbackContext } from '../../test-support/chromium.js';
import { tempDir, waitFor } from '../../test-support/wait.js';
import {
  createDuckDbStore,
  dashboardsPlugin,
  HEALTH_BANNER_AFTER_MS,
  hashPassword,
  newApiToken,
  openAccessStore,
  registerAuth,
  sha256,
  type PipelineHealth,
} from '../src/index.js';
import type { DashboardStore } from '../src/store.js';

const ADMIN = { email: 'ada@example.com', password: 'a long enough password' };
const VIEWER_TOKEN = newApiToken();

/** A sink whose store is down: every export answers "retry later", like a stopped ClickHouse. */
const downSink = (): Sink => ({
  name: 'warehouse',
  async export(): Promise<ExportResult> {
    return { status: 'retryable', reason: 'connect ECONNREFUSED 127.0.0.1:8123' };
  },
  async close() {},
});

const envelope = (batchId: string, ids: string[]) => ({
  v: 1,
  app: 'shop',
  receivedAt: Date.now(),
  batch: {
    v: 1,
    batchId,
    sentAt: Date.now(),
    release: '1.0.0',
    environment: 'production',
    session: 's-1',
    events: ids.map((id) => ({ id, ts: Date.now(), kind: 'feature', name: 'export-csv' })),
  },
});

describe('/health: the pipeline on a page, the banner on every page, the dead-letter replay', () => {
  let data: Awaited<ReturnType<typeof tempDir>>;
  let duckdb: DuckDBInstance;
  let reader: DuckDBConnection;
  let writer: SpoolWriter;
  let dispatchers: Dispatchers;
  let monitor: PipelineMonitor;
  let store: DashboardStore;
  let app: FastifyInstance;
  let url: string;
  let browser: Browser;
  // The monitor's clock: moved forward to stand for minutes of failure without waiting them.
  let skewMs = 0;

  beforeAll(async () => {
    data = await tempDir('health');
    const now = new Date().toISOString();
    await openAccessStore(data.dir).update((file) => {
      file.tokens.push({ name: 'reader', role: 'viewer', sha256: sha256(VIEWER_TOKEN), createdAt: now });
    });
    const passwordHash = await hashPassword(ADMIN.password);
    await openAccessStore(data.dir).update((file) => {
      file.users.push({ email: ADMIN.email, role: 'admin', passwordHash, createdAt: now, updatedAt: now });
    });
    duckdb = await DuckDBInstance.create(path.join(data.dir, 'telltale.duckdb'));
    reader = await duckdb.connect();
    writer = await openSpoolWriter({ dir: path.join(data.dir, 'spool', 'client') });
    dispatchers = await startDispatchers(resolveDispatcherConfig({ dataDir: data.dir, pollMs: 50 }, {}), {
      duckdb,
      spoolDir: writer.dir,
      notify: (listener) => writer.onAppend(listener),
      sinks: [downSink()],
    });
    monitor = createPipelineMonitor(() => dispatchers.stats(), {
      spools: { client: writer.dir },
      sampleMs: 50,
      now: () => Date.now() + skewMs,
    });
    store = await createDuckDbStore(duckdb);

    app = Fastify();
    await registerAuth(app, { dataDir: data.dir });
    // What the one-process server wires: the monitor's figures, the collector's spool, the data dir's dead letters.
    const health = async (): Promise<PipelineHealth> => ({
      ...(await monitor.figures()),
      spools: { client: writer.stats() },
      rejected: { 'batch TELLTALE_ERR_INVALID_JSON invalid_json': 2 },
      deadLetters: await summarizeDeadLetters(data.dir),
    });
    await app.register(dashboardsPlugin, {
      store,
      listAlerts: async () => [],
      health,
      replayDeadLetters: (consumer) =>
        replayDeadLetters({ dataDir: data.dir, consumer, env: {}, deps: { duckdb }, deadlineMs: 10_000 }),
    });
    url = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('[::1]', '127.0.0.1');
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    monitor?.close();
    await dispatchers?.close();
    await store?.close();
    await writer?.close();
    reader?.closeSync();
    duckdb?.closeSync();
    await data?.remove();
  });

  const stored = async (ids: string[]): Promise<string[]> =>
    (
      await reader.runAndReadAll(
        `SELECT id FROM events WHERE id IN (${ids.map((id) => `'${id}'`).join(', ')}) ORDER BY id`,
      )
    )
      .getRowObjectsJson()
      .map((row) => String(row.id));

  async function signIn(): Promise<Page> {
    const context = await loopbackContext(browser);
    const page = await context.newPage();
    await page.goto(`${url}/login`);
    await page.fill('input[name=email]', ADMIN.email);
    await page.fill('input[name=password]', ADMIN.password);
    await Promise.all([page.waitForURL(`${url}/`), page.click('button[type=submit]')]);
    return page;
  }

  it('shows the failing sink, its lag and its breaker; after minutes of failure every page has the red banner', async () => {
    await writer.append(Buffer.from(JSON.stringify(envelope('b-1', ['live-1', 'live-2']))));
    await waitFor('duckdb stored the batch', async () => (await stored(['live-1', 'live-2'])).length === 2);
    await waitFor(
      'the warehouse breaker opened',
      () => dispatchers.stats().sinks.find((s) => s.name === 'warehouse')?.breaker.opened === 1,
    );
    await waitFor(
      'the monitor saw it failing',
      async () => (await monitor.figures()).sinks.find((s) => s.name === 'warehouse')?.failingSince !== null,
    );

    const page = await signIn();
    await page.goto(`${url}/health`);
    const sinkRow = page.locator('tr[data-sink="warehouse"]');
    expect(await sinkRow.locator('td').nth(1).innerText()).toMatch(/^(open|half-open)$/);
    expect(await sinkRow.locator('td').nth(2).innerText()).toMatch(/^failing since/);
    expect(await page.locator('tr[data-sink="duckdb"] td').nth(1).innerText()).toBe('closed');
    const consumerRow = page.locator('tr[data-consumer="warehouse"] td');
    expect(await consumerRow.nth(4).innerText()).toBe('1'); // one record behind
    // The last error is the store's, or the breaker's while it is open.
    expect(await consumerRow.nth(8).innerText()).toMatch(/ECONNREFUSED|circuit open/);
    expect(await page.locator('tr[data-consumer="duckdb"] td').nth(4).innerText()).toBe('0');
    expect(await page.locator('tr[data-spool="client"] td').nth(1).innerText()).toBe('1');
    // Strict CSP: the page is tables and forms, no inline script or style.
    expect(await page.content()).not.toMatch(
      /<script(?! src="\/assets\/(?:live\.js" defer(?:="")?|theme\.js")><\/script>)|<style|\sstyle=|\son[a-z]+=/i,
    );
    // Failing for seconds only: no banner yet.
    expect(await page.locator('.banner-failing').count()).toBe(0);

    skewMs = HEALTH_BANNER_AFTER_MS + 60_000;
    await page.goto(`${url}/features`);
    const banner = page.locator('.banner-failing');
    expect(await banner.count()).toBe(1);
    expect(await banner.innerText()).toMatch(/Sink warehouse failing for \d+ min/);
    expect(await banner.getAttribute('role')).toBe('alert');
    await banner.locator('a').click();
    await page.waitForURL(`${url}/health`);
    expect(await page.locator('.banner-failing').count()).toBe(1);
    await page.context().close();

    // The same figures for scripts, behind the access hook.
    expect((await fetch(`${url}/api/health`)).status).toBe(401);
    const api = await fetch(`${url}/api/health`, { headers: { authorization: `Bearer ${VIEWER_TOKEN}` } });
    expect(api.status).toBe(200);
    const body = (await api.json()) as PipelineHealth & { failing: Array<{ kind: string; name: string }> };
    expect(body.failing).toEqual([expect.objectContaining({ kind: 'sink', name: 'warehouse' })]);
    expect(body.consumers.find((c) => c.name === 'warehouse')?.lag).toMatchObject({ records: 1 });
    skewMs = 0;
  }, 90_000);

  it('replays a consumer’s dead letters from the page (admins), and the records reach the store', async () => {
    // A batch DuckDB refused earlier, parked by the dispatchers' own dead-letter writer.
    const parked = envelope('b-parked', ['parked-1', 'parked-2']);
    await createDeadLetterWriter(data.dir, 'duckdb').write(
      { segment: 1, offset: 0 },
      Buffer.from(JSON.stringify(parked)),
      'sink_rejected',
      'duckdb: refused the batch (a schema change since fixed)',
    );
    expect(await stored(['parked-1', 'parked-2'])).toEqual([]);

    // A viewer reads the page but cannot replay: the access hook refuses every change but an admin's.
    const viewer = await fetch(`${url}/health/dead-letters/duckdb/replay`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${VIEWER_TOKEN}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: '',
      redirect: 'manual',
    });
    expect(viewer.status).toBe(403);
    expect((await fetch(`${url}/health/dead-letters/duckdb/replay`, { method: 'POST' })).status).toBe(401);
    expect((await summarizeDeadLetters(data.dir)).find((d) => d.consumer === 'duckdb')?.entries).toBe(1);

    const page = await signIn();
    await page.goto(`${url}/health`);
    const row = page.locator('tr[data-dead-letters="duckdb"]');
    expect(await row.locator('td').nth(1).innerText()).toBe('1');
    expect(await row.innerText()).toContain('sink_rejected');
    await Promise.all([
      page.waitForURL(/\/health\?consumer=duckdb&replayed=1&left=0$/),
      row.locator('button').click(),
    ]);
    expect(await page.locator('.notice').innerText()).toContain(
      '1 dead letters went back to the sink, 0 left',
    );
    expect(await page.locator('tr[data-dead-letters="duckdb"]').count()).toBe(0);
    await page.context().close();
    expect(await stored(['parked-1', 'parked-2'])).toEqual(['parked-1', 'parked-2']);
  }, 90_000);
});

describe('/health in a dashboards process without the dispatchers', () => {
  it('says where to look, and /api/health answers 404 with the same hint', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const store = await createDuckDbStore(instance);
    const app = Fastify();
    await app.register(dashboardsPlugin, { store, listAlerts: async () => [] });
    try {
      const page = await app.inject('/health');
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-security-policy']).toMatch(/^default-src 'self'/);
      expect(page.body).toContain('runs without the dispatchers');
      expect(page.body).toContain('telltale_dispatcher_');
      expect(page.body).not.toMatch(
        /<script(?! src="\/assets\/(?:live\.js" defer(?:="")?|theme\.js")><\/script>)|<style|\sstyle=|\son[a-z]+=/i,
      );
      expect(page.body).not.toContain('banner-failing');
      const api = await app.inject('/api/health');
      expect(api.statusCode).toBe(404);
      expect(api.json().error.message).toMatch(/ops port serves \/metrics/);
      expect(
        (await app.inject({ method: 'POST', url: '/health/dead-letters/duckdb/replay' })).statusCode,
      ).toBe(404);
    } finally {
      await app.close();
      await store.close();
      instance.closeSync();
    }
  });
});
