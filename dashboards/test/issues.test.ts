import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  openErrorIntelligence,
  resolveDispatcherConfig,
  type ErrorIntelligence,
} from '@telltale/dispatchers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, type Row } from './fixtures.js';

const NOW = Date.now();
const FP_CART = 'c'.repeat(32);
const FP_OLD = 'd'.repeat(32);

/** Relative to now, so `new` (first seen this week) and `ongoing` do not depend on the day the test runs. */
const ROWS: Row[] = [
  {
    id: 'c1',
    kind: 'error',
    ts: NOW - 60_000,
    fingerprint: FP_CART,
    errorType: 'TypeError',
    message: "Cannot read properties of undefined (reading 'items')",
    release: '1.4.2',
    stack:
      "TypeError: Cannot read properties of undefined (reading 'items')\n    at i (https://shop.example.com/assets/app.3f9a2c1b.js:1:30)\n    at o (https://shop.example.com/assets/app.3f9a2c1b.js:1:141)",
  },
  {
    id: 'o1',
    kind: 'error',
    ts: NOW - 30 * 86_400_000,
    fingerprint: FP_OLD,
    errorType: 'Error',
    message: 'quota exceeded',
    release: '1.0.0',
  },
];

let h: Harness;
let dir: string;
let intel: ErrorIntelligence;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'telltale-issues-'));
  // The dispatchers' real group states, mute rules and symbolicator on a temp data dir.
  intel = await openErrorIntelligence(resolveDispatcherConfig({ dataDir: dir }, {}));
  h = await createHarness(ROWS, { issues: intel.issues });
});

afterAll(async () => {
  await h.close();
  await intel.close();
  await rm(dir, { recursive: true, force: true });
});

const api = async (
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
) => {
  const res = await h.app.inject({
    method,
    url,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
  return {
    status: res.statusCode,
    body: res.body === '' ? undefined : (res.json() as any),
    headers: res.headers,
  };
};

describe('error lifecycle in the API', () => {
  it('lists groups as new (first seen this week) or ongoing', async () => {
    const { body } = await api('GET', '/api/errors');
    expect(body.groups.map((g: any) => [g.id, g.status])).toEqual([
      [FP_CART, 'new'],
      [FP_OLD, 'ongoing'],
    ]);
  });

  it('resolves per release, filters by status, and reopens', async () => {
    const resolved = await api('POST', `/api/errors/${FP_CART}/resolve`, { release: '1.4.3' });
    expect(resolved.status).toBe(200);
    expect(resolved.body).toMatchObject({
      status: 'resolved',
      state: { status: 'resolved', resolvedInRelease: '1.4.3', releasesAtResolve: ['1.4.2'], resolution: 1 },
    });
    expect((await api('GET', '/api/errors?status=resolved')).body.groups.map((g: any) => g.id)).toEqual([
      FP_CART,
    ]);
    expect((await api('GET', '/api/errors?status=unresolved')).body.groups.map((g: any) => g.id)).toEqual([
      FP_OLD,
    ]);
    expect((await api('GET', `/api/errors/${FP_CART}`)).body.group).toMatchObject({ status: 'resolved' });

    expect((await api('POST', `/api/errors/${FP_OLD}/ignore`)).body.status).toBe('ignored');
    expect((await api('POST', `/api/errors/${FP_CART}/reopen`)).body.status).toBe('new');
    expect((await api('POST', '/api/errors/0123456789abcdef0123456789abcdef/resolve')).status).toBe(404);
    expect((await api('POST', `/api/errors/${FP_CART}/delete`)).status).toBe(400);
  });

  it('refuses a change forged by another site', async () => {
    const forged: Array<Record<string, string>> = [
      { origin: 'https://evil.example' },
      { 'sec-fetch-site': 'cross-site' },
    ];
    for (const headers of forged) {
      const res = await api('POST', `/api/errors/${FP_CART}/ignore`, {}, headers);
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ error: { code: 'TELLTALE_ERR_CROSS_SITE' } });
    }
    expect((await api('GET', `/api/errors/${FP_CART}`)).body.group.status).toBe('new');
  });

  it('says which map it looked for when none was uploaded, and still returns the frames as reported', async () => {
    const { body } = await api('GET', `/api/errors/${FP_CART}`);
    expect(body.group.frames.map((f: any) => [f.function, f.file, f.line, f.column, f.inApp])).toEqual([
      ['i', 'https://shop.example.com/assets/app.3f9a2c1b.js', 1, 30, true],
      ['o', 'https://shop.example.com/assets/app.3f9a2c1b.js', 1, 141, true],
    ]);
    expect(body.group.sourceMaps).toMatchObject({
      status: 'missing',
      problems: [{ kind: 'no-maps-for-release', lookedFor: '/assets/app.3f9a2c1b.js', release: '1.4.2' }],
    });
    expect(body.samples[0].frames).toHaveLength(2);
  });

  it('manages mute rules: validated, listed, removed', async () => {
    const bad = await api('POST', '/api/mute-rules', { message: 'x'.repeat(500) });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 'TELLTALE_ERR_INVALID_RULE', field: 'message' } });
    const added = await api('POST', '/api/mute-rules', { message: '*ResizeObserver*', browser: 'Firefox' });
    expect(added.status).toBe(201);
    expect((await api('GET', '/api/mute-rules')).body.rules).toEqual([
      expect.objectContaining({ id: added.body.rule.id, message: '*ResizeObserver*', browser: 'Firefox' }),
    ]);
    expect((await api('DELETE', `/api/mute-rules/${added.body.rule.id}`)).status).toBe(204);
    expect((await api('DELETE', `/api/mute-rules/${added.body.rule.id}`)).status).toBe(404);
  });
});

describe('error lifecycle on the pages', () => {
  const form = (url: string, fields: Record<string, string>, origin = 'http://localhost:80') =>
    h.app.inject({
      method: 'POST',
      url,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin,
        'sec-fetch-site': 'same-origin',
      },
      payload: new URLSearchParams(fields).toString(),
    });

  it('shows status, frames and the missing-map notice, and resolves from a plain form', async () => {
    const page = (await h.app.inject({ method: 'GET', url: `/errors/${FP_CART}?app=shop` })).body;
    expect(page).toContain('badge-status-new');
    expect(page).toContain(`action="/errors/${FP_CART}/status?app=shop"`);
    expect(page).toContain('<option value="1.4.2">1.4.2</option>');
    expect(page).toContain('No source maps were uploaded for release 1.4.2');
    expect(page).toContain('Looked for <code>/assets/app.3f9a2c1b.js</code>');
    // The page's only script is the theme switch's file (no inline script, style or handler).
    expect(page.replace('<script src="/assets/theme.js"></script>', '')).not.toMatch(
      /<script|\sstyle=|\son[a-z]+=/i,
    );

    const done = await form(`/errors/${FP_CART}/status?app=shop`, { action: 'resolve', release: '1.4.2' });
    expect(done.statusCode).toBe(303);
    expect(done.headers.location).toBe(`/errors/${FP_CART}?app=shop`);
    const after = (await h.app.inject({ method: 'GET', url: `/errors/${FP_CART}?app=shop` })).body;
    expect(after).toContain('badge-status-resolved');
    expect(after).toContain('in release <code>1.4.2</code>');
    expect((await h.app.inject({ method: 'GET', url: '/?status=resolved' })).body).toContain('TypeError');

    const forged = await form(
      `/errors/${FP_CART}/status?app=shop`,
      { action: 'reopen' },
      'https://evil.example',
    );
    expect(forged.statusCode).toBe(403);
    await form(`/errors/${FP_CART}/status?app=shop`, { action: 'reopen' });
  });

  it('adds and removes mute rules from the rules page', async () => {
    const invalid = await form('/alerts/rules', { note: 'only a note' });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.body).toContain('a rule needs at least one of');
    expect(
      (await form('/alerts/rules', { message: '*Script error*', note: 'third-party scripts' })).statusCode,
    ).toBe(303);
    const page = (await h.app.inject({ method: 'GET', url: '/alerts/rules' })).body;
    expect(page).toContain('message: *Script error*');
    const id = /action="\/alerts\/rules\/([0-9a-f]+)\/delete"/.exec(page)?.[1];
    expect(id).toBeDefined();
    expect((await form(`/alerts/rules/${id}/delete`, {})).statusCode).toBe(303);
    expect((await h.app.inject({ method: 'GET', url: '/alerts/rules' })).body).not.toContain(
      '*Script error*',
    );
    expect((await h.app.inject({ method: 'GET', url: '/alerts' })).body).toContain('href="/alerts/rules"');
  });
});
