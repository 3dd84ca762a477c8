import type { DuckDBConnection, DuckDBValue, JS } from '@duckdb/node-api';
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
import type { EventFilter } from '../filter.js';
import { duckdbFilterSql } from './filter-sql.js';
// Used inside functions only: duckdb.ts imports this module, so its values are read at call time.
import { FINGERPRINT, USERS } from './duckdb.js';
import { bucketRowOf, num, str } from './rows.js';

/**
 * The series queries on DuckDB (contract: series.ts), twin of stores/clickhouse-series.ts. Bucket
 * starts are computed as whole multiples of the bucket size in epoch milliseconds, the same
 * arithmetic on both stores, so both lay events in the same buckets.
 */

type Row = Record<string, JS>;

const TS_MS = 'epoch_ms(ts)';

/** The bucket start of an event; `bucketMs` is one of BUCKET_MS, a number of ours, never input. */
const bucketOf = (axis: Buckets, column = TS_MS): string =>
  `(${column} // ${axis.bucketMs}) * ${axis.bucketMs}`;

class Binder {
  readonly values: DuckDBValue[] = [];
  bind = (value: DuckDBValue): string => {
    this.values.push(value);
    return `$${this.values.length}`;
  };
}

/** The filter's conditions; `time: false` drops the range (a feature's first use ever). */
function where(filter: SeriesFilter, b: Binder, time = true): string {
  const narrowed: EventFilter = time ? filter : { ...filter, from: undefined, to: undefined };
  const conditions = duckdbFilterSql(narrowed, b.bind);
  return conditions.length === 0 ? '' : ` AND ${conditions.join(' AND ')}`;
}

const inList = (b: Binder, values: readonly string[]): string =>
  values.length === 0 ? 'NULL' : values.map((v) => b.bind(v)).join(', ');

async function all(db: DuckDBConnection, sql: string, params: DuckDBValue[]): Promise<Row[]> {
  const reader = await db.runAndReadAll(sql, params);
  return reader.getRowObjectsJS();
}

/** This store's SELECTs name a series' name column `name`, a group's fingerprint `fp`. */
const bucketRow = (r: Row, name = 'name'): BucketRow => bucketRowOf(r, name);

export async function errorSparklines(
  db: DuckDBConnection,
  groups: ReadonlyArray<{ app: string; fingerprint: string }>,
  filter: SeriesFilter,
): Promise<ErrorSparklines> {
  const axis = bucketsOf(filter);
  const wanted = groups.slice(0, MAX_SPARKLINES);
  let rows: Row[] = [];
  if (wanted.length > 0) {
    const b = new Binder();
    const fps = inList(b, [...new Set(wanted.map((g) => g.fingerprint))]);
    const apps = inList(b, [...new Set(wanted.map((g) => g.app))]);
    rows = await all(
      db,
      `SELECT app, ${FINGERPRINT} AS fp, ${bucketOf(axis)} AS bucket, COUNT(*) AS total FROM events
       WHERE kind = 'error' AND ${FINGERPRINT} IN (${fps}) AND app IN (${apps})${where(clampedFilter(filter), b)}
       GROUP BY app, fp, bucket`,
      b.values,
    );
  }
  return sparklinesOf(
    axis,
    wanted,
    rows.map((r) => bucketRow(r, 'fp')),
  );
}

export async function errorGroupSeries(
  db: DuckDBConnection,
  app: string,
  fingerprint: string,
  filter: SeriesFilter,
): Promise<ErrorGroupSeries> {
  const axis = bucketsOf(filter);
  const range = clampedFilter({ ...filter, app });
  const b = new Binder();
  const group = `kind = 'error' AND ${FINGERPRINT} = ${b.bind(fingerprint)}${where(range, b)}`;
  const rows = await all(
    db,
    `SELECT ${bucketOf(axis)} AS bucket, COUNT(*) AS total, ${USERS} AS users FROM events
     WHERE ${group} GROUP BY bucket`,
    b.values,
  );
  const releases = await all(
    db,
    `SELECT release, min(${TS_MS}) AS first_ts FROM events WHERE ${group}
     GROUP BY release ORDER BY first_ts, release`,
    b.values,
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
async function busiest(db: DuckDBConnection, kind: string, filter: SeriesFilter): Promise<RankedSeries[]> {
  const b = new Binder();
  const rows = await all(
    db,
    `SELECT app, name, SUM(count) AS total, COUNT(DISTINCT account_id) AS accounts FROM events
     WHERE kind = ${b.bind(kind)} AND name IS NOT NULL${where(filter, b)}
     GROUP BY app, name ORDER BY total DESC, app, name LIMIT ${MAX_SERIES}`,
    b.values,
  );
  return rows.map((r) => ({ app: str(r.app), name: str(r.name), accounts: num(r.accounts) }));
}

/** Per-bucket rows of the given (app, name) pairs. */
async function perBucket(
  db: DuckDBConnection,
  kind: string,
  filter: SeriesFilter,
  axis: Buckets,
  top: readonly RankedSeries[],
): Promise<BucketRow[]> {
  if (top.length === 0) return [];
  const b = new Binder();
  const rows = await all(
    db,
    `SELECT app, name, ${bucketOf(axis)} AS bucket, SUM(count) AS total, ${USERS} AS users FROM events
     WHERE kind = ${b.bind(kind)} AND name IN (${inList(b, [...new Set(top.map((t) => t.name))])})
       AND app IN (${inList(b, [...new Set(top.map((t) => t.app))])})${where(filter, b)}
     GROUP BY app, name, bucket`,
    b.values,
  );
  return rows.map((r) => bucketRow(r));
}

export async function featureSeries(db: DuckDBConnection, filter: SeriesFilter): Promise<FeatureSeriesSet> {
  const axis = bucketsOf(filter);
  const range = clampedFilter(filter);
  const top = await busiest(db, 'feature', range);
  const buckets = await perBucket(db, 'feature', range, axis, top);
  let firsts: Row[] = [];
  if (top.length > 0) {
    const b = new Binder();
    firsts = await all(
      db,
      `SELECT app, name, min(${TS_MS}) AS first_ts FROM events
       WHERE kind = 'feature' AND name IN (${inList(b, [...new Set(top.map((t) => t.name))])})
         AND app IN (${inList(b, [...new Set(top.map((t) => t.app))])})${where(range, b, false)}
       GROUP BY app, name`,
      b.values,
    );
  }
  const b = new Binder();
  const from = b.bind(range.from);
  const to = b.bind(range.to);
  const firstRows = await all(
    db,
    `SELECT ${bucketOf(axis, 'first_ts')} AS bucket, COUNT(*) AS n FROM (
       SELECT app, name, min(${TS_MS}) AS first_ts FROM events
       WHERE kind = 'feature' AND name IS NOT NULL${where(range, b, false)} GROUP BY app, name
     ) AS firsts WHERE first_ts >= ${from} AND first_ts < ${to} GROUP BY bucket`,
    b.values,
  );
  const active = new Binder();
  const accounts = await all(
    db,
    `SELECT app, COUNT(DISTINCT account_id) AS accounts FROM events WHERE true${where(range, active)}
     GROUP BY app ORDER BY app`,
    active.values,
  );
  return featureSeriesOf(
    axis,
    top,
    buckets,
    firsts.map((r) => ({ app: str(r.app), name: str(r.name), ts: num(r.first_ts) })),
    firstRows.map((r) => ({ bucket: num(r.bucket), total: num(r.n) })),
    accounts.map((r) => ({ app: str(r.app), accounts: num(r.accounts) })),
  );
}

export async function countSeries(
  db: DuckDBConnection,
  kind: 'assert' | 'blocked',
  filter: SeriesFilter,
): Promise<CountSeriesSet> {
  const axis = bucketsOf(filter);
  const range = clampedFilter(filter);
  const top = await busiest(db, kind, range);
  return countSeriesOf(axis, top, await perBucket(db, kind, range, axis, top));
}

/** The series methods over one connection; `serial` is the store's statement queue. */
export function duckDbSeries(
  db: DuckDBConnection,
  serial: <T>(run: () => Promise<T>) => Promise<T>,
): SeriesStore {
  return {
    errorSparklines: (groups, filter) => serial(() => errorSparklines(db, groups, filter)),
    errorGroupSeries: (app, fingerprint, filter) =>
      serial(() => errorGroupSeries(db, app, fingerprint, filter)),
    featureSeries: (filter) => serial(() => featureSeries(db, filter)),
    assertSeries: (filter) => serial(() => countSeries(db, 'assert', filter)),
    blockedSeries: (filter) => serial(() => countSeries(db, 'blocked', filter)),
  };
}
