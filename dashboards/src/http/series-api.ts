import { errorBody } from '@telltale/protocol';
import type { FastifyInstance } from 'fastify';
import { loadErrorGroups } from '../error-detail.js';
import { FilterQuerySchema, type EventFilter } from '../filter.js';
import type { DashboardsPluginOptions } from '../plugin.js';
import {
  DEFAULT_SPAN_MS,
  seriesFilterOf,
  withRegression,
  type ErrorGroupSeries,
  type SeriesFilter,
} from '../series.js';
import type { DashboardStore } from '../store.js';
import type { IssueServices } from '../issues.js';
import {
  blankToUndefined,
  errorParamsSchema,
  errorsQuerySchema,
  requestFilter,
  type ErrorsQuery,
} from './schemas.js';

/**
 * The charts' series as JSON under /api/series (the same numbers the pages draw), behind the same
 * access control as every /api route. Every route takes the lists' filter (filter.ts; a bad one is a
 * 400 naming the field, from the API's error handler); without a start the errors list looks back a day and the other charts 30 days.
 */

const seriesQuerySchema = {
  type: 'object',
  properties: { ...FilterQuerySchema.properties, ...errorsQuerySchema.properties },
} as const;

type SeriesQuery = Record<string, string | number | undefined>;

/** One group's series with its regression marker; the page and the API read it alike. */
export async function loadErrorGroupSeries(
  store: DashboardStore,
  issues: IssueServices | undefined,
  app: string,
  fingerprint: string,
  filter: SeriesFilter,
): Promise<ErrorGroupSeries> {
  const [series, state] = await Promise.all([
    store.errorGroupSeries(app, fingerprint, filter),
    issues?.groupState(app, fingerprint),
  ]);
  return withRegression(series, state);
}

export async function seriesApiRoutes(app: FastifyInstance, options: DashboardsPluginOptions): Promise<void> {
  const { store, issues } = options;
  const schema = { schema: { querystring: seriesQuerySchema } };

  // Sparklines of the groups on the same page of /api/errors (same status, limit and cursors).
  app.get<{ Querystring: SeriesQuery }>('/api/series/errors', schema, async (request) => {
    const filter = requestFilter(request.query);
    const { status, limit, before, after } = request.query as ErrorsQuery;
    const groups = await loadErrorGroups(
      store,
      issues,
      { filter, status: blankToUndefined(status), limit, before, after },
      Date.now(),
    );
    return store.errorSparklines(groups.items, seriesFilterOf(filter, Date.now(), DEFAULT_SPAN_MS.list));
  });

  app.get<{ Params: { id: string }; Querystring: SeriesQuery }>(
    '/api/series/errors/:id',
    { schema: { params: errorParamsSchema, querystring: seriesQuerySchema } },
    async (request, reply) => {
      const filter = requestFilter(request.query);
      const detail = await store.errorGroup(request.params.id, filter.app);
      if (detail === undefined)
        return reply
          .code(404)
          .send(
            errorBody('TELLTALE_ERR_NOT_FOUND', { message: `no error group with id ${request.params.id}` }),
          );
      const range = seriesFilterOf(filter, Date.now(), DEFAULT_SPAN_MS.detail);
      return loadErrorGroupSeries(store, issues, detail.group.app, detail.group.fingerprint, range);
    },
  );

  const range = (filter: EventFilter) => seriesFilterOf(filter, Date.now(), DEFAULT_SPAN_MS.detail);
  app.get<{ Querystring: SeriesQuery }>('/api/series/features', schema, async (request) =>
    store.featureSeries(range(requestFilter(request.query))),
  );
  app.get<{ Querystring: SeriesQuery }>('/api/series/asserts', schema, async (request) =>
    store.assertSeries(range(requestFilter(request.query))),
  );
  app.get<{ Querystring: SeriesQuery }>('/api/series/blocked', schema, async (request) =>
    store.blockedSeries(range(requestFilter(request.query))),
  );
}
