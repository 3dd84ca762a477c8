import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertSummary } from '../src/alerts.js';
import { createHarness, insertRows, MIN, T0, type Harness, type Row } from './fixtures.js';

const FEATURES = 230;
const GROUPS = 140;
const ALERTS = 210;

/** Times repeat in steps of three: ties on the sort time must still page without loss or repeat. */
const at = (i: number): number => T0 + Math.floor(i / 3) * MIN;

const rows: Row[] = [
  ...Array.from({ length: FEATURES }, (_, i): Row => ({
    id: `f-${i}`,
    kind: 'feature',
    ts: at(i),
    name: `feature-${String(i).padStart(3, '0')}`,
  })),
  ...Array.from({ length: GROUPS }, (_, i): Row => ({
    id: `e-${i}`,
    kind: 'error',
    ts: at(i),
    fingerprint: i.toString(16).padStart(32, '0'),
    errorType: 'TypeError',
    message: `broken ${i}`,
  })),
  ...Array.from({ length: 25 }, (_, i): Row => ({
    id: `a-${i}`,
    kind: 'assert',
    ts: at(i),
    name: `assert-${i}`,
    soft: i % 2 === 0,
  })),
  ...Array.from({ length: 25 }, (_, i): Row => ({
    id: `b-${i}`,
    kind: 'blocked',
    ts: at(i),
    name: `reason-${i}`,
  })),
];

const alerts: AlertSummary[] = Array.from({ length: ALERTS }, (_, i) => ({
  key: `first-feature:shop:feature-${i}`,
  kind: 'first-feature',
  app: 'shop',
  subject: `First use of feature-${i}`,
  createdAt: new Date(at(i)).toISOString(),
  status: 'sent',
  transport: 'outbox',
}));

let h: Harness;
beforeAll(async () => {
  h = await createHarness(rows, { alerts });
});
afterAll(async () => {
  await h.close();
});

async function getJson(url: string): Promise<{ status: number; body: any }> {
  const res = await h.app.inject({ method: 'GET', url });
  return { status: res.statusCode, body: res.json() };
}

/** Follows `next` from the first page to the last; returns every item's id, in order, and the pages. */
async function walk(
  path: string,
  list: string,
  id: (item: any) => string,
  limit: number,
): Promise<{ ids: string[]; pages: any[] }> {
  const ids: string[] = [];
  const pages: any[] = [];
  let url = `${path}?limit=${limit}`;
  for (let guard = 0; guard < 100; guard += 1) {
    const { status, body } = await getJson(url);
    expect(status).toBe(200);
    expect(body[list].length).toBeLessThanOrEqual(limit);
    pages.push(body);
    ids.push(...body[list].map(id));
    if (body.next === null) return { ids, pages };
    url = `${path}?limit=${limit}&before=${body.next}`;
  }
  throw new Error(`${path} never reached its last page`);
}

describe('pagination of every list', () => {
  const lists = [
    { path: '/api/features', list: 'features', id: (f: any) => `${f.app}/${f.name}`, total: FEATURES },
    { path: '/api/errors', list: 'groups', id: (g: any) => `${g.app}/${g.fingerprint}`, total: GROUPS },
    { path: '/api/asserts', list: 'asserts', id: (a: any) => `${a.app}/${a.name}`, total: 25 },
    { path: '/api/blocked', list: 'blocked', id: (b: any) => `${b.app}/${b.reason}`, total: 25 },
    { path: '/api/events', list: 'events', id: (e: any) => `${e.app}/${e.id}`, total: rows.length },
    { path: '/api/alerts', list: 'alerts', id: (a: any) => a.key, total: ALERTS },
  ];

  it.each(lists)(
    '$path: walking `next` yields each item exactly once, newest first, limit respected',
    async (l) => {
      const { ids, pages } = await walk(l.path, l.list, l.id, 7);
      expect(ids).toHaveLength(l.total);
      expect(new Set(ids).size).toBe(l.total);
      expect(pages).toHaveLength(Math.ceil(l.total / 7));
      expect(pages[0].prev).toBeNull();
      // The same order as one big page.
      const all = await getJson(`${l.path}?limit=1000`);
      expect(all.body[l.list].map(l.id)).toEqual(ids);
      expect(all.body.next).toBeNull();
      // And back: `prev` from the last page walks to the first.
      let back: string[] = [];
      let page = pages[pages.length - 1];
      back = [...page[l.list].map(l.id)];
      while (page.prev !== null) {
        page = (await getJson(`${l.path}?limit=7&after=${page.prev}`)).body;
        back = [...page[l.list].map(l.id), ...back];
      }
      expect(back).toEqual(ids);
    },
  );

  it('the default page is 100 items with a cursor to the rest; the ceiling is 1000', async () => {
    const { body } = await getJson('/api/features');
    expect(body.features).toHaveLength(100);
    expect(typeof body.next).toBe('string');
    expect((await getJson('/api/features?limit=1001')).status).toBe(400);
  });

  it('keeps pages stable while newer rows arrive: nothing repeats, nothing is skipped', async () => {
    const first = await getJson('/api/features?limit=50');
    await insertRows(h.db, [{ id: 'f-new', kind: 'feature', ts: T0 + 10_000 * MIN, name: 'brand-new' }]);
    const seen = first.body.features.map((f: any) => f.name);
    let next = first.body.next;
    while (next !== null) {
      const { body } = await getJson(`/api/features?limit=50&before=${next}`);
      seen.push(...body.features.map((f: any) => f.name));
      next = body.next;
    }
    expect(seen).toHaveLength(FEATURES);
    expect(seen).not.toContain('brand-new');
    expect((await getJson('/api/features?limit=1')).body.features[0].name).toBe('brand-new');
  });

  it('a filtered error list pages through the status filter', async () => {
    const { ids } = await walk('/api/errors', 'groups', (g) => g.id, 9);
    const filtered: string[] = [];
    let url = '/api/errors?status=unresolved&limit=9';
    for (;;) {
      const { body } = await getJson(url);
      filtered.push(...body.groups.map((g: any) => g.id));
      if (body.next === null) break;
      url = `/api/errors?status=unresolved&limit=9&before=${body.next}`;
    }
    expect(filtered).toEqual(ids);
  });

  it.each([
    ['garbage', 'before'],
    ['not%20base64!', 'before'],
    [Buffer.from(JSON.stringify(['events', 1, 2, 'x', 'y'])).toString('base64url'), 'before'],
    [Buffer.from(JSON.stringify(['features', 'x', 'y', 'z'])).toString('base64url'), 'after'],
  ])('an invalid cursor %s answers 400 naming the parameter', async (cursor, field) => {
    const { status, body } = await getJson(`/api/features?${field}=${cursor}`);
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ code: 'TELLTALE_ERR_INVALID_QUERY', field });
  });

  it('pages show Older and Newer links that walk the list', async () => {
    const names: string[] = [];
    let url = '/features?limit=40';
    const seenNewer: boolean[] = [];
    for (let guard = 0; guard < 20; guard += 1) {
      const res = await h.app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(200);
      // The list's own rows (the name cell); the adoption table and the charts' data tables above it
      // name features too, and do not page.
      const rows = [...res.body.matchAll(/<td class="main"><code>(feature-\d{3}|brand-new)<\/code><\/td>/g)];
      names.push(...rows.map((m) => m[1]!));
      seenNewer.push(res.body.includes('← Newer'));
      const older = /<a rel="next" href="([^"]+)">Older →<\/a>/.exec(res.body)?.[1];
      if (older === undefined) break;
      url = older.replace(/&amp;/g, '&');
    }
    expect(new Set(names).size).toBe(names.length);
    expect(names).toHaveLength(FEATURES + 1);
    expect(seenNewer[0]).toBe(false);
    expect(seenNewer.slice(1).every(Boolean)).toBe(true);

    const bad = await h.app.inject({ method: 'GET', url: '/alerts?before=garbage' });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('Invalid before');
  });
});
