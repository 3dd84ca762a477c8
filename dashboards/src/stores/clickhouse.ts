import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { TelltaleError } from '@telltale/protocol';
import { clickHouseDatabase } from '@telltale/schema';
import type { DashboardStore } from '../store.js';
import {
  assertFailures,
  blockedEvents,
  errorGroup,
  errorGroups,
  eventById,
  eventCounts,
  featureUsage,
  listEvents,
  tablesOf,
} from './clickhouse-lists.js';
import { clickHouseSeries } from './clickhouse-series.js';
import { clickHouseSearch } from './clickhouse-search.js';
import { inlineParams, type BoundQuery, type ClickHouseRunner, type Row } from './clickhouse-query.js';
import { serverLogs, timeline } from './clickhouse-timeline.js';

export interface ClickHouseStoreOptions {
  /** HTTP interface, e.g. http://127.0.0.1:8123. */
  url: string;
  /** The database the clickhouse sink writes (TELLTALE_CLICKHOUSE_DATABASE). */
  database: string;
  username?: string | undefined;
  password?: string | undefined;
  /** Per-query timeout, ms (default 30 s): a hung server fails the request instead of holding it. */
  requestTimeoutMs?: number | undefined;
}

function invalid(field: string, value: string, fix: string): never {
  throw new TelltaleError('TELLTALE_ERR_INVALID_CONFIG', `${field}: "${value.slice(0, 200)}" ${fix}`);
}

/**
 * The dashboards' store over ClickHouse (the database the clickhouse sink writes). No connection is
 * made here: the server may come up after the dashboards; each query reaches it, and until the
 * dispatchers created the tables every list is empty.
 */
export async function createClickHouseStore(options: ClickHouseStoreOptions): Promise<DashboardStore> {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    invalid(
      'clickhouse.url',
      options.url,
      'is not a URL: give the HTTP interface, e.g. http://127.0.0.1:8123',
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    invalid('clickhouse.url', options.url, 'must be an http:// or https:// URL (the HTTP interface)');
  try {
    clickHouseDatabase(options.database);
  } catch {
    invalid(
      'clickhouse.database',
      options.database,
      'is not a plain identifier: use letters, digits and _ (the database the clickhouse sink writes)',
    );
  }
  const client = createClient({
    url: options.url,
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.password === undefined ? {} : { password: options.password }),
    request_timeout: options.requestTimeoutMs ?? 30_000,
    // A failed query reaches the API's error handler, which logs it once.
    log: { level: ClickHouseLogLevel.OFF },
  });
  return clickHouseStoreOver(httpRunner(client), options.database);
}

const code = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;

/** 60 UNKNOWN_TABLE, 81 UNKNOWN_DATABASE: nothing written yet (the dispatchers migrate on first use). */
function notCreatedYet(error: unknown): boolean {
  const c = code(error);
  if (c === '60' || c === '81') return true;
  return error instanceof Error && /\bCode: (?:60|81)\b|UNKNOWN_(?:TABLE|DATABASE)/.test(error.message);
}

/**
 * Queries over @clickhouse/client. Parameters go as the server's `{name:Type}` query parameters; a
 * server too old to have them (18.16 answers "Unknown setting param_…", code 115) gets each value as
 * a typed, escaped literal instead (inlineParams). Which one is found out once, on the first query.
 */
export function httpRunner(client: ClickHouseClient): ClickHouseRunner {
  let binding: Promise<boolean> | undefined;
  const supportsParams = (): Promise<boolean> => {
    binding ??= client
      .query({ query: 'SELECT {probe:UInt8} AS probe', query_params: { probe: 1 }, format: 'JSONEachRow' })
      .then(
        async (result) => {
          await result.json();
          return true;
        },
        (error: unknown) => {
          // 18.16's error text predates the client's parser, so the code may only be in the message.
          if (
            code(error) === '115' ||
            (error instanceof Error && /Unknown setting param_/.test(error.message))
          )
            return false;
          binding = undefined; // the server was unreachable: ask again next time
          throw error;
        },
      );
    return binding;
  };
  return {
    async rows(query: BoundQuery): Promise<Row[]> {
      const bind = await supportsParams();
      const result = await client.query(
        bind
          ? { query: query.sql, query_params: query.params, format: 'JSONEachRow' }
          : { query: inlineParams(query), format: 'JSONEachRow' },
      );
      return result.json<Row>();
    },
    close: () => client.close(),
  };
}

/** A DashboardStore over any runner (the HTTP client here; the tests also use chdb's engine). */
export function clickHouseStoreOver(runner: ClickHouseRunner, database: string): DashboardStore {
  const t = tablesOf(clickHouseDatabase(database));
  const run: ClickHouseRunner = {
    async rows(query) {
      try {
        return await runner.rows(query);
      } catch (error) {
        if (notCreatedYet(error)) return [];
        throw error;
      }
    },
    close: () => runner.close(),
  };
  return {
    errorGroups: (query) => errorGroups(run, t, query),
    errorGroup: (fingerprint, app, filter) => errorGroup(run, t, fingerprint, app, filter),
    featureUsage: (query) => featureUsage(run, t, query),
    assertFailures: (query) => assertFailures(run, t, query),
    blockedEvents: (query) => blockedEvents(run, t, query),
    listEvents: (query) => listEvents(run, t, query),
    eventById: (app, id) => eventById(run, t, app, id),
    eventCounts: () => eventCounts(run, t),
    timeline: (query) => timeline(run, t, query),
    serverLogs: (query) => serverLogs(run, t, query),
    ...clickHouseSearch(run, t),
    ...clickHouseSeries(run, t),
    close: () => run.close(),
  };
}
