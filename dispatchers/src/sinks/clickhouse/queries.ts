import type { ClickHouseClient } from '@clickhouse/client';

/**
 * The dashboards' views over the ClickHouse store, in one module. Every query accounts for parts
 * not merged yet (a retried or replayed batch is stored twice until ReplacingMergeTree merges it):
 * counts of events are uniqExact over (app, id), and rows are read with FINAL. Values are inlined
 * as escaped literals because ClickHouse 18.16 has no query parameters.
 */

export interface ClickHouseErrorGroup {
  fingerprint: string;
  app: string;
  type: string;
  message: string;
  /** Occurrences, counting the SDK's per-session repeat counter. */
  count: number;
  /** Distinct events. */
  events: number;
  users: number;
  firstSeen: number;
  lastSeen: number;
  releases: string[];
  lastRelease: string;
}

export interface ClickHouseUsage {
  app: string;
  name: string;
  count: number;
  users: number;
  firstSeen: number;
  lastSeen: number;
  lastAttrs: string | null;
}

export interface TimelineEntry {
  source: 'client' | 'server';
  app: string;
  id: string;
  ts: number;
  kind: string;
  /** Error type, assert / feature name, blocked reason, or the server's service name. */
  name: string | null;
  message: string | null;
  level: string | null;
  trace: string | null;
  session: string | null;
  user: string | null;
  release: string | null;
}

/** A ClickHouse string literal. */
export function literal(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function limitOf(limit: number | undefined, fallback = 100): number {
  return Number.isFinite(limit) ? Math.min(1000, Math.max(1, Math.trunc(limit!))) : fallback;
}

const USERS = `uniqExact(if(isNull(user_id), concat('s:', session), concat('u:', assumeNotNull(user_id))))`;

async function rows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  const result = await client.query({ query, format: 'JSONEachRow' });
  return result.json<T>();
}

/** ClickHouse answers 64-bit integers as strings in JSON. */
const n = (value: unknown): number => Number(value ?? 0);

export interface DashboardQueries {
  eventCounts(): Promise<Record<string, number>>;
  errorGroups(query?: { app?: string; limit?: number }): Promise<ClickHouseErrorGroup[]>;
  featureUsage(): Promise<ClickHouseUsage[]>;
  assertFailures(): Promise<ClickHouseUsage[]>;
  blockedEvents(): Promise<ClickHouseUsage[]>;
  /** Client events and server logs of one session, trace or user, oldest first. */
  timeline(query: {
    app: string;
    session?: string;
    trace?: string;
    user?: string;
    limit?: number;
  }): Promise<TimelineEntry[]>;
}

export function dashboardQueries(client: ClickHouseClient, database: string): DashboardQueries {
  const events = `${database}.events`;
  const serverLogs = `${database}.server_logs`;

  const usage = async (kind: string): Promise<ClickHouseUsage[]> => {
    const result = await rows<Record<string, unknown>>(
      client,
      // sum(count): the SDK aggregates repeats into one event; FINAL, so a replayed copy is not added twice.
      `SELECT app, name, sum(count) AS count, ${USERS} AS users, min(ts_ms) AS first_seen,
         max(ts_ms) AS last_seen, argMax(attrs, ts_ms) AS last_attrs
       FROM ${events} FINAL WHERE kind = ${literal(kind)}
       GROUP BY app, name ORDER BY last_seen DESC, name`,
    );
    return result.map((r) => ({
      app: String(r.app),
      name: String(r.name ?? ''),
      count: n(r.count),
      users: n(r.users),
      firstSeen: n(r.first_seen),
      lastSeen: n(r.last_seen),
      lastAttrs: typeof r.last_attrs === 'string' ? r.last_attrs : null,
    }));
  };

  return {
    async eventCounts() {
      const result = await rows<{ kind: string; n: string }>(
        client,
        `SELECT kind, uniqExact(app, id) AS n FROM ${events} GROUP BY kind`,
      );
      return Object.fromEntries(result.map((r) => [r.kind, n(r.n)]));
    },

    async errorGroups(query = {}) {
      const app = query.app === undefined ? '' : `AND app = ${literal(query.app)}`;
      // FINAL: sum(count) must not add up a replayed copy that is not merged away yet.
      const result = await rows<Record<string, unknown>>(
        client,
        `SELECT ifNull(fingerprint, '') AS fp, app, argMax(error_type, ts_ms) AS type,
           argMax(message, ts_ms) AS message, sum(count) AS count, uniqExact(id) AS events,
           ${USERS} AS users, min(ts_ms) AS first_seen, max(ts_ms) AS last_seen,
           arraySort(groupUniqArray(release)) AS releases, argMax(release, ts_ms) AS last_release
         FROM ${events} FINAL WHERE kind = 'error' ${app}
         GROUP BY fp, app ORDER BY last_seen DESC, fp LIMIT ${limitOf(query.limit)}`,
      );
      return result.map((r) => ({
        fingerprint: String(r.fp),
        app: String(r.app),
        type: String(r.type ?? ''),
        message: String(r.message ?? ''),
        count: n(r.count),
        events: n(r.events),
        users: n(r.users),
        firstSeen: n(r.first_seen),
        lastSeen: n(r.last_seen),
        releases: Array.isArray(r.releases) ? r.releases.map(String) : [],
        lastRelease: String(r.last_release ?? ''),
      }));
    },

    featureUsage: () => usage('feature'),
    assertFailures: () => usage('assert'),
    blockedEvents: () => usage('blocked'),

    async timeline(query) {
      const filters: string[] = [];
      if (query.session !== undefined) filters.push(`session = ${literal(query.session)}`);
      if (query.trace !== undefined) filters.push(`trace = ${literal(query.trace)}`);
      if (query.user !== undefined) filters.push(`user_id = ${literal(query.user)}`);
      if (filters.length === 0) throw new Error('timeline needs a session, trace or user');
      const where = `app = ${literal(query.app)} AND (${filters.join(' OR ')})`;
      const result = await rows<Record<string, unknown>>(
        client,
        `SELECT * FROM (
           SELECT 'client' AS source, app, id, ts_ms, kind, ifNull(name, error_type) AS name, message, level,
             trace, toNullable(session) AS session, user_id, toNullable(release) AS release
           FROM ${events} FINAL WHERE ${where}
           UNION ALL
           SELECT 'server' AS source, app, id, ts_ms, 'log' AS kind, toNullable(service) AS name,
             toNullable(message) AS message, toNullable(level) AS level, trace, session, user_id, release
           FROM ${serverLogs} FINAL WHERE ${where}
         ) ORDER BY ts_ms, source, id LIMIT ${limitOf(query.limit, 500)}`,
      );
      return result.map((r) => ({
        source: r.source === 'server' ? 'server' : 'client',
        app: String(r.app),
        id: String(r.id),
        ts: n(r.ts_ms),
        kind: String(r.kind),
        name: r.name === null || r.name === undefined ? null : String(r.name),
        message: r.message === null || r.message === undefined ? null : String(r.message),
        level: r.level === null || r.level === undefined ? null : String(r.level),
        trace: r.trace === null || r.trace === undefined ? null : String(r.trace),
        session: r.session === null || r.session === undefined ? null : String(r.session),
        user: r.user_id === null || r.user_id === undefined ? null : String(r.user_id),
        release: r.release === null || r.release === undefined ? null : String(r.release),
      }));
    },
  };
}
