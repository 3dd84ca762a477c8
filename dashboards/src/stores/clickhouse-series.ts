import type { EventFilter } from '../filter.js';
import {
  bucketsOf,
  clampedFilter,
  countSeriesOf,
  errorGroupSeriesOf,
  featureSeriesOf,
  MAX_SERIES,
  MAX_SPARKLINES,
  sparklinesOf,
  type BucketRow,
  type Buckets,
  type CountSeriesSet,
  type ErrorGroupSeries,
  type ErrorSparklines,
  type FeatureSeriesSet,
  type RankedSeries,
  type SeriesFilter,
  type SeriesStore,
} from '../series.js';
import { FINGERPRINT, USERS, type Tables } from './clickhouse-lists.js';
import { num, Params, str, type ClickHouseRunner, type Row } from './clickhouse-query.js';
import { clickhouseFilterSql } from './filter-sql.js';
import { bucketRowOf } from './rows.js';

/**
 * The series queries on ClickHouse (contract: series.ts), twin of stores/duckdb-series.ts: the same
 * bucket arithmetic on epoch milliseconds, every read through FINAL (a re-sent event counts once).
 * Written for 18.16 and the current engine alike: no CTEs, aggregates over a subquery instead.
 */

/** The bucket start of an event; `bucketMs` is one of BUCKET_MS, a number of ours, never input. */
const bucketOf = (axis: Buckets, column = 'ts_ms'): string =>
  `intDiv(toInt64(${column}), ${axis.bucketMs}) * ${axis.bucketMs}`;

/** The filter's conditions; `time: false` drops the range (a feature's first use ever). */
function where(filter: SeriesFilter, p: Params, time = true): string {
  const narrowed: EventFilter = time ? filter : { ...filter, from: undefined, to: undefined };
  const conditions = clickhouseFilterSql(narrowed, (value, type) => p.bind(value, type));
  return conditions.length === 0 ? '' : ` AND ${conditions.join(' AND ')}`;
}

const inList = (p: Params, values: readonly string[]): string =>
  values.length === 0 ? "''" : values.map((v) => p.bind(v, 'String')).join(', ');

/** This store's SELECTs name a series' name column `item`, a group's fingerprint `fp`. */
const bucketRow = (r: Row, name = 'item'): BucketRow => bucketRowOf(r, name);

export async function errorSparklines(
  run: ClickHouseRunner,
  t: Tables,
  groups: ReadonlyArray<{ app: string; fingerprint: string }>,
  filter: SeriesFilter,
): Promise<ErrorSparklines> {
  const axis = bucketsOf(filter);
  const wanted = groups.slice(0, MAX_SPARKLINES);
  let rows: Row[] = [];
  if (wanted.length > 0) {
    const p = new Params();
    const fps = inList(p, [...new Set(wanted.map((g) => g.fingerprint))]);
    const apps = inList(p, [...new Set(wanted.map((g) => g.app))]);
    rows = await run.rows(
      p.query(
        `SELECT app, ${FINGERPRINT} AS fp, ${bucketOf(axis)} AS bucket, count() AS total FROM ${t.events} FINAL
         WHERE kind = 'error' AND ${FINGERPRINT} IN (${fps}) AND app IN (${apps})${where(clampedFilter(filter), p)}
         GROUP BY app, fp, bucket`,
      ),
    );
  }
  return sparklinesOf(
    axis,
    wanted,
    rows.map((r) => bucketRow(r, 'fp')),
  );
}

export async function errorGroupSeries(
  run: ClickHouseRunner,
  t: Tables,
  app: string,
  fingerprint: string,
  filter: SeriesFilter,
): Promise<ErrorGroupSeries> {
  const axis = bucketsOf(filter);
  const range = clampedFilter({ ...filter, app });
  const group = (p: Params) =>
    `kind = 'error' AND ${FINGERPRINT} = ${p.bind(fingerprint, 'String')}${where(range, p)}`;
  const counts = new Params();
  const rows = await run.rows(
    counts.query(
      `SELECT ${bucketOf(axis)} AS bucket, count() AS total, ${USERS} AS users FROM ${t.events} FINAL
       WHERE ${group(counts)} GROUP BY bucket`,
    ),
  );
  const firsts = new Params();
  const releases = await run.rows(
    firsts.query(
      `SELECT release, min(ts_ms) AS first_ts FROM ${t.events} FINAL WHERE ${group(firsts)}
       GROUP BY release ORDER BY first_ts, release`,
    ),
  );
  return errorGroupSeriesOf(
    axis,
    app,
    fingerprint,
    rows.map((r) => bucketRow(r)),
    releases.map((r) => ({ release: str(r.release), ts: num(r.first_ts) })),
  );
}

/** The busiest (app, name) of a kind in the range, at most MAX_SERIES, busiest first. */
async function busiest(
  run: ClickHouseRunner,
  t: Tables,
  kind: string,
  filter: SeriesFilter,
): Promise<RankedSeries[]> {
  const p = new Params();
  const rows = await run.rows(
    p.query(
      `SELECT app, assumeNotNull(name) AS item, sum(count) AS total, uniqExact(account_id) AS accounts
       FROM ${t.events} FINAL
       WHERE kind = ${p.bind(kind, 'String')} AND isNotNull(name)${where(filter, p)}
       GROUP BY app, item ORDER BY total DESC, app, item LIMIT ${MAX_SERIES}`,
    ),
  );
  return rows.map((r) => ({ app: str(r.app), name: str(r.item), accounts: num(r.accounts) }));
}

/** Per-bucket rows of the given (app, name) pairs. */
async function perBucket(
  run: ClickHouseRunner,
  t: Tables,
  kind: string,
  filter: SeriesFilter,
  axis: Buckets,
  top: readonly RankedSeries[],
): Promise<BucketRow[]> {
  if (top.length === 0) return [];
  const p = new Params();
  const rows = await run.rows(
    p.query(
      `SELECT app, assumeNotNull(name) AS item, ${bucketOf(axis)} AS bucket, sum(count) AS total,
         ${USERS} AS users
       FROM ${t.events} FINAL
       WHERE kind = ${p.bind(kind, 'String')} AND name IN (${inList(p, [...new Set(top.map((x) => x.name))])})
         AND app IN (${inList(p, [...new Set(top.map((x) => x.app))])})${where(filter, p)}
       GROUP BY app, item, bucket`,
    ),
  );
  return rows.map((r) => bucketRow(r));
}

export async function featureSeries(
  run: ClickHouseRunner,
  t: Tables,
  filter: SeriesFilter,
): Promise<FeatureSeriesSet> {
  const axis = bucketsOf(filter);
  const range = clampedFilter(filter);
  const top = await busiest(run, t, 'feature', range);
  const buckets = await perBucket(run, t, 'feature', range, axis, top);
  let firsts: Row[] = [];
  if (top.length > 0) {
    const p = new Params();
    firsts = await run.rows(
      p.query(
        `SELECT app, assumeNotNull(name) AS item, min(ts_ms) AS first_ts FROM ${t.events} FINAL
         WHERE kind = 'feature' AND name IN (${inList(p, [...new Set(top.map((x) => x.name))])})
           AND app IN (${inList(p, [...new Set(top.map((x) => x.app))])})${where(range, p, false)}
         GROUP BY app, item`,
      ),
    );
  }
  const p = new Params();
  const inner = `SELECT app, assumeNotNull(name) AS item, min(ts_ms) AS first_ts FROM ${t.events} FINAL
       WHERE kind = 'feature' AND isNotNull(name)${where(range, p, false)} GROUP BY app, item`;
  const firstRows = await run.rows(
    p.query(
      `SELECT ${bucketOf(axis, 'first_ts')} AS bucket, count() AS n FROM (${inner})
       WHERE first_ts >= ${p.bind(range.from, 'Int64')} AND first_ts < ${p.bind(range.to, 'Int64')}
       GROUP BY bucket`,
    ),
  );
  const active = new Params();
  const accounts = await run.rows(
    active.query(
      `SELECT app, uniqExact(account_id) AS accounts FROM ${t.events} FINAL WHERE 1 = 1${where(range, active)}
       GROUP BY app ORDER BY app`,
    ),
  );
  return featureSeriesOf(
    axis,
    top,
    buckets,
    firsts.map((r) => ({ app: str(r.app), name: str(r.item), ts: num(r.first_ts) })),
    firstRows.map((r) => ({ bucket: num(r.bucket), total: num(r.n) })),
    accounts.map((r) => ({ app: str(r.app), accounts: num(r.accounts) })),
  );
}

export async function countSeries(
  run: ClickHouseRunner,
  t: Tables,
  kind: 'assert' | 'blocked',
  filter: SeriesFilter,
): Promise<CountSeriesSet> {
  const axis = bucketsOf(filter);
  const range = clampedFilter(filter);
  const top = await busiest(run, t, kind, range);
  return countSeriesOf(axis, top, await perBucket(run, t, kind, range, axis, top));
}

export function clickHouseSeries(run: ClickHouseRunner, t: Tables): SeriesStore {
  return {
    errorSparklines: (groups, filter) => errorSparklines(run, t, groups, filter),
    errorGroupSeries: (app, fingerprint, filter) => errorGroupSeries(run, t, app, fingerprint, filter),
    featureSeries: (filter) => featureSeries(run, t, filter),
    assertSeries: (filter) => countSeries(run, t, 'assert', filter),
    blockedSeries: (filter) => countSeries(run, t, 'blocked', filter),
  };
}
