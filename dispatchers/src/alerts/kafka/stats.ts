import type { AlerterStats } from '../alerter.js';
import type { Mailer } from '../mailer.js';

export function emptyStats(transport: Mailer['transport']): AlerterStats {
  return {
    transport,
    pending: 0,
    sent: 0,
    failures: 0,
    lastError: undefined,
    muted: 0,
    deferred: 0,
    notRecorded: 0,
    notRecordedByApp: {},
    log: { lines: 0, records: 0, seen: 0, compactions: 0, expired: 0 },
    webhooks: { sent: 0, failures: 0, failed: 0, lastError: undefined },
  };
}

/** One process's alerts: the sum over the partitions it decides (and decided before a rebalance). */
export function sumStats(transport: Mailer['transport'], all: readonly AlerterStats[]): AlerterStats {
  const out = emptyStats(transport);
  for (const s of all) {
    for (const field of ['pending', 'sent', 'failures', 'muted', 'deferred', 'notRecorded'] as const)
      out[field] += s[field];
    out.lastError = s.lastError ?? out.lastError;
    for (const [app, kinds] of Object.entries(s.notRecordedByApp)) {
      const into = (out.notRecordedByApp[app] ??= {});
      for (const [kind, n] of Object.entries(kinds) as Array<[keyof typeof kinds, number]>)
        into[kind] = (into[kind] ?? 0) + n;
    }
    for (const field of ['lines', 'records', 'seen', 'compactions', 'expired'] as const)
      out.log[field] += s.log[field];
    for (const field of ['sent', 'failures', 'failed'] as const) out.webhooks[field] += s.webhooks[field];
    out.webhooks.lastError = s.webhooks.lastError ?? out.webhooks.lastError;
  }
  return out;
}

/** What stays of an alerter given back: its counters since start, not its state (pending, log size). */
export function countersOf(stats: AlerterStats): AlerterStats {
  return {
    ...stats,
    pending: 0,
    log: { lines: 0, records: 0, seen: 0, compactions: stats.log.compactions, expired: stats.log.expired },
  };
}
