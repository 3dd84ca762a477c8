/**
 * The ClickHouse store (scaled out): versioned migrations, written by the clickhouse sink and read by
 * the dashboards. DDL that runs on Debian's ClickHouse 18.16 and on current releases alike: no TTL,
 * DateTime64, Map, JSON functions or LowCardinality; times are a DateTime (seconds, the sort key)
 * plus epoch milliseconds; attributes are JSON strings.
 *
 * ReplacingMergeTree on (app, kind, ts, id) within a day partition: a replayed event has the same key
 * and partition, so merges drop the copy. Until a merge ran, both copies are there: readers use FINAL
 * (or uniqExact over (app, id)), never a plain count() or sum(count). Retention drops whole day
 * partitions (ALTER TABLE … DROP PARTITION), never rows.
 */
export interface Migration {
  version: number;
  name: string;
  /** The statements of this step, for database `db` (a checked identifier, see clickHouseDatabase). */
  statements: (db: string) => string[];
}

export const CLICKHOUSE_MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    version: 1,
    name: 'events',
    statements: (db: string) => [
      `CREATE TABLE IF NOT EXISTS ${db}.events (
        app String,
        id String,
        kind String,
        ts DateTime,
        ts_ms UInt64,
        received_at DateTime,
        received_ms UInt64,
        day Date,
        batch_id String,
        release String,
        environment String,
        session String,
        user_id Nullable(String),
        account_id Nullable(String),
        url Nullable(String),
        trace Nullable(String),
        online Nullable(UInt8),
        fingerprint Nullable(String),
        name Nullable(String),
        error_type Nullable(String),
        message Nullable(String),
        stack Nullable(String),
        level Nullable(String),
        count UInt32,
        soft Nullable(UInt8),
        attrs Nullable(String),
        breadcrumbs Nullable(String),
        browser Nullable(String),
        browser_version Nullable(String),
        os Nullable(String),
        os_version Nullable(String),
        device Nullable(String),
        load_ms Nullable(Float64),
        adblock Nullable(UInt8)
      ) ENGINE = ReplacingMergeTree()
      PARTITION BY toYYYYMMDD(day)
      ORDER BY (app, kind, ts, id)`,
    ],
  },
  {
    version: 2,
    name: 'server_logs',
    statements: (db: string) => [
      `CREATE TABLE IF NOT EXISTS ${db}.server_logs (
        app String,
        id String,
        ts DateTime,
        ts_ms UInt64,
        received_at DateTime,
        received_ms UInt64,
        day Date,
        service String,
        level String,
        message String,
        trace Nullable(String),
        span Nullable(String),
        session Nullable(String),
        user_id Nullable(String),
        account_id Nullable(String),
        release Nullable(String),
        environment Nullable(String),
        attrs Nullable(String)
      ) ENGINE = ReplacingMergeTree()
      PARTITION BY toYYYYMMDD(day)
      ORDER BY (app, service, ts, id)`,
    ],
  },
]);

/** Tables holding day partitions, for retention. */
export const CLICKHOUSE_TABLES = ['events', 'server_logs'] as const;

/** The bookkeeping table of applied migrations (one row per version). */
export const clickHouseMigrationsTable = (db: string): string =>
  `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (version UInt32, name String, applied_at DateTime)
      ENGINE = MergeTree() ORDER BY version`;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * A database name is spliced into statements (identifiers cannot be bound as parameters), so it must
 * be a plain identifier; anything else is refused with the reason, before any statement runs.
 */
export function clickHouseDatabase(name: string): string {
  if (!IDENTIFIER.test(name))
    throw new Error(
      `ClickHouse database "${name.slice(0, 80)}" is not a plain identifier: use letters, digits and _ (at most 64, not starting with a digit)`,
    );
  return name;
}
