// The filter bar's parameters and the search box on the JSON API, over a real DuckDB store.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, FP_TYPEERROR, FP_XSS, MIN, SAMPLE_ROWS, T0, type Harness } from './fixtures.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness([
    ...SAMPLE_ROWS.filter((r) => r.kind === 'error'),
    { id: 'f1', kind: 'feature', ts: T0 + MIN, name: 'export-csv', release: '1.3.9', url: '/reports' },
    {
      id: 'f2',
      kind: 'feature',
      ts: T0 + 20 * MIN,
      name: 'export-csv',
      release: '1.4.0',
      url: '/reports/q3',
    },
    { id: 'f3', kind: 'feature', ts: T0 + 21 * MIN, name: 'dark-mode', release: '1.4.0', url: '/reportsx' },
    {
      id: 'a1',
      kind: 'assert',
      ts: T0 + 3 * MIN,
      name: 'cart-total-matches',
      soft: true,
      environment: 'staging',
    },
    { id: 'x1', kind: 'blocked', ts: T0 + 4 * MIN, name: 'file-too-large', os: 'Linux' },
  ]);
  await h.db.run(`UPDATE events SET trace = '4bf92f3577b34da6a3ce929d0e0e4736' WHERE id = 'e2'`);
});
afterAll(async () => {
  await h.close();
});

async function get(url: string): Promise<{ status: number; body: any; location?: string }> {
  const res = await h.app.inject({ method: 'GET', url });
  const location = res.headers.location;
  return {
    status: res.statusCode,
    body: res.statusCode === 303 ? undefined : res.json(),
    ...(typeof location === 'string' ? { location } : {}),
  };
}

describe('list filters on the JSON API', () => {
  it('a release narrows the groups to the events of that release', async () => {
    const all = (await get('/api/errors')).body.groups;
    const old = (await get('/api/errors?release=1.3.9')).body.groups;
    expect(all.map((g: { id: string }) => g.id)).toEqual([FP_TYPEERROR, FP_XSS]);
    expect(old).toHaveLength(1);
    expect(old[0]).toMatchObject({ id: FP_TYPEERROR, events: 1, releases: ['1.3.9'], lastSeen: T0 });
  });

  it('a custom time range is [from, to) on the event time, in epoch ms or ISO UTC', async () => {
    const within = await get(`/api/errors?from=${T0 + 5 * MIN}&to=${T0 + 10 * MIN}`);
    expect(within.body.groups.map((g: { events: number }) => g.events)).toEqual([1]);
    const iso = new Date(T0 + 5 * MIN).toISOString().slice(0, 16);
    const same = await get(`/api/errors?range=custom&from=${iso}&to=${T0 + 10 * MIN}`);
    expect(same.body.groups).toEqual(within.body.groups);
    // A named range ends now: the seeded day is weeks before it.
    expect((await get('/api/errors?range=1h')).body.groups).toEqual([]);
  });

  it('browser, OS, environment and path narrow every list and combine', async () => {
    const firefox = (await get('/api/events?browser=Firefox')).body.events;
    expect(firefox.map((e: { id: string }) => e.id)).toEqual(['e3']);
    expect((await get('/api/events?browser=Firefox&os=macOS')).body.events).toEqual([]);
    expect((await get('/api/blocked?os=Linux')).body.blocked).toHaveLength(1);
    expect((await get('/api/blocked?os=Windows')).body.blocked).toEqual([]);
    expect((await get('/api/asserts?environment=staging')).body.asserts).toHaveLength(1);
    expect((await get('/api/asserts?environment=production')).body.asserts).toEqual([]);
    // /reports covers /reports/q3 but not /reportsx.
    const reports = (await get('/api/features?path=/reports')).body.features;
    expect(reports).toEqual([expect.objectContaining({ name: 'export-csv', uses: 2 })]);
  });

  it('pages of a filtered list follow one another with the same filter', async () => {
    const first = await get('/api/events?kind=feature&release=1.4.0&limit=1');
    expect(first.body.events.map((e: { id: string }) => e.id)).toEqual(['f3']);
    const second = await get(`/api/events?kind=feature&release=1.4.0&limit=1&before=${first.body.next}`);
    expect(second.body.events.map((e: { id: string }) => e.id)).toEqual(['f2']);
    expect(second.body.next).toBeNull();
  });

  it('answers 400 naming the bad parameter', async () => {
    for (const [query, field] of [
      ['range=2h', 'range'],
      ['from=yesterday', 'from'],
      ['from=2026-02-30', 'from'],
      [`from=${T0}&to=${T0 - 1}`, 'to'],
      ['path=reports', 'path'],
      [`release=${'r'.repeat(201)}`, 'release'],
      ['range=custom', 'from'],
    ] as const) {
      for (const route of ['/api/errors', '/api/features', '/api/events', '/api/asserts', '/api/blocked']) {
        const res = await get(`${route}?${query}`);
        expect(res.status, `${route}?${query}`).toBe(400);
        expect(res.body.error).toMatchObject({ code: 'TELLTALE_ERR_INVALID_QUERY', field });
      }
    }
    // The answer says what would do.
    expect((await get('/api/errors?range=2h')).body.error.message).toContain('24h');
    expect((await get('/api/timeline?trace=x&range=2h')).body.error.field).toBe('range');
    expect((await get('/api/logs?range=2h')).body.error.field).toBe('range');
  });
});

describe('search on the JSON API', () => {
  it('an event id, a trace id, a session and a user jump to their JSON', async () => {
    expect((await get('/api/search?q=e3')).location).toBe('/api/events/shop/e3');
    expect((await get('/api/search?q=4bf92f3577b34da6a3ce929d0e0e4736')).location).toBe(
      '/api/timeline?trace=4bf92f3577b34da6a3ce929d0e0e4736',
    );
    expect((await get('/api/search?q=s-anon')).location).toBe('/api/timeline?session=s-anon');
    expect((await get('/api/search?q=u-2')).location).toBe('/api/timeline?user=u-2');
    expect((await get(`/api/search?q=${FP_XSS}`)).location).toBe(`/api/errors/${FP_XSS}?app=shop`);
  });

  it('free text finds error messages, feature, assert and blocked names, case-insensitively', async () => {
    const { status, body } = await get('/api/search?q=READING');
    expect(status).toBe(200);
    expect(body.results.errors).toEqual([expect.objectContaining({ fingerprint: FP_TYPEERROR, events: 3 })]);
    const csv = (await get('/api/search?q=csv')).body.results;
    expect(csv.features).toEqual([expect.objectContaining({ name: 'export-csv', events: 2 })]);
    expect(csv.errors).toEqual([]);
    expect((await get('/api/search?q=total-match')).body.results.asserts).toHaveLength(1);
    expect((await get('/api/search?q=too-large')).body.results.blocked).toHaveLength(1);
    // Pattern characters are plain text.
    expect((await get('/api/search?q=%25')).body.results.errors).toEqual([]);
    // The filter narrows the hits too.
    expect((await get('/api/search?q=csv&release=1.3.9')).body.results.features[0].events).toBe(1);
  });

  it('refuses a search text over the limit', async () => {
    const res = await get(`/api/search?q=${'x'.repeat(201)}`);
    expect(res.status).toBe(400);
    expect(res.body.error.field).toBe('q');
  });
});
