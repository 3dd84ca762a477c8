import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { loadErrorGroups, loadFilteredErrorDetail } from '../error-detail.js';
import type { SafeHtml } from '../html.js';
import type { DashboardsPluginOptions } from '../plugin.js';
import { alertEmlPage, alertsPage } from '../views/alerts.js';
import { APPS_PATH, appsPage } from '../views/apps.js';
import { errorGroupPage, errorsPage, filteredOutPage } from '../views/errors.js';
import { eventPage, eventsPage } from '../views/events.js';
import { messagePage, STYLESHEET_PATH } from '../views/layout.js';
import { LIVE_SCRIPT, LIVE_SCRIPT_PATH } from '../views/live.js';
import { THEME_SCRIPT, THEME_SCRIPT_PATH } from '../views/theme.js';
import { RULES_PATH, rulesPage } from '../views/rules.js';
import { logsPage, timelinePage, timelinePager } from '../views/timeline.js';
import {
  loadServerLogs,
  loadTimeline,
  logsFilter,
  logsFilters,
  TIMELINE_FILTERS,
  timelineFilters,
} from '../timeline.js';
import { pager } from '../views/format.js';
import { DASHBOARD_CSS } from '../views/stylesheet.js';
import { SORT_KEYS } from '../store.js';
import { InvalidCursorError, loadPage } from './pagination.js';
import { loadAlerts, loadUsageList } from './lists.js';
import { assertsPage, blockedPage, featuresPage } from '../views/usage.js';
import { applyGroupAction } from './issue-actions.js';
import { DEFAULT_SPAN_MS, seriesFilterOf } from '../series.js';
import { countCharts, errorGroupCharts, featureCharts, sparklineCells } from '../views/chart-panels.js';
import { loadErrorGroupSeries } from './series-api.js';
import { acceptForms, crossSiteReason } from './same-site.js';
import { filterBars } from './filter-bars.js';
import { runSearch } from './search-route.js';
import { filterHref, filterToQuery } from '../filter.js';
import { searchPage } from '../views/search.js';
import {
  blankToUndefined,
  errorParamsSchema,
  errorQuerySchema,
  errorsQuerySchema,
  eventParamsSchema,
  eventsQuerySchema,
  GROUP_ACTIONS,
  InvalidFilterError,
  invalidQueryBody,
  listQuerySchema,
  logsQuerySchema,
  requestFilter,
  searchQuerySchema,
  type ListQuerystring,
  type SearchQuerystring,
  pageQuerySchema,
  ruleParamsSchema,
  timelineQuerySchema,
  type ErrorQuerystring,
  type ErrorsQuery,
  type EventsQuery,
  type GroupAction,
  type LogsQuerystring,
  type PageQuerystring,
  type TimelineQuerystring,
} from './schemas.js';

/** No inline script or style anywhere, so the strictest useful policy holds. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export function sendPage(reply: FastifyReply, body: SafeHtml, status = 200): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
    .header('cache-control', 'no-store')
    .send(body.value);
}

/** The server-rendered UI: one route per page, each a store call and a view. */
export async function pageRoutes(app: FastifyInstance, options: DashboardsPluginOptions): Promise<void> {
  const { store, listAlerts, readAlert, issues } = options;
  const site = options.title ?? 'Telltale';
  const notFound = (reply: FastifyReply, what: string): FastifyReply =>
    sendPage(reply, messagePage(site, 'Not found', what), 404);

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation !== undefined) {
      const { field, message } = invalidQueryBody(error).error;
      return sendPage(
        reply,
        messagePage(site, 'Bad request', `Invalid ${field || 'request'}: ${message}`),
        400,
      );
    }
    if (error instanceof InvalidFilterError)
      return sendPage(
        reply,
        messagePage(site, 'Bad request', `Invalid ${error.field}: ${error.message}`),
        400,
      );
    if (error instanceof InvalidCursorError)
      return sendPage(
        reply,
        messagePage(site, 'Bad request', `Invalid ${error.field}: ${error.message}`),
        400,
      );
    request.log.error({ err: error }, 'dashboards page failed');
    return sendPage(
      reply,
      messagePage(site, 'Something went wrong', 'The page could not be built; see the server log.'),
      500,
    );
  });

  const bars = filterBars(app, store);

  // Exact ids jump (303) to their page; other text lists what matched, by kind.
  app.get<{ Querystring: SearchQuerystring }>(
    '/search',
    { schema: { querystring: searchQuerySchema } },
    async (request, reply) => {
      const found = await runSearch(store, request.query, false);
      if (found.jump !== undefined) return reply.redirect(found.jump, 303);
      return sendPage(reply, searchPage(site, found, Date.now()));
    },
  );

  const { apps } = options;
  if (apps !== undefined)
    app.get(APPS_PATH, async (_request, reply) => sendPage(reply, appsPage(site, apps())));

  app.get(LIVE_SCRIPT_PATH, async (_request, reply) =>
    reply
      .header('content-type', 'text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=300')
      .send(LIVE_SCRIPT),
  );
  app.get(THEME_SCRIPT_PATH, async (_request, reply) =>
    reply
      .header('content-type', 'text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=300')
      .send(THEME_SCRIPT),
  );
  app.get(STYLESHEET_PATH, async (_request, reply) =>
    reply
      .header('content-type', 'text/css; charset=utf-8')
      .header('cache-control', 'public, max-age=300')
      .send(DASHBOARD_CSS),
  );

  app.get<{ Querystring: ErrorsQuery }>(
    '/',
    { schema: { querystring: errorsQuerySchema } },
    async (request, reply) => {
      const { status: statusFilter, limit, before, after } = request.query;
      const status = blankToUndefined(statusFilter);
      const filter = requestFilter(request.query);
      const groups = await loadErrorGroups(
        store,
        issues,
        { status, limit, before, after, filter },
        Date.now(),
      );
      const nav = pager('/', { ...filterToQuery(filter), status, limit: request.query.limit }, groups);
      await bars.show(request, 'errors', filter, { status });
      const sparks = await store.errorSparklines(
        groups.items,
        seriesFilterOf(filter, Date.now(), DEFAULT_SPAN_MS.list),
      );
      return sendPage(
        reply,
        errorsPage(
          site,
          groups.items,
          Date.now(),
          { status, query: filterToQuery(filter) },
          nav,
          sparklineCells(sparks),
        ),
      );
    },
  );

  // The group under the list's filter: counts, chart and samples are those of its events in it.
  app.get<{ Params: { id: string }; Querystring: ErrorQuerystring }>(
    '/errors/:id',
    { schema: { params: errorParamsSchema, querystring: errorQuerySchema } },
    async (request, reply) => {
      const filter = requestFilter(request.query);
      const { id } = request.params;
      const self = `/errors/${encodeURIComponent(id)}`;
      const found = await loadFilteredErrorDetail(store, issues, id, filter, Date.now());
      if (!('detail' in found)) {
        if (found.missing === 'unknown')
          return notFound(reply, 'No error group has this id. It may have expired.');
        await bars.show(request, 'errors', filter, {}, self);
        const all = filterHref(self, filter.app === undefined ? {} : { app: filter.app });
        return sendPage(reply, filteredOutPage(site, all, filterToQuery(filter)));
      }
      const { detail } = found;
      const { app: groupApp, fingerprint } = detail.group;
      await bars.show(request, 'errors', filter, {}, self);
      const range = seriesFilterOf(filter, Date.now(), DEFAULT_SPAN_MS.detail);
      const series = await loadErrorGroupSeries(store, issues, groupApp, fingerprint, range);
      const charts = errorGroupCharts(series);
      return sendPage(
        reply,
        errorGroupPage(site, detail, Date.now(), issues !== undefined, charts, filterToQuery(filter)),
      );
    },
  );

  const paged = { schema: { querystring: pageQuerySchema } };
  const listed = { schema: { querystring: listQuerySchema } };
  app.get<{ Querystring: ListQuerystring }>('/features', listed, async (request, reply) => {
    const { filter, list } = await loadUsageList(store, 'features', request.query);
    const nav = pager('/features', { ...filterToQuery(filter), limit: request.query.limit }, list);
    await bars.show(request, 'features', filter);
    const charts = featureCharts(
      await store.featureSeries(seriesFilterOf(filter, Date.now(), DEFAULT_SPAN_MS.detail)),
    );
    return sendPage(reply, featuresPage(site, list.items, Date.now(), nav, charts));
  });
  app.get<{ Querystring: ListQuerystring }>('/asserts', listed, async (request, reply) => {
    const { filter, list } = await loadUsageList(store, 'asserts', request.query);
    const nav = pager('/asserts', { ...filterToQuery(filter), limit: request.query.limit }, list);
    await bars.show(request, 'asserts', filter);
    const series = await store.assertSeries(seriesFilterOf(filter, Date.now(), DEFAULT_SPAN_MS.detail));
    const charts = countCharts(series, 'chart-asserts', 'Failed asserts by name', 'failures');
    return sendPage(reply, assertsPage(site, list.items, Date.now(), nav, charts));
  });
  app.get<{ Querystring: ListQuerystring }>('/blocked', listed, async (request, reply) => {
    const { filter, list } = await loadUsageList(store, 'blocked', request.query);
    const nav = pager('/blocked', { ...filterToQuery(filter), limit: request.query.limit }, list);
    await bars.show(request, 'blocked', filter);
    const series = await store.blockedSeries(seriesFilterOf(filter, Date.now(), DEFAULT_SPAN_MS.detail));
    const charts = countCharts(series, 'chart-blocked', 'Blocked events by reason', 'blocked');
    return sendPage(reply, blockedPage(site, list.items, Date.now(), nav, charts));
  });

  app.get<{ Querystring: EventsQuery }>(
    '/events',
    { schema: { querystring: eventsQuerySchema } },
    async (request, reply) => {
      const { kind, session, ...cursor } = request.query;
      const eventFilter = requestFilter(request.query);
      const filter = {
        kind: blankToUndefined(kind),
        session: blankToUndefined(session),
        limit: cursor.limit,
      };
      const [events, counts] = await Promise.all([
        loadPage(
          'events',
          cursor,
          (q) => store.listEvents({ ...q, ...filter, limit: q.limit, filter: eventFilter }),
          SORT_KEYS.events,
        ),
        store.eventCounts(),
      ]);
      const nav = pager('/events', { ...filterToQuery(eventFilter), ...filter }, events);
      await bars.show(request, 'events', eventFilter, { kind, session });
      const query = filterToQuery(eventFilter);
      return sendPage(reply, eventsPage(site, events.items, counts, { ...filter, query }, Date.now(), nav));
    },
  );

  app.get<{ Params: { app: string; id: string } }>(
    '/events/:app/:id',
    { schema: { params: eventParamsSchema } },
    async (request, reply) => {
      const event = await store.eventById(request.params.app, request.params.id);
      if (event === undefined) return notFound(reply, 'No event has this id. It may have expired.');
      return sendPage(reply, eventPage(site, event, Date.now()));
    },
  );

  app.get<{ Querystring: TimelineQuerystring }>(
    '/timeline',
    { schema: { querystring: timelineQuerySchema } },
    async (request, reply) => {
      const filters = timelineFilters(request.query);
      if (filters === undefined)
        return sendPage(
          reply,
          messagePage(site, 'Bad request', `A timeline needs one of ${TIMELINE_FILTERS.join(', ')}.`),
          400,
        );
      const items = await loadTimeline(store, request.query, filters);
      // Oldest first: "next" is later in time.
      const nav = timelinePager({ ...filters, limit: request.query.limit }, items);
      return sendPage(reply, timelinePage(site, items.items, filters, nav));
    },
  );

  app.get<{ Querystring: LogsQuerystring }>(
    '/logs',
    { schema: { querystring: logsQuerySchema } },
    async (request, reply) => {
      const filter = logsFilter(request.query);
      const own = logsFilters(request.query);
      const logs = await loadServerLogs(store, request.query, filter);
      const query = filterToQuery(filter);
      const nav = pager('/logs', { ...query, ...own, limit: request.query.limit }, logs);
      await bars.show(request, 'logs', filter, own);
      return sendPage(reply, logsPage(site, logs.items, own, nav, query));
    },
  );

  app.get<{ Querystring: PageQuerystring }>('/alerts', paged, async (request, reply) => {
    const alerts = await loadAlerts(listAlerts, request.query);
    const nav = pager('/alerts', { limit: request.query.limit }, alerts);
    return sendPage(
      reply,
      alertsPage(site, alerts.items, readAlert !== undefined, Date.now(), issues !== undefined, nav),
    );
  });

  if (issues !== undefined) {
    // Changes come from this site's own forms only (no script anywhere: plain POST, then a redirect).
    acceptForms(app);
    const refused = (reply: FastifyReply, reason: string): FastifyReply =>
      sendPage(reply, messagePage(site, 'Refused', `This change was refused: ${reason}.`), 403);

    app.post<{
      Params: { id: string };
      Querystring: ErrorQuerystring;
      Body: Record<string, string> | undefined;
    }>(
      '/errors/:id/status',
      { schema: { params: errorParamsSchema, querystring: errorQuerySchema } },
      async (request, reply) => {
        const reason = crossSiteReason(request);
        if (reason !== undefined) return refused(reply, reason);
        const action = request.body?.action;
        if (!GROUP_ACTIONS.includes(action as GroupAction))
          return sendPage(
            reply,
            messagePage(site, 'Bad request', 'action must be resolve, ignore or reopen'),
            400,
          );
        // The page's filter stays in the form's URL, so the redirect shows the same filtered page.
        const filter = requestFilter(request.query);
        const app = filter.app;
        const done = await applyGroupAction(store, issues, request.params.id, action as GroupAction, {
          ...(app === undefined ? {} : { app }),
          ...(request.body?.release === undefined ? {} : { release: request.body.release }),
        });
        if (done === undefined) return notFound(reply, 'No error group has this id. It may have expired.');
        return reply.redirect(filterHref(`/errors/${encodeURIComponent(request.params.id)}`, filter), 303);
      },
    );

    app.get(RULES_PATH, async (_request, reply) =>
      sendPage(reply, rulesPage(site, await issues.muteRules(), Date.now())),
    );

    app.post<{ Body: Record<string, string> | undefined }>(RULES_PATH, async (request, reply) => {
      const reason = crossSiteReason(request);
      if (reason !== undefined) return refused(reply, reason);
      const values = request.body ?? {};
      // Empty form fields mean "any".
      const input = Object.fromEntries(Object.entries(values).filter(([, v]) => v.trim() !== ''));
      const result = await issues.addMuteRule(input);
      if (!result.ok)
        return sendPage(
          reply,
          rulesPage(site, await issues.muteRules(), Date.now(), { ...result, values }),
          400,
        );
      return reply.redirect(RULES_PATH, 303);
    });

    app.post<{ Params: { id: string } }>(
      `${RULES_PATH}/:id/delete`,
      { schema: { params: ruleParamsSchema } },
      async (request, reply) => {
        const reason = crossSiteReason(request);
        if (reason !== undefined) return refused(reply, reason);
        if (!(await issues.removeMuteRule(request.params.id)))
          return notFound(reply, 'No mute rule has this id.');
        return reply.redirect(RULES_PATH, 303);
      },
    );
  }

  app.get<{ Params: { key: string } }>('/alerts/:key', async (request, reply) => {
    const { key } = request.params;
    const eml = readAlert === undefined ? undefined : await readAlert(key);
    if (eml === undefined || eml === null) return notFound(reply, 'No email is stored for this alert.');
    const alert = (await listAlerts()).find((a) => a.key === key);
    return sendPage(reply, alertEmlPage(site, alert, key, eml));
  });
}
