import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, FP_TYPEERROR, MIN, T0, type Harness } from './fixtures.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

async function getJson(url: string): Promise<{ status: number; body: any }> {
  const res = await h.app.inject({ method: 'GET', url });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  return { status: res.statusCode, body: res.json() };
}

describe('JSON API', () => {
  it('GET /api/errors lists groups with an id that /api/errors/:id accepts', async () => {
    const { status, body } = await getJson('/api/errors');
    expect(status).toBe(200);
    expect(body.groups).toHaveLength(2);
    const group = body.groups[0];
    expect(group).toMatchObject({
      id: FP_TYPEERROR,
      fingerprint: FP_TYPEERROR,
      type: 'TypeError',
      count: 7,
      users: 3,
      events: 3,
    });
    const detail = await getJson(`/api/errors/${group.id}`);
    expect(detail.status).toBe(200);
    expect(detail.body.group).toMatchObject({ id: FP_TYPEERROR, count: 7, lastSeen: T0 + 10 * MIN });
    expect(detail.body.samples.map((s: { id: string }) => s.id)).toEqual(['e3', 'e2', 'e1']);
    expect(detail.body.samples[2].stack).toContain('cartTotal');
  });

  it('GET /api/errors/:id answers 404 with a registered error code for an unknown group', async () => {
    const { status, body } = await getJson('/api/errors/0123456789abcdef0123456789abcdef');
    expect(status).toBe(404);
    expect(body.error.code).toBe('TELLTALE_ERR_NOT_FOUND');
    expect(body.error.message).toContain('0123456789abcdef0123456789abcdef');
  });

  it('GET /api/errors filters by app and validates the limit', async () => {
    expect((await getJson('/api/errors?app=admin')).body.groups).toEqual([]);
    expect((await getJson('/api/errors?limit=1')).body.groups).toHaveLength(1);
    const bad = await getJson('/api/errors?limit=5000');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'TELLTALE_ERR_INVALID_QUERY', field: 'limit' });
  });

  it('GET /api/features shows first use and distinct users', async () => {
    const { body } = await getJson('/api/features');
    expect(body.features.find((f: { name: string }) => f.name === 'export-csv')).toEqual({
      app: 'shop',
      name: 'export-csv',
      uses: 3,
      users: 2,
      firstUse: T0 + MIN,
      lastUse: T0 + 4 * MIN,
    });
  });

  it('GET /api/asserts and /api/blocked summarise by name and reason', async () => {
    const asserts = (await getJson('/api/asserts')).body.asserts;
    expect(asserts.map((a: { name: string; soft: boolean }) => [a.name, a.soft])).toEqual([
      ['cart-total-matches', false],
      ['workspaces-under-100', true],
    ]);
    const blocked = (await getJson('/api/blocked')).body.blocked;
    expect(blocked).toEqual([
      expect.objectContaining({ reason: 'file-too-large', count: 2, lastProps: { sizeMb: 77 } }),
    ]);
  });

  it('GET /api/events lists events with id and app, filtered by kind and session', async () => {
    const all = (await getJson('/api/events')).body.events;
    expect(all).toHaveLength(13);
    expect(all[0]).toMatchObject({ id: 'x1', app: 'admin', kind: 'feature', name: 'invite-user' });
    const errors = (await getJson('/api/events?kind=error&limit=2')).body.events;
    expect(errors.map((e: { id: string }) => e.id)).toEqual(['e3', 'e2']);
    const session = (await getJson('/api/events?session=s-anon')).body.events;
    expect(session.map((e: { id: string }) => e.id)).toEqual(['e3']);
    expect((await getJson('/api/events?kind=')).body.events).toHaveLength(13); // a form's "all"
  });

  it.each([
    ['/api/events?kind=crash', 'kind'],
    ['/api/events?limit=0', 'limit'],
    ['/api/events?limit=1001', 'limit'],
    ['/api/events?limit=ten', 'limit'],
  ])('GET %s answers 400 naming the field', async (url, field) => {
    const { status, body } = await getJson(url);
    expect(status).toBe(400);
    expect(body.error.code).toBe('TELLTALE_ERR_INVALID_QUERY');
    expect(body.error.field).toBe(field);
    expect(body.error.message).toContain(field);
  });

  it('GET /api/events/:app/:id returns every field, or 404', async () => {
    const { status, body } = await getJson('/api/events/shop/e1');
    expect(status).toBe(200);
    expect(body.event).toMatchObject({
      id: 'e1',
      app: 'shop',
      kind: 'error',
      count: 4,
      fingerprint: FP_TYPEERROR,
      release: '1.3.9',
    });
    expect(body.event.breadcrumbs).toHaveLength(1);
    const missing = await getJson('/api/events/admin/e1');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('TELLTALE_ERR_NOT_FOUND');
  });

  it('GET /api/stats counts every kind, zeros included', async () => {
    const { body } = await getJson('/api/stats');
    expect(body).toEqual({ events: { error: 4, assert: 2, feature: 5, blocked: 2, log: 0 } });
  });

  it('GET /api/alerts lists the alert log newest first', async () => {
    const { body } = await getJson('/api/alerts');
    expect(body.alerts.map((a: { key: string }) => a.key)).toEqual([
      'first-feature:shop:export-csv',
      'new-error:shop:aaaa',
    ]);
  });
});
