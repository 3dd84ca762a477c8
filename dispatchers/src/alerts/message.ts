import type { EnrichedEvent } from '../enrich/enrich.js';
import { groupingFrames } from '../enrich/fingerprint.js';
import { formatFrame, parseStack } from '../enrich/stack.js';
import type { AlertKind } from './alert-log.js';

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

/** The alert an event would raise, or undefined for events that never alert (logs, asserts, blocked). */
export function alertKey(event: EnrichedEvent): { key: string; kind: AlertKind } | undefined {
  if (event.kind === 'error' && event.fingerprint !== null)
    return { key: `new-error:${event.app}:${event.fingerprint}`, kind: 'new-error' };
  if (event.kind === 'feature' && event.name !== null)
    return { key: `first-feature:${event.app}:${event.name}`, kind: 'first-feature' };
  return undefined;
}

function oneLine(text: string): string {
  return text
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/\s{2,}/g, ' ')
    .trim();
}

function escapeHtml(text: string): string {
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
function topFrames(stack: string | null): string[] {
  const frames = parseStack(stack ?? undefined);
  const grouping = groupingFrames(frames);
  const rest = frames.filter((f) => !grouping.includes(f));
  return [...grouping, ...rest].slice(0, EMAIL_FRAMES).map(formatFrame);
}

function render(
  rows: ReadonlyArray<readonly [string, string]>,
  intro: string,
  link: string,
  frames: string[],
): { text: string; html: string } {
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  const textRows = rows.map(([label, value]) => `${`${label}:`.padEnd(width)}${value}`);
  const where = frames.length === 0 ? [] : ['', 'Where (top frames):', ...frames.map((f) => `  at ${f}`)];
  const text = [intro, '', ...textRows, ...where, '', `Open in Telltale: ${link}`, ''].join('\n');
  const htmlRows = rows.map(
    ([label, value]) =>
      `<tr><th align="left" style="padding-right:12px">${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`,
  );
  const htmlFrames =
    frames.length === 0
      ? ''
      : `<p><b>Where (top frames)</b></p><pre>${frames.map((f) => `at ${escapeHtml(f)}`).join('\n')}</pre>`;
  const html = `<!doctype html><html><body style="font-family:sans-serif"><p>${escapeHtml(intro)}</p><table>${htmlRows.join('')}</table>${htmlFrames}<p><a href="${escapeHtml(link)}">Open in Telltale</a></p></body></html>`;
  return { text, html };
}

/** Subject and bodies of the alert for an event; undefined when the event never alerts. */
export function composeAlert(event: EnrichedEvent, dashboardUrl: string): AlertMessage | undefined {
  const key = alertKey(event);
  if (key === undefined) return undefined;
  const common: Array<[string, string]> = [
    ['App', event.app],
    ['Release', event.release],
    ['Environment', event.environment],
    ['Browser', browserLine(event)],
    ['Page', event.url ?? 'unknown'],
    ['First seen', new Date(event.receivedAt).toISOString()],
  ];
  if (key.kind === 'new-error') {
    const type = event.errorType ?? 'Error';
    const message = oneLine(event.message ?? '');
    const link = `${dashboardUrl}/errors/${event.fingerprint ?? ''}`;
    const subject = oneLine(
      `[Telltale] New error in ${event.app}: ${type}: ${message.slice(0, SUBJECT_MESSAGE_CHARS)}`,
    );
    const rows: Array<[string, string]> = [
      ['What', `${type}: ${message}`],
      ...common,
      ['Fingerprint', event.fingerprint ?? ''],
    ];
    return {
      ...key,
      app: event.app,
      subject,
      link,
      ...render(rows, `A new error appeared in ${event.app}.`, link, topFrames(event.stack)),
    };
  }
  const name = event.name ?? '';
  const link = `${dashboardUrl}/features`;
  const subject = oneLine(`[Telltale] First use of feature "${name}" in ${event.app}`);
  const rows: Array<[string, string]> = [['Feature', name], ...common];
  return {
    ...key,
    app: event.app,
    subject,
    link,
    ...render(rows, `Someone used the feature "${name}" in ${event.app} for the first time.`, link, []),
  };
}
