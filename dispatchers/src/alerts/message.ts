import type { EnrichedEvent } from '../pipeline/index.js';
import {
  alertKeys,
  groupingFrames,
  formatFrame,
  parseStack,
  type StackFrame,
  type GroupState,
} from '../intelligence/index.js';
import { OVERFLOW_PREFIX, type AlertKind } from './alert-log.js';

/** Frames shown in an email: enough to know where to look, short enough to read on a phone. */
const EMAIL_FRAMES = 5;
const SUBJECT_MESSAGE_CHARS = 80;

export interface AlertMessage {
  key: string;
  kind: AlertKind;
  app: string;
  subject: string;
  link: string;
  text: string;
  html: string;
}

/** What the alerter knows about an alert's event beyond the event itself. */
export interface AlertContext {
  dashboardUrl: string;
  /** Frames after symbolication (else parsed from the raw stack). */
  frames?: ReadonlyArray<StackFrame & { context?: string }>;
  /** Occurrences and distinct users of this alert's key in the batch that raised it. */
  occurrences?: number;
  users?: number;
  /** Regressions: the group's state when it was resolved. */
  group?: GroupState;
}

// The alerts an event can raise: in intelligence/, because the decode workers render them too (alert subjects).
export { alertKeys } from '../intelligence/index.js';

/** The first alert an event would raise (kept for callers of the first slice). */
export function alertKey(event: EnrichedEvent): { key: string; kind: AlertKind } | undefined {
  return alertKeys(event)[0];
}

function oneLine(text: string): string {
  return text
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/\s{2,}/g, ' ')
    .trim();
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function browserLine(e: EnrichedEvent): string {
  const browser = [e.browser, e.browserVersion].filter((part) => part !== null).join(' ');
  const os = [e.os, e.osVersion].filter((part) => part !== null).join(' ');
  const parts = [browser, os === '' ? '' : `on ${os}`, e.device === null ? '' : `(${e.device})`].filter(
    (part) => part !== '',
  );
  return parts.length === 0 ? 'unknown' : parts.join(' ');
}

/** Frames for the email: the in-app ones that define the group first, then whatever follows them. */
function topFrames(context: AlertContext, stack: string | null): string[] {
  const frames = context.frames ?? parseStack(stack ?? undefined);
  const grouping = groupingFrames(frames);
  const rest = frames.filter((f) => !grouping.includes(f));
  return [...grouping, ...rest]
    .slice(0, EMAIL_FRAMES)
    .map((f) => `${formatFrame(f)}${f.inApp ? '' : ' [library]'}`);
}

function usersLine(context: AlertContext): string {
  const users = context.users ?? 1;
  const occurrences = context.occurrences ?? 1;
  return occurrences > 1
    ? `${users} so far (${occurrences} occurrences in the first batch)`
    : `${users} so far`;
}

function render(
  rows: ReadonlyArray<readonly [string, string]>,
  intro: string,
  link: string,
  frames: string[],
  codeLine: string | undefined,
): { text: string; html: string } {
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  const textRows = rows.map(([label, value]) => `${`${label}:`.padEnd(width)}${value}`);
  const where =
    frames.length === 0
      ? []
      : [
          '',
          'Where (top frames):',
          ...frames.map((f) => `  at ${f}`),
          ...(codeLine === undefined ? [] : ['', `  > ${codeLine}`]),
        ];
  const text = [intro, '', ...textRows, ...where, '', `Open in Telltale: ${link}`, ''].join('\n');
  const htmlRows = rows.map(
    ([label, value]) =>
      `<tr><th align="left" style="padding-right:12px">${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`,
  );
  const htmlFrames =
    frames.length === 0
      ? ''
      : `<p><b>Where (top frames)</b></p><pre>${frames.map((f) => `at ${escapeHtml(f)}`).join('\n')}${
          codeLine === undefined ? '' : `\n\n&gt; ${escapeHtml(codeLine)}`
        }</pre>`;
  const html = `<!doctype html><html><body style="font-family:sans-serif"><p>${escapeHtml(intro)}</p><table>${htmlRows.join('')}</table>${htmlFrames}<p><a href="${escapeHtml(link)}">Open in Telltale</a></p></body></html>`;
  return { text, html };
}

function commonRows(event: EnrichedEvent): Array<[string, string]> {
  return [
    ['App', event.app],
    ['Release', event.release],
    ['Environment', event.environment],
    ['Browser', browserLine(event)],
    ['Page', event.url ?? 'unknown'],
    ['First seen', new Date(event.receivedAt).toISOString()],
  ];
}

function errorAlert(
  kind: 'new-error' | 'regression',
  key: string,
  event: EnrichedEvent,
  context: AlertContext,
): AlertMessage {
  const type = event.errorType ?? 'Error';
  const message = oneLine(event.message ?? '');
  const link = `${context.dashboardUrl}/errors/${event.fingerprint ?? ''}?app=${encodeURIComponent(event.app)}`;
  const short = message.slice(0, SUBJECT_MESSAGE_CHARS);
  const subject = oneLine(
    kind === 'new-error'
      ? `[Telltale] New error in ${event.app}: ${type}: ${short}`
      : `[Telltale] Regression in ${event.app}: ${type}: ${short}`,
  );
  const group = context.group;
  const resolvedRows: Array<[string, string]> =
    kind === 'regression' && group?.resolvedAt !== undefined
      ? [
          [
            'Resolved',
            `${new Date(group.resolvedAt).toISOString()}${group.resolvedInRelease === undefined ? '' : ` in release ${group.resolvedInRelease}`}`,
          ],
          ['Seen again in', event.release],
        ]
      : [];
  const rows: Array<[string, string]> = [
    ['What', `${type}: ${message}`],
    ...resolvedRows,
    ['Users', usersLine(context)],
    ...commonRows(event),
    ['Fingerprint', event.fingerprint ?? ''],
  ];
  const intro =
    kind === 'new-error'
      ? `A new error appeared in ${event.app}.`
      : `An error marked resolved in ${event.app} happened again.`;
  const codeLine = context.frames?.find((f) => f.inApp && f.context !== undefined)?.context;
  return {
    key,
    kind,
    app: event.app,
    subject,
    link,
    ...render(rows, intro, link, topFrames(context, event.stack), codeLine),
  };
}

/** Subject and bodies of one alert; undefined for kinds an event cannot raise. */
export function composeAlert(
  event: EnrichedEvent,
  alert: { key: string; kind: AlertKind },
  context: AlertContext,
): AlertMessage | undefined {
  const { key, kind } = alert;
  const name = event.name ?? '';
  switch (kind) {
    case 'new-error':
    case 'regression':
      return errorAlert(kind, key, event, context);
    case 'first-feature': {
      const link = `${context.dashboardUrl}/features`;
      const rows: Array<[string, string]> = [['Feature', name], ...commonRows(event)];
      return {
        key,
        kind,
        app: event.app,
        subject: oneLine(`[Telltale] First use of feature "${name}" in ${event.app}`),
        link,
        ...render(
          rows,
          `Someone used the feature "${name}" in ${event.app} for the first time.`,
          link,
          [],
          undefined,
        ),
      };
    }
    case 'first-feature-account': {
      const account = event.accountId ?? '';
      const link = `${context.dashboardUrl}/features`;
      const rows: Array<[string, string]> = [['Feature', name], ['Account', account], ...commonRows(event)];
      return {
        key,
        kind,
        app: event.app,
        subject: oneLine(`[Telltale] Account ${account} used "${name}" for the first time (${event.app})`),
        link,
        ...render(
          rows,
          `Account ${account} used the feature "${name}" for the first time.`,
          link,
          [],
          undefined,
        ),
      };
    }
    case 'new-assert': {
      const soft = event.soft === true;
      const link = `${context.dashboardUrl}/asserts`;
      const rows: Array<[string, string]> = [
        ['Assert', `${name}${soft ? ' (soft: the user went on)' : ''}`],
        ['Diagnostics', event.attrs ?? '—'],
        ['Users', usersLine(context)],
        ...commonRows(event),
      ];
      return {
        key,
        kind,
        app: event.app,
        subject: oneLine(`[Telltale] New ${soft ? 'soft ' : ''}failing assert in ${event.app}: ${name}`),
        link,
        ...render(
          rows,
          `The assert "${name}" failed in ${event.app} for the first time.`,
          link,
          [],
          undefined,
        ),
      };
    }
    case 'digest':
      return undefined;
  }
}

/** One email for the alerts held back by the hourly cap: one line each, with its link; then the
 *  tallies of new keys over the per-app cap (`overflow:` lines), one sentence per app and kind. */
export function composeDigest(
  key: string,
  windowStart: number,
  windowMs: number,
  alerts: ReadonlyArray<{
    key?: string;
    kind: AlertKind;
    subject: string;
    link?: string | undefined;
    app: string;
    count?: number | undefined;
  }>,
  dashboardUrl: string,
): AlertMessage {
  const isTally = (a: (typeof alerts)[number]): boolean => a.key?.startsWith(OVERFLOW_PREFIX) === true;
  const listed = alerts.filter((a) => !isTally(a));
  const tallies = alerts.filter(isTally);
  const weight = (a: (typeof alerts)[number]): number => (isTally(a) ? (a.count ?? 0) : 1);
  const byKind = new Map<string, number>();
  for (const a of alerts) byKind.set(a.kind, (byKind.get(a.kind) ?? 0) + weight(a));
  const n = (value: number): string => value.toLocaleString('en-US');
  const kinds = [...byKind.entries()].map(([kind, count]) => `${n(count)} ${kind}`).join(', ');
  const total = alerts.reduce((sum, a) => sum + weight(a), 0);
  const apps = [...new Set(alerts.map((a) => a.app))];
  const from = new Date(windowStart).toISOString();
  const to = new Date(windowStart + windowMs).toISOString();
  const subject = `[Telltale] Digest: ${n(total)} more alert${total === 1 ? '' : 's'} (${kinds})`;
  const link = `${dashboardUrl}/alerts`;
  const lines = listed.map(
    (a) => `- ${a.subject.replace(/^\[Telltale\] /, '')}${a.link === undefined ? '' : `\n  ${a.link}`}`,
  );
  const tallyLines = tallies.map(
    (a) =>
      `… and ${a.subject} (over the per-app limit of new alerts per window)${a.link === undefined ? '' : `\n  ${a.link}`}`,
  );
  const intro = `More alerts than the hourly limit allows arrived between ${from} and ${to}; here they are in one email.`;
  const text = [
    intro,
    '',
    `Apps: ${apps.join(', ')}`,
    '',
    ...lines,
    ...(tallyLines.length === 0 ? [] : ['', ...tallyLines]),
    '',
    `All alerts: ${link}`,
    '',
  ].join('\n');
  const items = listed
    .map(
      (a) =>
        `<li>${escapeHtml(a.subject.replace(/^\[Telltale\] /, ''))}${a.link === undefined ? '' : ` — <a href="${escapeHtml(a.link)}">open</a>`}</li>`,
    )
    .join('');
  const tallyItems = tallies
    .map((a) => `<p>… and ${escapeHtml(a.subject)} (over the per-app limit of new alerts per window).</p>`)
    .join('');
  const html = `<!doctype html><html><body style="font-family:sans-serif"><p>${escapeHtml(intro)}</p><ul>${items}</ul>${tallyItems}<p><a href="${escapeHtml(link)}">All alerts</a></p></body></html>`;
  return { key, kind: 'digest', app: apps.length === 1 ? (apps[0] ?? '') : '*', subject, link, text, html };
}
