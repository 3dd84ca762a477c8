import { stripDebugIdMarkers } from '@telltale/protocol';
import type { ErrorDetailView, ErrorGroupView } from '../error-detail.js';
import { html, type SafeHtml } from '../html.js';
import type { FrameView, IssueStatus, SourceMapProblemView } from '../issues.js';
import type { EventDetail } from '../store.js';
import { eventHref, formatCount, hrefWith, isoTime, timeCell, truncate } from './format.js';
import { emptyState, heading, page } from './layout.js';
import { seriesKey } from '../series.js';

const FILTERS: ReadonlyArray<[string | undefined, string]> = [
  [undefined, 'all'],
  ['unresolved', 'unresolved'],
  ['new', 'new'],
  ['regression', 'regression'],
  ['ongoing', 'ongoing'],
  ['resolved', 'resolved'],
  ['ignored', 'ignored'],
];

export function statusBadge(status: IssueStatus): SafeHtml {
  return html`<span class="badge badge-status-${status}">${status}</span>`;
}

export function errorsPage(
  site: string,
  groups: ErrorGroupView[],
  now: number,
  /** `query`: the filter bar's parameters (filter.ts), kept by the status tabs. */
  filter: { status?: string | undefined; query?: Record<string, string> | undefined } = {},
  nav: SafeHtml = html``,
  sparks: ReadonlyMap<string, SafeHtml> = new Map(),
): SafeHtml {
  const body = html`${heading('Errors', 'Exceptions grouped by fingerprint, most recently seen first.')}
<nav class="filters">${FILTERS.map(
    ([status, label]) =>
      html`<a href="${hrefWith('/', { ...filter.query, status })}"${filter.status === status ? html` class="active"` : ''}>${label}</a>`,
  )}</nav>
${
  groups.length === 0
    ? emptyState(
        filter.status === undefined
          ? 'No errors yet. When an app reports one, it shows up here within seconds.'
          : 'No error groups with this status.',
      )
    : html`<table>
<thead><tr><th>Error</th><th>Trend</th><th>Status</th><th>App</th><th class="num">Count</th><th class="num">Users</th><th>First seen</th><th>Last seen</th><th>Release</th></tr></thead>
<tbody>${groups.map((g) => groupRow(g, now, sparks.get(seriesKey(g.app, g.fingerprint)), filter.query))}</tbody>
</table>`
}
${nav}`;
  return page({ site, title: 'Errors', section: 'errors', refresh: true, body });
}

/** The group's page under the list's filter (`query`), so it shows the counts the list showed. */
export function groupHref(fingerprint: string, app: string, query: Record<string, string> = {}): string {
  return hrefWith(`/errors/${encodeURIComponent(fingerprint)}`, { ...query, app });
}

function groupRow(
  g: ErrorGroupView,
  now: number,
  spark: SafeHtml | undefined,
  query: Record<string, string> | undefined,
): SafeHtml {
  return html`<tr>
<td class="main"><a href="${groupHref(g.fingerprint, g.app, query)}"><span class="etype">${g.type}</span> <span class="emsg">${truncate(g.message, 160)}</span></a></td>
<td class="spark-cell">${spark}</td>
<td>${statusBadge(g.status)}</td>
<td>${g.app}</td>
<td class="num">${formatCount(g.count)}</td>
<td class="num">${formatCount(g.users)}</td>
<td>${timeCell(g.firstSeen, now)}</td>
<td>${timeCell(g.lastSeen, now)}</td>
<td><code>${g.lastRelease}</code>${g.releases.length > 1 && html` <span class="muted">+${g.releases.length - 1}</span>`}</td>
</tr>`;
}

/** Where the frame is: `src/cart.ts:4:23`. */
function location(f: {
  file: string | undefined;
  line: number | undefined;
  column: number | undefined;
}): string {
  if (f.file === undefined) return 'native';
  return `${stripDebugIdMarkers(f.file)}${f.line === undefined ? '' : `:${f.line}`}${f.column === undefined ? '' : `:${f.column}`}`;
}

export function framesTable(frames: readonly FrameView[]): SafeHtml {
  if (frames.length === 0) return html``;
  return html`<table class="frames">
<thead><tr><th>Function</th><th>File</th><th class="num">Line</th><th class="num">Column</th><th></th></tr></thead>
<tbody>${frames.map(
    (f) => html`<tr class="${f.inApp ? 'in-app' : 'library'}">
<td class="mono">${f.function ?? html`<span class="muted">anonymous</span>`}</td>
<td class="mono">${f.file === undefined ? 'native' : stripDebugIdMarkers(f.file)}${f.context !== undefined && html`<div class="context">${f.context}</div>`}</td>
<td class="num">${f.line ?? ''}</td>
<td class="num">${f.column ?? ''}</td>
<td>${f.inApp ? html`<span class="badge badge-ok">in app</span>` : html`<span class="badge badge-other">library</span>`}${f.symbolicated === true ? '' : html` <span class="muted" title="not resolved through a source map">as reported</span>`}</td>
</tr>`,
  )}</tbody></table>
${
  frames.some((f) => f.symbolicated === true) &&
  html`<details><summary>Frames as the browser reported them (minified)</summary><pre class="stack">${frames
    .map((f) => `at ${f.raw?.function ?? f.function ?? '<anonymous>'} (${location(f.raw ?? f)})`)
    .join('\n')}</pre></details>`
}`;
}

/** The failure users hit most, said plainly: what was looked for and what was uploaded. */
export function sourceMapNotice(detail: ErrorDetailView): SafeHtml {
  const { status, problems } = detail.group.sourceMaps;
  if (status === 'ok' || status === 'unavailable' || (status === 'none' && problems.length === 0))
    return html``;
  const tone = problems.some(
    (p) => p.kind === 'no-mapping' || p.kind === 'mismatch' || p.kind === 'unreadable-map',
  )
    ? 'warn'
    : 'info';
  return html`<section class="notice notice-${tone}">
<p><b>${status === 'partial' ? 'Some frames are not in original source.' : 'Frames are shown as the browser reported them.'}</b></p>
<ul>${problems.map((p) => problemItem(p))}</ul>
<p class="muted">Upload maps with <code>telltale sourcemaps upload ./dist --release ${problems[0]?.release ?? '<release>'} --url-prefix ${'<URL the files are served from>'}</code>; see docs/sourcemaps.md.</p>
</section>`;
}

function problemItem(p: SourceMapProblemView): SafeHtml {
  return html`<li>${p.message}
<div class="muted">Looked for <code>${p.lookedFor}</code> in release <code>${p.release}</code>.
${p.uploaded.length > 0 ? html`Uploaded for this release: ${p.uploaded.map((u) => html`<code>${u}</code> `)}` : html`Nothing was uploaded for this release.`}
${p.releasesWithMaps.length > 0 && html`Releases with maps: ${p.releasesWithMaps.map((r) => html`<code>${r}</code> `)}`}</div></li>`;
}

function actions(detail: ErrorDetailView, query: Record<string, string>): SafeHtml {
  const g = detail.group;
  const target = hrefWith(`/errors/${encodeURIComponent(g.fingerprint)}/status`, { ...query, app: g.app });
  const state = g.state;
  const about =
    state?.status === 'resolved'
      ? html`Resolved ${timeCell(state.resolvedAt ?? state.updatedAt, Date.now())}${state.resolvedInRelease !== undefined && html` in release <code>${state.resolvedInRelease}</code>`}: seen again ${state.resolvedInRelease !== undefined ? 'in that release or a newer one' : 'at all'}, it becomes a regression and emails you.`
      : state?.status === 'regressed'
        ? html`Seen again in release <code>${state.regressedInRelease ?? '?'}</code> after it was resolved.`
        : state?.status === 'ignored'
          ? html`Ignored: it sends no more emails.`
          : undefined;
  return html`<form class="actions" method="post" action="${target}">
${about !== undefined && html`<p class="muted">${about}</p>`}
${
  g.status === 'resolved' || g.status === 'ignored'
    ? html`<button type="submit" name="action" value="reopen">Reopen</button>`
    : html`<label>Fixed in release <select name="release"><option value="">any later occurrence</option>${g.releases.map(
        (r) => html`<option value="${r}">${r}</option>`,
      )}</select></label> <button type="submit" name="action" value="resolve">Resolve</button>
<button type="submit" name="action" value="ignore">Ignore</button>`
}
</form>`;
}

export function errorGroupPage(
  site: string,
  detail: ErrorDetailView,
  now: number,
  canChange: boolean,
  charts: SafeHtml = html``,
  /** The filter bar's parameters (filter.ts): the counts below are those of the group's events in it. */
  query: Record<string, string> = {},
): SafeHtml {
  const g = detail.group;
  const body = html`<p class="crumbs"><a href="${hrefWith('/', query)}">Errors</a> /</p>
<h1><span class="etype">${g.type}</span> ${statusBadge(g.status)}</h1>
<p class="lead message">${g.message}</p>
${canChange && actions(detail, query)}
<dl class="facts">
<div><dt>App</dt><dd>${g.app}</dd></div>
<div><dt>Occurrences</dt><dd>${formatCount(g.count)}</dd></div>
<div><dt>Events</dt><dd>${formatCount(g.events)}</dd></div>
<div><dt>Users</dt><dd>${formatCount(g.users)}</dd></div>
<div><dt>First seen</dt><dd>${timeCell(g.firstSeen, now)}</dd></div>
<div><dt>Last seen</dt><dd>${timeCell(g.lastSeen, now)}</dd></div>
<div><dt>Releases</dt><dd>${g.releases.map((r) => html`<code>${r}</code> `)}</dd></div>
<div class="wide"><dt>Fingerprint</dt><dd><code>${g.fingerprint}</code></dd></div>
</dl>
${charts}
${sourceMapNotice(detail)}
${g.frames.length > 0 && html`<h2>Stack <span class="muted">(newest event)</span></h2>${framesTable(g.frames)}`}
<h2>Recent events <span class="muted">(${detail.samples.length} most recent)</span></h2>
${detail.samples.map((s) => sample(s, now))}`;
  return page({ site, title: `${g.type}: ${truncate(g.message, 60)}`, section: 'errors', body });
}

/** A group that exists, none of whose events are in the filter; `all` is its page without the filter. */
export function filteredOutPage(site: string, all: string, query: Record<string, string>): SafeHtml {
  const body = html`<p class="crumbs"><a href="${hrefWith('/', query)}">Errors</a> /</p>
${heading('No events match the filter', 'This error group has events, but none in the time range and values the filter names.')}
${emptyState(html`<a href="${all}">Show the group without the filter</a>`)}`;
  return page({ site, title: 'No events match the filter', section: 'errors', body });
}

function sample(e: EventDetail, now: number): SafeHtml {
  return html`<section class="card">
<div class="card-head">
<a href="${eventHref(e.app, e.id)}">${timeCell(e.ts, now)}</a>
<span><code>${e.release}</code> · ${e.environment}</span>
<span>${platform(e)}</span>
${e.url !== null && html`<span><code>${e.url}</code></span>`}
<span>${e.user !== null ? html`user <code>${e.user}</code>` : html`anonymous`} · <a href="${hrefWith('/timeline', { session: e.session })}">session timeline</a>${e.trace !== null && html` · <a class="trace-timeline" href="${hrefWith('/timeline', { trace: e.trace })}">trace timeline</a>`} · <a href="${hrefWith('/events', { session: e.session })}">session events</a></span>
${e.count > 1 && html`<span class="muted">×${formatCount(e.count)} in session</span>`}
</div>
${e.message !== null && html`<p class="message">${e.message}</p>`}
${e.stack !== null ? html`<pre class="stack">${stripDebugIdMarkers(e.stack)}</pre>` : html`<p class="muted">No stack trace.</p>`}
${breadcrumbTable(e)}
</section>`;
}

export function platform(e: EventDetail): string {
  const browser = [e.browser, e.browserVersion].filter(Boolean).join(' ');
  const os = [e.os, e.osVersion].filter(Boolean).join(' ');
  return [browser, os, e.device].filter(Boolean).join(' · ') || 'unknown platform';
}

export function breadcrumbTable(e: EventDetail): SafeHtml {
  if (e.breadcrumbs === null || e.breadcrumbs.length === 0) return html``;
  return html`<details open><summary>Breadcrumbs (${e.breadcrumbs.length})</summary>
<table class="compact"><tbody>${e.breadcrumbs.map(
    (b) =>
      html`<tr><td class="nowrap">${isoTime(b.ts).slice(11)}</td><td>${b.level ?? ''}</td><td>${b.category ?? ''}</td><td class="mono">${b.message}</td></tr>`,
  )}</tbody></table></details>`;
}
