/**
 * The stored schema, defined once: table names, columns, row types and DDL of the DuckDB and the
 * ClickHouse store. Imported by the sinks that write it (dispatchers) and the stores that read it
 * (dashboards); neither package spells a column list of its own.
 */
export {
  TABLES,
  EVENT_COLUMNS,
  SERVER_LOG_COLUMNS,
  CLICKHOUSE_MS_COLUMNS,
  utcDay,
  type EventColumn,
  type ServerLogColumn,
  type ClickHouseEventRow,
  type ClickHouseServerLogRow,
} from './tables.js';
export { DUCKDB_SCHEMA_VERSION, DUCKDB_DDL, DUCKDB_DAY_TABLES } from './duckdb.js';
export {
  CLICKHOUSE_MIGRATIONS,
  CLICKHOUSE_TABLES,
  clickHouseMigrationsTable,
  clickHouseDatabase,
  type Migration,
} from './clickhouse.js';
