import { EVENT_KINDS, LIMITS, errorBody, type ErrorBody, type EventKind } from '@telltale/protocol';
import type { FastifyError } from 'fastify';
import { LIST_LIMITS } from '../store.js';
import { cursorSchema } from './pagination.js';

/** Request schemas shared by the JSON API and the HTML pages, so both refuse the same input. */

const limit = { type: 'integer', minimum: 1, maximum: LIST_LIMITS.maxLimit } as const;
const shortId = { type: 'string', maxLength: LIMITS.maxIdLength } as const;
/** Every list takes a limit and one cursor: `before` (next, older page) or `after` (previous, newer). */
const pageProperties = { limit, before: cursorSchema, after: cursorSchema } as const;

export const pageQuerySchema = { type: 'object', properties: pageProperties } as const;

export interface PageQuerystring {
  limit?: number;
  before?: string;
  after?: string;
}

/** The empty string means "any": a plain HTML form submits `kind=` for its "all" choice. */
export const eventsQuerySchema = {
  type: 'object',
  properties: { kind: { type: 'string', enum: [...EVENT_KINDS, ''] }, session: shortId, ...pageProperties },
} as const;

export interface EventsQuery extends PageQuerystring {
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
    cursor: cursorSchema,
    ...pageProperties,
  },
} as const;

export interface TimelineQuerystring extends PageQuerystring {
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

export const logsQuerySchema = {
  type: 'object',
  properties: {
    app: shortId,
    service: shortId,
    level: { type: 'string', enum: [...SERVER_LOG_LEVELS, ''] },
    // Capped: the search is a substring test whose cost grows with the needle.
    text: { type: 'string', maxLength: 200 },
    trace: shortId,
    request: shortId,
    session: shortId,
    from: epochMs,
    to: epochMs,
    ...pageProperties,
  },
} as const;

export interface LogsQuerystring extends PageQuerystring {
  app?: string;
  service?: string;
  level?: (typeof SERVER_LOG_LEVELS)[number] | '';
  text?: string;
  trace?: string;
  request?: string;
  session?: string;
  from?: number;
  to?: number;
}

/** `unresolved` = new, ongoing and regression. */
export const STATUS_FILTERS = ['new', 'ongoing', 'regression', 'resolved', 'ignored', 'unresolved'] as const;
export type StatusFilter = (typeof STATUS_FILTERS)[number];

export const errorsQuerySchema = {
  type: 'object',
  properties: {
    app: shortId,
    status: { type: 'string', enum: [...STATUS_FILTERS, ''] },
    ...pageProperties,
  },
} as const;

export interface ErrorsQuery extends PageQuerystring {
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

export const errorQuerySchema = { type: 'object', properties: { app: shortId } } as const;

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
