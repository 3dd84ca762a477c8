import type { EventKind } from '@telltale/protocol';
import { html, type SafeHtml } from '../html.js';
import type { EventSummary } from '../store.js';

const UNITS: ReadonlyArray<[limitMs: number, unitMs: number, unit: string]> = [
  [60_000, 1000, 's'],
  [3_600_000, 60_000, 'min'],
  [86_400_000, 3_600_000, 'h'],
  [30 * 86_400_000, 86_400_000, 'd'],
];

/** "just now", "42 s ago", "3 min ago", "5 h ago", "12 d ago", then the calendar date. */
export function relativeTime(epochMs: number, now: number): string {
  const diff = now - epochMs;
  if (Math.abs(diff) < 5000) return 'just now';
  const future = diff < 0;
  const abs = Math.abs(diff);
  for (const [limit, unitMs, unit] of UNITS) {
    if (abs < limit) {
      const n = Math.floor(abs / unitMs);
      return future ? `in ${n} ${unit}` : `${n} ${unit} ago`;
    }
  }
  return isoTime(epochMs).slice(0, 10);
}

/** UTC, to the second: what a developer pastes into a query. */
export function isoTime(epochMs: number): string {
  if (!Number.isFinite(epochMs)) return '';
  return new Date(epochMs)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, ' UTC');
}

/** A relative time with the exact time as a tooltip and a machine-readable datetime. */
export function timeCell(epochMs: number, now: number): SafeHtml {
  if (!Number.isFinite(epochMs)) return html`<span class="muted">—</span>`;
  const iso = new Date(epochMs).toISOString();
  return html`<time datetime="${iso}" title="${isoTime(epochMs)}">${relativeTime(epochMs, now)}</time>`;
}

const numberFormat = new Intl.NumberFormat('en-US');

export function formatCount(n: number): string {
  return numberFormat.format(n);
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function kindBadge(kind: EventKind | string): SafeHtml {
  return html`<span class="badge badge-${kindClass(kind)}">${kind}</span>`;
}

/** Only known kinds become class names; anything else gets the neutral style. */
function kindClass(kind: string): string {
  return ['error', 'assert', 'feature', 'blocked', 'log'].includes(kind) ? kind : 'other';
}

/** One line that says what an event is about, whatever its kind. */
export function eventSummaryText(e: EventSummary): string {
  switch (e.kind) {
    case 'error':
      return `${e.errorType ?? 'Error'}: ${e.message ?? ''}`;
    case 'log':
      return `[${e.level ?? 'info'}] ${e.message ?? ''}`;
    default:
      return e.name ?? '';
  }
}

export function prettyJson(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** Query-string link builder that skips empty values. */
export function hrefWith(path: string, params: Record<string, string | number | undefined>): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') query.set(key, String(value));
  }
  const qs = query.toString();
  return qs === '' ? path : `${path}?${qs}`;
}

export function errorHref(fingerprint: string, app: string): string {
  return hrefWith(`/errors/${encodeURIComponent(fingerprint)}`, { app });
}

export function eventHref(app: string, id: string): string {
  return `/events/${encodeURIComponent(app)}/${encodeURIComponent(id)}`;
}

/** "← Newer" / "Older →" links of a paged list (keyset cursors); the list's filters stay in the links. */
export function pager(
  path: string,
  params: Record<string, string | number | undefined>,
  cursors: { next: string | null; prev: string | null },
): SafeHtml {
  const { next, prev } = cursors;
  if (next === null && prev === null) return html``;
  return html`<nav class="pager">${prev !== null && html`<a rel="prev" href="${hrefWith(path, { ...params, after: prev })}">← Newer</a>`} ${next !== null && html`<a rel="next" href="${hrefWith(path, { ...params, before: next })}">Older →</a>`}</nav>`;
}
