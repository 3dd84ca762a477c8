import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeHtml } from '../src/html.js';
import { createHarness, SAMPLE_ROWS, T0, type Harness } from './fixtures.js';

// Filter values come from the URL and from stored events (anyone with an ingest key can send a
// release or a url); `$&`, `$'` and `` $` `` in them must show as text, not splice page markup.
const PATH = '/a$`';
const RELEASE = "r$'x";
const URL_PATH = '/b$&y';

let h: Harness;
beforeAll(async () => {
  h = await createHarness([
    ...SAMPLE_ROWS,
    {
      id: 'dollar-1',
      kind: 'error',
      ts: T0,
      release: RELEASE,
      url: `https://shop.test${URL_PATH}`,
      fingerprint: 'c'.repeat(32),
      errorType: 'Error',
      message: 'm',
    },
  ]);
});
afterAll(async () => {
  await h.close();
});

const count = (text: string, part: string): number => text.split(part).length - 1;

describe('filter bar with $ patterns in values', () => {
  it.each(['/', '/events', '/features'])('%s shows the values escaped and the page once', async (page) => {
    const res = await h.app.inject({ method: 'GET', url: `${page}?path=${encodeURIComponent(PATH)}` });
    expect(res.statusCode).toBe(200);
    const body = res.body;
    expect(body).toContain(`name="path" list="filter-paths"`);
    expect(body).toContain(`value="${escapeHtml(PATH)}"`);
    expect(body).toContain(`<option value="${escapeHtml(RELEASE)}">${escapeHtml(RELEASE)}</option>`);
    expect(count(body, '<html')).toBe(1);
    expect(count(body, '</html>')).toBe(1);
    expect(count(body, 'class="filter-bar"')).toBe(1);
    expect(count(body, '<body')).toBe(1);
  });
});
