import type { ClickHouseClient } from '@clickhouse/client';

/**
 * Versioned migrations of the ClickHouse store. DDL that runs on Debian's ClickHouse 18.16 and on
 * current releases alike: no TTL, DateTime64, Map, JSON functions or LowCardinality; times are a
 * DateTime (second, the sort key) plus epoch milliseconds; attributes are JSON strings.
 *
 * ReplacingMergeTree on (app, kind, ts, id) within a day partition: a replayed event has the same key
 * and partition, so merges drop the copy; until then queries use FINAL or uniqExact(id) (queries.ts).
 * Retention drops whole day partitions (ALTER TABLE … DROP PARTITION), never rows.
 */
export interface Migration {
  version: number;
  name: string;
  statements: (db: string) => string[];
}

export const CLICKHOUSE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'events',
    statements: (db) => [
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
    statements: (db) => [
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
];

/** Tables holding day partitions, for retention. */
export const CLICKHOUSE_TABLES = ['events', 'server_logs'] as const;

/** Applies the migrations this database has not seen, in order. Safe to run from several dispatchers at once. */
export async function migrateClickHouse(client: ClickHouseClient, db: string): Promise<number[]> {
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (version UInt32, name String, applied_at DateTime)
      ENGINE = MergeTree() ORDER BY version`,
  });
  const result = await client.query({
    query: `SELECT DISTINCT version FROM ${db}.schema_migrations`,
    format: 'JSONEachRow',
  });
  const done = new Set((await result.json<{ version: number | string }>()).map((r) => Number(r.version)));
  const applied: number[] = [];
  for (const migration of CLICKHOUSE_MIGRATIONS) {
    if (done.has(migration.version)) continue;
    for (const statement of migration.statements(db)) await client.command({ query: statement });
    await client.insert({
      table: `${db}.schema_migrations`,
      values: [
        { version: migration.version, name: migration.name, applied_at: Math.floor(Date.now() / 1000) },
      ],
      format: 'JSONEachRow',
    });
    applied.push(migration.version);
  }
  return applied;
}
