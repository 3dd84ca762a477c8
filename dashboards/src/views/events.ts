import { EVENT_KINDS, type EventKind } from '@telltale/protocol';
import { html, type SafeHtml } from '../html.js';
import type { EventCounts, EventDetail, EventSummary } from '../store.js';
import { breadcrumbTable, platform } from './errors.js';
import {
  errorHref,
  eventHref,
  eventSummaryText,
  formatCount,
  hrefWith,
  isoTime,
  kindBadge,
  prettyJson,
  timeCell,
  truncate,
} from './format.js';
import { emptyState, heading, page } from './layout.js';

export interface EventsFilter {
  kind?: EventKind;
  session?: string;
  limit?: number;
  /** The filter bar's parameters (filter.ts), kept by the kind tabs. */
  query?: Record<string, string>;
}

export function eventsPage(
  site: string,
  events: EventSummary[],
  counts: EventCounts,
  filter: EventsFilter,
  now: number,
  nav: SafeHtml = html``,
): SafeHtml {
  const total = EVENT_KINDS.reduce((sum, kind) => sum + counts[kind], 0);
  // Totals are store-wide, so they are shown only when no session narrows the list.
  const link = (kind: EventKind | undefined, label: string, n: number): SafeHtml =>
    html`<a href="${hrefWith('/events', { ...filter.query, kind, session: filter.session })}"${filter.kind === kind ? html` class="active"` : ''}>${label}${filter.session === undefined && html` <span class="muted">${formatCount(n)}</span>`}</a>`;
  const body = html`${heading('Events', 'Everything received, newest first.')}
<nav class="filters">${link(undefined, 'all', total)}${EVENT_KINDS.map((k) => link(k, k, counts[k]))}</nav>
${
  filter.session !== undefined &&
  html`<p class="filter-note">Session <code>${filter.session}</code> only: client events of one visit, in order. <a href="${hrefWith('/timeline', { session: filter.session })}">With server logs, on one timeline</a> · <a href="${hrefWith('/events', { ...filter.query, kind: filter.kind })}">Show all sessions</a></p>`
}
${
  events.length === 0
    ? emptyState('No events match. Events appear here seconds after an app sends them.')
    : html`<table>
<thead><tr><th>Time</th><th>Kind</th><th>App</th><th>What</th><th>Release</th><th>Session</th><th>User</th><th>Platform</th></tr></thead>
<tbody>${events.map((e) => eventRow(e, now))}</tbody>
</table>`
}
${nav}`;
  return page({ site, title: 'Events', section: 'events', refresh: true, body });
}

function eventRow(e: EventSummary, now: number): SafeHtml {
  return html`<tr>
<td class="nowrap"><a href="${eventHref(e.app, e.id)}">${timeCell(e.ts, now)}</a></td>
<td>${kindBadge(e.kind)}</td>
<td>${e.app}</td>
<td class="main">${truncate(eventSummaryText(e), 140)}</td>
<td><code>${e.release}</code></td>
<td><a href="${hrefWith('/events', { session: e.session })}"><code>${truncate(e.session, 12)}</code></a></td>
<td>${e.user ?? html`<span class="muted">—</span>`}</td>
<td>${[e.browser, e.os].filter(Boolean).join(' · ')}</td>
</tr>`;
}

export function eventPage(site: string, e: EventDetail, now: number): SafeHtml {
  const rows: Array<[string, unknown]> = [
    ['Kind', kindBadge(e.kind)],
    ['App', e.app],
    ['Event id', html`<code>${e.id}</code>`],
    ['Time', html`${isoTime(e.ts)} <span class="muted">(${timeCell(e.ts, now)})</span>`],
    ['Received', isoTime(e.receivedAt)],
    ['Release', html`<code>${e.release}</code>`],
    ['Environment', e.environment],
    [
      'Session',
      html`<a href="${hrefWith('/events', { session: e.session })}"><code>${e.session}</code></a> · <a href="${hrefWith('/timeline', { session: e.session })}">timeline</a>`,
    ],
    ['User', e.user],
    ['Account', e.account],
    ['Name', e.name],
    ['Error type', e.errorType],
    [
      'Fingerprint',
      e.fingerprint !== null &&
        html`<a href="${errorHref(e.fingerprint, e.app)}"><code>${e.fingerprint}</code></a>`,
    ],
    ['Level', e.level],
    ['Soft', e.soft === null ? null : e.soft ? 'yes' : 'no'],
    ['Count', e.kind === 'error' ? formatCount(e.count) : null],
    ['URL path', e.url !== null && html`<code>${e.url}</code>`],
    [
      'Trace',
      e.trace !== null &&
        html`<code>${e.trace}</code> · <a href="${hrefWith('/timeline', { trace: e.trace })}">client and server timeline</a>`,
    ],
    ['Platform', platform(e)],
    ['Online', yesNo(e.online)],
    ['Ad blocker', yesNo(e.adblock)],
    ['Page load', e.loadMs === null ? null : `${formatCount(Math.round(e.loadMs))} ms`],
    ['Batch', html`<code>${e.batchId}</code>`],
    ['Partition', e.day],
  ];
  const body = html`<p class="crumbs"><a href="/events">Events</a> /</p>
<h1>${kindBadge(e.kind)} ${truncate(eventSummaryText(e), 120)}</h1>
<dl class="fields">${rows
    .filter(([, value]) => value !== null && value !== undefined && value !== false && value !== '')
    .map(([label, value]) => html`<dt>${label}</dt><dd>${value}</dd>`)}</dl>
${e.message !== null && html`<h2>Message</h2><pre>${e.message}</pre>`}
${e.stack !== null && html`<h2>Stack</h2><pre class="stack">${e.stack}</pre>`}
${e.attrs !== null && html`<h2>${e.kind === 'assert' ? 'Diagnostics' : 'Props'}</h2><pre>${prettyJson(e.attrs)}</pre>`}
${e.breadcrumbs !== null && e.breadcrumbs.length > 0 && html`<h2>Breadcrumbs</h2>${breadcrumbTable(e)}<details><summary>As JSON</summary><pre>${prettyJson(e.breadcrumbs)}</pre></details>`}`;
  return page({ site, title: `${e.kind} ${e.id}`, section: 'events', body });
}

function yesNo(value: boolean | null): string | null {
  return value === null ? null : value ? 'yes' : 'no';
}
