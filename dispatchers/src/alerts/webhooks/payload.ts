import { createHmac } from 'node:crypto';
import type { WebhookDestination } from '@telltale/protocol';
import type { AlertSummary } from '../alert-log-types.js';

/** The body of a `json` webhook: what happened, where to look, and the key to deduplicate on. */
export interface AlertWebhookBody {
  /** The alert key: the same alert always has the same id (also the `Idempotency-Key` header). */
  id: string;
  kind: AlertSummary['kind'];
  app: string;
  subject: string;
  link: string | null;
  /** ISO time the alert was decided. */
  createdAt: string;
  fingerprint?: string;
  feature?: string;
  account?: string;
  assert?: string;
  /** Digests: how many alerts they stand for. */
  count?: number;
}

export interface WebhookRequest {
  body: string;
  headers: Record<string, string>;
}

/** Slack section text is at most 3,000 characters; Teams shows long text but nobody reads it. */
const MAX_TEXT = 2_900;
const cap = (text: string): string => (text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text);
const subjectOf = (alert: AlertSummary): string => alert.subject.replace(/^\[Telltale\] /, '');

/** The subject of the alert from its key: `new-error:<app>:<fingerprint>`, `first-feature:<app>:<name>`, … */
export function alertWebhookBody(alert: AlertSummary): AlertWebhookBody {
  const body: AlertWebhookBody = {
    id: alert.key,
    kind: alert.kind,
    app: alert.app,
    subject: alert.subject,
    link: alert.link ?? null,
    createdAt: alert.createdAt,
  };
  // App ids hold no ":"; names after them may.
  const rest = alert.key.split(':').slice(2);
  if (alert.kind === 'new-error' || alert.kind === 'regression') body.fingerprint = rest[0] ?? '';
  else if (alert.kind === 'first-feature') body.feature = rest.join(':');
  else if (alert.kind === 'first-feature-account') {
    body.feature = rest.slice(0, -1).join(':');
    body.account = rest[rest.length - 1] ?? '';
  } else if (alert.kind === 'new-assert') body.assert = rest.join(':');
  if (alert.count !== undefined) body.count = alert.count;
  return body;
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: the receiver recomputes it (docs/alerts.md). */
export function signatureHeader(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/** Slack mrkdwn: only `&`, `<` and `>` are special (Slack's "Formatting text" guide). */
const slackEscape = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Slack incoming webhook: `text` for notifications, `blocks` for the message itself. */
export function slackPayload(alert: AlertSummary): unknown {
  const subject = cap(subjectOf(alert));
  const title =
    alert.link === undefined ? `*${slackEscape(subject)}*` : `*<${alert.link}|${slackEscape(subject)}>*`;
  const facts = [`*${alert.kind}*`, `app \`${slackEscape(alert.app)}\``, alert.createdAt];
  if (alert.count !== undefined) facts.push(`${alert.count} alerts`);
  return {
    text: slackEscape(subject),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: title } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: facts.join(' · ') }] },
    ],
  };
}

/** Microsoft Teams incoming webhook (Workflows): a message carrying one Adaptive Card. */
export function teamsPayload(alert: AlertSummary): unknown {
  const facts = [
    { title: 'Kind', value: alert.kind },
    { title: 'App', value: alert.app },
    { title: 'Decided', value: alert.createdAt },
  ];
  if (alert.count !== undefined) facts.push({ title: 'Alerts', value: String(alert.count) });
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            { type: 'TextBlock', text: cap(subjectOf(alert)), weight: 'Bolder', size: 'Medium', wrap: true },
            { type: 'FactSet', facts },
          ],
          ...(alert.link === undefined
            ? {}
            : { actions: [{ type: 'Action.OpenUrl', title: 'Open in Telltale', url: alert.link }] }),
        },
      },
    ],
  };
}

/** The request for one destination: its format, the idempotency header, the signature when it has a secret. */
export function webhookRequest(
  destination: WebhookDestination,
  alert: AlertSummary,
  now: number = Date.now(),
): WebhookRequest {
  const payload =
    destination.type === 'slack'
      ? slackPayload(alert)
      : destination.type === 'teams'
        ? teamsPayload(alert)
        : alertWebhookBody(alert);
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'user-agent': 'Telltale-Webhooks/1',
    // Header values are Latin-1: keys with other characters (feature names) travel percent-encoded;
    // a lone surrogate (names come from clients) becomes U+FFFD first, as encodeURI throws on it
    // (String#toWellFormed, outside the ES2023 lib this build targets; with `u` only lone ones match).
    'idempotency-key': encodeURI(alert.key.replace(/[\uD800-\uDFFF]/gu, '\uFFFD')),
  };
  if (destination.secret !== undefined)
    headers['telltale-signature'] = signatureHeader(destination.secret, body, Math.floor(now / 1000));
  return { body, headers };
}
