import {
  FILTER_FIELDS,
  FILTER_LIMITS,
  filterToQuery,
  RANGE_LABELS,
  type EventFilter,
  type FilterField,
} from '../filter.js';
import { html, trustedHtml, type SafeHtml } from '../html.js';
import type { FilterOptions } from '../search.js';
import { FILTER_SLOT, navLinks, type Section } from './layout.js';

/**
 * The filter bar of the list pages: a plain GET form (no script), so the filter lives in the URL,
 * a link to it can be shared and the back button undoes it. Choices come from the data of the
 * time range (store.filterOptions); a value set in the URL stays offered even when absent there.
 */

const SELECTS: ReadonlyArray<[keyof FilterOptions & keyof EventFilter, string]> = [
  ['app', 'App'],
  ['release', 'Release'],
  ['environment', 'Environment'],
  ['browser', 'Browser'],
  ['os', 'OS'],
];

/** A datetime-local value (minutes, UTC) of an epoch-ms time. */
const localValue = (ms: number | undefined): string =>
  ms === undefined || !Number.isFinite(ms) ? '' : new Date(ms).toISOString().slice(0, 16);

function select(
  name: string,
  label: string,
  values: readonly string[],
  current: string | undefined,
): SafeHtml {
  const choices = current !== undefined && !values.includes(current) ? [current, ...values] : values;
  return html`<label>${label} <select name="${name}"><option value="">All</option>${choices.map(
    (v) => html`<option value="${v}"${v === current ? html` selected` : ''}>${v}</option>`,
  )}</select></label>`;
}

/**
 * The form; `keep` are the page's own parameters (status, kind, session) carried through a submit.
 * The cursor is not kept: a new filter starts at the first page. `fields` are the value fields the
 * page's data has (the server logs: app, release and environment; no URL path there).
 */
export function filterBar(
  action: string,
  filter: EventFilter,
  options: FilterOptions,
  keep: Record<string, string | undefined> = {},
  fields: readonly FilterField[] = FILTER_FIELDS,
): SafeHtml {
  const range = filter.range ?? 'all';
  const selects = SELECTS.filter(([name]) => fields.includes(name));
  const custom = range === 'custom';
  return html`<form class="filter-bar" method="get" action="${action}" aria-label="Filter">
<label>Time <select name="range">${RANGE_LABELS.map(
    ([value, label]) =>
      html`<option value="${value}"${value === range ? html` selected` : ''}>${label}</option>`,
  )}</select></label>
<label>From (UTC) <input type="datetime-local" name="from" value="${custom ? localValue(filter.from) : ''}"></label>
<label>To (UTC) <input type="datetime-local" name="to" value="${custom ? localValue(filter.to) : ''}"></label>
${selects.map(([name, label]) => select(name, label, options[name], filter[name]))}
${
  fields.includes('path') &&
  html`<label>URL path <input type="text" name="path" list="filter-paths" maxlength="${FILTER_LIMITS.maxPathLength}" placeholder="/checkout" value="${filter.path ?? ''}"></label>
<datalist id="filter-paths">${options.path.map((p) => html`<option value="${p}"></option>`)}</datalist>`
}
${Object.entries(keep).map(
  ([name, value]) =>
    value !== undefined && value !== '' && html`<input type="hidden" name="${name}" value="${value}">`,
)}
<button type="submit">Apply</button> <a class="reset" href="${action}">Reset</a>
</form>`;
}

/**
 * A list page with its filter: the bar in the layout's FILTER_SLOT, and the navigation's list links
 * carrying the filter, so moving between lists keeps the range and the values.
 */
export function withFilterBar(
  body: SafeHtml,
  section: Section,
  filter: EventFilter,
  bar: SafeHtml,
): SafeHtml {
  const query = new URLSearchParams(filterToQuery(filter)).toString();
  // Function replacements: a string one would expand `$&`, `$'` and `` $` `` in a filter value.
  let out = body.value.replace(FILTER_SLOT, () => bar.value);
  if (query !== '') {
    const links = navLinks(section, `?${query}`).value;
    out = out.replace(navLinks(section).value, () => links);
  }
  return trustedHtml(out);
}
