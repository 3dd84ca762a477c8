/** The alert log's records and the interface every store of them implements (local file, Kafka). */
export type AlertKind =
  'new-error' | 'regression' | 'first-feature' | 'first-feature-account' | 'new-assert' | 'digest';
/**
 * `pending` → `sent`: an email of its own. `muted`: a mute rule matched, no email ever.
 * `deferred` → `digested`: over the hourly cap, listed in the window's digest email instead.
 */
export type AlertStatus = 'pending' | 'sent' | 'muted' | 'deferred' | 'digested';
export const ALERT_STATUSES: readonly AlertStatus[] = ['pending', 'sent', 'muted', 'deferred', 'digested'];
export type AlertTransport = 'smtp' | 'outbox';
/** Nothing more will happen to these: retention may drop them. */
export const FINAL_STATUSES: ReadonlySet<string> = new Set(['sent', 'muted', 'digested']);
/** Keys of the tallies of keys over the per-app cap (see alerter.ts): not alert keys themselves. */
export const OVERFLOW_PREFIX = 'overflow:';

/** What the dashboards list. */
export interface AlertSummary {
  /** `new-error:<app>:<fingerprint>`, `regression:<app>:<fingerprint>:<n>`, `first-feature:<app>:<name>`, …: one alert per key, ever. */
  key: string;
  kind: AlertKind;
  app: string;
  subject: string;
  /** ISO time the alert was decided. */
  createdAt: string;
  status: AlertStatus;
  transport: AlertTransport;
  /** The .eml file under outbox/, for outbox alerts. */
  file?: string;
  /** ISO time the email was handed to the SMTP server or written to the outbox. */
  sentAt?: string;
  /** Dashboard page of the error group or feature. */
  link?: string;
  /** Muted alerts: the id of the rule that matched. */
  mutedBy?: string;
  /** Deferred and digested alerts: the key of the digest that lists them. */
  digest?: string;
  /** Digests: how many alerts they list. `overflow:` tallies: how many new keys were not recorded. */
  count?: number;
  /** Webhooks of the app when the alert was decided, by destination id (see alerts/webhooks/). */
  deliveries?: Record<string, WebhookDelivery>;
}

/** One webhook's delivery of one alert: `pending` → `sent`, or `failing` (retried) → `sent` | `failed` (given up). */
export interface WebhookDelivery {
  type: 'json' | 'slack' | 'teams';
  /** The destination's host only: its URL and secret never enter the log. */
  host: string;
  status: 'pending' | 'failing' | 'sent' | 'failed';
  attempts: number;
  /** ISO time the receiver answered 2xx. */
  sentAt?: string;
  /** ISO time of the last failed attempt. */
  failedAt?: string;
  /** `HTTP 500`, `timeout`, `ECONNREFUSED`, …: never a response body. */
  lastError?: string;
}

/** A log line. Pending lines also carry the rendered message, so a restart can send it without the event. */
export interface AlertRecord extends AlertSummary {
  messageId?: string;
  text?: string;
  html?: string;
}

/** What retention leaves of an expired alert: its key, so the same error never alerts as new again. */
export interface SeenMarker {
  key: string;
  seen: true;
}

export interface AlertListQuery {
  /** At most this many, newest first; unset: all of them. */
  limit?: number | undefined;
  /** Only alerts older than this one (the last of the previous page), in (createdAt, key) order. */
  before?: { time: number; key: string } | undefined;
  /** Only alerts newer than this one (the first of the next page): the page closest to it. */
  after?: { time: number; key: string } | undefined;
}

export interface AlertLogSize {
  /** Lines in the file. */
  lines: number;
  /** Alerts kept whole, and expired keys kept as markers only. */
  records: number;
  seen: number;
}

export interface AlertLog {
  readonly file: string;
  /** True for every key ever decided, including those retention reduced to a marker. */
  has(key: string): boolean;
  get(key: string): AlertRecord | undefined;
  /** Alerts decided but not confirmed sent (e.g. the process died mid-send). */
  pending(): AlertRecord[];
  /** Every alert with this status (bodies only for pending ones). */
  withStatus(status: AlertStatus): AlertRecord[];
  count(status: AlertStatus): number;
  /** Newest first, reading only as far as the page needs. */
  list(query?: AlertListQuery): AlertSummary[];
  /** Newest first, lazily. */
  newest(): Iterable<AlertSummary>;
  /** Appends the lines with one write and one fsync; the map changes only once they are durable. */
  append(records: readonly AlertRecord[]): Promise<void>;
  size(): AlertLogSize;
  /** More than twice as many lines as keys (plus some slack): a rewrite would shrink the file a lot. */
  needsCompaction(): boolean;
  /** True when some finished alert was decided before `retainSince` (epoch ms). */
  hasExpired(retainSince: number): boolean;
  /**
   * Rewrites the file with the latest line per key; finished alerts decided before `retainSince`
   * shrink to a key-only marker. Atomic, and in order with appends.
   */
  compact(options?: { retainSince?: number | undefined }): Promise<{ expired: number; lines: number }>;
  close(): Promise<void>;
}

export function isSeenMarker(value: unknown): value is SeenMarker {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return typeof r.key === 'string' && r.seen === true;
}

export function isAlertRecord(value: unknown): value is AlertRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return (
    typeof r.key === 'string' &&
    typeof r.status === 'string' &&
    (ALERT_STATUSES as readonly string[]).includes(r.status) &&
    typeof r.kind === 'string'
  );
}
