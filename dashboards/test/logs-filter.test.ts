// The server-log page's filter bar (time, app, release, environment), over a real DuckDB store.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, MIN, T0, type Harness } from './fixtures.js';

let h: Harness;

const LINES = [
  ['shop', 'l1', T0 + 1 * MIN, 'api', 'info', 'GET /cart served', '1.4.0', 'production'],
  ['shop', 'l2', T0 + 2 * MIN, 'api', 'error', 'GET /cart failed', '1.3.9', 'staging'],
  ['shop', 'l3', T0 + 3 * MIN, 'worker', 'info', 'cart job done', '1.4.0', 'production'],
  ['admin', 'l4', T0 + 4 * MIN, 'api', 'warn', 'GET /admin slow', '2.0.0', 'production'],
] as const;

beforeAll(async () => {
  // One client event with a release no server line has: the log page's choices come from the logs.
  h = await createHarness([
    { id: 'e1', kind: 'error', ts: T0, errorType: 'Error', message: 'x', release: 'client-only' },
  ]);
  for (const [app, id, ts, service, level, message, release, environment] of LINES)
    await h.db.run(
      `INSERT INTO server_logs (app, id, ts, received_at, day, service, level, message, release, environment)
       VALUES ($1, $2, epoch_ms($3::BIGINT), epoch_ms($3::BIGINT), CAST(epoch_ms($3::BIGINT) AS DATE),
         $4, $5, $6, $7, $8)`,
      [app, id, BigInt(ts), service, level, message, release, environment],
    );
});
afterAll(async () => {
  await h.close();
});

async function page(url: string, status = 200): Promise<string> {
  const res = await h.app.inject({ method: 'GET', url });
  expect(res.statusCode, url).toBe(status);
  return res.body;
}

const shown = (body: string): string[] =>
  LINES.filter(([, , , , , message]) => body.includes(message)).map(([, id]) => id);

describe('/logs takes the filter bar', () => {
  it('shows the bar with the fields a log line has, its choices read from the logs', async () => {
    const body = await page('/logs');
    expect(body).toContain('<form class="filter-bar" method="get" action="/logs" aria-label="Filter">');
    for (const label of ['Time', 'App', 'Release', 'Environment']) expect(body).toContain(`<label>${label} `);
    for (const label of ['Browser', 'OS', 'URL path']) expect(body).not.toContain(`<label>${label} `);
    expect(body).toContain('<option value="2.0.0">2.0.0</option>');
    expect(body).toContain('<option value="staging">staging</option>');
    expect(body).not.toContain('client-only');
    expect(shown(body)).toEqual(['l1', 'l2', 'l3', 'l4']);
  });

  it('a release narrows the lines; the bar, the search form, the pages and the nav keep it', async () => {
    const body = await page('/logs?release=1.4.0');
    expect(shown(body)).toEqual(['l1', 'l3']);
    expect(body).toContain('<option value="1.4.0" selected>1.4.0</option>');
    // The text search submits the filter with it; the filter bar keeps the search's fields.
    expect(body).toContain('<input type="hidden" name="release" value="1.4.0">');
    expect(body).toContain('href="/?release=1.4.0"');
    const searched = await page('/logs?release=1.4.0&text=cart&service=worker');
    expect(shown(searched)).toEqual(['l3']);
    expect(searched).toContain('<input type="hidden" name="service" value="worker">');
    const first = await page('/logs?release=1.4.0&limit=1');
    expect(shown(first)).toEqual(['l3']);
    const next = /<a rel="next" href="([^"]+)"/.exec(first)?.[1]?.replaceAll('&amp;', '&');
    expect(next).toContain('release=1.4.0');
    expect(shown(await page(next ?? '/logs'))).toEqual(['l1']);
  });

  it('app, environment and a custom UTC range [from, to) narrow the lines', async () => {
    expect(shown(await page('/logs?app=admin'))).toEqual(['l4']);
    expect(shown(await page('/logs?environment=staging'))).toEqual(['l2']);
    const from = new Date(T0 + 2 * MIN).toISOString().slice(0, 16);
    const to = new Date(T0 + 4 * MIN).toISOString().slice(0, 16);
    const body = await page(`/logs?range=custom&from=${from}&to=${to}`);
    expect(shown(body)).toEqual(['l2', 'l3']);
    expect(body).toContain(`name="from" value="${from}"`);
    expect(shown(await page(`/logs?from=${T0 + 2 * MIN}&to=${T0 + 3 * MIN}`))).toEqual(['l2']);
    // The seeded lines are weeks old: the last day has none of them.
    expect(shown(await page('/logs?range=24h'))).toEqual([]);
  });

  it('refuses a filter that is not one, naming the field', async () => {
    expect(await page('/logs?from=2026-02-31', 400)).toContain('Invalid from');
    expect(await page('/logs?range=2h', 400)).toContain('Invalid range');
    expect(await page(`/logs?release=${'r'.repeat(300)}`, 400)).toContain('release');
  });

  it('the JSON API takes the same filter, and gives the log choices with source=logs', async () => {
    const api = async (url: string) => (await h.app.inject({ method: 'GET', url })).json();
    const ids = async (url: string) => (await api(url)).logs.map((l: { id: string }) => l.id);
    expect(await ids('/api/logs?environment=production&app=shop')).toEqual(['l3', 'l1']);
    expect(await ids(`/api/logs?range=custom&from=${new Date(T0 + 3 * MIN).toISOString()}`)).toEqual([
      'l4',
      'l3',
    ]);
    const { options } = await api('/api/filter-options?source=logs');
    expect(options).toEqual({
      app: ['shop', 'admin'],
      release: ['1.4.0', '1.3.9', '2.0.0'],
      environment: ['production', 'staging'],
      browser: [],
      os: [],
      path: [],
    });
    expect((await api('/api/filter-options')).options.release).toEqual(['client-only']);
  });
});
