import type { Attributes } from '@telltale/protocol';
import { html, type SafeHtml } from '../html.js';
import type { AssertFailure, BlockedSummary, FeatureUsage } from '../store.js';
import { formatCount, timeCell, truncate } from './format.js';
import { emptyState, heading, page } from './layout.js';

export function featuresPage(
  site: string,
  features: FeatureUsage[],
  now: number,
  nav: SafeHtml = html``,
  charts: SafeHtml = html``,
): SafeHtml {
  const body = html`${heading('Features', 'Every tracked feature, with its first use. Most recently used first.')}
${charts}
${
  features.length === 0
    ? emptyState(html`No feature usage yet. Call <code>track("feature-name")</code> in your app.`)
    : html`<table>
<thead><tr><th>Feature</th><th>App</th><th class="num">Uses</th><th class="num">Users</th><th>First use</th><th>Last use</th></tr></thead>
<tbody>${features.map(
        (f) =>
          html`<tr><td class="main"><code>${f.name}</code></td><td>${f.app}</td><td class="num">${formatCount(f.uses)}</td><td class="num">${formatCount(f.users)}</td><td>${timeCell(f.firstUse, now)}</td><td>${timeCell(f.lastUse, now)}</td></tr>`,
      )}</tbody>
</table>`
}
${nav}`;
  return page({ site, title: 'Features', section: 'features', refresh: true, body });
}

export function assertsPage(
  site: string,
  asserts: AssertFailure[],
  now: number,
  nav: SafeHtml = html``,
  charts: SafeHtml = html``,
): SafeHtml {
  const body = html`${heading('Failed asserts', 'Hard asserts mark a broken invariant; soft ones warn and let the user go on.')}
${charts}
${
  asserts.length === 0
    ? emptyState('No failed asserts. Good.')
    : html`<table>
<thead><tr><th>Assert</th><th>App</th><th>Severity</th><th class="num">Failures</th><th class="num">Users</th><th>First seen</th><th>Last seen</th><th>Last diagnostics</th></tr></thead>
<tbody>${asserts.map(
        (a) =>
          html`<tr><td class="main"><code>${a.name}</code></td><td>${a.app}</td><td>${a.soft ? html`<span class="badge badge-soft">soft</span>` : html`<span class="badge badge-hard">hard</span>`}</td><td class="num">${formatCount(a.count)}</td><td class="num">${formatCount(a.users)}</td><td>${timeCell(a.firstSeen, now)}</td><td>${timeCell(a.lastSeen, now)}</td><td>${attributes(a.lastVars)}</td></tr>`,
      )}</tbody>
</table>`
}
${nav}`;
  return page({ site, title: 'Asserts', section: 'asserts', refresh: true, body });
}

export function blockedPage(
  site: string,
  blocked: BlockedSummary[],
  now: number,
  nav: SafeHtml = html``,
  charts: SafeHtml = html``,
): SafeHtml {
  const body = html`${heading('Blocked', 'Each time an app said "no" to a user, by reason: candidates to fix.')}
${charts}
${
  blocked.length === 0
    ? emptyState('Nobody has been blocked yet.')
    : html`<table>
<thead><tr><th>Reason</th><th>App</th><th class="num">Count</th><th class="num">Users</th><th>First seen</th><th>Last seen</th><th>Last props</th></tr></thead>
<tbody>${blocked.map(
        (b) =>
          html`<tr><td class="main"><code>${b.reason}</code></td><td>${b.app}</td><td class="num">${formatCount(b.count)}</td><td class="num">${formatCount(b.users)}</td><td>${timeCell(b.firstSeen, now)}</td><td>${timeCell(b.lastSeen, now)}</td><td>${attributes(b.lastProps)}</td></tr>`,
      )}</tbody>
</table>`
}
${nav}`;
  return page({ site, title: 'Blocked', section: 'blocked', refresh: true, body });
}

/** Diagnostics inline as `key=value` chips: they are counts and ids, so short. */
export function attributes(attrs: Attributes | null): SafeHtml {
  if (attrs === null) return html`<span class="muted">—</span>`;
  const entries = Object.entries(attrs);
  if (entries.length === 0) return html`<span class="muted">—</span>`;
  return html`${entries.map(([k, v]) => html`<span class="chip">${k}=${truncate(String(v), 60)}</span>`)}`;
}
