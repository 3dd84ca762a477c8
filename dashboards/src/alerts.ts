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
}

/** Lists the alert log; injected so the dashboards never read the dispatchers' files themselves. */
export type ListAlerts = () => Promise<AlertSummary[]>;

/** Returns the raw .eml text of one alert by key; null or undefined when there is none. */
export type ReadAlert = (key: string) => Promise<string | null | undefined>;

export function alertTime(alert: AlertSummary): number {
  return typeof alert.createdAt === 'number' ? alert.createdAt : Date.parse(alert.createdAt);
}

/** Newest first, whatever order the log was written in. */
export function newestFirst(alerts: readonly AlertSummary[]): AlertSummary[] {
  return [...alerts].sort((a, b) => (alertTime(b) || 0) - (alertTime(a) || 0));
}
