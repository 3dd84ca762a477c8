import { gzipSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelltale, type RunningTelltale } from '../src/index.js';
import {
  readSpool,
  launchChromium,
  startSmtpServer,
  tempDir,
  waitFor,
  type ReceivedMail,
} from './helpers.js';

interface Stats {
  events: Record<'error' | 'assert' | 'feature' | 'blocked' | 'log', number>;
}
interface ErrorGroup {
  id: string;
  type: string;
  message: string;
  count: number;
  users: number;
}
interface Feature {
  name: string;
  uses: number;
}
interface EventRow {
  id: string;
  kind: string;
  name: string | null;
}
interface AssertRow {
  name: string;
  soft: boolean;
  lastVars: Record<string, unknown> | null;
}

/**
 * The whole slice as a newcomer meets it: the demo page in real Chromium, the collector's spool,
 * the dispatcher into DuckDB, the dashboard API, and alert emails through a real SMTP server.
 */
const API_TOKEN = 'end-to-end-admin-token-0123456789abcdef';

describe('Telltale end to end on one machine', () => {
  let browser: Browser;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let telltale: RunningTelltale;

  const start = () =>
    startTelltale({
      port: 0,
      dataDir: data.dir,
      logger: false,
      env: { TELLTALE_API_TOKEN: API_TOKEN },
      dispatcher: { smtpUrl: smtp.url, alertTo: 'founders@example.test' },
    });
  // The dashboards' API needs credentials (docs/security.md): scripts send a token.
  const authorization = { authorization: `Bearer ${API_TOKEN}` };
  const api = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${telltale.url}${path}`, { headers: authorization });
    if (!response.ok) throw new Error(`${path} answered ${response.status}`);
    return (await response.json()) as T;
  };
  const mailsAbout = (text: string): ReceivedMail[] => smtp.messages.filter((m) => m.subject.includes(text));

  beforeAll(async () => {
    [browser, smtp, data] = await Promise.all([launchChromium(), startSmtpServer(), tempDir('e2e')]);
    telltale = await start();
  });

  afterAll(async () => {
    await telltale?.close();
    await browser?.close();
    await smtp?.close();
    await data?.remove();
  });

  it('shows every demo click on the dashboard and emails once per new error and first feature use', async () => {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));

    // The demo page is behind sign-in like every page: the one-time start-up link signs this browser in.
    await page.goto(telltale.loginLink!);
    await page.goto(`${telltale.url}/demo`);
    for (const id of [
      'throw-error',
      'reject-promise',
      'fail-assert',
      'soft-assert',
      'use-feature',
      'blocked',
    ]) {
      await page.click(`#${id}`);
    }
    await page.click('#flush');

    const stats = await waitFor('all demo events on /api/stats', async () => {
      const s = await api<Stats>('/api/stats');
      const e = s.events;
      return e.error >= 2 && e.assert >= 2 && e.feature >= 1 && e.blocked >= 1 ? s : undefined;
    });
    expect(stats.events).toMatchObject({ error: 2, assert: 2, feature: 1, blocked: 1 });
    // The demo's uncaught throw really was uncaught: the page saw it, and so did Telltale.
    expect(pageErrors.length).toBeGreaterThan(0);

    const { groups } = await api<{ groups: ErrorGroup[] }>('/api/errors');
    expect(groups).toHaveLength(2);
    const typeError = groups.find((g) => g.type === 'TypeError');
    expect(typeError, JSON.stringify(groups)).toBeDefined();
    expect(typeError!.count).toBe(1);
    const detail = await api<{ group: { id: string }; samples: Array<{ stack?: string }> }>(
      `/api/errors/${encodeURIComponent(typeError!.id)}`,
    );
    expect(detail.group.id).toBe(typeError!.id);
    expect(detail.samples[0]?.stack).toContain('demo.js');

    const { features } = await api<{ features: Feature[] }>('/api/features');
    expect(features).toEqual([expect.objectContaining({ name: 'export-csv', uses: 1 })]);

    const { events: assertEvents } = await api<{ events: EventRow[] }>('/api/events?kind=assert&limit=10');
    expect(assertEvents).toHaveLength(2);
    const { asserts } = await api<{ asserts: AssertRow[] }>('/api/asserts');
    expect(asserts.map((a) => [a.name, a.soft, a.lastVars]).sort()).toEqual([
      ['cart-total-matches', false, { items: 3, checksum: 'ab12' }],
      ['workspace-count-under-100', true, { workspaces: 140 }],
    ]);
    const { events: blocked } = await api<{ events: EventRow[] }>('/api/events?kind=blocked');
    expect(blocked.map((b) => b.name)).toEqual(['file-too-large']);

    const home = await (await fetch(`${telltale.url}/`, { headers: authorization })).text();
    expect(home).toContain('TypeError');

    // One email per new error group, one for the first use of the feature and (since issue #6) one per
    // new failing assert, hard and soft, to the configured recipient.
    await waitFor('five alert emails', async () => (smtp.messages.length >= 5 ? true : undefined));
    expect(mailsAbout('New error')).toHaveLength(2);
    expect(mailsAbout('export-csv')).toHaveLength(1);
    expect(mailsAbout('failing assert')).toHaveLength(2);
    expect(smtp.messages.every((m) => m.to.includes('founders@example.test'))).toBe(true);
    await page.close();
  });

  it('keeps counts and emails unchanged when the same batches are uploaded again, even across a restart', async () => {
    // The batches exactly as the browser sent them, read back from the collector's spool.
    const stored = (await readSpool(data.dir)).map((envelope) => envelope.batch);
    const uploads = stored.map((batch) => gzipSync(JSON.stringify(batch)));
    expect(uploads.length).toBeGreaterThan(0);
    const before = await api<Stats>('/api/stats');
    const mailsBefore = smtp.messages.length;
    const post = (body: Buffer) =>
      fetch(`${telltale.url}/v1/batch?key=${telltale.demoKey}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body,
      });

    // The identical upload (same batch id) is acknowledged as a duplicate and not stored again.
    for (const body of uploads) {
      const response = await post(body);
      expect(response.status).toBe(202);
      expect(await response.json()).toMatchObject({ duplicate: true });
    }

    // Restart on the same data dir; then re-send the same events under new batch ids, plus one marker
    // feature whose email proves the dispatcher has processed everything sent before it.
    await telltale.close();
    telltale = await start();
    const events = stored.flatMap((batch) => batch.events);
    const marker = { id: 'e2e-marker-event', kind: 'feature', ts: Date.now(), name: 'e2e-marker' };
    const replay = { ...stored[0]!, batchId: 'e2e-replay-batch', events: [...events, marker] };
    const response = await post(gzipSync(JSON.stringify(replay)));
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ accepted: events.length + 1, duplicate: false });

    await waitFor('the marker email', async () => (mailsAbout('e2e-marker').length === 1 ? true : undefined));
    const after = await api<Stats>('/api/stats');
    expect(after.events).toEqual({ ...before.events, feature: before.events.feature + 1 });
    expect(smtp.messages.length).toBe(mailsBefore + 1);
    expect(mailsAbout('New error')).toHaveLength(2);
    expect(mailsAbout('export-csv')).toHaveLength(1);
  });
});
