import type { DuckDBConnection } from '@duckdb/node-api';
import { DUCKDB_DDL } from '@telltale/schema';

/** The DuckDB tables are defined once, in @telltale/schema; the sink only applies them. */
export { DUCKDB_SCHEMA_VERSION } from '@telltale/schema';

/** Creates the tables if they are missing. Safe to call on every start. */
export async function ensureDuckDbSchema(connection: DuckDBConnection): Promise<void> {
  for (const statement of DUCKDB_DDL) await connection.run(statement);
}
