import { html, type SafeHtml } from '../html.js';
import type { ErrorGroup, ErrorGroupDetail, EventDetail } from '../store.js';
import { errorHref, eventHref, formatCount, hrefWith, isoTime, timeCell, truncate } from './format.js';
import { emptyState, heading, page } from './layout.js';

export function errorsPage(site: string, groups: ErrorGroup[], now: number): SafeHtml {
  const body = html`${heading('Errors', 'Exceptions grouped by fingerprint, most recently seen first.')}
${
  groups.length === 0
    ? emptyState('No errors yet. When an app reports one, it shows up here within seconds.')
    : html`<table>
<thead><tr><th>Error</th><th>App</th><th class="num">Count</th><th class="num">Users</th><th>First seen</th><th>Last seen</th><th>Release</th></tr></thead>
<tbody>${groups.map((g) => groupRow(g, now))}</tbody>
</table>`
}`;
  return page({ site, title: 'Errors', section: 'errors', refresh: true, body });
}

function groupRow(g: ErrorGroup, now: number): SafeHtml {
  return html`<tr>
<td class="main"><a href="${errorHref(g.fingerprint, g.app)}"><span class="etype">${g.type}</span> <span class="emsg">${truncate(g.message, 160)}</span></a></td>
<td>${g.app}</td>
<td class="num">${formatCount(g.count)}</td>
<td class="num">${formatCount(g.users)}</td>
<td>${timeCell(g.firstSeen, now)}</td>
<td>${timeCell(g.lastSeen, now)}</td>
<td><code>${g.lastRelease}</code>${g.releases.length > 1 && html` <span class="muted">+${g.releases.length - 1}</span>`}</td>
</tr>`;
}

export function errorGroupPage(site: string, detail: ErrorGroupDetail, now: number): SafeHtml {
  const g = detail.group;
  const body = html`<p class="crumbs"><a href="/">Errors</a> /</p>
<h1><span class="etype">${g.type}</span></h1>
<p class="lead message">${g.message}</p>
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
<h2>Recent events <span class="muted">(${detail.samples.length} most recent)</span></h2>
${detail.samples.map((s) => sample(s, now))}`;
  return page({ site, title: `${g.type}: ${truncate(g.message, 60)}`, section: 'errors', body });
}

function sample(e: EventDetail, now: number): SafeHtml {
  return html`<section class="card">
<div class="card-head">
<a href="${eventHref(e.app, e.id)}">${timeCell(e.ts, now)}</a>
<span><code>${e.release}</code> · ${e.environment}</span>
<span>${platform(e)}</span>
${e.url !== null && html`<span><code>${e.url}</code></span>`}
<span>${e.user !== null ? html`user <code>${e.user}</code>` : html`anonymous`} · <a href="${hrefWith('/events', { session: e.session })}">session timeline</a></span>
${e.count > 1 && html`<span class="muted">×${formatCount(e.count)} in session</span>`}
</div>
${e.message !== null && html`<p class="message">${e.message}</p>`}
${e.stack !== null ? html`<pre class="stack">${e.stack}</pre>` : html`<p class="muted">No stack trace.</p>`}
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
