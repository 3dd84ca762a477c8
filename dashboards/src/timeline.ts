import { SORT_KEYS, type DashboardStore, type ServerLogLine, type TimelineItem } from './store.js';
import type { EventFilter } from './filter.js';
import { loadPage, type Page } from './http/pagination.js';
import {
  blankToUndefined,
  requestFilter,
  type LogsQuerystring,
  type TimelineQuerystring,
} from './http/schemas.js';

/** The ids a timeline can join on; one at least must be given. */
export const TIMELINE_FILTERS = ['trace', 'session', 'user', 'request'] as const;

/** The store query of a timeline request, or undefined when it names none of TIMELINE_FILTERS. */
export function timelineFilters(query: TimelineQuerystring, now: number = Date.now()) {
  // A named range (range=24h) starts the timeline that long ago; explicit from/to win.
  const range = requestFilter({ range: query.range === 'custom' ? undefined : query.range }, now);
  const filters = {
    app: blankToUndefined(query.app),
    trace: blankToUndefined(query.trace),
    session: blankToUndefined(query.session),
    user: blankToUndefined(query.user),
    request: blankToUndefined(query.request),
    from: query.from ?? range.from,
    to: query.to,
  };
  return TIMELINE_FILTERS.some((name) => filters[name] !== undefined) ? filters : undefined;
}

/** One page of a timeline, oldest first; `cursor` is the same as `before` (the next page). */
export function loadTimeline(
  store: DashboardStore,
  query: TimelineQuerystring,
  filters: NonNullable<ReturnType<typeof timelineFilters>>,
): Promise<Page<TimelineItem>> {
  const page = { limit: query.limit, before: query.before ?? query.cursor, after: query.after };
  return loadPage('timeline', page, (q) => store.timeline({ ...q, ...filters }), SORT_KEYS.timeline);
}

/** The server-log list's own fields (the filter bar's are `logsFilter`). */
export function logsFilters(query: LogsQuerystring) {
  return {
    service: blankToUndefined(query.service),
    level: blankToUndefined(query.level),
    text: blankToUndefined(query.text),
    trace: blankToUndefined(query.trace),
    request: blankToUndefined(query.request),
    session: blankToUndefined(query.session),
  };
}

/**
 * The filter bar's part of a log query (filter.ts): time range [from, to), app, release and
 * environment; throws InvalidFilterError (a 400 naming the field) like every list.
 */
export function logsFilter(query: LogsQuerystring, now: number = Date.now()): EventFilter {
  const { range, from, to, app, release, environment } = query;
  return requestFilter({ range, from, to, app, release, environment }, now);
}

/** One page of server logs, most recent first. */
export function loadServerLogs(
  store: DashboardStore,
  query: LogsQuerystring,
  filter: EventFilter = logsFilter(query),
): Promise<Page<ServerLogLine>> {
  const { limit, before, after } = query;
  const own = logsFilters(query);
  return loadPage(
    'logs',
    { limit, before, after },
    (q) => store.serverLogs({ ...q, ...own, filter }),
    SORT_KEYS.logs,
  );
}
