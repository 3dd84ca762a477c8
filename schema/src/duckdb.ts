/**
 * The DuckDB store (embedded, `telltale start`): the duckdb sink writes it, the dashboards read it.
 * `(app, id)` is the primary key, so a replayed or re-uploaded event is stored once (INSERT OR
 * IGNORE: the first copy wins). `day` (from the collector's receive time) is the retention
 * partition: whole days are deleted.
 */
export const DUCKDB_SCHEMA_VERSION = 1;

/** Statements that create the tables if they are missing; safe to run on every start. */
export const DUCKDB_DDL: readonly string[] = Object.freeze([
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
  // Server logs (POST /v1/logs, OTLP): on the same timeline as client events through trace, session, user, release.
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
]);

/** Tables holding a `day` column, for retention. */
export const DUCKDB_DAY_TABLES = ['events', 'server_logs'] as const;
