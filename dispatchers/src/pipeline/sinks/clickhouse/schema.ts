import type { ClickHouseClient } from '@clickhouse/client';
import { CLICKHOUSE_MIGRATIONS, clickHouseDatabase, clickHouseMigrationsTable } from '@telltale/schema';

/** The ClickHouse tables and their migrations are defined once, in @telltale/schema; the sink applies them. */
export { CLICKHOUSE_MIGRATIONS, CLICKHOUSE_TABLES, type Migration } from '@telltale/schema';

/** Applies the migrations this database has not seen, in order. Safe to run from several dispatchers at once. */
export async function migrateClickHouse(client: ClickHouseClient, database: string): Promise<number[]> {
  const db = clickHouseDatabase(database);
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
  await client.command({ query: clickHouseMigrationsTable(db) });
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
