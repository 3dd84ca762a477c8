import { errorBody } from '@telltale/protocol';
import type { FastifyError, FastifyInstance } from 'fastify';
import { loadErrorGroups, loadFilteredErrorDetail } from '../error-detail.js';
import type { DashboardsPluginOptions } from '../plugin.js';
import { SORT_KEYS } from '../store.js';
import { loadServerLogs, loadTimeline, TIMELINE_FILTERS, timelineFilters } from '../timeline.js';
import { readHealth } from './health.js';
import { failingParts } from './health-types.js';
import { issueApiRoutes } from './issue-actions.js';
import { seriesApiRoutes } from './series-api.js';
import { InvalidCursorError, loadPage, type Page } from './pagination.js';
import { loadAlerts, loadUsageList } from './lists.js';
import {
  blankToUndefined,
  errorParamsSchema,
  errorQuerySchema,
  errorsQuerySchema,
  filterOptionsQuerySchema,
  eventParamsSchema,
  eventsQuerySchema,
  InvalidFilterError,
  invalidQueryBody,
  listQuerySchema,
  logsQuerySchema,
  pageQuerySchema,
  requestFilter,
  searchQuerySchema,
  timelineQuerySchema,
  type ErrorQuerystring,
  type ErrorsQuery,
  type FilterOptionsQuerystring,
  type EventsQuery,
  type ListQuerystring,
  type LogsQuerystring,
  type PageQuerystring,
  type SearchQuerystring,
  type TimelineQuerystring,
} from './schemas.js';
import { runSearch } from './search-route.js';

/** `{ <name>: [...], next, prev }`: the list under its usual name, and the cursors of the pages beside it. */
function listBody<T>(name: string, page: Page<T>): Record<string, unknown> {
  return { [name]: page.items, next: page.next, prev: page.prev };
}

/** The JSON API under /api: the same data as the pages, for scripts and other tools. */
export async function apiRoutes(app: FastifyInstance, options: DashboardsPluginOptions): Promise<void> {
  const { store, listAlerts, issues } = options;

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation !== undefined) return reply.code(400).send(invalidQueryBody(error));
    if (error instanceof InvalidCursorError)
      return reply
        .code(400)
        .send(errorBody('TELLTALE_ERR_INVALID_QUERY', { message: error.message, field: error.field }));
    if (error instanceof InvalidFilterError)
      return reply
        .code(400)
        .send(errorBody('TELLTALE_ERR_INVALID_QUERY', { message: error.message, field: error.field }));
    // Anything else is ours (store down, bug): log it and let fastify answer 500.
    request.log.error({ err: error }, 'dashboards api request failed');
    throw error;
  });
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
  });

  app.get<{ Querystring: ErrorsQuery }>(
    '/api/errors',
    { schema: { querystring: errorsQuerySchema } },
    async (request) => {
      const { status, limit, before, after } = request.query;
      const filter = requestFilter(request.query);
      const groups = await loadErrorGroups(
        store,
        issues,
        { filter, status: blankToUndefined(status), limit, before, after },
        Date.now(),
      );
      return listBody('groups', groups);
    },
  );

  // One group, narrowed by the list's filter: its counts, releases and samples are those in it.
  app.get<{ Params: { id: string }; Querystring: ErrorQuerystring }>(
    '/api/errors/:id',
    { schema: { params: errorParamsSchema, querystring: errorQuerySchema } },
    async (request, reply) => {
      const filter = requestFilter(request.query);
      const { id } = request.params;
      const found = await loadFilteredErrorDetail(store, issues, id, filter, Date.now());
      if ('detail' in found) return found.detail;
      const message =
        found.missing === 'filtered-out'
          ? `no event of error group ${id} matches the filter`
          : `no error group with id ${id}`;
      return reply.code(404).send(errorBody('TELLTALE_ERR_NOT_FOUND', { message }));
    },
  );

  const paged = { schema: { querystring: pageQuerySchema } };
  const listed = { schema: { querystring: listQuerySchema } };
  app.get<{ Querystring: ListQuerystring }>('/api/features', listed, async (request) => {
    const { list } = await loadUsageList(store, 'features', request.query);
    return listBody('features', list);
  });
  app.get<{ Querystring: ListQuerystring }>('/api/asserts', listed, async (request) => {
    const { list } = await loadUsageList(store, 'asserts', request.query);
    return listBody('asserts', list);
  });
  app.get<{ Querystring: ListQuerystring }>('/api/blocked', listed, async (request) => {
    const { list } = await loadUsageList(store, 'blocked', request.query);
    return listBody('blocked', list);
  });

  app.get<{ Querystring: EventsQuery }>(
    '/api/events',
    { schema: { querystring: eventsQuerySchema } },
    async (request) => {
      const { kind, session } = request.query;
      const filter = requestFilter(request.query);
      const events = await loadPage(
        'events',
        request.query,
        (q) =>
          store.listEvents({
            ...q,
            kind: blankToUndefined(kind),
            session: blankToUndefined(session),
            filter,
          }),
        SORT_KEYS.events,
      );
      return listBody('events', events);
    },
  );

  app.get<{ Params: { app: string; id: string } }>(
    '/api/events/:app/:id',
    { schema: { params: eventParamsSchema } },
    async (request, reply) => {
      const event = await store.eventById(request.params.app, request.params.id);
      if (event === undefined) {
        const message = `no event with id ${request.params.id} in app ${request.params.app}`;
        return reply.code(404).send(errorBody('TELLTALE_ERR_NOT_FOUND', { message }));
      }
      return { event };
    },
  );

  app.get('/api/stats', async () => ({ events: await store.eventCounts() }));

  app.get<{ Querystring: TimelineQuerystring }>(
    '/api/timeline',
    { schema: { querystring: timelineQuerySchema } },
    async (request, reply) => {
      const filters = timelineFilters(request.query);
      if (filters === undefined)
        return reply.code(400).send(
          errorBody('TELLTALE_ERR_INVALID_QUERY', {
            message: `a timeline needs one of ${TIMELINE_FILTERS.join(', ')}`,
            field: 'trace',
          }),
        );
      return listBody('items', await loadTimeline(store, request.query, filters));
    },
  );

  app.get<{ Querystring: LogsQuerystring }>(
    '/api/logs',
    { schema: { querystring: logsQuerySchema } },
    async (request) => listBody('logs', await loadServerLogs(store, request.query)),
  );

  // The filter bar's choices: distinct values of each field in the time range, of the events or
  // (source=logs, the /logs page's bar) of the server log lines.
  app.get<{ Querystring: FilterOptionsQuerystring }>(
    '/api/filter-options',
    { schema: { querystring: filterOptionsQuerySchema } },
    async (request) => ({
      options: await store.filterOptions(
        requestFilter(request.query),
        request.query.source === 'logs' ? 'logs' : 'events',
      ),
    }),
  );

  // An exact id answers 303 to its JSON (event, timeline, group); other text the hits by kind.
  app.get<{ Querystring: SearchQuerystring }>(
    '/api/search',
    { schema: { querystring: searchQuerySchema } },
    async (request, reply) => {
      const found = await runSearch(store, request.query, true);
      if (found.jump !== undefined) return reply.redirect(found.jump, 303);
      return { query: found.text, results: found.results };
    },
  );

  app.get<{ Querystring: PageQuerystring }>('/api/alerts', paged, async (request) => {
    const alerts = await loadAlerts(listAlerts, request.query);
    return listBody('alerts', alerts);
  });

  // The /health page's figures, and what fails long enough for the banner.
  app.get('/api/health', async (request, reply) => {
    const health = await readHealth(options, request);
    if (health === undefined)
      return reply.code(404).send(
        errorBody('TELLTALE_ERR_NOT_FOUND', {
          message:
            options.health === undefined
              ? 'this process runs without the dispatchers: their ops port serves /metrics and /readyz'
              : 'the pipeline figures could not be read; see the server log',
        }),
      );
    return { ...health, failing: failingParts(health, options.healthBannerAfterMs) };
  });

  await seriesApiRoutes(app, options);
  if (issues !== undefined) await issueApiRoutes(app, { store, issues });
}
