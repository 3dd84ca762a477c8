import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, FP_TYPEERROR, FP_XSS, type Harness } from './fixtures.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

async function getPage(url: string, status = 200): Promise<string> {
  const res = await h.app.inject({ method: 'GET', url });
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(res.headers['content-security-policy']).toMatch(/^default-src 'self'/);
  return res.body;
}

const LIST_PAGES = ['/', '/features', '/asserts', '/blocked', '/events', '/alerts'];

describe('HTML pages', () => {
  it.each(LIST_PAGES)(
    '%s has the nav bar, the stylesheet, auto-refresh, and no inline script or style',
    async (url) => {
      const body = await getPage(url);
      for (const link of [
        'href="/features"',
        'href="/asserts"',
        'href="/blocked"',
        'href="/events"',
        'href="/alerts"',
      ]) {
        expect(body).toContain(link);
      }
      expect(body).toContain('<link rel="stylesheet" href="/assets/dashboard.css">');
      expect(body).toContain('<script src="/assets/live.js" defer></script>'); // live, until paused
      expect(body).toContain('<script src="/assets/theme.js"></script>'); // before the body: no flash
      expect(body).toContain('aria-current="page"');
      expect(body).not.toMatch(
        /<script(?! src="\/assets\/(?:live\.js" defer(?:="")?|theme\.js")><\/script>)|<style|\sstyle=|\son[a-z]+=/i,
      );
    },
  );

  it('/ shows error groups with counts, users, release and a link to the group', async () => {
    const body = await getPage('/');
    expect(body).toContain('TypeError');
    expect(body).toContain('Cannot read properties of undefined (reading &#39;total&#39;)');
    expect(body).toContain(`href="/errors/${FP_TYPEERROR}?app=shop"`);
    expect(body).toMatch(/<td class="num">7<\/td>\s*<td class="num">3<\/td>/); // count, users
    expect(body).toContain('<code>1.4.0</code>');
    expect(body).toMatch(/<time datetime="2026-11-20T12:10:00.000Z" title="2026-11-20 12:10:00 UTC">/);
  });

  it('escapes a hostile error message everywhere it is shown', async () => {
    for (const url of ['/', `/errors/${FP_XSS}`, '/events', '/events/shop/e4']) {
      const body = await getPage(url);
      expect(body).not.toContain('<script>alert');
      expect(body).toContain('&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;');
    }
  });

  it('/errors/:id shows the group, its sample events, stacks and breadcrumbs, without auto-refresh', async () => {
    const body = await getPage(`/errors/${FP_TYPEERROR}`);
    expect(body).toContain('at cartTotal (cart.js:12:9)');
    expect(body).toContain('Firefox');
    expect(body).toContain('button#pay');
    expect(body).toContain('href="/events/shop/e1"');
    expect(body).toContain('<code>1.3.9</code> <code>1.4.0</code>');
    expect(body).not.toContain('/assets/live.js');
  });

  it('/errors/:id answers an HTML 404 for an unknown group', async () => {
    const body = await getPage('/errors/nope', 404);
    expect(body).toContain('Not found');
  });

  it('/features shows uses, users and first use', async () => {
    const body = await getPage('/features');
    expect(body).toMatch(
      /<code>export-csv<\/code><\/td><td>shop<\/td><td class="num">3<\/td><td class="num">2<\/td><td><time datetime="2026-11-20T12:01:00.000Z"/,
    );
  });

  it('/asserts and /blocked show severity, counts and diagnostics', async () => {
    const asserts = await getPage('/asserts');
    expect(asserts).toContain('workspaces-under-100');
    expect(asserts).toContain('badge-soft');
    expect(asserts).toContain('badge-hard');
    expect(asserts).toContain('<span class="chip">workspaces=131</span>');
    const blocked = await getPage('/blocked');
    expect(blocked).toContain('file-too-large');
    expect(blocked).toContain('<span class="chip">sizeMb=77</span>');
  });

  it('/events filters by kind through links and by session', async () => {
    const all = await getPage('/events');
    expect(all).toContain('href="/events?kind=feature"');
    expect(all).toContain('class="badge badge-blocked"');
    const features = await getPage('/events?kind=feature');
    expect(features).toContain('invite-user');
    expect(features).not.toContain('file-too-large');
    const session = await getPage('/events?session=s-2');
    expect(session).toContain('cart-total-matches');
    expect(session).not.toContain('export-csv');
    expect(await getPage('/events?kind=bogus', 400)).toContain('kind');
  });

  it('/events/:app/:id shows every field with attrs pretty-printed', async () => {
    const body = await getPage('/events/shop/a2');
    expect(body).toContain('cart-total-matches');
    expect(body).toContain('{\n  &quot;lines&quot;: 3,\n  &quot;checksum&quot;: &quot;c0ffee&quot;\n}');
    expect(body).toContain('batch-a2');
    expect(body).toContain('href="/events?session=s-2"');
    await getPage('/events/shop/missing', 404);
  });

  it('/alerts lists alerts with a link to each stored email, shown as escaped text', async () => {
    const body = await getPage('/alerts');
    expect(body).toContain('[shop] New error: TypeError &lt;b&gt;');
    expect(body).toContain('href="/alerts/new-error%3Ashop%3Aaaaa"');
    expect(body).not.toContain('href="/alerts/first-feature'); // no file, no link
    const eml = await getPage('/alerts/new-error%3Ashop%3Aaaaa');
    expect(eml).toContain('&lt;script&gt;x()&lt;/script&gt;');
    expect(eml).not.toContain('<script>x()');
    await getPage('/alerts/unknown', 404);
  });

  it('serves the stylesheet', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/assets/dashboard.css' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(res.body).toContain('.badge-error');
  });
});
