import type { AlertListQuery, AlertSummary } from '../alert-log.js';
import type { LogPartition } from './log-view.js';

const order = (a: AlertSummary, b: AlertSummary): number => {
  const ta = Date.parse(a.createdAt) || 0;
  const tb = Date.parse(b.createdAt) || 0;
  return ta - tb || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
};

/**
 * One page across every partition of the alert log, in the order of the local log: newest first by
 * (createdAt, key). Each partition reads only its own page; the pages are merged and cut.
 */
export function listAcross(partitions: readonly LogPartition[], query: AlertListQuery = {}): AlertSummary[] {
  const pages = partitions.flatMap((p) => p.index.list(query));
  const limit = query.limit ?? Number.POSITIVE_INFINITY;
  if (query.before === undefined && query.after !== undefined) {
    // The page closest to `after`: the oldest `limit` newer ones, shown newest first.
    return pages
      .sort(order)
      .slice(0, Number.isFinite(limit) ? limit : undefined)
      .reverse();
  }
  const newest = pages.sort((a, b) => order(b, a));
  return Number.isFinite(limit) ? newest.slice(0, limit) : newest;
}
