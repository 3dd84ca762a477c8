import type { EnrichedEvent } from '../enrich/enrich.js';

/**
 * The wire formats' lines (ClickHouse TabSeparated, DuckDB CSV) carry two runs of columns that come
 * from the client batch, not the event: the same for every event of one spool record. Rendering them
 * once per run of equal values instead of once per event was about a third of a line's cost.
 */

/** received_at … account_id: the envelope's and the batch's own fields. */
export function sameBatchFields(a: EnrichedEvent, e: EnrichedEvent): boolean {
  return (
    a.receivedAt === e.receivedAt &&
    a.batchId === e.batchId &&
    a.release === e.release &&
    a.environment === e.environment &&
    a.session === e.session &&
    a.userId === e.userId &&
    a.accountId === e.accountId
  );
}

/** browser … adblock: the batch's user agent and page facts. */
export function sameClientFields(a: EnrichedEvent, e: EnrichedEvent): boolean {
  return (
    a.browser === e.browser &&
    a.browserVersion === e.browserVersion &&
    a.os === e.os &&
    a.osVersion === e.osVersion &&
    a.device === e.device &&
    a.loadMs === e.loadMs &&
    a.adblock === e.adblock
  );
}

/**
 * `render(e)` for the first event, then the same text for each next event whose fields `same` says
 * equal the last rendered one's (strings of one batch are one object each: compared by reference).
 */
export function createSegmentCache(
  same: (last: EnrichedEvent, e: EnrichedEvent) => boolean,
  render: (e: EnrichedEvent) => string,
): (e: EnrichedEvent) => string {
  let last: EnrichedEvent | undefined;
  let text = '';
  return (e) => {
    if (last === undefined || !same(last, e)) {
      text = render(e);
      last = e;
    }
    return text;
  };
}
