import { alertTime, type AlertSummary } from '../alerts.js';
import { html, type SafeHtml } from '../html.js';
import { timeCell } from './format.js';
import { emptyState, heading, page } from './layout.js';

export function alertHref(key: string): string {
  return `/alerts/${encodeURIComponent(key)}`;
}

const KIND_BADGE: Record<string, string> = {
  'new-error': 'error',
  regression: 'error',
  'new-assert': 'assert',
  'first-feature': 'feature',
  'first-feature-account': 'feature',
};
const STATUS_BADGE: Record<string, string> = { sent: 'ok', digested: 'ok', muted: 'other' };

function statusCell(a: AlertSummary): SafeHtml {
  const badge = html`<span class="badge badge-${STATUS_BADGE[a.status] ?? 'pending'}">${a.status}</span>`;
  if (a.status === 'muted') return html`${badge} <span class="muted">rule ${a.mutedBy ?? '?'}</span>`;
  if (a.status === 'deferred' || a.status === 'digested')
    return html`${badge} <span class="muted">in the digest</span>`;
  return badge;
}

const DELIVERY_BADGE: Record<string, string> = { sent: 'ok', failed: 'error' };
const DELIVERY_LABEL: Record<string, string> = { failing: 'failing', failed: 'given up' };

/** Each webhook: where (host only), and sent at / failing with the last error / given up. */
function deliveriesCell(a: AlertSummary, now: number): SafeHtml {
  const entries = Object.entries(a.deliveries ?? {});
  if (entries.length === 0) return html``;
  return html`<div class="deliveries">${entries.map(([id, d]) => {
    const badge = html`<span class="badge badge-${DELIVERY_BADGE[d.status] ?? 'pending'}">${DELIVERY_LABEL[d.status] ?? d.status}</span>`;
    const when =
      d.status === 'sent' && d.sentAt !== undefined
        ? html` ${timeCell(Date.parse(d.sentAt), now)}`
        : d.lastError !== undefined
          ? html` <span class="muted">${d.lastError}, ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}</span>`
          : html``;
    return html`<div data-delivery="${id}">${d.type} <code>${d.host}</code> ${badge}${when}</div>`;
  })}</div>`;
}

/** `canRead`: whether a readAlert function was given, so the .eml links can work; `canMute`: rules can be managed. */
export function alertsPage(
  site: string,
  alerts: AlertSummary[],
  canRead: boolean,
  now: number,
  canMute = false,
  nav: SafeHtml = html``,
): SafeHtml {
  // The column only where some alert went to a webhook: most installs have email alone.
  const webhooks = alerts.some((a) => a.deliveries !== undefined);
  const body = html`${heading(
    'Alerts',
    html`Emails for new errors, regressions, first uses of features and new failing asserts: at most a few per hour per kind, the rest in one digest.${canMute && html` <a href="/alerts/rules">Mute rules</a>`}`,
  )}
${
  alerts.length === 0
    ? emptyState('No alerts yet. The first new error or first use of a feature sends one.')
    : html`<table>
<thead><tr><th>Created</th><th>Kind</th><th>App</th><th>Subject</th><th>Status</th><th>Transport</th>${webhooks && html`<th>Webhooks</th>`}<th></th></tr></thead>
<tbody>${alerts.map(
        (a) => html`<tr>
<td class="nowrap">${timeCell(alertTime(a), now)}</td>
<td><span class="badge badge-${KIND_BADGE[a.kind] ?? 'other'}">${a.kind}</span></td>
<td>${a.app}</td>
<td class="main">${a.subject}</td>
<td class="nowrap">${statusCell(a)}</td>
<td>${a.transport}</td>
${webhooks && html`<td class="nowrap">${deliveriesCell(a, now)}</td>`}
<td>${canRead && a.file !== undefined && html`<a href="${alertHref(a.key)}">view .eml</a>`}</td>
</tr>`,
      )}</tbody>
</table>`
}
${nav}`;
  return page({ site, title: 'Alerts', section: 'alerts', refresh: true, body });
}

/** The email as plain text inside the page: never rendered as HTML, whatever it contains. */
export function alertEmlPage(
  site: string,
  alert: AlertSummary | undefined,
  key: string,
  eml: string,
): SafeHtml {
  const body = html`<p class="crumbs"><a href="/alerts">Alerts</a> /</p>
<h1>${alert?.subject ?? key}</h1>
${alert?.file !== undefined && html`<p class="lead"><code>${alert.file}</code></p>`}
<pre class="eml">${eml}</pre>`;
  return page({ site, title: alert?.subject ?? 'Alert', section: 'alerts', body });
}
