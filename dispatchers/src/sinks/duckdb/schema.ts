import type { DuckDBConnection } from '@duckdb/node-api';

/**
 * The DuckDB store: one wide `events` table, written by the duckdb sink and read by the dashboards.
 * `(app, id)` is the primary key, so a replayed or re-uploaded event is stored once.
 * `day` (from the collector's receive time) is the retention partition: whole days are deleted.
 */
export const DUCKDB_SCHEMA_VERSION = 1;

const DDL = [
  `CREATE TABLE IF NOT EXISTS events (
    app VARCHAR NOT NULL,
    id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,
    received_at TIMESTAMP NOT NULL,
    day DATE NOT NULL,
    batch_id VARCHAR NOT NULL,
    release VARCHAR NOT NULL,
    environment VARCHAR NOT NULL,
    session VARCHAR NOT NULL,
    user_id VARCHAR,
    account_id VARCHAR,
    url VARCHAR,
    trace VARCHAR,
    online BOOLEAN,
    fingerprint VARCHAR,
    name VARCHAR,
    error_type VARCHAR,
    message VARCHAR,
    stack VARCHAR,
    level VARCHAR,
    count INTEGER NOT NULL DEFAULT 1,
    soft BOOLEAN,
    attrs VARCHAR,
    breadcrumbs VARCHAR,
    browser VARCHAR,
    browser_version VARCHAR,
    os VARCHAR,
    os_version VARCHAR,
    device VARCHAR,
    load_ms DOUBLE,
    adblock BOOLEAN,
    PRIMARY KEY (app, id)
  )`,
  // Server logs (POST /v1/logs): on the same timeline as client events through trace, session, user, release.
  `CREATE TABLE IF NOT EXISTS server_logs (
    app VARCHAR NOT NULL,
    id VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,
    received_at TIMESTAMP NOT NULL,
    day DATE NOT NULL,
    service VARCHAR NOT NULL,
    level VARCHAR NOT NULL,
    message VARCHAR NOT NULL,
    trace VARCHAR,
    span VARCHAR,
    session VARCHAR,
    user_id VARCHAR,
    account_id VARCHAR,
    release VARCHAR,
    environment VARCHAR,
    attrs VARCHAR,
    PRIMARY KEY (app, id)
  )`,
  `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMP NOT NULL)`,
  `INSERT OR IGNORE INTO schema_migrations VALUES (${DUCKDB_SCHEMA_VERSION}, now())`,
];

/** Creates the tables if they are missing. Safe to call on every start. */
export async function ensureDuckDbSchema(connection: DuckDBConnection): Promise<void> {
  for (const statement of DDL) await connection.run(statement);
}
