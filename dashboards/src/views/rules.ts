import { html, type SafeHtml } from '../html.js';
import type { MuteRuleRecord } from '../issues.js';
import { timeCell } from './format.js';
import { emptyState, heading, page } from './layout.js';

const FIELDS: ReadonlyArray<[keyof MuteRuleRecord, string, string]> = [
  ['message', 'Message', '*ResizeObserver loop*'],
  ['type', 'Type', 'NetworkError'],
  ['browser', 'Browser', 'Firefox'],
  ['url', 'URL path', '/admin/*'],
  ['release', 'Release', '*-beta*'],
  ['environment', 'Environment', 'staging'],
  ['app', 'App (exact)', ''],
  ['note', 'Note', 'why this rule exists'],
];

export const RULES_PATH = '/alerts/rules';

export function rulesPage(
  site: string,
  rules: MuteRuleRecord[],
  now: number,
  problem?: { field: string; message: string; values: Record<string, string> },
): SafeHtml {
  const conditions = (r: MuteRuleRecord): SafeHtml[] =>
    FIELDS.filter(([key]) => key !== 'note' && r[key] !== undefined).map(
      ([key, label]) => html`<span class="chip">${label.toLowerCase()}: ${r[key]}</span>`,
    );
  const body = html`<p class="crumbs"><a href="/alerts">Alerts</a> /</p>
${heading(
  'Mute rules',
  'Everything alerts by default. A rule silences the alerts that match all of its fields: * matches any run of characters, ? one character, case-insensitive, whole value. Muted alerts are still listed on the Alerts page.',
)}
${
  rules.length === 0
    ? emptyState('No rules: every new error, regression, first use and failing assert sends an email.')
    : html`<table>
<thead><tr><th>Matches</th><th>Note</th><th>Added</th><th></th></tr></thead>
<tbody>${rules.map(
        (r) => html`<tr>
<td class="main">${conditions(r)}</td>
<td>${r.note ?? ''}</td>
<td class="nowrap">${timeCell(Date.parse(r.createdAt), now)}</td>
<td><form method="post" action="${RULES_PATH}/${encodeURIComponent(r.id)}/delete"><button type="submit">Remove</button></form></td>
</tr>`,
      )}</tbody>
</table>`
}
<h2>Add a rule</h2>
${problem !== undefined && html`<p class="notice notice-warn">${problem.field === '' ? '' : html`<b>${problem.field}</b>: `}${problem.message}</p>`}
<form class="rule-form" method="post" action="${RULES_PATH}">
${FIELDS.map(
  ([key, label, example]) =>
    html`<label>${label} <input type="text" name="${key}" maxlength="${key === 'note' ? 500 : 200}" placeholder="${example}" value="${problem?.values[key] ?? ''}"></label>`,
)}
<button type="submit">Add rule</button>
</form>`;
  return page({ site, title: 'Mute rules', section: 'alerts', body });
}
