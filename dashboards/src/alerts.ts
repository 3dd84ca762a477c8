/** One record of the durable alert log, as the dispatchers' alerter writes it. */
export interface AlertSummary {
  /** Stable dedupe key (one alert per new fingerprint / first use); also the id in `/alerts/:key`. */
  key: string;
  kind:
    | 'new-error'
    | 'regression'
    | 'first-feature'
    | 'first-feature-account'
    | 'new-assert'
    | 'digest'
    | (string & {});
  app: string;
  subject: string;
  /** Epoch ms, or an ISO 8601 string. */
  createdAt: number | string;
  /** `muted` (a rule matched: no email), `deferred` / `digested` (over the hourly cap: in a digest email). */
  status: 'pending' | 'sent' | 'muted' | 'deferred' | 'digested' | (string & {});
  transport: 'smtp' | 'outbox' | (string & {});
  /** Path of the .eml file under outbox/, when there is one. */
  file?: string;
  /** When the email was handed to SMTP or written to the outbox (epoch ms or ISO 8601). */
  sentAt?: number | string;
  /** Dashboard page of the error group or feature. */
  link?: string;
  /** The mute rule that silenced it. */
  mutedBy?: string;
  /** The digest that lists it. */
  digest?: string;
  /** Webhook deliveries by destination id: the host only, never the URL or secret. */
  deliveries?: Record<string, AlertDelivery>;
}

/** One webhook's delivery of one alert (the dispatchers' WebhookDelivery). */
export interface AlertDelivery {
  type: 'json' | 'slack' | 'teams' | (string & {});
  host: string;
  /** `failing` is retried; `failed` was given up (a 4xx, a redirect, or too many attempts). */
  status: 'pending' | 'failing' | 'sent' | 'failed' | (string & {});
  attempts: number;
  sentAt?: string;
  failedAt?: string;
  /** `HTTP 404`, `timeout`, `ECONNREFUSED`, … */
  lastError?: string;
}

/** A place in the alerts' order (newest first, then key descending): one alert's time and key. */
export interface AlertPosition {
  time: number;
  key: string;
}

/** What the dashboards ask of the alert log: one page, plus one alert to tell whether more follow. */
export interface AlertListQuery {
  limit?: number | undefined;
  /** Older than this alert (the next page). */
  before?: AlertPosition | undefined;
  /** Newer than this alert (the previous page). */
  after?: AlertPosition | undefined;
}

/**
 * Lists the alert log; injected so the dashboards never read the dispatchers' files themselves. A
 * log that honours the query reads only that page; one that returns everything still works, paged
 * here (see pageAlerts).
 */
export type ListAlerts = (query?: AlertListQuery) => Promise<AlertSummary[]>;

/** Returns the raw .eml text of one alert by key; null or undefined when there is none. */
export type ReadAlert = (key: string) => Promise<string | null | undefined>;

export function alertTime(alert: AlertSummary): number {
  return typeof alert.createdAt === 'number' ? alert.createdAt : Date.parse(alert.createdAt);
}

function compareNewestFirst(a: AlertPosition, b: AlertPosition): number {
  return b.time - a.time || (a.key < b.key ? 1 : a.key > b.key ? -1 : 0);
}

export const alertPosition = (alert: AlertSummary): AlertPosition => ({
  time: alertTime(alert) || 0,
  key: alert.key,
});

/** The page `query` asks for, newest first, out of any list of alerts (a no-op on a page already cut). */
export function pageAlerts(alerts: readonly AlertSummary[], query: AlertListQuery): AlertSummary[] {
  const sorted = [...alerts].sort((a, b) => compareNewestFirst(alertPosition(a), alertPosition(b)));
  const limit = query.limit ?? sorted.length;
  const { before, after } = query;
  if (before !== undefined)
    return sorted.filter((a) => compareNewestFirst(alertPosition(a), before) > 0).slice(0, limit);
  if (after !== undefined) {
    const newer = sorted.filter((a) => compareNewestFirst(alertPosition(a), after) < 0);
    return newer.slice(Math.max(0, newer.length - limit));
  }
  return sorted.slice(0, limit);
}

/** Newest first, whatever order the log was written in. */
export function newestFirst(alerts: readonly AlertSummary[]): AlertSummary[] {
  return [...alerts].sort((a, b) => (alertTime(b) || 0) - (alertTime(a) || 0));
}
