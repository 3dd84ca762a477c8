import { EVENT_KINDS, LIMITS, errorBody, type ErrorBody, type EventKind } from '@telltale/protocol';
import type { FastifyError } from 'fastify';
import { LIST_LIMITS } from '../store.js';

/** Request schemas shared by the JSON API and the HTML pages, so both refuse the same input. */

const limit = { type: 'integer', minimum: 1, maximum: LIST_LIMITS.maxLimit } as const;
const shortId = { type: 'string', maxLength: LIMITS.maxIdLength } as const;

/** The empty string means "any": a plain HTML form submits `kind=` for its "all" choice. */
export const eventsQuerySchema = {
  type: 'object',
  properties: { kind: { type: 'string', enum: [...EVENT_KINDS, ''] }, session: shortId, limit },
} as const;

export interface EventsQuery {
  kind?: EventKind | '';
  session?: string;
  limit?: number;
}

/** `unresolved` = new, ongoing and regression. */
export const STATUS_FILTERS = ['new', 'ongoing', 'regression', 'resolved', 'ignored', 'unresolved'] as const;
export type StatusFilter = (typeof STATUS_FILTERS)[number];

export const errorsQuerySchema = {
  type: 'object',
  properties: { app: shortId, limit, status: { type: 'string', enum: [...STATUS_FILTERS, ''] } },
} as const;

export interface ErrorsQuery {
  app?: string;
  limit?: number;
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
