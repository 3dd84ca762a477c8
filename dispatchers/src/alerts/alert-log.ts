import path from 'node:path';
import { openJsonLinesLog } from './jsonl-log.js';

export type AlertKind =
  'new-error' | 'regression' | 'first-feature' | 'first-feature-account' | 'new-assert' | 'digest';
/**
 * `pending` → `sent`: an email of its own. `muted`: a mute rule matched, no email ever.
 * `deferred` → `digested`: over the hourly cap, listed in the window's digest email instead.
 */
export type AlertStatus = 'pending' | 'sent' | 'muted' | 'deferred' | 'digested';
const STATUSES: readonly string[] = ['pending', 'sent', 'muted', 'deferred', 'digested'];
export type AlertTransport = 'smtp' | 'outbox';

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
  /** Digests: how many alerts they list. */
  count?: number;
}

/** A log line. Pending lines also carry the rendered message, so a restart can send it without the event. */
export interface AlertRecord extends AlertSummary {
  messageId?: string;
  text?: string;
  html?: string;
}

export interface AlertLog {
  readonly file: string;
  has(key: string): boolean;
  get(key: string): AlertRecord | undefined;
  /** Alerts decided but not confirmed sent (e.g. the process died mid-send). */
  pending(): AlertRecord[];
  /** Every alert with this status (bodies only for pending ones). */
  withStatus(status: AlertStatus): AlertRecord[];
  /** Newest first. */
  list(): AlertSummary[];
  /** Appends the lines with one write and one fsync; the map changes only once they are durable. */
  append(records: readonly AlertRecord[]): Promise<void>;
  close(): Promise<void>;
}

export function alertLogFile(dataDir: string): string {
  return path.join(dataDir, 'alerts', 'alert-log.jsonl');
}

function summary(record: AlertRecord): AlertSummary {
  const { messageId: _messageId, text: _text, html: _html, ...rest } = record;
  return rest;
}

function merge(map: Map<string, AlertRecord>, record: AlertRecord): void {
  const merged: AlertRecord = { ...map.get(record.key), ...record };
  // Only a pending alert still needs its body in memory.
  map.set(record.key, merged.status === 'pending' ? merged : summary(merged));
}

function isAlertRecord(value: unknown): value is AlertRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return (
    typeof r.key === 'string' &&
    typeof r.status === 'string' &&
    STATUSES.includes(r.status) &&
    typeof r.kind === 'string'
  );
}

/** Loads the log (cutting a line torn by a crash) and opens it for appending. */
export async function openAlertLog(dataDir: string): Promise<AlertLog> {
  const file = alertLogFile(dataDir);
  const { records: stored, log } = await openJsonLinesLog(file, isAlertRecord);
  const map = new Map<string, AlertRecord>();
  for (const record of stored) merge(map, record);

  return {
    file,
    has: (key) => map.has(key),
    get: (key) => map.get(key),
    pending: () => [...map.values()].filter((record) => record.status === 'pending'),
    withStatus: (status) => [...map.values()].filter((record) => record.status === status),
    list: () =>
      [...map.values()]
        .map(summary)
        .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0)),
    async append(records) {
      await log.append(records);
      // The map changes only once the lines are durable.
      for (const record of records) merge(map, record);
    },
    close: () => log.close(),
  };
}
