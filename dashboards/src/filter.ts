import { Type } from '@sinclair/typebox';
import { LIMITS } from '@telltale/protocol';

/**
 * The filter every dashboard list, chart and API route takes: a time range on the event's own
 * clock (`ts`) and exact values of the event's app, release, environment, browser and OS, plus a
 * URL path. One parser for the JSON API and the HTML pages (`filterFromQuery`), one writer for
 * links (`filterToQuery`), and the SQL of both stores in stores/filter-sql.ts.
 *
 * - `from` / `to`: epoch milliseconds, the half-open range [from, to) of the event's `ts`.
 * - `path`: the event's URL path (the SDK stores `location.pathname`) equals `path` or lies under
 *   it: `/checkout` matches `/checkout` and `/checkout/pay`, never `/checkouts`; `/` matches all.
 * - A named range (`1h`, `24h`, `7d`, `30d`) ends now and stays a name in the URL, so a shared
 *   link shows the last 24 hours whenever it is opened; `custom` takes `from` and/or `to`.
 */
export interface EventFilter {
  /** How the range was chosen: a name moves with time; `custom` is fixed from/to. Absent: all time. */
  range?: RangeName;
  from?: number;
  to?: number;
  app?: string;
  release?: string;
  environment?: string;
  browser?: string;
  os?: string;
  path?: string;
}

export const RANGE_NAMES = ['1h', '24h', '7d', '30d', 'custom'] as const;
export type RangeName = (typeof RANGE_NAMES)[number];
export type NamedRange = Exclude<RangeName, 'custom'>;

const HOUR = 3_600_000;
/** The span of each named range, ending now. */
export const RANGE_MS: Readonly<Record<NamedRange, number>> = Object.freeze({
  '1h': HOUR,
  '24h': 24 * HOUR,
  '7d': 7 * 24 * HOUR,
  '30d': 30 * 24 * HOUR,
});

/** How the filter bar names each range; `all` is no time bound (from/to ignored, like an absent range). */
export const RANGE_LABELS: ReadonlyArray<readonly [RangeName | 'all', string]> = [
  ['all', 'All time'],
  ['1h', 'Last hour'],
  ['24h', 'Last 24 hours'],
  ['7d', 'Last 7 days'],
  ['30d', 'Last 30 days'],
  ['custom', 'Custom (UTC)'],
];

/** The exact-value fields besides time, in the order the filter bar shows them. */
export const FILTER_FIELDS = ['app', 'release', 'environment', 'browser', 'os', 'path'] as const;
export type FilterField = (typeof FILTER_FIELDS)[number];
/** Every query parameter the filter reads. */
export const FILTER_PARAMS = ['range', 'from', 'to', ...FILTER_FIELDS] as const;

export const FILTER_LIMITS = Object.freeze({
  /** app, release, environment, browser, os: ids on the wire are at most this long. */
  maxValueLength: LIMITS.maxIdLength,
  maxPathLength: 1024,
  /** `from` / `to`: epoch ms or an ISO 8601 UTC time, never longer than this. */
  maxTimeLength: 32,
  /** The latest time a JavaScript Date can hold. */
  maxEpochMs: 8_640_000_000_000_000,
});

export type FilterResult = { ok: true; filter: EventFilter } | { ok: false; field: string; message: string };

/** The querystring part of the HTTP schemas (fastify validates it first; filterFromQuery checks the rest). */
export const FilterQuerySchema = Type.Object({
  // Checked by filterFromQuery, whose 400 lists the names (an enum here would only say "anyOf").
  range: Type.Optional(Type.String({ maxLength: 16 })),
  from: Type.Optional(Type.String({ maxLength: FILTER_LIMITS.maxTimeLength })),
  to: Type.Optional(Type.String({ maxLength: FILTER_LIMITS.maxTimeLength })),
  app: Type.Optional(Type.String({ maxLength: FILTER_LIMITS.maxValueLength })),
  release: Type.Optional(Type.String({ maxLength: FILTER_LIMITS.maxValueLength })),
  environment: Type.Optional(Type.String({ maxLength: FILTER_LIMITS.maxValueLength })),
  browser: Type.Optional(Type.String({ maxLength: FILTER_LIMITS.maxValueLength })),
  os: Type.Optional(Type.String({ maxLength: FILTER_LIMITS.maxValueLength })),
  path: Type.Optional(Type.String({ maxLength: FILTER_LIMITS.maxPathLength })),
});

/** What the filter reads of a parsed querystring (fastify's `request.query`, a URLSearchParams' entries). */
export type FilterQuery = Readonly<Record<string, unknown>>;

const EPOCH_MS = /^\d{1,16}$/;
// Bounded and anchored, applied to at most maxTimeLength characters: linear.
const ISO_UTC = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?Z?$/;

/**
 * Reads the filter from a querystring. Empty values mean "no filter" (a plain form submits every
 * field). `now` ends the named ranges. Times are epoch ms or ISO 8601 in UTC (`2026-12-01`,
 * `2026-12-01T09:30`, what a datetime-local input sends, read as UTC). With a named range, `from`
 * and `to` are ignored, and with `range=all` (no bound); `from` / `to` without a range mean `custom`.
 */
export function filterFromQuery(query: FilterQuery, now: number): FilterResult {
  const filter: EventFilter = {};
  const values: Partial<Record<(typeof FILTER_PARAMS)[number], string>> = {};
  for (const name of FILTER_PARAMS) {
    const raw = query[name];
    if (raw === undefined || raw === null) continue;
    if (typeof raw !== 'string' && typeof raw !== 'number') return fail(name, 'must be given once, as text');
    const text = String(raw);
    const max = limitOf(name);
    if (text.length > max) return fail(name, `must be at most ${max} characters`);
    if (text !== '') values[name] = text;
  }
  for (const name of FILTER_FIELDS) {
    const value = values[name];
    if (value === undefined) continue;
    if (name === 'path' && !value.startsWith('/')) return fail('path', 'must start with / (a URL path)');
    filter[name] = value;
  }
  const range = values.range;
  // The filter bar's "All time": any from/to left in the form's custom fields do not count.
  if (range === 'all') return { ok: true, filter };
  if (range !== undefined && range !== 'custom') {
    if (!isNamedRange(range))
      return fail('range', `must be one of ${RANGE_NAMES.join(', ')}, all (or empty)`);
    return { ok: true, filter: { ...filter, range, from: Math.max(0, now - RANGE_MS[range]) } };
  }
  const from = values.from === undefined ? undefined : parseTime(values.from);
  if (from === null) return fail('from', TIME_FORMAT);
  const to = values.to === undefined ? undefined : parseTime(values.to);
  if (to === null) return fail('to', TIME_FORMAT);
  if (from === undefined && to === undefined) {
    if (range === 'custom') return fail('from', 'range=custom needs from and/or to');
    return { ok: true, filter };
  }
  if (from !== undefined && to !== undefined && to <= from) return fail('to', 'must be later than from');
  return {
    ok: true,
    filter: {
      ...filter,
      range: 'custom',
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
    },
  };
}

/**
 * The filter as query parameters, for links: a named range stays a name (`range=24h`), a custom
 * one is its `from` / `to` in epoch ms. Unset fields are left out.
 */
export function filterToQuery(filter: EventFilter): Record<string, string> {
  const out: Record<string, string> = {};
  if (filter.range !== undefined && filter.range !== 'custom') out['range'] = filter.range;
  else if (filter.from !== undefined || filter.to !== undefined) {
    out['range'] = 'custom';
    if (filter.from !== undefined) out['from'] = String(filter.from);
    if (filter.to !== undefined) out['to'] = String(filter.to);
  }
  for (const name of FILTER_FIELDS) {
    const value = filter[name];
    if (value !== undefined && value !== '') out[name] = value;
  }
  return out;
}

/** `path` with the filter and `extra` parameters (e.g. a cursor) as its querystring. */
export function filterHref(
  path: string,
  filter: EventFilter,
  extra: Record<string, string | undefined> = {},
): string {
  const params = new URLSearchParams(filterToQuery(filter));
  for (const [name, value] of Object.entries(extra))
    if (value !== undefined && value !== '') params.set(name, value);
  const text = params.toString();
  return text === '' ? path : `${path}?${text}`;
}

/** True when the filter narrows anything. */
export function isFiltered(filter: EventFilter): boolean {
  return (
    filter.from !== undefined ||
    filter.to !== undefined ||
    FILTER_FIELDS.some((name) => filter[name] !== undefined && filter[name] !== '')
  );
}

/** Only the time range, for the lists that take nothing else (the timeline). */
export function timeOnly(filter: EventFilter): EventFilter {
  const out: EventFilter = {};
  if (filter.range !== undefined) out.range = filter.range;
  if (filter.from !== undefined) out.from = filter.from;
  if (filter.to !== undefined) out.to = filter.to;
  return out;
}

const TIME_FORMAT = 'must be epoch milliseconds or an ISO 8601 UTC time (2026-12-01 or 2026-12-01T09:30)';

function limitOf(name: (typeof FILTER_PARAMS)[number]): number {
  if (name === 'from' || name === 'to') return FILTER_LIMITS.maxTimeLength;
  if (name === 'path') return FILTER_LIMITS.maxPathLength;
  return FILTER_LIMITS.maxValueLength;
}

function isNamedRange(value: string): value is NamedRange {
  return Object.prototype.hasOwnProperty.call(RANGE_MS, value);
}

/** Epoch ms of a querystring time; null when it is not one. */
function parseTime(text: string): number | null {
  if (EPOCH_MS.test(text)) {
    const ms = Number(text);
    return ms <= FILTER_LIMITS.maxEpochMs ? ms : null;
  }
  const m = ISO_UTC.exec(text);
  if (m === null) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((part) => Number(part ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const millis = Number((m[7] ?? '0').padEnd(3, '0'));
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return null;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC rolls 2026-02-31 over into March: a date that does not exist is refused.
  if (new Date(ms).getUTCDate() !== day) return null;
  return ms;
}

function fail(field: string, message: string): FilterResult {
  return { ok: false, field, message: `${field} ${message}` };
}
