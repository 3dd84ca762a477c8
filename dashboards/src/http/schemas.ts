import { EVENT_KINDS, LIMITS, errorBody, type ErrorBody, type EventKind } from '@telltale/protocol';
import type { Static } from '@sinclair/typebox';
import type { FastifyError } from 'fastify';
import { FilterQuerySchema, filterFromQuery, type EventFilter, type FilterQuery } from '../filter.js';
import { LIST_LIMITS } from '../store.js';
import { cursorSchema } from './pagination.js';

/** Request schemas shared by the JSON API and the HTML pages, so both refuse the same input. */

const limit = { type: 'integer', minimum: 1, maximum: LIST_LIMITS.maxLimit } as const;
const shortId = { type: 'string', maxLength: LIMITS.maxIdLength } as const;
/** Every list takes a limit and one cursor: `before` (next, older page) or `after` (previous, newer). */
const pageProperties = { limit, before: cursorSchema, after: cursorSchema } as const;

export const pageQuerySchema = { type: 'object', properties: pageProperties } as const;

/** The filter bar's parameters (filter.ts): range, from, to, app, release, environment, browser, os, path. */
const filterProperties = FilterQuerySchema.properties;

/** Features, asserts, blocked: a page and the filter. */
export const listQuerySchema = {
  type: 'object',
  properties: { ...filterProperties, ...pageProperties },
} as const;

/** The filter bar's parameters as fastify hands them over: the type of FilterQuerySchema. */
export type FilterQuerystring = Static<typeof FilterQuerySchema>;

export type ListQuerystring = PageQuerystring & FilterQuerystring;

/** A filter the schema let through but filterFromQuery refused (a date that does not exist, to before from). */
export class InvalidFilterError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** The request's filter; throws InvalidFilterError (answered 400 naming the field) when it is not one. */
export function requestFilter(query: object, now: number = Date.now()): EventFilter {
  const result = filterFromQuery(query as FilterQuery, now);
  if (!result.ok) throw new InvalidFilterError(result.field, result.message);
  return result.filter;
}

/** The filter bar's choices: the filter (only its time range narrows them) and where they are read. */
export const filterOptionsQuerySchema = {
  type: 'object',
  properties: { ...filterProperties, source: { type: 'string', enum: ['events', 'logs', ''] } },
} as const;

export interface FilterOptionsQuerystring extends FilterQuerystring {
  source?: 'events' | 'logs' | '';
}

/** `q` of the search routes, with the filter beside it. */
export const searchQuerySchema = {
  type: 'object',
  properties: { q: { type: 'string', maxLength: 800 }, ...filterProperties },
} as const;

export interface SearchQuerystring extends FilterQuerystring {
  q?: string;
}

export interface PageQuerystring {
  limit?: number;
  before?: string;
  after?: string;
}

/** The empty string means "any": a plain HTML form submits `kind=` for its "all" choice. */
export const eventsQuerySchema = {
  type: 'object',
  properties: {
    ...filterProperties,
    kind: { type: 'string', enum: [...EVENT_KINDS, ''] },
    session: shortId,
    ...pageProperties,
  },
} as const;

export interface EventsQuery extends ListQuerystring {
  kind?: EventKind | '';
  session?: string;
}

const epochMs = { type: 'integer', minimum: 0 } as const;

/** `cursor` is the `next` of a timeline page (the same as `before`). */
export const timelineQuerySchema = {
  type: 'object',
  properties: {
    app: shortId,
    trace: shortId,
    session: shortId,
    user: shortId,
    request: shortId,
    from: epochMs,
    to: epochMs,
    // A named range (1h, 24h, 7d, 30d) instead of from/to: the timeline takes the time range only.
    range: filterProperties.range,
    cursor: cursorSchema,
    ...pageProperties,
  },
} as const;

export interface TimelineQuerystring extends PageQuerystring {
  range?: string;
  app?: string;
  trace?: string;
  session?: string;
  user?: string;
  request?: string;
  from?: number;
  to?: number;
  cursor?: string;
}

export const SERVER_LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'fatal'] as const;

/**
 * The server-log list: its own fields, and the filter bar's part a log line has (filter.ts: range,
 * from, to, app, release, environment; server lines have no browser, OS or URL).
 */
export const logsQuerySchema = {
  type: 'object',
  properties: {
    range: filterProperties.range,
    from: filterProperties.from,
    to: filterProperties.to,
    app: filterProperties.app,
    release: filterProperties.release,
    environment: filterProperties.environment,
    service: shortId,
    level: { type: 'string', enum: [...SERVER_LOG_LEVELS, ''] },
    // Capped: the search is a substring test whose cost grows with the needle.
    text: { type: 'string', maxLength: 200 },
    trace: shortId,
    request: shortId,
    session: shortId,
    ...pageProperties,
  },
} as const;

export interface LogsQuerystring
  extends
    PageQuerystring,
    Pick<FilterQuerystring, 'range' | 'from' | 'to' | 'app' | 'release' | 'environment'> {
  service?: string;
  level?: (typeof SERVER_LOG_LEVELS)[number] | '';
  text?: string;
  trace?: string;
  request?: string;
  session?: string;
}

/** `unresolved` = new, ongoing and regression. */
export const STATUS_FILTERS = ['new', 'ongoing', 'regression', 'resolved', 'ignored', 'unresolved'] as const;
export type StatusFilter = (typeof STATUS_FILTERS)[number];

export const errorsQuerySchema = {
  type: 'object',
  properties: {
    ...filterProperties,
    app: shortId,
    status: { type: 'string', enum: [...STATUS_FILTERS, ''] },
    ...pageProperties,
  },
} as const;

export interface ErrorsQuery extends ListQuerystring {
  app?: string;
  status?: StatusFilter | '';
}

/** Resolve, ignore or reopen a group; `release` only with resolve ("fixed in"). */
export interface GroupActionBody {
  app?: string;
  release?: string;
}

export const GROUP_ACTIONS = ['resolve', 'ignore', 'reopen'] as const;
export type GroupAction = (typeof GROUP_ACTIONS)[number];

export const groupActionParamsSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', minLength: 1, maxLength: LIMITS.maxIdLength },
    action: { type: 'string', enum: [...GROUP_ACTIONS] },
  },
  required: ['id', 'action'],
} as const;

export const ruleParamsSchema = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
  required: ['id'],
} as const;

export const errorParamsSchema = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1, maxLength: LIMITS.maxIdLength } },
  required: ['id'],
} as const;

/** One error group (page, JSON, status change): the list's filter, `app` picking the group's app too. */
export const errorQuerySchema = {
  type: 'object',
  properties: { ...filterProperties, app: shortId },
} as const;

export type ErrorQuerystring = FilterQuerystring;

export const eventParamsSchema = {
  type: 'object',
  properties: {
    app: { type: 'string', minLength: 1, maxLength: LIMITS.maxIdLength },
    id: { type: 'string', minLength: 1, maxLength: LIMITS.maxIdLength },
  },
  required: ['app', 'id'],
} as const;

/** Empty filter values mean "no filter". */
export function blankToUndefined<T extends string>(value: T | '' | undefined): T | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** Names the offending field of a fastify/ajv validation error, e.g. `limit` for `/limit`. */
export function invalidQueryBody(error: FastifyError): ErrorBody {
  const first = error.validation?.[0];
  const missing = first?.params['missingProperty'];
  const path = first?.instancePath.replace(/^\//, '').replace(/\//g, '.') ?? '';
  const field = typeof missing === 'string' ? missing : path;
  return errorBody('TELLTALE_ERR_INVALID_QUERY', { message: error.message, field });
}
