import { html, type SafeHtml } from '../html.js';
import type { ServerLogLine, ServerLogsQuery, TimelineItem, TimelineQuery } from '../store.js';
import { errorHref, eventHref, hrefWith, isoTime, kindBadge, truncate } from './format.js';
import type { Page } from '../http/pagination.js';
import { emptyState, heading, page } from './layout.js';

/** What a timeline page shows: the store query's ids and time bounds (store.ts TimelineQuery). */
export type TimelineFilter = Pick<
  TimelineQuery,
  'app' | 'trace' | 'session' | 'user' | 'request' | 'from' | 'to'
>;

/** Where a timeline of these ids is; the first id given picks the link (trace, then session, user, request). */
export function timelineHref(ids: TimelineFilter): string {
  return hrefWith('/timeline', { ...ids });
}

const describe = (filter: TimelineFilter): SafeHtml =>
  html`${(['trace', 'session', 'user', 'request'] as const)
    .filter((k) => filter[k] !== undefined)
    .map((k) => html`${k} <code>${filter[k]}</code> `)}`;

/** Milliseconds shown: two items a few ms apart (a click and its request) must read in order. */
const exactTime = (ts: number): string =>
  `${isoTime(ts).slice(11, 19)}.${String(ts % 1000).padStart(3, '0')}`;

function itemRow(t: TimelineItem): SafeHtml {
  const client = t.source === 'client';
  const what = client
    ? t.kind === 'error'
      ? `${t.name ?? 'Error'}: ${t.message ?? ''}`
      : (t.message ?? t.name ?? '')
    : (t.message ?? '');
  const link = client
    ? t.fingerprint !== null
      ? errorHref(t.fingerprint, t.app)
      : eventHref(t.app, t.ids.event)
    : hrefWith('/logs', { trace: t.ids.trace ?? undefined, request: t.ids.request ?? undefined });
  return html`<tr class="source-${t.source}" data-source="${t.source}">
<td class="nowrap"><time datetime="${new Date(t.ts).toISOString()}" title="${isoTime(t.ts)}">${exactTime(t.ts)}</time></td>
<td><span class="source">${client ? 'browser' : 'server'}</span></td>
<td>${client ? kindBadge(t.kind) : html`<span class="badge badge-level-${t.level ?? 'info'}">${t.level ?? 'info'}</span>`}</td>
<td class="main"><a href="${link}">${truncate(what, 160)}</a></td>
<td>${client ? t.page !== null && html`<code>${truncate(t.page, 40)}</code>` : html`<code>${t.service}</code>`}</td>
<td><code>${t.ids.trace === null ? '' : truncate(t.ids.trace, 12)}</code></td>
</tr>`;
}

/** One row per item, oldest first; browser and server rows styled apart (class source-client / source-server). */
export function timelinePage(
  site: string,
  items: TimelineItem[],
  filter: TimelineFilter,
  nav: SafeHtml = html``,
): SafeHtml {
  const body = html`${heading('Timeline', 'What the browser did and what the server did, in time order.')}
<p class="filter-note">${describe(filter)}· times on the collector's clock (a browser event is never placed after the collector received it) · <a href="${hrefWith('/logs', { trace: filter.trace, request: filter.request })}">server logs only</a>${filter.session !== undefined && html` · <a href="${hrefWith('/events', { session: filter.session })}">client events only</a>`}</p>
${
  items.length === 0
    ? emptyState(
        'Nothing on this timeline yet. Client events and server logs appear seconds after they are sent.',
      )
    : html`<table class="timeline">
<thead><tr><th>Time (UTC)</th><th>Side</th><th>Kind</th><th>What</th><th>Page / service</th><th>Trace</th></tr></thead>
<tbody>${items.map(itemRow)}</tbody>
</table>`
}
${nav}`;
  return page({ site, title: 'Timeline', section: 'logs', body });
}

/** "← Earlier" / "Later →": a timeline reads forward, so its next page is later in time. */
export function timelinePager(
  params: Record<string, string | number | undefined>,
  cursors: Page<unknown>,
): SafeHtml {
  const { next, prev } = cursors;
  if (next === null && prev === null) return html``;
  return html`<nav class="pager">${prev !== null && html`<a rel="prev" href="${hrefWith('/timeline', { ...params, after: prev })}">← Earlier</a>`} ${next !== null && html`<a rel="next" href="${hrefWith('/timeline', { ...params, cursor: next })}">Later →</a>`}</nav>`;
}

/** The log list's own fields; the filter bar (views/filter-bar.ts) holds time, app, release, environment. */
export type LogsFilter = Pick<
  ServerLogsQuery,
  'service' | 'level' | 'text' | 'trace' | 'request' | 'session'
>;

function logRow(l: ServerLogLine): SafeHtml {
  const timeline =
    l.trace !== null
      ? timelineHref({ trace: l.trace })
      : l.session !== null
        ? timelineHref({ session: l.session })
        : l.span !== null
          ? timelineHref({ request: l.span })
          : undefined;
  return html`<tr class="source-server">
<td class="nowrap"><time datetime="${new Date(l.ts).toISOString()}">${isoTime(l.ts)}</time></td>
<td><span class="badge badge-level-${l.level}">${l.level}</span></td>
<td><code>${l.service}</code></td>
<td class="main">${truncate(l.message, 200)}</td>
<td>${timeline !== undefined ? html`<a href="${timeline}">timeline</a>` : html`<span class="muted">—</span>`}</td>
</tr>`;
}

/**
 * Server logs with a search form (GET: no script, the URL is the query); `query` is the filter
 * bar's part (filter.ts), carried through a search as the bar carries the search's fields.
 */
export function logsPage(
  site: string,
  logs: ServerLogLine[],
  filter: LogsFilter,
  nav: SafeHtml = html``,
  query: Record<string, string> = {},
): SafeHtml {
  const field = (name: keyof LogsFilter, label: string) =>
    html`<label>${label} <input name="${name}" value="${filter[name] ?? ''}" maxlength="200"></label>`;
  const levels = ['', 'debug', 'info', 'warn', 'error', 'fatal'];
  const body = html`${heading('Server logs', 'Lines from your own servers (POST /v1/logs, OTLP), newest first.')}
<form class="filters" method="get" action="/logs">
${field('text', 'Text')} ${field('service', 'Service')}
<label>Level <select name="level">${levels.map((l) => html`<option value="${l}"${filter.level === l ? html` selected` : ''}>${l === '' ? 'any' : l}</option>`)}</select></label>
${field('trace', 'Trace')} ${field('request', 'Request')}
${filter.session !== undefined && html`<input type="hidden" name="session" value="${filter.session}">`}
${Object.entries(query).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}
<button type="submit">Search</button>
</form>
${
  logs.length === 0
    ? emptyState(
        'No server log lines match. Ship them with @telltale/node or an OpenTelemetry exporter (docs/server-logs.md).',
      )
    : html`<table>
<thead><tr><th>Time</th><th>Level</th><th>Service</th><th>Message</th><th></th></tr></thead>
<tbody>${logs.map(logRow)}</tbody>
</table>`
}
${nav}`;
  return page({ site, title: 'Server logs', section: 'logs', body });
}
