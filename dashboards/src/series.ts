/**
 * Time series the dashboards chart: counts per time bucket, read from the same `events` table as
 * the lists, on both stores (stores/duckdb-series.ts, stores/clickhouse-series.ts; the parity test
 * dashboards/test/series-parity.test.ts holds them to the same JSON).
 *
 * Conventions:
 * - Buckets are on the event's own clock (`ts`), aligned to UTC hours for ranges up to 48 h and to
 *   UTC days above; `buckets` lists every bucket start of the range, and every series has one value
 *   per bucket, zero where nothing happened.
 * - A range is [from, to): `from` inclusive, `to` exclusive, epoch milliseconds.
 * - Counts follow the lists: error `events` are stored error events, feature `uses` and assert /
 *   blocked `count` add each event's repeat counter, `users` are distinct users (an anonymous session
 *   counting as one user of its own).
 */

import type { EventFilter } from './filter.js';

export type BucketSize = 'hour' | 'day';

export const BUCKET_MS: Record<BucketSize, number> = { hour: 3_600_000, day: 86_400_000 };

/** Ranges up to this long get hourly buckets, longer ones daily buckets. */
export const HOURLY_UP_TO_MS = 48 * BUCKET_MS.hour;

/** Longest range a series covers (a year of days): the bucket list is bounded. */
export const MAX_RANGE_MS = 366 * BUCKET_MS.day;

/** Series per chart at most (features, asserts, blocked reasons): the busiest ones in the range. */
export const MAX_SERIES = 20;

/** Groups one sparkline query may ask for: a page of the errors list at most. */
export const MAX_SPARKLINES = 1000;

/**
 * What a series reads: the lists' filter (filter.ts) with its range made definite — a chart needs
 * both ends to lay out its buckets.
 */
export type SeriesFilter = EventFilter & { from: number; to: number };

/** The time axis of a series: bucket size and every bucket start of [from, to). */
export interface Buckets {
  bucket: BucketSize;
  bucketMs: number;
  from: number;
  to: number;
  /** Bucket starts, ascending; the first is `from` rounded down to the bucket size. */
  buckets: number[];
}

export interface ErrorSparkline {
  app: string;
  fingerprint: string;
  /** Error events per bucket. */
  events: number[];
}

export interface ErrorSparklines extends Buckets {
  groups: ErrorSparkline[];
}

/** A vertical line on a chart: a release's first event in the group, or the release it came back in. */
export interface ReleaseMarker {
  release: string;
  ts: number;
  kind: 'first-seen' | 'regression';
}

export interface ErrorGroupSeries extends Buckets {
  app: string;
  fingerprint: string;
  events: number[];
  users: number[];
  /** First event of each release in the group, within the range, oldest first. */
  releases: ReleaseMarker[];
}

export interface FeatureSeries {
  app: string;
  name: string;
  uses: number[];
  users: number[];
  /** The feature's first use ever (not only in the range). */
  firstUse: number;
  /** Distinct accounts that used the feature in the range. */
  accounts: number;
}

export interface FeatureSeriesSet extends Buckets {
  features: FeatureSeries[];
  /** Features used for the very first time, per bucket. */
  firstUses: number[];
  /** Distinct accounts with any event in the range, per app: the adoption denominator. */
  activeAccounts: Record<string, number>;
}

export interface CountSeries {
  app: string;
  /** Assert name or blocked reason. */
  name: string;
  counts: number[];
}

export interface CountSeriesSet extends Buckets {
  series: CountSeries[];
}

export interface SeriesStore {
  /** Events per bucket of each given group: one query for a page of the errors list. */
  errorSparklines(
    groups: ReadonlyArray<{ app: string; fingerprint: string }>,
    filter: SeriesFilter,
  ): Promise<ErrorSparklines>;
  /** Events and users per bucket of one group, and where each release first showed it. */
  errorGroupSeries(app: string, fingerprint: string, filter: SeriesFilter): Promise<ErrorGroupSeries>;
  /** Uses and users per bucket of the busiest features, first uses, adoption by account. */
  featureSeries(filter: SeriesFilter): Promise<FeatureSeriesSet>;
  /** Failed asserts per bucket, by name (soft and hard together). */
  assertSeries(filter: SeriesFilter): Promise<CountSeriesSet>;
  /** Blocked events per bucket, by reason. */
  blockedSeries(filter: SeriesFilter): Promise<CountSeriesSet>;
}

/** Hourly up to 48 h, daily above. */
export function bucketSizeFor(from: number, to: number): BucketSize {
  return to - from <= HOURLY_UP_TO_MS ? 'hour' : 'day';
}

/** The bucket starts of [from, to); the range is clamped to MAX_RANGE_MS ending at `to`. */
export function bucketsOf(filter: Pick<SeriesFilter, 'from' | 'to'>): Buckets {
  const to = Math.trunc(filter.to);
  const from = Math.max(Math.trunc(filter.from), to - MAX_RANGE_MS);
  const bucket = bucketSizeFor(from, to);
  const bucketMs = BUCKET_MS[bucket];
  const buckets: number[] = [];
  for (let start = Math.floor(from / bucketMs) * bucketMs; start < to; start += bucketMs) buckets.push(start);
  return { bucket, bucketMs, from, to, buckets };
}

/** The filter a store queries with: its range clamped as bucketsOf clamps it. */
export function clampedFilter(filter: SeriesFilter): SeriesFilter {
  const { from, to } = bucketsOf(filter);
  return { ...filter, from, to };
}

/** Rows of (bucket start, value) laid on the axis; buckets without a row stay zero. */
export function fillBuckets(axis: Buckets, rows: Iterable<{ bucket: number; value: number }>): number[] {
  const values = axis.buckets.map(() => 0);
  const first = axis.buckets[0];
  if (first === undefined) return values;
  for (const row of rows) {
    const i = Math.round((row.bucket - first) / axis.bucketMs);
    if (i >= 0 && i < values.length) values[i] = (values[i] ?? 0) + row.value;
  }
  return values;
}

/** Groups rows by a key, keeping the first-seen order of the keys. */
export function groupRows<R>(rows: Iterable<R>, key: (row: R) => string): Map<string, R[]> {
  const out = new Map<string, R[]>();
  for (const row of rows) {
    const k = key(row);
    const list = out.get(k);
    if (list === undefined) out.set(k, [row]);
    else list.push(row);
  }
  return out;
}

export const seriesKey = (app: string, name: string): string => `${app}\u0000${name}`;

/**
 * One bucket of one series as a store read it, in plain numbers: the series' app and name (a
 * feature, assert or blocked reason, or an error fingerprint), the bucket start, what it counts
 * (events, uses or count) and its distinct users. Stores keep only their SQL and reading a row
 * into this; the series are assembled once, below, for both.
 */
export interface BucketRow {
  app: string;
  name: string;
  bucket: number;
  total: number;
  users: number;
}

/** A series the store picked (the busiest of the range), with its distinct accounts. */
export interface RankedSeries {
  app: string;
  name: string;
  accounts: number;
}

const totals = (rows: readonly BucketRow[]) => rows.map((r) => ({ bucket: r.bucket, value: r.total }));
const userCounts = (rows: readonly BucketRow[]) => rows.map((r) => ({ bucket: r.bucket, value: r.users }));

/** Each wanted group's events per bucket, zero where it had none (`rows` by app and fingerprint). */
export function sparklinesOf(
  axis: Buckets,
  wanted: ReadonlyArray<{ app: string; fingerprint: string }>,
  rows: readonly BucketRow[],
): ErrorSparklines {
  const byKey = groupRows(rows, (r) => seriesKey(r.app, r.name));
  return {
    ...axis,
    groups: wanted.map((g) => ({
      app: g.app,
      fingerprint: g.fingerprint,
      events: fillBuckets(axis, totals(byKey.get(seriesKey(g.app, g.fingerprint)) ?? [])),
    })),
  };
}

/** One group's events and users per bucket; `firsts` are each release's first event, oldest first. */
export function errorGroupSeriesOf(
  axis: Buckets,
  app: string,
  fingerprint: string,
  rows: readonly BucketRow[],
  firsts: ReadonlyArray<{ release: string; ts: number }>,
): ErrorGroupSeries {
  return {
    ...axis,
    app,
    fingerprint,
    events: fillBuckets(axis, totals(rows)),
    users: fillBuckets(axis, userCounts(rows)),
    releases: firsts.map((f) => ({ release: f.release, ts: f.ts, kind: 'first-seen' })),
  };
}

/**
 * The features chart: `top` in its order with uses and users per bucket, each one's first use
 * ever (`firstUses`, 0 when unknown), features new per bucket (`newPerBucket`, `total` the count)
 * and the active accounts per app.
 */
export function featureSeriesOf(
  axis: Buckets,
  top: readonly RankedSeries[],
  rows: readonly BucketRow[],
  firstUses: ReadonlyArray<{ app: string; name: string; ts: number }>,
  newPerBucket: ReadonlyArray<{ bucket: number; total: number }>,
  accounts: ReadonlyArray<{ app: string; accounts: number }>,
): FeatureSeriesSet {
  const byKey = groupRows(rows, (r) => seriesKey(r.app, r.name));
  const first = new Map(firstUses.map((f) => [seriesKey(f.app, f.name), f.ts]));
  return {
    ...axis,
    features: top.map((t) => {
      const own = byKey.get(seriesKey(t.app, t.name)) ?? [];
      return {
        app: t.app,
        name: t.name,
        uses: fillBuckets(axis, totals(own)),
        users: fillBuckets(axis, userCounts(own)),
        firstUse: first.get(seriesKey(t.app, t.name)) ?? 0,
        accounts: t.accounts,
      };
    }),
    firstUses: fillBuckets(
      axis,
      newPerBucket.map((r) => ({ bucket: r.bucket, value: r.total })),
    ),
    activeAccounts: Object.fromEntries(accounts.map((a) => [a.app, a.accounts])),
  };
}

/** The asserts or blocked chart: `top` in its order with its count per bucket. */
export function countSeriesOf(
  axis: Buckets,
  top: readonly RankedSeries[],
  rows: readonly BucketRow[],
): CountSeriesSet {
  const byKey = groupRows(rows, (r) => seriesKey(r.app, r.name));
  return {
    ...axis,
    series: top.map((t) => ({
      app: t.app,
      name: t.name,
      counts: fillBuckets(axis, totals(byKey.get(seriesKey(t.app, t.name)) ?? [])),
    })),
  };
}

/** How far back a chart looks when the filter sets no start: the errors list a day, other pages 30 days. */
export const DEFAULT_SPAN_MS = Object.freeze({ list: BUCKET_MS.day, detail: 30 * BUCKET_MS.day });

/**
 * A chart's range from the lists' filter: its own bounds; without a start, `span` back from the
 * end, rounded up to a whole bucket, so a day is 24 hours ending with the current one.
 */
export function seriesFilterOf(filter: EventFilter, now: number, span: number): SeriesFilter {
  const to = filter.to ?? now + 1;
  let from = filter.from;
  if (from === undefined) {
    const bucketMs = BUCKET_MS[bucketSizeFor(to - span, to)];
    from = Math.ceil((to - span) / bucketMs) * bucketMs;
  }
  return { ...filter, from: Math.min(from, to - 1), to };
}

/**
 * The group's regression as a marker (from the lifecycle the dashboards read, issues.ts): the
 * release it came back in after being resolved, at the time it did.
 */
export function withRegression(
  series: ErrorGroupSeries,
  state: { status: string; regressedAt?: number; regressedInRelease?: string } | undefined,
): ErrorGroupSeries {
  if (state?.regressedAt === undefined) return series;
  const marker: ReleaseMarker = {
    release: state.regressedInRelease ?? '?',
    ts: state.regressedAt,
    kind: 'regression',
  };
  const releases = [...series.releases, marker].sort((a, b) => a.ts - b.ts);
  return { ...series, releases };
}
