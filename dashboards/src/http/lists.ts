import { alertPosition, pageAlerts, type AlertSummary, type ListAlerts } from '../alerts.js';
import type { EventFilter } from '../filter.js';
import { SORT_KEYS, type DashboardStore, type ListQuery, type SortKey } from '../store.js';
import { loadPage, type Page } from './pagination.js';
import { requestFilter, type ListQuerystring, type PageQuerystring } from './schemas.js';

/** The usage lists a page and its JSON twin both serve: same filter, same store call, same order. */
export type UsageList = 'features' | 'asserts' | 'blocked';
type UsageItem<N extends UsageList> = Parameters<(typeof SORT_KEYS)[N]>[0];

const USAGE_LISTS: {
  [N in UsageList]: {
    rows: (store: DashboardStore, query: ListQuery) => Promise<UsageItem<N>[]>;
    keyOf: (item: UsageItem<N>) => SortKey;
  };
} = {
  features: { rows: (store, query) => store.featureUsage(query), keyOf: SORT_KEYS.features },
  asserts: { rows: (store, query) => store.assertFailures(query), keyOf: SORT_KEYS.asserts },
  blocked: { rows: (store, query) => store.blockedEvents(query), keyOf: SORT_KEYS.blocked },
};

/** One page of a usage list under the request's filter (which is returned too, for links and charts). */
export async function loadUsageList<N extends UsageList>(
  store: DashboardStore,
  name: N,
  query: ListQuerystring,
): Promise<{ filter: EventFilter; list: Page<UsageItem<N>> }> {
  const filter = requestFilter(query);
  const { rows, keyOf } = USAGE_LISTS[name];
  const list = await loadPage(name, query, (q) => rows(store, { ...q, filter }), keyOf);
  return { filter, list };
}

const position = (key: SortKey | undefined) =>
  key === undefined ? undefined : { time: Number(key[0]), key: String(key[1]) };

/** One page of the alert log, newest first, for the page and its JSON twin. */
export function loadAlerts(listAlerts: ListAlerts, query: PageQuerystring): Promise<Page<AlertSummary>> {
  return loadPage(
    'alerts',
    query,
    async (q) => {
      const page = { limit: q.limit, before: position(q.before), after: position(q.after) };
      // A log that ignores the query returns everything: the page is cut here then.
      return pageAlerts(await listAlerts(page), page);
    },
    (a) => [alertPosition(a).time, a.key],
  );
}
