import type { EventFilter } from './filter.js';

/**
 * The search box and the filter bar's choices, on both stores (stores/duckdb-search.ts,
 * stores/clickhouse-search.ts).
 *
 * A query that is exactly an id jumps to its page: an event id to the event, a session, user or
 * W3C trace id (32 hex) to their timeline, an error fingerprint to its group. Anything else is
 * free text: a case-insensitive substring (no patterns, linear in the text) of error types and
 * messages, feature and assert names and blocked reasons, answered grouped by kind.
 */

/** Longest search text; longer input is refused (400), never cut silently. */
export const MAX_QUERY_LENGTH = 200;
/** Rows per kind on a result page, and distinct values per filter-bar select. */
export const SEARCH_LIMITS = Object.freeze({ perKind: 20, options: 50, idMatches: 10 });

export const TRACE_ID = /^[0-9a-f]{32}$/;

export type IdKind = 'event' | 'trace' | 'session' | 'user' | 'group';
/** Which kind wins when an id is more than one thing: the most specific first. */
export const ID_PRIORITY: readonly IdKind[] = ['event', 'trace', 'session', 'user', 'group'];

/** A stored thing whose id equals the query. `id` is the event id, trace, session, user or fingerprint. */
export interface IdMatch {
  kind: IdKind;
  app: string;
  id: string;
}

export interface SearchQuery {
  /** The text, already trimmed and at most MAX_QUERY_LENGTH long. */
  text: string;
  /** The lists' filter: hits come from matching events only. */
  filter?: EventFilter | undefined;
  /** Rows per kind, at most SEARCH_LIMITS.perKind. */
  limit?: number | undefined;
}

export interface ErrorHit {
  app: string;
  fingerprint: string;
  type: string;
  message: string;
  events: number;
  lastSeen: number;
}

/** A feature, assert or blocked reason whose name matched. */
export interface NameHit {
  app: string;
  name: string;
  /** Events with this name (not their repeat counters). */
  events: number;
  lastSeen: number;
}

/** Each kind most recently seen first, ties by name (fingerprint) then app. */
export interface SearchResults {
  errors: ErrorHit[];
  features: NameHit[];
  asserts: NameHit[];
  blocked: NameHit[];
}

/** Distinct values of each filter field among the events of the filter's time range, most used first. */
export interface FilterOptions {
  app: string[];
  release: string[];
  environment: string[];
  browser: string[];
  os: string[];
  path: string[];
}

/**
 * Where the filter bar's choices come from: the client `events` (every list) or the `server_logs`
 * (the /logs page: app, release and environment only; server lines carry no browser, OS or URL).
 */
export type OptionsSource = 'events' | 'logs';

/** The filter's fields a server-log line has (stores/filter-sql.ts narrows logs by these and time). */
export const LOG_FILTER_FIELDS = ['app', 'release', 'environment'] as const;

export interface SearchStore {
  /**
   * The filter bar's choices: up to SEARCH_LIMITS.options values each, in the filter's time range,
   * read from `source` (default the events); the fields a source lacks are empty lists.
   */
  filterOptions(filter?: EventFilter, source?: OptionsSource): Promise<FilterOptions>;
  /** Everything whose id is exactly `id`, up to SEARCH_LIMITS.idMatches, in ID_PRIORITY order then by app. */
  findIds(id: string): Promise<IdMatch[]>;
  search(query: SearchQuery): Promise<SearchResults>;
}

export type SearchTextResult = { ok: true; text: string } | { ok: false; field: 'q'; message: string };

/** The search text of a request: trimmed, bounded; empty is allowed (an empty result page). */
export function searchText(q: unknown): SearchTextResult {
  if (q === undefined || q === null) return { ok: true, text: '' };
  if (typeof q !== 'string') return { ok: false, field: 'q', message: 'q must be given once, as text' };
  if (q.length > MAX_QUERY_LENGTH * 4)
    return { ok: false, field: 'q', message: `q must be at most ${MAX_QUERY_LENGTH} characters` };
  const text = q.trim();
  if (text.length > MAX_QUERY_LENGTH)
    return { ok: false, field: 'q', message: `q must be at most ${MAX_QUERY_LENGTH} characters` };
  return { ok: true, text };
}

/** Where an id match leads, on the pages (`/…`) or the JSON API (`/api/…`). */
export function idHref(match: IdMatch, api: boolean): string {
  const base = api ? '/api' : '';
  const e = encodeURIComponent;
  switch (match.kind) {
    case 'event':
      return `${base}/events/${e(match.app)}/${e(match.id)}`;
    case 'group':
      return `${base}/errors/${e(match.id)}?app=${e(match.app)}`;
    default:
      return `${base}/timeline?${match.kind}=${e(match.id)}`;
  }
}

/**
 * The one place a query jumps to, or undefined for free text: the first match in ID_PRIORITY
 * order; a 32-hex query nothing matched still opens its trace's timeline (server lines may carry it).
 */
export function jumpTarget(text: string, matches: readonly IdMatch[]): IdMatch | undefined {
  for (const kind of ID_PRIORITY) {
    const hit = matches.find((m) => m.kind === kind);
    if (hit !== undefined) return hit;
  }
  if (TRACE_ID.test(text)) return { kind: 'trace', app: '', id: text };
  return undefined;
}

/** Sorts id matches the way findIds promises (both stores return them through this). */
export function orderIdMatches(matches: IdMatch[]): IdMatch[] {
  const rank = (m: IdMatch) => ID_PRIORITY.indexOf(m.kind);
  return matches
    .sort((a, b) => rank(a) - rank(b) || (a.app < b.app ? -1 : a.app > b.app ? 1 : 0))
    .slice(0, SEARCH_LIMITS.idMatches);
}

export const isEmptyResults = (r: SearchResults): boolean =>
  r.errors.length + r.features.length + r.asserts.length + r.blocked.length === 0;
