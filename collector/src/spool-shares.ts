import { openSpoolReader, type SpoolWriter } from '@telltale/spool';
import type { Admission, QuotaRefusal } from './quotas.js';
import { FULL_RETRY_AFTER_SECONDS } from './guard.js';

/**
 * Bytes each app holds in one spool's segments not yet removed, so one app cannot take more than
 * `share` of the disk cap while others send too. Counted per segment on append, dropped when the
 * writer removes segments, rebuilt at start-up from the records' envelopes.
 */
export interface SpoolShares {
  /** Room for `bytes` more of `app`, or the refusal; `apps` is how many apps the collector serves. */
  admit(
    app: string,
    bytes: number,
    apps: number,
  ): { ok: true; admission: ShareAdmission } | { ok: false; refusal: QuotaRefusal };
  bytesOf(app: string): number;
  /** Unsubscribes from the writer. */
  close(): void;
}

export interface ShareAdmission extends Admission {
  /** The record landed in `segment`: its bytes now count until that segment is removed. */
  commit(segment: number): void;
}

const PAGE = 500;
// Envelopes are written `{"v":1,"app":"…","receivedAt":…` (batch-route, logs-route): read just that.
const HEAD = /^\{"v":1,"app":"([A-Za-z0-9_-]{1,64})","receivedAt":(\d{1,16})[,}]/;

/** The app and receive time of an envelope, from its first bytes when possible. */
export function envelopeHead(payload: Buffer): { app: string; receivedAt: number } | undefined {
  const match = HEAD.exec(payload.subarray(0, 128).toString('latin1'));
  if (match) return { app: match[1]!, receivedAt: Number(match[2]) };
  try {
    const { app, receivedAt } = JSON.parse(payload.toString('utf8')) as {
      app?: unknown;
      receivedAt?: unknown;
    };
    return typeof app === 'string' && typeof receivedAt === 'number' ? { app, receivedAt } : undefined;
  } catch {
    return undefined;
  }
}

const ALWAYS: ShareAdmission = Object.freeze({ commit: () => undefined, release: () => undefined });

/**
 * Opens the tally for `spool` (cap = its maxTotalBytes). `onRecord` sees every record found at
 * start-up (the quota ledger rebuilds today's bytes from it). A share of 0 or 1, no cap, or a
 * writer without onRemove: nothing is tallied and every append is admitted.
 */
export async function openSpoolShares(
  spool: SpoolWriter,
  share: number,
  onRecord?: (app: string, receivedAt: number, bytes: number) => void,
): Promise<SpoolShares> {
  const cap = spool.stats().maxTotalBytes;
  const active = share > 0 && share < 1 && cap !== null && typeof spool.onRemove === 'function';
  // segment → app → bytes; and the per-app totals those add up to (plus in-flight reservations).
  const bySegment = new Map<number, Map<string, number>>();
  const totals = new Map<string, number>();
  const add = (app: string, bytes: number): void => {
    const next = (totals.get(app) ?? 0) + bytes;
    if (next <= 0) totals.delete(app);
    else totals.set(app, next);
  };
  const tally = (segment: number, app: string, bytes: number): void => {
    let apps = bySegment.get(segment);
    if (apps === undefined) bySegment.set(segment, (apps = new Map()));
    apps.set(app, (apps.get(app) ?? 0) + bytes);
  };

  if (active || onRecord) {
    const reader = openSpoolReader({ dir: spool.dir });
    let position = { segment: 0, offset: 0 };
    for (;;) {
      const records = await reader.read(position, PAGE);
      if (records.length === 0) break;
      for (const record of records) {
        const head = envelopeHead(record.payload);
        if (head === undefined) continue;
        onRecord?.(head.app, head.receivedAt, record.payload.length);
        if (active) {
          tally(record.position.segment, head.app, record.payload.length);
          add(head.app, record.payload.length);
        }
      }
      position = records.at(-1)!.next;
    }
  }
  const unsubscribe = active
    ? spool.onRemove!((segments) => {
        for (const segment of segments) {
          for (const [app, bytes] of bySegment.get(segment) ?? []) add(app, -bytes);
          bySegment.delete(segment);
        }
      })
    : () => undefined;
  const limit = active ? Math.floor(share * cap) : Number.POSITIVE_INFINITY;

  return {
    admit(app, bytes, apps) {
      if (!active || apps <= 1) return { ok: true, admission: ALWAYS };
      if ((totals.get(app) ?? 0) + bytes > limit)
        return {
          ok: false,
          refusal: {
            quota: 'spoolShare',
            limit,
            retryAfterSeconds: FULL_RETRY_AFTER_SECONDS,
            reason: 'spool_share',
            message: `app "${app}" holds its share of the collector's spool (${limit} bytes, ${share} of the disk cap) until consumers catch up; retry after the Retry-After delay`,
          },
        };
      add(app, bytes); // reserved now, so concurrent requests cannot all squeeze past the share
      let settled = false;
      return {
        ok: true,
        admission: {
          commit(segment) {
            if (settled) return;
            settled = true;
            // A segment removed before the append resolved cannot exist: the active one is never removed.
            tally(segment, app, bytes);
          },
          release() {
            if (settled) return;
            settled = true;
            add(app, -bytes);
          },
        },
      };
    },
    bytesOf: (app) => totals.get(app) ?? 0,
    close: unsubscribe,
  };
}
