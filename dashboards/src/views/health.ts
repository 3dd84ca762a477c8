import type { LatencyHistogram } from '@telltale/spool';
import type { ConsumerHealth, FailingPart, PipelineHealth } from '../http/health-types.js';
import { html, type SafeHtml } from '../html.js';
import { formatCount, relativeTime, timeCell, truncate } from './format.js';
import { emptyState, heading, page } from './layout.js';

export const HEALTH_PATH = '/health';

/** Where the replay form of one consumer's dead letters posts. */
export const replayPath = (consumer: string): string =>
  `${HEALTH_PATH}/dead-letters/${encodeURIComponent(consumer)}/replay`;

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

function formatSeconds(seconds: number): string {
  if (seconds < 1) return seconds === 0 ? '0 s' : '< 1 s';
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** The upper bound of the bucket holding quantile q ("≤ 5 ms"), from cumulative bucket counts. */
export function quantileBound(h: LatencyHistogram, q: number): string {
  if (h.count === 0) return '—';
  const i = h.counts.findIndex((n) => n >= q * h.count);
  if (i < 0) return `> ${formatSeconds(h.bounds.at(-1) ?? 0)}`;
  const bound = h.bounds[i]!;
  return bound < 1 ? `≤ ${bound * 1000} ms` : `≤ ${bound} s`;
}

const breakerBadge = (state: string): SafeHtml =>
  html`<span class="badge ${state === 'closed' ? 'badge-ok' : state === 'open' ? 'badge-hard' : 'badge-soft'}">${state}</span>`;

const failingCell = (since: number | null, now: number): SafeHtml =>
  since === null
    ? html`<span class="badge badge-ok">ok</span>`
    : html`<span class="badge badge-hard">failing</span> since ${timeCell(since, now)}`;

function lagCells(c: ConsumerHealth): SafeHtml {
  if (c.lag === null)
    return html`<td class="num muted">—</td><td class="num muted">—</td><td class="num muted">—</td>`;
  return html`<td class="num">${c.lag.recordsExact ? '' : '≈ '}${formatCount(c.lag.records)}</td><td class="num">${formatBytes(c.lag.bytes)}</td><td class="num">${formatSeconds(c.lag.seconds)}</td>`;
}

const counts = (record: Record<string, number>): SafeHtml[] =>
  Object.entries(record).map(([key, n]) => html`<span class="chip">${key} ${formatCount(n)}</span>`);

/** The red banner every page shows while a sink or consumer has been failing for minutes. */
export function healthBanner(parts: FailingPart[], now: number): SafeHtml {
  return html`<div class="banner-failing" role="alert"><strong>The pipeline is failing.</strong> ${parts.map(
    (p) =>
      html`<span class="banner-item">${p.kind === 'sink' ? 'Sink' : 'Consumer'} <b>${p.name}</b> failing for ${relativeTime(p.since, now).replace(/ ago$/, '')}: ${truncate(p.detail, 200)}.</span> `,
  )}Data waits in the spool until it recovers. <a href="${HEALTH_PATH}">Pipeline health</a></div>`;
}

export interface HealthPageOptions {
  /** Show the replay buttons (admins; everyone when the dashboards run without sign-in). */
  canReplay: boolean;
  /** The outcome of a replay just made (after its redirect). */
  replayed?: { consumer: string; replayed: number; left: number } | undefined;
}

export function healthPage(
  site: string,
  health: PipelineHealth | undefined,
  options: HealthPageOptions,
): SafeHtml {
  const lead =
    'The pipeline as it runs now: spools, consumers and how far behind they are, sinks and their breakers, dead letters, the alert backlog. The same figures are on /metrics.';
  if (health === undefined)
    return page({
      site,
      title: 'Pipeline health',
      section: 'health',
      body: html`${heading('Pipeline health', lead)}${emptyState(
        html`This dashboards process runs without the dispatchers, so it has no pipeline figures here. Look at the dispatcher process instead: its ops port serves <code>/metrics</code> (<code>telltale_dispatcher_*</code>: lag, breakers, dead letters, alert backlog) and <code>/readyz</code>; the collector's <code>/metrics</code> has the spools (<code>telltale_spool_*</code>). <code>telltale dlq list</code> and <code>telltale dlq replay</code> work on the dead letters.`,
      )}`,
    });
  const now = health.at;
  const { replayed } = options;
  const body = html`${heading('Pipeline health', lead)}
${
  replayed !== undefined &&
  html`<p class="notice ${replayed.left === 0 ? 'notice-info' : 'notice-warn'}">Replay of <b>${replayed.consumer}</b>: ${formatCount(replayed.replayed)} dead letters went back to the sink, ${formatCount(replayed.left)} left (<code>telltale dlq list</code> shows their reasons).</p>`
}
<h2>Sinks</h2>
${
  health.sinks.length === 0
    ? emptyState('No sinks are configured.')
    : html`<table class="health-sinks">
<thead><tr><th>Sink</th><th>Breaker</th><th>State</th><th class="num">Failed in a row</th><th class="num">Times opened</th><th class="num">Short-circuited</th></tr></thead>
<tbody>${health.sinks.map(
        (s) =>
          html`<tr data-sink="${s.name}"><td><code>${s.name}</code></td><td>${breakerBadge(s.breaker)}</td><td>${failingCell(s.failingSince, now)}</td><td class="num">${formatCount(s.failures)}</td><td class="num">${formatCount(s.opened)}</td><td class="num">${formatCount(s.shortCircuited)}</td></tr>`,
      )}</tbody></table>`
}
<h2>Consumers</h2>
<table class="health-consumers">
<thead><tr><th>Consumer</th><th>Spool</th><th>State</th><th class="num">Handled</th><th class="num">Behind (records)</th><th class="num">Behind (bytes)</th><th class="num">Oldest waiting</th><th class="num">Retries</th><th>Last error</th></tr></thead>
<tbody>${health.consumers.map(
    (c) =>
      html`<tr data-consumer="${c.name}"><td><code>${c.name}</code></td><td>${c.spool}</td><td>${c.running ? failingCell(c.failingSince, now) : html`<span class="badge badge-other">stopped</span>`}</td><td class="num">${formatCount(c.records)}</td>${lagCells(c)}<td class="num">${formatCount(c.retries + c.sourceErrors)}</td><td class="main">${c.lastError === null ? '' : truncate(c.lastError, 300)}</td></tr>`,
  )}</tbody></table>
${deadLetterSection(health, options.canReplay)}
${spoolSection(health)}
<h2>Alerts and decoding</h2>
<dl class="facts">
<div><dt>Alert emails waiting</dt><dd data-figure="alerts-pending">${formatCount(health.alerts.pending)}</dd></div>
<div><dt>Sent since start</dt><dd>${formatCount(health.alerts.sent)}</dd></div>
<div><dt>Send failures</dt><dd>${formatCount(health.alerts.failures)}</dd></div>
<div><dt>Decode threads</dt><dd>${formatCount(health.decodePool.threads)}</dd></div>
<div><dt>Decode queue</dt><dd>${health.decodePool.queued === null ? '—' : formatCount(health.decodePool.queued)}</dd></div>
<div><dt>Decoded inline after a worker failed</dt><dd>${formatCount(health.decodePool.inlineFallbacks)}</dd></div>
${health.alerts.lastError !== null && html`<div class="wide"><dt>Last send error</dt><dd>${truncate(health.alerts.lastError, 300)}</dd></div>`}
</dl>`;
  return page({ site, title: 'Pipeline health', section: 'health', refresh: true, body });
}

function deadLetterSection(health: PipelineHealth, canReplay: boolean): SafeHtml {
  const onDisk = health.deadLetters;
  if (onDisk === undefined) {
    // Only the counts since start are known here.
    const rows = health.consumers.filter((c) => Object.keys(c.deadLettered).length > 0);
    return html`<h2>Dead letters since start</h2>${
      rows.length === 0
        ? emptyState('No record was dead-lettered since start.')
        : html`<table><thead><tr><th>Consumer</th><th>By reason</th></tr></thead><tbody>${rows.map(
            (c) => html`<tr><td><code>${c.name}</code></td><td>${counts(c.deadLettered)}</td></tr>`,
          )}</tbody></table>`
    }`;
  }
  return html`<h2>Dead letters</h2>${
    onDisk.length === 0
      ? emptyState('The dead-letter folders are empty.')
      : html`<table class="health-dead-letters"><thead><tr><th>Consumer</th><th class="num">Waiting</th><th class="num">Replayable</th><th>By code</th><th>Oldest</th><th>Newest</th><th></th></tr></thead><tbody>${onDisk.map(
          (d) =>
            html`<tr data-dead-letters="${d.consumer}"><td><code>${d.consumer}</code></td><td class="num">${formatCount(d.entries)}</td><td class="num">${formatCount(d.replayable)}</td><td>${counts(d.codes)}</td><td class="nowrap">${d.oldest === null ? '' : timeCell(Date.parse(d.oldest), health.at)}</td><td class="nowrap">${d.newest === null ? '' : timeCell(Date.parse(d.newest), health.at)}</td><td>${
              canReplay && d.replayable > 0
                ? html`<form method="post" action="${replayPath(d.consumer)}"><button type="submit">Replay ${formatCount(d.replayable)}</button></form>`
                : ''
            }</td></tr>`,
        )}</tbody></table>`
  }`;
}

function spoolSection(health: PipelineHealth): SafeHtml {
  const spools = Object.entries(health.spools ?? {});
  const rejected = Object.entries(health.rejected ?? {});
  return html`${
    spools.length > 0 &&
    html`<h2>Spools</h2><table class="health-spools"><thead><tr><th>Spool</th><th class="num">Segments</th><th class="num">Bytes</th><th class="num">Disk cap</th><th class="num">Cap used</th><th>Writes</th><th class="num">fsyncs</th><th class="num">fsync p50</th><th class="num">fsync p99</th></tr></thead><tbody>${spools.map(
      ([name, s]) =>
        html`<tr data-spool="${name}"><td><code>${name}</code></td><td class="num">${formatCount(s.segments)}</td><td class="num">${formatBytes(s.bytes)}</td><td class="num">${s.maxTotalBytes === null ? 'none' : formatBytes(s.maxTotalBytes)}</td><td class="num">${s.maxTotalBytes === null || s.maxTotalBytes === 0 ? '—' : `${((100 * s.bytes) / s.maxTotalBytes).toFixed(1)} %`}</td><td>${s.writable ? html`<span class="badge badge-ok">ok</span>` : html`<span class="badge badge-hard">last write failed</span>`}${s.refusedFull > 0 && html` <span class="badge badge-soft">${formatCount(s.refusedFull)} refused full</span>`}</td><td class="num">${formatCount(s.fsyncLatency.count)}</td><td class="num">${quantileBound(s.fsyncLatency, 0.5)}</td><td class="num">${quantileBound(s.fsyncLatency, 0.99)}</td></tr>`,
    )}</tbody></table>`
  }${
    health.rejected !== undefined &&
    html`<h2>Refused requests since start</h2>${
      rejected.length === 0
        ? emptyState('The collector refused nothing since start.')
        : html`<table class="compact"><thead><tr><th>Route</th><th>Code</th><th>Reason</th><th class="num">Requests</th></tr></thead><tbody>${rejected.map(
            ([key, n]) => {
              const [route = '', code = '', reason = ''] = key.split(' ');
              return html`<tr><td>${route}</td><td><code>${code}</code></td><td>${reason}</td><td class="num">${formatCount(n)}</td></tr>`;
            },
          )}</tbody></table>`
    }`
  }`;
}
