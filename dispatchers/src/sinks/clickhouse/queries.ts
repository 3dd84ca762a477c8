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

/**
 * One timeline row, the same shape as the dashboards' TimelineItem (dashboards/src/store.ts): the
 * DuckDB store and this query answer the same for the same data (dispatchers/test/timeline-parity.test.ts).
 */
export interface TimelineEntry {
  source: 'client' | 'server';
  app: string;
  /** Collector clock: a client event's time capped at its receive time, a server line's own time. */
  ts: number;
  kind: string;
  level: string | null;
  message: string | null;
  name: string | null;
  service: string | null;
  page: string | null;
  release: string | null;
  ids: {
    trace: string | null;
    span: string | null;
    session: string | null;
    user: string | null;
    request: string | null;
    event: string;
  };
  fingerprint: string | null;
}

/** Every given filter narrows; `request` is a server span id (client events have none). */
export interface TimelineQuery {
  app?: string | undefined;
  trace?: string | undefined;
  session?: string | undefined;
  user?: string | undefined;
  request?: string | undefined;
  from?: number | undefined;
  to?: number | undefined;
  limit?: number | undefined;
  /** The sort key `[ts, source, app, id]` of the last item seen: the page after it. */
  before?: ReadonlyArray<string | number | boolean> | undefined;
  /** The sort key of the first item seen: the page ahead of it (still returned oldest first). */
  after?: ReadonlyArray<string | number | boolean> | undefined;
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
  /** Client events and server logs of a trace / session / user / request, oldest first, keyset-paged. */
  timeline(query: TimelineQuery): Promise<TimelineEntry[]>;
}

/** A client event's time on the collector's clock: never later than its receive time. */
const CLIENT_TS = 'least(ts_ms, received_ms)';

/**
 * Keyset page over `inner`, ascending by `columns` (the dashboards' timeline order): rows after
 * `before`, or ahead of `after` (read backwards, then flipped back to ascending).
 */
function keysetSelect(
  inner: string,
  columns: readonly string[],
  query: Pick<TimelineQuery, 'before' | 'after'>,
  limit: number,
): string {
  const cursor = query.before ?? query.after;
  const backwards = query.before === undefined && query.after !== undefined;
  const value = (v: string | number | boolean | undefined): string =>
    typeof v === 'number' ? String(Math.trunc(v)) : literal(String(v ?? ''));
  let where = '';
  if (cursor !== undefined) {
    const alternatives = columns.map((column, i) =>
      [
        ...columns.slice(0, i).map((c, j) => `${c} = ${value(cursor[j])}`),
        `${column} ${backwards ? '<' : '>'} ${value(cursor[i])}`,
      ].join(' AND '),
    );
    where = `WHERE ${alternatives.map((a) => `(${a})`).join(' OR ')}`;
  }
  const order = columns.map((c) => `${c} ${backwards ? 'DESC' : 'ASC'}`).join(', ');
  const page = `SELECT * FROM (${inner}) ${where} ORDER BY ${order} LIMIT ${limit}`;
  return backwards ? `SELECT * FROM (${page}) ORDER BY ${columns.join(', ')}` : page;
}

const optional = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function toTimelineEntry(r: Record<string, unknown>): TimelineEntry {
  const source = r.source === 'server' ? 'server' : 'client';
  return {
    source,
    app: String(r.app),
    ts: n(r.item_ts),
    kind: String(r.kind),
    level: optional(r.level),
    message: optional(r.message),
    name: optional(r.name),
    service: optional(r.service),
    page: optional(r.page),
    release: optional(r.release) || null,
    ids: {
      trace: optional(r.trace),
      span: optional(r.span),
      session: optional(r.session),
      user: optional(r.user_id),
      request: optional(r.request),
      event: String(r.id),
    },
    // Only errors have a fingerprint.
    fingerprint: r.kind === 'error' && source === 'client' ? optional(r.fingerprint) : null,
  };
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
      if ([query.trace, query.session, query.user, query.request].every((v) => v === undefined))
        throw new Error('timeline needs a trace, session, user or request');
      const eq = (column: string, value: string | undefined): string =>
        value === undefined ? '1' : `${column} = ${literal(value)}`;
      const range = (column: string): string[] => [
        query.from === undefined ? '1' : `${column} >= ${Math.trunc(query.from)}`,
        query.to === undefined ? '1' : `${column} <= ${Math.trunc(query.to)}`,
      ];
      const shared = [
        eq('app', query.app),
        eq('trace', query.trace),
        eq('session', query.session),
        eq('user_id', query.user),
      ];
      const clientWhere = [...shared, query.request === undefined ? '1' : '0', ...range(CLIENT_TS)];
      const serverWhere = [...shared, eq('span', query.request), ...range('ts_ms')];
      const NONE = 'CAST(NULL AS Nullable(String))';
      // Types line up column by column: UNION ALL on 18.16 does not widen String to Nullable(String).
      const inner = `SELECT 'client' AS source, app, id, ${CLIENT_TS} AS item_ts, kind, level,
          ifNull(message, name) AS message, ifNull(error_type, name) AS name, ${NONE} AS service, url AS page,
          toNullable(release) AS release, trace, ${NONE} AS span, toNullable(session) AS session, user_id,
          ${NONE} AS request, fingerprint
        FROM ${events} FINAL WHERE ${clientWhere.join(' AND ')}
        UNION ALL
        SELECT 'server' AS source, app, id, ts_ms AS item_ts, 'log' AS kind, toNullable(level) AS level,
          toNullable(message) AS message, ${NONE} AS name, toNullable(service) AS service, ${NONE} AS page,
          release, trace, span, session, user_id, span AS request, ${NONE} AS fingerprint
        FROM ${serverLogs} FINAL WHERE ${serverWhere.join(' AND ')}`;
      const result = await rows<Record<string, unknown>>(
        client,
        keysetSelect(inner, ['item_ts', 'source', 'app', 'id'], query, limitOf(query.limit, 100)),
      );
      return result.map(toTimelineEntry);
    },
  };
}
