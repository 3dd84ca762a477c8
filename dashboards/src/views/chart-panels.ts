import { html, type SafeHtml } from '../html.js';
import type { CountSeriesSet, ErrorGroupSeries, ErrorSparklines, FeatureSeriesSet } from '../series.js';
import { seriesKey } from '../series.js';
import { barChart, lineChart, sparkline } from './chart.js';
import { formatCount } from './format.js';

/** The charts each page shows, from the series of series.ts: what the pages add above their tables. */

/** Each group's sparkline by seriesKey(app, fingerprint), for the rows of the errors list. */
export function sparklineCells(series: ErrorSparklines | undefined): Map<string, SafeHtml> {
  const cells = new Map<string, SafeHtml>();
  if (series === undefined) return cells;
  for (const g of series.groups)
    cells.set(seriesKey(g.app, g.fingerprint), sparkline(g.events, `Events of this error`, series.bucket));
  return cells;
}

export function errorGroupCharts(series: ErrorGroupSeries): SafeHtml {
  return html`<section class="charts">${lineChart({
    id: 'chart-group',
    title: 'Events and users over time',
    axis: series,
    series: [
      { label: 'events', values: series.events },
      { label: 'users', values: series.users },
    ],
    markers: series.releases,
  })}</section>`;
}

export function featureCharts(set: FeatureSeriesSet): SafeHtml {
  if (set.features.length === 0) return html``;
  const apps = Object.keys(set.activeAccounts);
  return html`<section class="charts">
${lineChart({
  id: 'chart-feature-uses',
  title: 'Uses per feature',
  axis: set,
  unit: 'uses',
  series: set.features.map((f) => ({
    label: apps.length > 1 ? `${f.name} (${f.app})` : f.name,
    values: f.uses,
  })),
})}
${lineChart({
  id: 'chart-feature-users',
  title: 'Users per feature',
  axis: set,
  unit: 'users',
  series: set.features.map((f) => ({
    label: apps.length > 1 ? `${f.name} (${f.app})` : f.name,
    values: f.users,
  })),
})}
${barChart({
  id: 'chart-first-uses',
  title: 'First uses (features used for the first time)',
  axis: set,
  unit: 'features',
  series: [{ label: 'new features', values: set.firstUses }],
})}
</section>
<h2>Adoption by account <span class="muted">(accounts that used it / accounts active in the range)</span></h2>
<table class="compact adoption"><thead><tr><th>Feature</th><th>App</th><th class="num">Accounts</th><th class="num">Active accounts</th><th>Adoption</th></tr></thead>
<tbody>${set.features.map((f) => {
    const active = set.activeAccounts[f.app] ?? 0;
    const share = active === 0 ? 0 : f.accounts / active;
    const percent = Math.round(share * 100);
    const adoption =
      active === 0
        ? html`<span class="muted">no accounts in the range</span>`
        : html`<meter min="0" max="1" value="${share.toFixed(3)}" aria-label="${`${f.name}: ${percent}% of active accounts`}"></meter> ${percent}%`;
    return html`<tr><td><code>${f.name}</code></td><td>${f.app}</td><td class="num">${formatCount(f.accounts)}</td><td class="num">${formatCount(active)}</td><td>${adoption}</td></tr>`;
  })}</tbody></table>`;
}

export function countCharts(set: CountSeriesSet, id: string, title: string, unit: string): SafeHtml {
  if (set.series.length === 0) return html``;
  const apps = new Set(set.series.map((s) => s.app));
  return html`<section class="charts">${lineChart({
    id,
    title,
    axis: set,
    unit,
    series: set.series.map((s) => ({
      label: apps.size > 1 ? `${s.name} (${s.app})` : s.name,
      values: s.counts,
    })),
  })}</section>`;
}
