import { alertTime, type AlertSummary } from '../alerts.js';
import { html, type SafeHtml } from '../html.js';
import { timeCell } from './format.js';
import { emptyState, heading, page } from './layout.js';

export function alertHref(key: string): string {
  return `/alerts/${encodeURIComponent(key)}`;
}

/** `canRead`: whether a readAlert function was given, so the .eml links can work. */
export function alertsPage(site: string, alerts: AlertSummary[], canRead: boolean, now: number): SafeHtml {
  const body = html`${heading('Alerts', 'Emails sent (or written to the outbox) for new errors and first uses of features.')}
${
  alerts.length === 0
    ? emptyState('No alerts yet. The first new error or first use of a feature sends one.')
    : html`<table>
<thead><tr><th>Created</th><th>Kind</th><th>App</th><th>Subject</th><th>Status</th><th>Transport</th><th></th></tr></thead>
<tbody>${alerts.map(
        (a) => html`<tr>
<td class="nowrap">${timeCell(alertTime(a), now)}</td>
<td><span class="badge badge-${a.kind === 'new-error' ? 'error' : 'feature'}">${a.kind}</span></td>
<td>${a.app}</td>
<td class="main">${a.subject}</td>
<td><span class="badge badge-${a.status === 'sent' ? 'ok' : 'pending'}">${a.status}</span></td>
<td>${a.transport}</td>
<td>${canRead && a.file !== undefined && html`<a href="${alertHref(a.key)}">view .eml</a>`}</td>
</tr>`,
      )}</tbody>
</table>`
}`;
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
