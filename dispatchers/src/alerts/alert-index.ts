import type { AlertListQuery, AlertRecord, AlertStatus, AlertSummary } from './alert-log-types.js';
import { ALERT_STATUSES, FINAL_STATUSES, OVERFLOW_PREFIX } from './alert-log-types.js';

/**
 * The alert log in memory: the latest state per key, keys retention reduced to a marker, the keys
 * by status and by decision time. Where the lines are kept (a local JSON-lines file, a Kafka
 * partition) is the caller's business; every store folds its lines through `merge` and `markSeen`.
 */
export interface AlertIndex {
  has(key: string): boolean;
  get(key: string): AlertRecord | undefined;
  withStatus(status: AlertStatus): AlertRecord[];
  count(status: AlertStatus): number;
  list(query?: AlertListQuery): AlertSummary[];
  newest(): Iterable<AlertSummary>;
  /** Folds one line in: later lines of a key win, the first fixes its place in time. */
  merge(record: AlertRecord): void;
  /** A retention marker: the key was decided once, its record is gone. */
  markSeen(key: string): void;
  size(): { records: number; seen: number };
  hasExpired(retainSince: number): boolean;
  /** Finished alerts decided before `retainSince`, and the markers a rewrite must keep (old and new). */
  planExpiry(retainSince: number | undefined): {
    expired: Set<string>;
    markers: string[];
    kept: AlertRecord[];
  };
  /** Forgets the expired records, keeping markers for keys an event can raise again. */
  dropExpired(expired: ReadonlySet<string>): void;
}

export function summary(record: AlertRecord): AlertSummary {
  const { messageId: _messageId, text: _text, html: _html, ...rest } = record;
  return rest;
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

export function createAlertIndex(): AlertIndex {
  const map = new Map<string, AlertRecord>();
  const seen = new Set<string>();
  const byStatus = new Map<AlertStatus, Set<string>>(
    ALERT_STATUSES.map((status) => [status, new Set<string>()]),
  );
  // Every key of `map` by (createdAt, key), oldest first: pages are read from the end without sorting.
  let order: Position[] = [];

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

  // Digests and over-cap tallies are not keys an event can raise again: nothing to remember.
  const remember = (key: string): boolean =>
    !key.startsWith(OVERFLOW_PREFIX) && map.get(key)?.kind !== 'digest';

  return {
    has: (key) => map.has(key) || seen.has(key),
    get: (key) => map.get(key),
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
    merge(record) {
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
    },
    markSeen(key) {
      if (!map.has(key)) seen.add(key);
    },
    size: () => ({ records: map.size, seen: seen.size }),
    hasExpired(retainSince) {
      for (const position of order) {
        if (position.time >= retainSince) return false;
        if (FINAL_STATUSES.has(map.get(position.key)?.status ?? '')) return true;
      }
      return false;
    },
    planExpiry(retainSince) {
      const expired = new Set<string>();
      const kept: AlertRecord[] = [];
      for (const position of order) {
        const record = map.get(position.key);
        if (record === undefined) continue;
        if (retainSince !== undefined && position.time < retainSince && FINAL_STATUSES.has(record.status))
          expired.add(record.key);
        else kept.push(record);
      }
      return { expired, markers: [...seen, ...[...expired].filter(remember)], kept };
    },
    dropExpired(expired) {
      for (const key of expired) {
        if (remember(key)) seen.add(key);
        const record = map.get(key);
        if (record !== undefined) byStatus.get(record.status)?.delete(key);
        map.delete(key);
      }
      if (expired.size > 0) order = order.filter((position) => !expired.has(position.key));
    },
  };
}
