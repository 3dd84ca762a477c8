import type { EventFilter } from '../filter.js';
import { idHref, jumpTarget, searchText, type SearchResults } from '../search.js';
import type { DashboardStore } from '../store.js';
import { InvalidFilterError, requestFilter, type SearchQuerystring } from './schemas.js';

export interface SearchAnswer {
  text: string;
  filter: EventFilter;
  /** Where an exact id leads; then there are no results. */
  jump?: string;
  results: SearchResults;
}

const NO_RESULTS: SearchResults = { errors: [], features: [], asserts: [], blocked: [] };

/**
 * What GET /search and /api/search answer: an exact id jumps (`jump`: the page, or with `api` the
 * JSON route), anything else is a free-text search narrowed by the filter. Bad `q` or filter
 * parameters throw InvalidFilterError (400, naming the field).
 */
export async function runSearch(
  store: DashboardStore,
  query: SearchQuerystring,
  api: boolean,
): Promise<SearchAnswer> {
  const q = searchText(query.q);
  if (!q.ok) throw new InvalidFilterError(q.field, q.message);
  const filter = requestFilter(query);
  if (q.text === '') return { text: '', filter, results: NO_RESULTS };
  const target = jumpTarget(q.text, await store.findIds(q.text));
  if (target !== undefined) return { text: q.text, filter, jump: idHref(target, api), results: NO_RESULTS };
  return { text: q.text, filter, results: await store.search({ text: q.text, filter }) };
}
