import type { Attributes, Breadcrumb, EventKind } from '@telltale/protocol';
import type { EventFilter } from './filter.js';
import type { FilterOptions, IdMatch, OptionsSource, SearchQuery, SearchResults } from './search.js';
import type { SeriesStore } from './series.js';

/**
 * What the dashboards read, independent of the database behind it: one contract, two implementations
 * that give the same answers — stores/duckdb*.ts (embedded DuckDB, `telltale start`) and
 * stores/clickhouse*.ts (`createClickHouseStore`, `TELLTALE_STORE=clickhouse`: the database the
 * clickhouse sink writes). Both read the tables defined once in @telltale/schema; the parity test
 * (dashboards/test/store-parity.test.ts) holds them to the same JSON on every /api route, on DuckDB,
 * ClickHouse 18.16 and the current ClickHouse engine.
 *
 * Conventions for every implementation:
 * - Times are epoch milliseconds (numbers), like `ts` on the wire. `ts`, `firstSeen`, `lastSeen`,
 *   `firstUse` and `lastUse` come from the event's own clock; `receivedAt` from the collector's.
 * - Every event and log line counts once, however often it was stored (replays, retried sends):
 *   DuckDB's primary key keeps the first copy; ClickHouse reads with FINAL, so `count` sums each
 *   event's repeat counter once. FINAL collapses copies with the same sort key in the same day
 *   partition; a re-send that another collector received on another UTC day would show twice there.
 * - `users` counts distinct user ids, counting an anonymous session as one user of its own.
 * - Lists are ordered most recent first (the timeline oldest first), by exactly SORT_KEYS, ties
 *   included; "most recent" values of a group (type, message, release, vars) are those of its event
 *   with the latest time, a tie going to the larger event id.
 */
export interface DashboardStore extends SeriesStore {
  /** One row per (app, fingerprint), most recently seen first. */
  errorGroups(query?: ErrorGroupsQuery): Promise<ErrorGroup[]>;
  /**
   * The group and its most recent sample events; `app` picks one app when several share a
   * fingerprint. With a filter, only the group's events in it count (counts, users, first and last
   * times, releases, samples), as in the filtered list; undefined when none of its events match.
   */
  errorGroup(fingerprint: string, app?: string, filter?: EventFilter): Promise<ErrorGroupDetail | undefined>;
  featureUsage(query?: ListQuery): Promise<FeatureUsage[]>;
  assertFailures(query?: ListQuery): Promise<AssertFailure[]>;
  blockedEvents(query?: ListQuery): Promise<BlockedSummary[]>;
  /** Most recently received first. */
  listEvents(query?: ListEventsQuery): Promise<EventSummary[]>;
  eventById(app: string, id: string): Promise<EventDetail | undefined>;
  /** Stored events per kind; every kind is present, zero when absent. */
  eventCounts(): Promise<EventCounts>;
  /** Client events and server log lines that share a trace / session / user / request, oldest first. */
  timeline(query: TimelineQuery): Promise<TimelineItem[]>;
  /** Server log lines, most recent first. */
  serverLogs(query?: ServerLogsQuery): Promise<ServerLogLine[]>;
  /** The filter bar's choices (search.ts), of the events or of the server logs. */
  filterOptions(filter?: EventFilter, source?: OptionsSource): Promise<FilterOptions>;
  /** What the search box's text names exactly: an event, trace, session, user or error group. */
  findIds(id: string): Promise<IdMatch[]>;
  /** Free-text search over error types and messages, feature and assert names, blocked reasons. */
  search(query: SearchQuery): Promise<SearchResults>;
  /** Releases the store's own connection; the database instance stays open. */
  close(): Promise<void>;
}

/** Default and ceiling for list sizes, shared by the store and the HTTP schemas. */
export const LIST_LIMITS = Object.freeze({ defaultLimit: 100, maxLimit: 1000, sampleEvents: 20 });

/** Longest `text` needle of a log search: a search is a substring test, linear in the message, and the needle is capped. */
export const MAX_SEARCH_LENGTH = 200;

/**
 * A place in a list's order: the sort key of one item (see SORT_KEYS). Keyset pagination, not
 * OFFSET: a page starts right after the last item seen, so rows arriving meanwhile neither repeat
 * nor skip an item, and a deep page costs what the first one does.
 */
export type SortKey = ReadonlyArray<string | number | boolean>;

export interface PageQuery {
  /** 1..1000, default 100. */
  limit?: number | undefined;
  /** Only items after this one in the list's order (older ones: the next page). */
  before?: SortKey | undefined;
  /** Only items ahead of this one (newer ones: the previous page); still returned in list order. */
  after?: SortKey | undefined;
}

/**
 * A list narrowed by the filter bar (filter.ts): only matching events are read, so a group's counts,
 * users, first and last times and releases are those of its events in the filter.
 */
export interface ListQuery extends PageQuery {
  filter?: EventFilter | undefined;
}

export interface ErrorGroupsQuery extends ListQuery {
  app?: string | undefined;
}

export interface ListEventsQuery extends ListQuery {
  kind?: EventKind | undefined;
  session?: string | undefined;
}

/**
 * Each list's order, most recent first, with tie-breakers that make it total: the cursor of a page
 * is the last item's key. Every store sorts by exactly these fields.
 */
export const SORT_KEYS = {
  groups: (g: ErrorGroup): SortKey => [g.lastSeen, g.fingerprint, g.app],
  features: (f: FeatureUsage): SortKey => [f.lastUse, f.name, f.app],
  asserts: (a: AssertFailure): SortKey => [a.lastSeen, a.name, a.app, a.soft],
  blocked: (b: BlockedSummary): SortKey => [b.lastSeen, b.reason, b.app],
  events: (e: EventSummary): SortKey => [e.receivedAt, e.ts, e.id, e.app],
  /** Oldest first: a timeline reads forward in time. */
  timeline: (t: TimelineItem): SortKey => [t.ts, t.source, t.app, t.ids.event],
  logs: (l: ServerLogLine): SortKey => [l.ts, l.app, l.id],
} as const;
export type ListName = keyof typeof SORT_KEYS;

/** The types of each list's sort key, to check a cursor that came from a URL. */
export const SORT_KEY_TYPES: Record<ListName, ReadonlyArray<'number' | 'string' | 'boolean'>> = {
  groups: ['number', 'string', 'string'],
  features: ['number', 'string', 'string'],
  asserts: ['number', 'string', 'string', 'boolean'],
  blocked: ['number', 'string', 'string'],
  events: ['number', 'number', 'string', 'string'],
  timeline: ['number', 'string', 'string', 'string'],
  logs: ['number', 'string', 'string'],
};

export interface ErrorGroup {
  fingerprint: string;
  app: string;
  /** Error type and message of the most recent occurrence. */
  type: string;
  message: string;
  /** Occurrences, including the repeats an SDK counted without resending. */
  count: number;
  /** Stored error events (at most one per session per error, see the SDK). */
  events: number;
  users: number;
  firstSeen: number;
  lastSeen: number;
  /** Distinct releases the error was seen in, sorted. */
  releases: string[];
  lastRelease: string;
}

export interface ErrorGroupDetail {
  group: ErrorGroup;
  /** The most recent events of the group (up to 20), with stacks and breadcrumbs. */
  samples: EventDetail[];
}

export interface FeatureUsage {
  app: string;
  name: string;
  uses: number;
  users: number;
  firstUse: number;
  lastUse: number;
}

export interface AssertFailure {
  app: string;
  name: string;
  /** Soft asserts warn and let the user go on; hard ones mark a broken invariant. */
  soft: boolean;
  count: number;
  users: number;
  firstSeen: number;
  lastSeen: number;
  /** Diagnostic variables of the most recent failure. */
  lastVars: Attributes | null;
}

export interface BlockedSummary {
  app: string;
  reason: string;
  count: number;
  users: number;
  firstSeen: number;
  lastSeen: number;
  /** Props of the most recent occurrence. */
  lastProps: Attributes | null;
}

/** The fields a list of events shows. */
export interface EventSummary {
  app: string;
  id: string;
  kind: EventKind;
  ts: number;
  receivedAt: number;
  release: string;
  environment: string;
  session: string;
  user: string | null;
  /** Assert name, feature name or blocked reason. */
  name: string | null;
  errorType: string | null;
  /** Error or log message. */
  message: string | null;
  level: string | null;
  fingerprint: string | null;
  url: string | null;
  browser: string | null;
  os: string | null;
  count: number;
}

/** Every stored field of one event; attrs and breadcrumbs parsed from their JSON text. */
export interface EventDetail extends EventSummary {
  /** Retention partition (UTC date of `receivedAt`), `YYYY-MM-DD`. */
  day: string;
  batchId: string;
  account: string | null;
  trace: string | null;
  online: boolean | null;
  stack: string | null;
  soft: boolean | null;
  /** Assert vars, or feature / blocked props. */
  attrs: Attributes | null;
  breadcrumbs: Breadcrumb[] | null;
  browserVersion: string | null;
  osVersion: string | null;
  device: string | null;
  loadMs: number | null;
  adblock: boolean | null;
}

export type EventCounts = Record<EventKind, number>;

/**
 * What a timeline joins on; every given filter narrows (AND), at least one of trace, session, user
 * or request is required. `request` is the server's span id for one request (the middleware starts
 * one per request), so it selects server lines only. `from` / `to` bound the item's time, inclusive.
 */
export interface TimelineQuery extends PageQuery {
  app?: string | undefined;
  trace?: string | undefined;
  session?: string | undefined;
  user?: string | undefined;
  request?: string | undefined;
  from?: number | undefined;
  to?: number | undefined;
}

/**
 * One row of the timeline. `ts` is on the collector's clock: a server line's own time (clamped at
 * ingest), a client event's time capped at when the collector received it (docs/server-logs.md).
 */
export interface TimelineItem {
  source: 'client' | 'server';
  app: string;
  ts: number;
  /** The event kind for client items, `log` for server lines. */
  kind: string;
  level: string | null;
  /** Error / log message; for features, asserts and blocked events their name. */
  message: string | null;
  /** Error type, or assert / feature name, or blocked reason (client). */
  name: string | null;
  /** The service that wrote a server line. */
  service: string | null;
  /** The URL path a client event happened on. */
  page: string | null;
  release: string | null;
  ids: {
    trace: string | null;
    span: string | null;
    session: string | null;
    user: string | null;
    /** The server request (its span id); null on client items. */
    request: string | null;
    /** The event or log line id. */
    event: string;
  };
  /** Error fingerprint, to link a client error to its group. */
  fingerprint: string | null;
}

/**
 * `text` matches the message, case-insensitive, as a plain substring (no patterns). `filter` narrows
 * by time [from, to), app, release and environment; server lines have no browser, OS or URL, so
 * those fields of a filter do not narrow them.
 */
export interface ServerLogsQuery extends ListQuery {
  app?: string | undefined;
  service?: string | undefined;
  level?: string | undefined;
  text?: string | undefined;
  trace?: string | undefined;
  request?: string | undefined;
  session?: string | undefined;
  from?: number | undefined;
  to?: number | undefined;
}

export interface ServerLogLine {
  app: string;
  id: string;
  ts: number;
  receivedAt: number;
  service: string;
  level: string;
  message: string;
  trace: string | null;
  span: string | null;
  session: string | null;
  user: string | null;
  release: string | null;
  environment: string | null;
  attrs: Attributes | null;
}
