import { createHash } from 'node:crypto';
import {
  OVERFLOW_PREFIX,
  type AlertKind,
  type AlertLog,
  type AlertRecord,
  type AlertTransport,
} from './alert-log.js';

/**
 * The per-app cap on new alert keys: names a sender chooses (feature and assert names, messages that
 * fingerprint apart) could otherwise grow the alert log without bound. Within one throttling window
 * an app records at most `max` new keys; the rest are only counted, per app and kind, in one
 * `overflow:` line per (window, app, kind) that the window's digest sums up. A key over the cap is not
 * remembered, so the same error may alert in a later window, once the flood is over.
 */
export interface NewKeyCap {
  /** True when the key may be recorded (and counts it); false when it is over the cap (and tallies it). */
  admit(window: number, app: string, kind: AlertKind, key: string): boolean;
  /** The tallies that grew since the last call, as `deferred` lines of the window's digest. */
  drain(window: number, createdAt: string, digest: string): AlertRecord[];
  stats(): NewKeyCapStats;
}

export interface NewKeyCapStats {
  /** New keys over the cap since start: counted, never recorded one by one. */
  notRecorded: number;
  notRecordedByApp: Record<string, Partial<Record<AlertKind, number>>>;
}

/** Regressions are bounded by people's resolves, digests by windows: neither is a name a sender picks. */
const CAPPED: ReadonlySet<AlertKind> = new Set([
  'new-error',
  'new-assert',
  'first-feature',
  'first-feature-account',
]);
/** Distinct over-cap keys remembered per window, to count each once; beyond it the tally is a lower bound. */
export const OVERFLOW_TRACKED_KEYS = 50_000;

const LABELS: Record<AlertKind, string> = {
  'new-error': 'new errors',
  regression: 'regressions',
  'first-feature': 'first uses of a feature',
  'first-feature-account': 'first uses of a feature by an account',
  'new-assert': 'new failing asserts',
  digest: 'digests',
};

export function kindLabel(kind: AlertKind): string {
  return LABELS[kind];
}

interface Tally {
  app: string;
  kind: AlertKind;
  count: number;
  /** Grew since the last drain. */
  dirty: boolean;
}

export function overflowKey(windowStartIso: string, app: string, kind: AlertKind): string {
  return `${OVERFLOW_PREFIX}${windowStartIso}:${app}:${kind}`;
}

export function createNewKeyCap(options: {
  max: number;
  log: AlertLog;
  windowOf: (time: number) => number;
  windowStart: (window: number) => string;
  dashboardUrl: string;
  transport: AlertTransport;
  now: () => number;
}): NewKeyCap {
  const { max, log, windowOf } = options;
  let current = windowOf(options.now());
  let recorded = new Map<string, number>();
  let tallies = new Map<string, Tally>();
  let overSeen = new Set<string>();
  const totals = { notRecorded: 0, byApp: new Map<string, Map<AlertKind, number>>() };

  // This window's counts from the log, so a restart neither resets the cap nor the tallies.
  for (const alert of log.newest()) {
    if (windowOf(Date.parse(alert.createdAt)) !== current) break;
    if (alert.key.startsWith(OVERFLOW_PREFIX)) {
      const tallyKey = `${alert.app}\u0000${alert.kind}`;
      if (!tallies.has(tallyKey))
        tallies.set(tallyKey, { app: alert.app, kind: alert.kind, count: alert.count ?? 0, dirty: false });
    } else if (CAPPED.has(alert.kind)) recorded.set(alert.app, (recorded.get(alert.app) ?? 0) + 1);
  }

  function roll(window: number): void {
    if (window === current) return;
    current = window;
    recorded = new Map();
    tallies = new Map();
    overSeen = new Set();
  }

  function link(app: string, kind: AlertKind): string {
    if (kind === 'first-feature' || kind === 'first-feature-account')
      return `${options.dashboardUrl}/features`;
    if (kind === 'new-assert') return `${options.dashboardUrl}/asserts`;
    return `${options.dashboardUrl}/?app=${encodeURIComponent(app)}`;
  }

  return {
    admit(window, app, kind, key) {
      roll(window);
      if (!CAPPED.has(kind)) return true;
      const used = recorded.get(app) ?? 0;
      if (used < max) {
        recorded.set(app, used + 1);
        return true;
      }
      // A digest of the key, not the key: the set stays small even for long feature names.
      const id = createHash('sha256').update(key).digest('base64url').slice(0, 16);
      if (overSeen.has(id) || overSeen.size >= OVERFLOW_TRACKED_KEYS) return false;
      overSeen.add(id);
      const tallyKey = `${app}\u0000${kind}`;
      const tally = tallies.get(tallyKey) ?? { app, kind, count: 0, dirty: false };
      tally.count += 1;
      tally.dirty = true;
      tallies.set(tallyKey, tally);
      totals.notRecorded += 1;
      const perApp = totals.byApp.get(app) ?? new Map<AlertKind, number>();
      perApp.set(kind, (perApp.get(kind) ?? 0) + 1);
      totals.byApp.set(app, perApp);
      return false;
    },
    drain(window, createdAt, digest) {
      if (window !== current) return [];
      const out: AlertRecord[] = [];
      for (const tally of tallies.values()) {
        if (!tally.dirty) continue;
        tally.dirty = false;
        out.push({
          key: overflowKey(options.windowStart(window), tally.app, tally.kind),
          kind: tally.kind,
          app: tally.app,
          subject: `${tally.count.toLocaleString('en-US')} more ${kindLabel(tally.kind)} in ${tally.app} were not recorded individually`,
          createdAt,
          status: 'deferred',
          transport: options.transport,
          link: link(tally.app, tally.kind),
          digest,
          count: tally.count,
        });
      }
      return out;
    },
    stats() {
      const byApp: NewKeyCapStats['notRecordedByApp'] = {};
      for (const [app, kinds] of totals.byApp) byApp[app] = Object.fromEntries(kinds);
      return { notRecorded: totals.notRecorded, notRecordedByApp: byApp };
    },
  };
}
