import type { Batch, ServerLog } from '@telltale/protocol';

/** Furthest an event may claim to be in the future of the collector's clock (Sentry Relay: 60 s). */
export const MAX_FUTURE_MS = 60 * 1000;
/** Furthest in the past an event's time is believed (Relay: 30 days); older times become the receive time. */
export const MAX_PAST_MS = 30 * 24 * 60 * 60 * 1000;
/** A batch whose `sentAt` is off from our clock by more than this came from a device with a wrong clock. */
export const CLOCK_DRIFT_THRESHOLD_MS = 60 * 1000;

export type TimestampFix = 'clock_drift' | 'future' | 'past';

export interface TimestampReport {
  /** Events whose `ts` was changed, by why (the first reason that applied). */
  fixed: Partial<Record<TimestampFix, number>>;
  /** receivedAt − sentAt when it was corrected for, else 0. */
  driftMs: number;
  /** True when any event changed (a time fixed, or a client-sent clientTs dropped). */
  changed: boolean;
}

function clamp(ts: number, receivedAt: number): { ts: number; fix?: TimestampFix } {
  if (ts > receivedAt + MAX_FUTURE_MS) return { ts: receivedAt, fix: 'future' };
  if (ts < receivedAt - MAX_PAST_MS) return { ts: receivedAt, fix: 'past' };
  return { ts };
}

/**
 * Puts event times on the collector's clock, in place. A device clock that is off (sentAt far from
 * receivedAt) shifts every event by the same offset, keeping their order; then any time still more
 * than 60 s ahead, or older than 30 days, becomes the receive time. A corrected event keeps what
 * the client said in `clientTs` (the flag); `clientTs` sent by a client is dropped.
 */
export function normalizeBatchTimes(batch: Batch, receivedAt: number): TimestampReport {
  const drift = receivedAt - batch.sentAt;
  const driftMs = Math.abs(drift) > CLOCK_DRIFT_THRESHOLD_MS ? drift : 0;
  const fixed: TimestampReport['fixed'] = {};
  let changed = false;
  for (const event of batch.events) {
    // `delete` only when there is something to delete: it would turn every event into a slow dictionary object.
    if (event.clientTs !== undefined) {
      delete event.clientTs;
      changed = true;
    }
    const shifted = event.ts + driftMs;
    const { ts, fix } = clamp(shifted, receivedAt);
    const reason: TimestampFix | undefined = driftMs !== 0 ? 'clock_drift' : fix;
    if (reason !== undefined && ts !== event.ts) {
      event.clientTs = event.ts;
      event.ts = ts;
      fixed[reason] = (fixed[reason] ?? 0) + 1;
      changed = true;
    }
  }
  return { fixed, driftMs, changed };
}

/** The same for server log lines, which carry no send time: only the clamp applies. */
export function normalizeLogTime(line: ServerLog, receivedAt: number): TimestampFix | undefined {
  if (line.clientTs !== undefined) delete line.clientTs;
  const { ts, fix } = clamp(line.ts, receivedAt);
  if (fix === undefined) return undefined;
  line.clientTs = line.ts;
  line.ts = ts;
  return fix;
}
