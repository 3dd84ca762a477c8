import { describe, expect, it } from 'vitest';
import { bucketsOf, DEFAULT_SPAN_MS, fillBuckets, seriesFilterOf, withRegression } from '../src/series.js';
import { barChart, lineChart, sparkline } from '../src/views/chart.js';

const HOUR = 3_600_000;
const DAY_MS = 24 * HOUR;
const T0 = Date.UTC(2026, 11, 1, 0, 0, 0);
const axis = (n: number, bucket: 'hour' | 'day' = 'hour') => {
  const bucketMs = bucket === 'hour' ? HOUR : 24 * HOUR;
  return { bucket, bucketMs, buckets: Array.from({ length: n }, (_v, i) => T0 + i * bucketMs) };
};
const count = (markup: string, pattern: RegExp): number => markup.match(pattern)?.length ?? 0;
const vertices = (markup: string): number[] =>
  [...markup.matchAll(/<polyline[^>]*points="([^"]*)"/g)].map((m) => m[1]!.trim().split(/\s+/).length);

describe('series buckets', () => {
  it('hourly up to 48 hours, daily above, every bucket present and empty ones zero', () => {
    const day = bucketsOf({ from: T0, to: T0 + 24 * HOUR });
    expect(day.bucket).toBe('hour');
    expect(day.buckets).toHaveLength(24);
    expect(bucketsOf({ from: T0, to: T0 + 48 * HOUR }).buckets).toHaveLength(48);
    const week = bucketsOf({ from: T0 + 5 * HOUR, to: T0 + 7 * 24 * HOUR });
    expect(week.bucket).toBe('day');
    expect(week.buckets[0]).toBe(T0);
    expect(week.buckets).toHaveLength(7);
    expect(fillBuckets(day, [{ bucket: T0 + 2 * HOUR, value: 5 }])).toEqual([
      0,
      0,
      5,
      ...Array.from({ length: 21 }, () => 0),
    ]);
  });
});

describe('sparkline', () => {
  it('draws one vertex per bucket and says the figures', () => {
    const markup = sparkline([0, 3, 1, 0, 7], 'TypeError', 'hour').value;
    expect(vertices(markup)).toEqual([5]);
    expect(markup).toContain('data-points="5"');
    expect(markup).toContain('role="img"');
    expect(markup).toContain('TypeError: 11 in 5 hours, at most 7 per hour');
  });

  it('one point is a vertex and a dot; no data draws a baseline only', () => {
    const one = sparkline([4], 'x', 'day').value;
    expect(vertices(one)).toEqual([1]);
    expect(count(one, /<circle/g)).toBe(1);
    const none = sparkline([], 'x', 'day').value;
    expect(none).toContain('data-points="0"');
    expect(vertices(none)).toEqual([]);
  });

  it('escapes the label', () => {
    const markup = sparkline([1], '<script>alert("x")</script>', 'hour').value;
    expect(markup).not.toContain('<script>');
    expect(markup).toContain('&lt;script&gt;');
  });
});

describe('line chart', () => {
  it('one point per bucket and series, a legend, a summary and a hidden table of every figure', () => {
    const markup = lineChart({
      id: 'c1',
      title: 'Events and users',
      axis: axis(24),
      series: [
        { label: 'events', values: Array.from({ length: 24 }, (_v, i) => i % 5) },
        { label: 'users', values: Array.from({ length: 24 }, (_v, i) => i % 2) },
      ],
    }).value;
    expect(markup).toContain('data-points="24"');
    expect(count(markup, /<circle class="point"/g)).toBe(48);
    expect(vertices(markup)).toEqual([24, 24]);
    expect(markup).toContain('aria-labelledby="c1-title c1-desc"');
    // 0+1+2+3+4 repeated: 4 full cycles (40) and 0,1,2,3 (6) = 46; users 12.
    expect(markup).toContain('events: 46 events, peak 4 at 2026-12-01 04:00 UTC.');
    expect(markup).toContain('users: 12 events');
    expect(count(markup, /<tr><td>2026-12-01 \d\d:00 UTC<\/td>/g)).toBe(24);
    expect(markup).not.toContain('style=');
  });

  it('draws release markers inside the range and leaves out the others', () => {
    const markup = lineChart({
      id: 'c2',
      title: 'Events',
      axis: axis(6),
      series: [{ label: 'events', values: [1, 2, 3, 4, 5, 6] }],
      markers: [
        { release: '1.4.0', ts: T0 + 2 * HOUR + 60_000, kind: 'first-seen' },
        { release: '1.5.0', ts: T0 + 4 * HOUR, kind: 'regression' },
        { release: '0.9.0', ts: T0 - HOUR, kind: 'first-seen' },
      ],
    }).value;
    expect(markup).toContain('data-markers="2"');
    expect(count(markup, /class="marker marker-/g)).toBe(2);
    expect(markup).toContain('1.4.0');
    expect(markup).toContain('marker-regression');
    expect(markup).not.toContain('0.9.0</text>');
  });

  it('one bucket and no bucket', () => {
    const one = lineChart({
      id: 'c3',
      title: 'One',
      axis: axis(1),
      series: [{ label: 'a', values: [9] }],
    }).value;
    expect(count(one, /<circle class="point"/g)).toBe(1);
    expect(one).toContain('a: 9 events, peak 9');
    const none = lineChart({
      id: 'c4',
      title: 'None',
      axis: axis(0),
      series: [{ label: 'a', values: [] }],
    }).value;
    expect(none).toContain('data-points="0"');
    expect(count(none, /<circle/g)).toBe(0);
    expect(none).toContain('No data in this range');
  });

  it('escapes series labels and titles', () => {
    const markup = lineChart({
      id: 'c5',
      title: 'A & "B"',
      axis: axis(2),
      series: [{ label: '<img src=x onerror=alert(1)>', values: [1, 2] }],
    }).value;
    expect(markup).not.toContain('<img');
    expect(markup).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(markup).toContain('A &amp; &quot;B&quot;');
  });
});

describe('bar chart', () => {
  it('one bar per bucket, zero-height where nothing happened', () => {
    const markup = barChart({
      id: 'b1',
      title: 'First uses',
      axis: axis(7, 'day'),
      series: [{ label: 'features', values: [0, 2, 0, 0, 1, 0, 0] }],
    }).value;
    expect(markup).toContain('data-points="7"');
    expect(count(markup, /<rect class="bar"/g)).toBe(7);
    expect(count(markup, /height="0"/g)).toBe(5);
    expect(markup).toContain('features: 3 events, peak 2 at 2026-12-02.');
  });
});

describe('default chart ranges', () => {
  it('a day back from now is 24 hourly buckets, the last one the current hour; 30 days are 30 days', () => {
    const now = T0 + 5 * HOUR + 17 * 60_000;
    const day = bucketsOf(seriesFilterOf({}, now, DEFAULT_SPAN_MS.list));
    expect(day.buckets).toHaveLength(24);
    expect(day.buckets[23]).toBe(T0 + 5 * HOUR);
    const month = bucketsOf(seriesFilterOf({ app: 'shop' }, now, DEFAULT_SPAN_MS.detail));
    expect(month.bucket).toBe('day');
    expect(month.buckets).toHaveLength(30);
    expect(month.buckets[29]).toBe(T0);
    // The filter's own bounds win.
    expect(
      bucketsOf(seriesFilterOf({ from: T0, to: T0 + 3 * HOUR }, now, DEFAULT_SPAN_MS.list)).buckets,
    ).toEqual([T0, T0 + HOUR, T0 + 2 * HOUR]);
  });
});

describe('regression markers', () => {
  it('a resolved group that came back gets a marker at the release and time it did, in time order', () => {
    const series = {
      ...bucketsOf({ from: T0, to: T0 + DAY_MS }),
      app: 'shop',
      fingerprint: 'f',
      events: [],
      users: [],
      releases: [
        { release: '1.0.0', ts: T0 + HOUR, kind: 'first-seen' as const },
        { release: '1.2.0', ts: T0 + 9 * HOUR, kind: 'first-seen' as const },
      ],
    };
    const state = { status: 'regressed', regressedAt: T0 + 5 * HOUR, regressedInRelease: '1.1.0' };
    expect(withRegression(series, state).releases.map((r) => `${r.kind}:${r.release}`)).toEqual([
      'first-seen:1.0.0',
      'regression:1.1.0',
      'first-seen:1.2.0',
    ]);
    expect(withRegression(series, { status: 'resolved' }).releases).toHaveLength(2);
    expect(withRegression(series, undefined)).toBe(series);
  });
});
