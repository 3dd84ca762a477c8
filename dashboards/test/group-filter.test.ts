// The error-group page and /api/errors/:id under the list's filter, over a real DuckDB store:
// a user who filters the list to one release and opens a group sees only that release's events.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, FP_TYPEERROR, MIN, T0, type Harness } from './fixtures.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

async function get(url: string, status = 200): Promise<string> {
  const res = await h.app.inject({ method: 'GET', url });
  expect(res.statusCode, url).toBe(status);
  return res.body;
}

/** The href of the list's link to the group (the list page's HTML, entities as the page writes them). */
function groupLink(listPage: string, fingerprint: string): string {
  const match = new RegExp(`href="(/errors/${fingerprint}[^"]*)"`).exec(listPage);
  expect(match, 'the list links to the group').not.toBeNull();
  return (match?.[1] ?? '').replaceAll('&amp;', '&');
}

describe('the error group under the filter', () => {
  it('a list filtered to a release links to a group page showing only that release', async () => {
    const list = await get('/?release=1.4.0');
    const href = groupLink(list, FP_TYPEERROR);
    expect(new URL(href, 'http://x').searchParams.get('release')).toBe('1.4.0');

    const group = await get(href);
    // e2 and e3 are 1.4.0; e1 (1.3.9, four occurrences) is not on the page.
    expect(group).toContain('href="/events/shop/e2"');
    expect(group).toContain('href="/events/shop/e3"');
    expect(group).not.toContain('href="/events/shop/e1"');
    expect(group).toMatch(/<dt>Occurrences<\/dt><dd>3<\/dd>/);
    expect(group).toMatch(/<dt>Events<\/dt><dd>2<\/dd>/);
    expect(group).toMatch(/<dt>Releases<\/dt><dd><code>1\.4\.0<\/code> <\/dd>/);
    // The page's own filter bar, set to the release (and the group's app, which the link names),
    // submits to the group page; the way back to the list keeps the filter.
    expect(group).toContain(`action="/errors/${FP_TYPEERROR}"`);
    expect(group).toContain('<option value="1.4.0" selected>1.4.0</option>');
    expect(group).toContain('<p class="crumbs"><a href="/?app=shop&amp;release=1.4.0">Errors</a>');

    const unfiltered = await get(`/errors/${FP_TYPEERROR}?app=shop`);
    expect(unfiltered).toContain('href="/events/shop/e1"');
    expect(unfiltered).toMatch(/<dt>Occurrences<\/dt><dd>7<\/dd>/);
  });

  it('a time range narrows the counts, samples and chart of the group', async () => {
    const body = await get(`/errors/${FP_TYPEERROR}?from=${T0 + MIN}&to=${T0 + 6 * MIN}`);
    expect(body).toContain('href="/events/shop/e2"');
    expect(body).not.toContain('href="/events/shop/e3"');
    expect(body).not.toContain('href="/events/shop/e1"');

    const api = JSON.parse(await get(`/api/errors/${FP_TYPEERROR}?from=${T0 + MIN}&to=${T0 + 6 * MIN}`));
    expect(api.group).toMatchObject({ events: 1, count: 2, users: 1, releases: ['1.4.0'] });
    expect(api.samples.map((s: { id: string }) => s.id)).toEqual(['e2']);
    const series = JSON.parse(
      await get(`/api/series/errors/${FP_TYPEERROR}?from=${T0 + MIN}&to=${T0 + 6 * MIN}`),
    );
    expect(series.events.reduce((a: number, b: number) => a + b, 0)).toBe(1);
  });

  it('/api/errors/:id takes the filter; a group with no event in it is a 404 saying so', async () => {
    const all = JSON.parse(await get(`/api/errors/${FP_TYPEERROR}`));
    const old = JSON.parse(await get(`/api/errors/${FP_TYPEERROR}?release=1.3.9&environment=production`));
    expect(all.group).toMatchObject({ events: 3, count: 7 });
    expect(old.group).toMatchObject({ events: 1, count: 4, releases: ['1.3.9'], lastRelease: '1.3.9' });
    expect(old.samples.map((s: { id: string }) => s.id)).toEqual(['e1']);

    const none = JSON.parse(await get(`/api/errors/${FP_TYPEERROR}?release=9.9.9`, 404));
    expect(none.error.message).toMatch(/matches the filter/);
    const unknown = JSON.parse(await get(`/api/errors/${'f'.repeat(32)}?release=9.9.9`, 404));
    expect(unknown.error.message).toMatch(/no error group/);
    expect(JSON.parse(await get(`/api/errors/${FP_TYPEERROR}?range=2h`, 400)).error.field).toBe('range');
  });

  it('the group page says when the filter leaves none of its events, with a way to drop it', async () => {
    const body = await get(`/errors/${FP_TYPEERROR}?app=shop&release=9.9.9`);
    expect(body).toContain('No events match the filter');
    expect(body).toContain(`href="/errors/${FP_TYPEERROR}?app=shop"`);
    await get(`/errors/${'f'.repeat(32)}?release=9.9.9`, 404);
  });
});
