import { html, type SafeHtml } from '../html.js';
import type { BucketSize, ReleaseMarker } from '../series.js';
import {
  bucketLabel,
  bucketText,
  CHART_BOX,
  per,
  round,
  scales,
  SPARK_BOX,
  xTickIndexes,
  yTicks,
  type Scales,
} from './chart-axis.js';

/**
 * Charts as server-rendered SVG: pure functions from series to markup, escaped by `html`. No script,
 * no `style=` (the CSP stays strict): colours come from classes in stylesheet.ts, through
 * `currentColor`, out of its light or dark palette, so a chart follows the page's theme.
 *
 * Countable by tests and tools: every chart's <svg> carries `data-points` (points per series, one per
 * bucket); a sparkline draws one polyline vertex per bucket, a line chart one <circle class="point">
 * per bucket and series, a bar chart one <rect class="bar"> per bucket. Screen readers get a <title>
 * and a <desc> that sum the figures up, and line and bar charts a visually hidden table of them all.
 */

/** The time axis a chart is drawn over (series.ts's Buckets fits). */
export interface ChartAxis {
  bucket: BucketSize;
  bucketMs: number;
  buckets: readonly number[];
}

export interface ChartSeries {
  label: string;
  values: readonly number[];
}

export interface ChartOptions {
  /** Unique on the page: the ids of the chart's title and description derive from it. */
  id: string;
  title: string;
  axis: ChartAxis;
  series: readonly ChartSeries[];
  markers?: readonly ReleaseMarker[];
  /** What is counted, for the summary: "events", "uses". */
  unit?: string;
}

/** Colour slots in the stylesheet (.series-0 … .series-5). */
const SLOTS = 6;
const slot = (i: number): string => `series-${i % SLOTS}`;

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);
const maxOf = (series: readonly ChartSeries[]): number => Math.max(0, ...series.flatMap((s) => s.values));

function peak(values: readonly number[]): { value: number; index: number } {
  let best = { value: 0, index: -1 };
  values.forEach((value, index) => {
    if (value > best.value) best = { value, index };
  });
  return best;
}

/** One sentence per series: its total and its busiest bucket. */
function summary(options: ChartOptions): string {
  const { axis } = options;
  const unit = options.unit ?? 'events';
  const first = axis.buckets[0];
  const last = axis.buckets[axis.buckets.length - 1];
  if (first === undefined || last === undefined) return `${options.title}: no buckets in this range.`;
  const range = `${axis.buckets.length} ${axis.bucket === 'day' ? 'days' : 'hours'} from ${bucketText(first, axis.bucket)} to ${bucketText(last, axis.bucket)}`;
  const parts = options.series.map((s) => {
    const top = peak(s.values);
    const busiest =
      top.index < 0
        ? ''
        : `, peak ${top.value} at ${bucketText(axis.buckets[top.index] ?? first, axis.bucket)}`;
    return `${s.label}: ${sum(s.values)} ${unit}${busiest}`;
  });
  const markers = (options.markers ?? []).map(
    (m) =>
      `release ${m.release} ${m.kind === 'regression' ? 'regressed' : 'first seen'} ${new Date(m.ts).toISOString()}`,
  );
  return [
    `${options.title}, ${per(axis.bucket)}, ${range}.`,
    ...parts.map((p) => `${p}.`),
    ...markers.map((m) => `${m}.`),
  ].join(' ');
}

/** A tiny line of one series, for a table row; its label says the figures. */
export function sparkline(values: readonly number[], label: string, bucket: BucketSize): SafeHtml {
  const box = SPARK_BOX;
  const n = values.length;
  const top = Math.max(1, ...values);
  const plotW = box.width - box.left - box.right;
  const plotH = box.height - box.top - box.bottom;
  const x = (i: number) => round(box.left + (n <= 1 ? plotW / 2 : (i / (n - 1)) * plotW));
  const y = (v: number) => round(box.top + plotH - (Math.max(0, v) / top) * plotH);
  const vertices = values.map((v, i) => `${x(i)},${y(v)}`).join(' ');
  const aria = `${label}: ${sum(values)} in ${n} ${bucket === 'day' ? 'days' : 'hours'}, at most ${n === 0 ? 0 : Math.max(...values)} ${per(bucket)}`;
  return html`<svg class="spark" viewBox="0 0 ${box.width} ${box.height}" width="${box.width}" height="${box.height}" role="img" aria-label="${aria}" data-points="${n}"><title>${aria}</title>${
    n === 0
      ? html`<line class="baseline" x1="${box.left}" y1="${y(0)}" x2="${box.width - box.right}" y2="${y(0)}"/>`
      : html`<polyline class="line" fill="none" points="${vertices}"/>${n === 1 && html`<circle class="point" cx="${x(0)}" cy="${y(values[0] ?? 0)}" r="1.5"/>`}`
  }</svg>`;
}

function frame(options: ChartOptions, s: Scales): SafeHtml {
  const box = CHART_BOX;
  const { axis } = options;
  const grid = yTicks(s.top).map(
    (tick) =>
      html`<line class="grid" x1="${box.left}" x2="${box.width - box.right}" y1="${s.y(tick)}" y2="${s.y(tick)}"/><text class="tick" x="${box.left - 6}" y="${s.y(tick) + 4}" text-anchor="end">${tick}</text>`,
  );
  const labels = xTickIndexes(axis.buckets.length).map(
    (i) =>
      html`<text class="tick" x="${s.x(i)}" y="${box.height - 8}" text-anchor="middle">${bucketLabel(axis.buckets[i] ?? 0, axis.bucket)}</text>`,
  );
  return html`<g class="axis">${grid}${labels}</g>`;
}

function markerLines(options: ChartOptions, s: Scales): SafeHtml {
  const box = CHART_BOX;
  const first = options.axis.buckets[0];
  if (first === undefined) return html``;
  const end = first + options.axis.buckets.length * options.axis.bucketMs;
  const shown = (options.markers ?? []).filter((m) => m.ts >= first && m.ts < end);
  // Labels of markers close together go on lines below one another instead of over one another.
  let lastX = -Infinity;
  let line = 0;
  return html`<g class="markers" data-markers="${shown.length}">${shown.map((m) => {
    const x = s.xAt(m.ts);
    line = x - lastX < 48 ? line + 1 : 0;
    lastX = x;
    const nearEnd = x > box.width - box.right - 60;
    return html`<g class="marker marker-${m.kind}"><line x1="${x}" x2="${x}" y1="${box.top}" y2="${box.height - box.bottom}"/><text x="${nearEnd ? round(x - 3) : round(x + 3)}" y="${box.top + 9 + 12 * (line % 8)}" text-anchor="${nearEnd ? 'end' : 'start'}">${m.kind === 'regression' ? '↺ ' : ''}${m.release}</text><title>Release ${m.release}: ${m.kind === 'regression' ? 'came back after being resolved' : 'first seen'} ${new Date(m.ts).toISOString()}</title></g>`;
  })}</g>`;
}

function legend(series: readonly ChartSeries[]): SafeHtml {
  return html`<ul class="legend">${series.map(
    (s, i) =>
      html`<li><span class="swatch ${slot(i)}"></span>${s.label} <span class="muted">${sum(s.values)}</span></li>`,
  )}</ul>`;
}

/** Every figure as a table, visually hidden: what a screen reader reads instead of the picture. */
function dataTable(options: ChartOptions): SafeHtml {
  const { axis } = options;
  return html`<table class="sr-only"><caption>${options.title} (${per(axis.bucket)})</caption>
<thead><tr><th>${axis.bucket === 'day' ? 'Day' : 'Hour'}</th>${options.series.map((s) => html`<th>${s.label}</th>`)}</tr></thead>
<tbody>${axis.buckets.map(
    (start, i) =>
      html`<tr><td>${bucketText(start, axis.bucket)}</td>${options.series.map((s) => html`<td>${s.values[i] ?? 0}</td>`)}</tr>`,
  )}</tbody></table>`;
}

function figure(options: ChartOptions, kind: string, plot: (s: Scales) => SafeHtml): SafeHtml {
  const box = CHART_BOX;
  const { axis } = options;
  const n = axis.buckets.length;
  const s = scales(box, n, maxOf(options.series), axis.buckets[0] ?? 0, axis.bucketMs);
  const titleId = `${options.id}-title`;
  const descId = `${options.id}-desc`;
  return html`<figure class="chart chart-${kind}" id="${options.id}">
<svg class="chart-svg" viewBox="0 0 ${box.width} ${box.height}" role="img" aria-labelledby="${titleId} ${descId}" data-points="${n}" data-series="${options.series.length}" data-bucket="${axis.bucket}">
<title id="${titleId}">${options.title}</title><desc id="${descId}">${summary(options)}</desc>
${frame(options, s)}${markerLines(options, s)}${n === 0 ? html`<text class="tick" x="${box.width / 2}" y="${box.height / 2}" text-anchor="middle">No data in this range</text>` : plot(s)}
</svg>
<figcaption><span class="chart-title">${options.title}</span> <span class="muted">${per(axis.bucket)}</span>${legend(options.series)}</figcaption>
${dataTable(options)}
</figure>`;
}

/** Lines (with the area under the first one) over the buckets; one <circle class="point"> per value. */
export function lineChart(options: ChartOptions): SafeHtml {
  const { axis } = options;
  const bottom = CHART_BOX.height - CHART_BOX.bottom;
  return figure(
    options,
    'line',
    (s) =>
      html`${options.series.map((series, index) => {
        const values = axis.buckets.map((_b, i) => series.values[i] ?? 0);
        const vertices = values.map((v, i) => `${s.x(i)},${s.y(v)}`);
        const area =
          index === 0 && values.length > 1
            ? html`<path class="area" d="${`M${s.x(0)},${bottom} L${vertices.join(' L')} L${s.x(values.length - 1)},${bottom} Z`}"/>`
            : html``;
        return html`<g class="series ${slot(index)}" data-label="${series.label}">${area}<polyline class="line" fill="none" points="${vertices.join(' ')}"/>${values.map(
          (v, i) =>
            html`<circle class="point" cx="${s.x(i)}" cy="${s.y(v)}" r="2.5"><title>${bucketText(axis.buckets[i] ?? 0, axis.bucket)}: ${v} ${series.label}</title></circle>`,
        )}</g>`;
      })}`,
  );
}

/** Bars of one series (the first given), one <rect class="bar"> per bucket, zero-height where empty. */
export function barChart(options: ChartOptions): SafeHtml {
  const { axis } = options;
  const series = options.series.slice(0, 1);
  const bottom = CHART_BOX.height - CHART_BOX.bottom;
  return figure({ ...options, series }, 'bar', (s) => {
    const width = round(Math.max(1, s.step * 0.7));
    const only = series[0];
    return html`<g class="series ${slot(0)}" data-label="${only?.label ?? ''}">${axis.buckets.map(
      (start, i) => {
        const v = only?.values[i] ?? 0;
        const y = s.y(v);
        return html`<rect class="bar" x="${round(s.x(i) - width / 2)}" y="${y}" width="${width}" height="${round(bottom - y)}"><title>${bucketText(start, axis.bucket)}: ${v}</title></rect>`;
      },
    )}</g>`;
  });
}
