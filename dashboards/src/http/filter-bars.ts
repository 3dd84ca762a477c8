import type { FastifyInstance, FastifyRequest } from 'fastify';
import { FILTER_FIELDS, type EventFilter } from '../filter.js';
import { LOG_FILTER_FIELDS } from '../search.js';
import { trustedHtml, type SafeHtml } from '../html.js';
import type { DashboardStore } from '../store.js';
import { filterBar, withFilterBar } from '../views/filter-bar.js';
import type { Section } from '../views/layout.js';

type ListSection = Extract<Section, 'errors' | 'features' | 'asserts' | 'blocked' | 'events' | 'logs'>;
const ACTIONS: Record<ListSection, string> = {
  errors: '/',
  features: '/features',
  asserts: '/asserts',
  blocked: '/blocked',
  events: '/events',
  logs: '/logs',
};

/**
 * The filter bar of the list pages: a route calls `show` with its filter, and the page it sends
 * gets the bar in the layout's slot and nav links that carry the filter (views/filter-bar.ts).
 * Pages that never call `show` are sent as they are.
 */
export function filterBars(app: FastifyInstance, store: DashboardStore) {
  const shown = new WeakMap<FastifyRequest, { section: ListSection; filter: EventFilter; bar: SafeHtml }>();
  app.addHook('onSend', async (request, _reply, payload) => {
    const entry = shown.get(request);
    if (entry === undefined || typeof payload !== 'string') return payload;
    return withFilterBar(trustedHtml(payload), entry.section, entry.filter, entry.bar).value;
  });
  return {
    /**
     * Reads the choices of the filter's time range and sets the bar of this request's page; the
     * form goes to `action` (default: the section's list, e.g. an error group's own page instead).
     * The server-log page's bar has the fields a log line has, its choices read from the logs.
     */
    async show(
      request: FastifyRequest,
      section: ListSection,
      filter: EventFilter,
      keep: Record<string, string | undefined> = {},
      action: string = ACTIONS[section],
    ): Promise<void> {
      const logs = section === 'logs';
      const options = await store.filterOptions(filter, logs ? 'logs' : 'events');
      const fields = logs ? LOG_FILTER_FIELDS : FILTER_FIELDS;
      shown.set(request, { section, filter, bar: filterBar(action, filter, options, keep, fields) });
    },
  };
}
