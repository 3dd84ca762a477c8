import { DuckDBInstance } from '@duckdb/node-api';
import { Session } from 'chdb';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CLICKHOUSE_MIGRATIONS,
  CLICKHOUSE_MS_COLUMNS,
  clickHouseDatabase,
  clickHouseMigrationsTable,
  DUCKDB_DDL,
  EVENT_COLUMNS,
  SERVER_LOG_COLUMNS,
} from '@telltale/schema';

/** Column names of a CREATE TABLE statement, in order (one column per line, as the DDL is written). */
function columnsOf(statement: string): string[] {
  const body = statement.slice(statement.indexOf('(') + 1, statement.lastIndexOf(')'));
  return body
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^[a-z_]+ [A-Z]/.test(line) && !line.startsWith('PRIMARY KEY'))
    .map((line) => line.split(' ')[0]!);
}

const withoutMs = (columns: string[]) =>
  columns.filter((c) => !(CLICKHOUSE_MS_COLUMNS as readonly string[]).includes(c));

describe('the stored schema, defined once', () => {
  it('DuckDB and ClickHouse tables have exactly the listed columns, in write order', () => {
    expect(columnsOf(DUCKDB_DDL[0]!)).toEqual([...EVENT_COLUMNS]);
    expect(columnsOf(DUCKDB_DDL[1]!)).toEqual([...SERVER_LOG_COLUMNS]);
    const [events, logs] = CLICKHOUSE_MIGRATIONS.map((m) => m.statements('db')[0]!);
    expect(withoutMs(columnsOf(events!))).toEqual([...EVENT_COLUMNS]);
    expect(withoutMs(columnsOf(logs!))).toEqual([...SERVER_LOG_COLUMNS]);
    expect(columnsOf(events!)).toEqual(expect.arrayContaining([...CLICKHOUSE_MS_COLUMNS]));
  });

  it('the DuckDB DDL runs twice on a fresh database (start after start)', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    try {
      for (let round = 0; round < 2; round += 1) for (const s of DUCKDB_DDL) await db.run(s);
      const tables = (await db.runAndReadAll(`SELECT table_name FROM information_schema.tables ORDER BY 1`))
        .getRows()
        .map((r) => r[0]);
      expect(tables).toEqual(['events', 'schema_migrations', 'server_logs']);
    } finally {
      db.closeSync();
      instance.closeSync();
    }
  });

  it('the ClickHouse migrations run on the current engine (chdb) and keep one copy per key after a merge', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'telltale-chdb-'));
    const session = new Session(dir);
    try {
      session.query('CREATE DATABASE IF NOT EXISTS telltale');
      session.query(clickHouseMigrationsTable('telltale'));
      for (const m of CLICKHOUSE_MIGRATIONS) for (const s of m.statements('telltale')) session.query(s);
      const row = `{"app":"shop","id":"e1","kind":"error","ts":1764600000,"ts_ms":1764600000123,"received_at":1764600001,"received_ms":1764600001000,"day":"2025-12-01","batch_id":"b","release":"1.0","environment":"prod","session":"s","count":1}`;
      session.query(`INSERT INTO telltale.events FORMAT JSONEachRow ${row}`);
      session.query(`INSERT INTO telltale.events FORMAT JSONEachRow ${row}`);
      expect(session.query('SELECT count() FROM telltale.events', 'CSV').trim()).toBe('2');
      expect(session.query('SELECT count() FROM telltale.events FINAL', 'CSV').trim()).toBe('1');
      session.query('OPTIMIZE TABLE telltale.events FINAL');
      expect(session.query('SELECT count(), max(ts_ms) FROM telltale.events', 'CSV').trim()).toBe(
        '1,1764600000123',
      );
      const version = session.query('SELECT version()', 'CSV').trim();
      expect(Number(version.replace(/"/g, '').split('.')[0])).toBeGreaterThanOrEqual(24);
    } finally {
      session.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a database name that is not a plain identifier, naming it', () => {
    expect(clickHouseDatabase('telltale_2')).toBe('telltale_2');
    expect(() => clickHouseDatabase('x; DROP TABLE y')).toThrow(
      /"x; DROP TABLE y" is not a plain identifier/,
    );
    expect(() => clickHouseDatabase('')).toThrow(/not a plain identifier/);
  });
});
