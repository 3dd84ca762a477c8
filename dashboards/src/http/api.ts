import { errorBody } from '@telltale/protocol';
import type { FastifyError, FastifyInstance } from 'fastify';
import { newestFirst } from '../alerts.js';
import { loadErrorDetail, loadErrorGroups } from '../error-detail.js';
import type { DashboardsPluginOptions } from '../plugin.js';
import { issueApiRoutes } from './issue-actions.js';
import {
  blankToUndefined,
  errorParamsSchema,
  errorQuerySchema,
  errorsQuerySchema,
  eventParamsSchema,
  eventsQuerySchema,
  invalidQueryBody,
  type ErrorsQuery,
  type EventsQuery,
} from './schemas.js';

/** The JSON API under /api: the same data as the pages, for scripts and other tools. */
export async function apiRoutes(app: FastifyInstance, options: DashboardsPluginOptions): Promise<void> {
  const { store, listAlerts, issues } = options;

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation !== undefined) return reply.code(400).send(invalidQueryBody(error));
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
      const groups = await loadErrorGroups(
        store,
        issues,
        {
          app: blankToUndefined(request.query.app),
          limit: request.query.limit,
          status: blankToUndefined(request.query.status),
        },
        Date.now(),
      );
      return { groups };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { app?: string } }>(
    '/api/errors/:id',
    { schema: { params: errorParamsSchema, querystring: errorQuerySchema } },
    async (request, reply) => {
      const detail = await loadErrorDetail(
        store,
        issues,
        request.params.id,
        blankToUndefined(request.query.app),
        Date.now(),
      );
      if (detail === undefined) {
        return reply
          .code(404)
          .send(
            errorBody('TELLTALE_ERR_NOT_FOUND', { message: `no error group with id ${request.params.id}` }),
          );
      }
      return detail;
    },
  );

  app.get('/api/features', async () => ({ features: await store.featureUsage() }));
  app.get('/api/asserts', async () => ({ asserts: await store.assertFailures() }));
  app.get('/api/blocked', async () => ({ blocked: await store.blockedEvents() }));

  app.get<{ Querystring: EventsQuery }>(
    '/api/events',
    { schema: { querystring: eventsQuerySchema } },
    async (request) => {
      const { kind, session, limit } = request.query;
      return {
        events: await store.listEvents({
          kind: blankToUndefined(kind),
          session: blankToUndefined(session),
          limit,
        }),
      };
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

  app.get('/api/alerts', async () => ({ alerts: newestFirst(await listAlerts()) }));

  if (issues !== undefined) await issueApiRoutes(app, { store, issues });
}
