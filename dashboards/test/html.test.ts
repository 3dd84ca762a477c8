import { describe, expect, it } from 'vitest';
import { escapeHtml, html, trustedHtml } from '../src/html.js';
import { hrefWith, isoTime, relativeTime } from '../src/views/format.js';

describe('html``', () => {
  it('escapes every interpolated value', () => {
    const message = `<img src=x onerror="alert('1')"> & more`;
    expect(html`<p title="${message}">${message}</p>`.value).toBe(
      '<p title="&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt; &amp; more">&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt; &amp; more</p>',
    );
  });

  it('keeps nested templates and trusted markup, escapes array items, and drops null / false', () => {
    const items = ['<a>', 'b'];
    const out = html`<ul>${items.map((i) => html`<li>${i}</li>`)}</ul>${null}${undefined}${false}${trustedHtml('<hr>')}${0}`;
    expect(out.value).toBe('<ul><li>&lt;a&gt;</li><li>b</li></ul><hr>0');
    expect(html`${['<x>']}`.value).toBe('&lt;x&gt;');
  });

  it('escapeHtml leaves plain text alone', () => {
    expect(escapeHtml('export-csv 42')).toBe('export-csv 42');
  });
});

describe('time and link formatting', () => {
  const now = Date.UTC(2026, 10, 20, 12, 0, 0);
  it.each([
    [now - 1000, 'just now'],
    [now - 42_000, '42 s ago'],
    [now - 3 * 60_000, '3 min ago'],
    [now - 5 * 3_600_000, '5 h ago'],
    [now - 12 * 86_400_000, '12 d ago'],
    [now - 90 * 86_400_000, '2026-08-22'],
    [now + 120_000, 'in 2 min'],
  ])('relativeTime(%s) is %s', (at, expected) => {
    expect(relativeTime(at, now)).toBe(expected);
  });

  it('isoTime is UTC to the second', () => {
    expect(isoTime(now)).toBe('2026-11-20 12:00:00 UTC');
  });

  it('hrefWith skips empty values and encodes the rest', () => {
    expect(hrefWith('/events', { kind: undefined, session: 'a b&c' })).toBe('/events?session=a+b%26c');
    expect(hrefWith('/events', { kind: '' })).toBe('/events');
  });
});
