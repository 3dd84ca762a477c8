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
/** Nothing more will happen to these: retention may drop them. */
const FINAL: ReadonlySet<string> = new Set(['sent', 'muted', 'digested']);
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
}

/** A log line. Pending lines also carry the rendered message, so a restart can send it without the event. */
export interface AlertRecord extends AlertSummary {
  messageId?: string;
  text?: string;
  html?: string;
}

/** What retention leaves of an expired alert: its key, so the same error never alerts as new again. */
interface SeenMarker {
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

/** Lines allowed beyond twice the keys before a rewrite: small logs are never worth one. */
const COMPACTION_SLACK_LINES = 1_000;

export function alertLogFile(dataDir: string): string {
  return path.join(dataDir, 'alerts', 'alert-log.jsonl');
}

function summary(record: AlertRecord): AlertSummary {
  const { messageId: _messageId, text: _text, html: _html, ...rest } = record;
  return rest;
}

function isSeenMarker(value: unknown): value is SeenMarker {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return typeof r.key === 'string' && r.seen === true;
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

interface Position {
  time: number;
  key: string;
}

function compare(a: Position, b: Position): number {
  return a.time - b.time || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** Index of the first position not before `target`. */
function lowerBound(order: readonly Position[], target: Position): number {
  let low = 0;
  let high = order.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compare(order[mid]!, target) < 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

const timeOf = (createdAt: string): number => {
  const time = Date.parse(createdAt);
  return Number.isNaN(time) ? 0 : time;
};

/** Loads the log line by line (cutting a line torn by a crash) and opens it for appending. */
export async function openAlertLog(dataDir: string): Promise<AlertLog> {
  const file = alertLogFile(dataDir);
  const map = new Map<string, AlertRecord>();
  const seen = new Set<string>();
  const byStatus = new Map<AlertStatus, Set<string>>(
    (STATUSES as AlertStatus[]).map((status) => [status, new Set<string>()]),
  );
  // Every key of `map` by (createdAt, key), oldest first: pages are read from the end without sorting.
  let order: Position[] = [];

  function merge(record: AlertRecord): void {
    const before = map.get(record.key);
    const merged: AlertRecord = { ...before, ...record };
    // The first line fixes an alert's place in time (later lines repeat it anyway).
    if (before !== undefined) merged.createdAt = before.createdAt;
    // Only a pending alert still needs its body in memory.
    map.set(record.key, merged.status === 'pending' ? merged : summary(merged));
    if (before !== undefined) byStatus.get(before.status)?.delete(record.key);
    byStatus.get(merged.status)?.add(record.key);
    if (before !== undefined) return;
    seen.delete(record.key);
    const position = { time: timeOf(merged.createdAt), key: record.key };
    const last = order[order.length - 1];
    // Alerts are decided in time order: the append is the common case, the splice the rare one.
    if (last === undefined || compare(last, position) <= 0) order.push(position);
    else order.splice(lowerBound(order, position), 0, position);
  }

  const log = await openJsonLinesLog<AlertRecord | SeenMarker>(
    file,
    (value): value is AlertRecord | SeenMarker => isAlertRecord(value) || isSeenMarker(value),
    (line) => {
      if (isSeenMarker(line)) {
        if (!map.has(line.key)) seen.add(line.key);
      } else merge(line);
    },
  );

  // Appends and rewrites run one at a time, each changing memory only once its lines are durable.
  let tail: Promise<unknown> = Promise.resolve();
  function serial<T>(step: () => Promise<T>): Promise<T> {
    const run = tail.then(step);
    tail = run.catch(() => undefined);
    return run;
  }

  const records = (status: AlertStatus): AlertRecord[] =>
    [...(byStatus.get(status) ?? [])].flatMap((key) => {
      const record = map.get(key);
      return record === undefined ? [] : [record];
    });

  function* newestFrom(index: number): Generator<AlertSummary> {
    for (let i = index - 1; i >= 0; i -= 1) {
      const record = map.get(order[i]!.key);
      if (record !== undefined) yield summary(record);
    }
  }

  return {
    file,
    has: (key) => map.has(key) || seen.has(key),
    get: (key) => map.get(key),
    pending: () => records('pending'),
    withStatus: records,
    count: (status) => byStatus.get(status)?.size ?? 0,
    list(query = {}) {
      if (query.before === undefined && query.after !== undefined) {
        let from = lowerBound(order, query.after);
        if (from < order.length && compare(order[from]!, query.after) === 0) from += 1;
        const to = Math.min(order.length, from + (query.limit ?? order.length));
        const newer: AlertSummary[] = [];
        for (let i = to - 1; i >= from; i -= 1) {
          const record = map.get(order[i]!.key);
          if (record !== undefined) newer.push(summary(record));
        }
        return newer;
      }
      const start = query.before === undefined ? order.length : lowerBound(order, query.before);
      const limit = query.limit ?? Number.POSITIVE_INFINITY;
      const page: AlertSummary[] = [];
      if (limit <= 0) return page;
      for (const item of newestFrom(start)) {
        page.push(item);
        if (page.length >= limit) break;
      }
      return page;
    },
    newest: () => newestFrom(order.length),
    append: (batch) =>
      serial(async () => {
        await log.append(batch);
        for (const record of batch) merge(record);
      }),
    size: () => ({ lines: log.lines, records: map.size, seen: seen.size }),
    needsCompaction: () => log.lines > 2 * (map.size + seen.size) + COMPACTION_SLACK_LINES,
    hasExpired(retainSince) {
      for (const position of order) {
        if (position.time >= retainSince) return false;
        if (FINAL.has(map.get(position.key)?.status ?? '')) return true;
      }
      return false;
    },
    compact: (options = {}) =>
      serial(async () => {
        const { retainSince } = options;
        const expired = new Set<string>();
        const kept: AlertRecord[] = [];
        for (const position of order) {
          const record = map.get(position.key);
          if (record === undefined) continue;
          if (retainSince !== undefined && position.time < retainSince && FINAL.has(record.status))
            expired.add(record.key);
          else kept.push(record);
        }
        // Digests and over-cap tallies are not keys an event can raise again: nothing to remember.
        const remember = (key: string): boolean =>
          !key.startsWith(OVERFLOW_PREFIX) && map.get(key)?.kind !== 'digest';
        const markers = [...seen, ...[...expired].filter(remember)];
        await log.rewrite([...markers.map((key): SeenMarker => ({ key, seen: true })), ...kept]);
        for (const key of expired) {
          if (remember(key)) seen.add(key);
          const record = map.get(key);
          if (record !== undefined) byStatus.get(record.status)?.delete(key);
          map.delete(key);
        }
        if (expired.size > 0) order = order.filter((position) => !expired.has(position.key));
        return { expired: expired.size, lines: log.lines };
      }),
    close: async () => {
      await tail;
      await log.close();
    },
  };
}
