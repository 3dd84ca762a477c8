import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type EnrichedEvent, MAIL_BACKOFF, type BackoffPolicy } from '../pipeline/index.js';
import {
  parseStack,
  type Regroup,
  type Symbolicator,
  isRegression,
  type GroupState,
  type GroupStates,
  type MuteRules,
} from '../intelligence/index.js';
import {
  OVERFLOW_PREFIX,
  type AlertKind,
  type AlertListQuery,
  type AlertLog,
  type AlertRecord,
  type AlertSummary,
} from './alert-log.js';
import { createNewKeyCap, type NewKeyCapStats } from './key-cap.js';
import { summary as summaryOf } from './alert-index.js';
import { createAlertSender, messageId } from './alert-sender.js';
import { outboxDir, outboxFileName, type Mailer } from './mailer.js';
import { alertKeys, composeAlert, composeDigest, type AlertContext } from './message.js';
import { initialDeliveries, withDeliveries, type AppWebhooks } from './webhooks/delivery-log.js';
import { createWebhookSender, type WebhookPolicy, type WebhookStats } from './webhooks/sender.js';

export interface AlerterStats {
  transport: Mailer['transport'];
  /** Alerts decided but not yet confirmed sent. */
  pending: number;
  /** Emails sent (or written to the outbox) since start. */
  sent: number;
  /** Failed send attempts since start; each is retried after a backoff. */
  failures: number;
  lastError: string | undefined;
  /** Alerts a mute rule silenced, and alerts held for a digest, since start. */
  muted: number;
  deferred: number;
  /** New keys over the per-app cap since start (`notRecorded`, and per app and kind): counted, never logged one by one. */
  notRecorded: NewKeyCapStats['notRecorded'];
  notRecordedByApp: NewKeyCapStats['notRecordedByApp'];
  /** The alert log: lines in the file, alerts kept whole, expired keys kept as markers, rewrites since start. */
  log: { lines: number; records: number; seen: number; compactions: number; expired: number };
  /** Webhook deliveries since start (see alerts/webhooks/). */
  webhooks: WebhookStats;
}

export interface Alerter {
  /** Records the alerts these events raise (fsync'd) and queues their emails; never waits for SMTP. */
  process(events: readonly EnrichedEvent[]): Promise<void>;
  /** Newest first; a limit reads only as far as the page needs. */
  listAlerts(query?: AlertListQuery): Promise<AlertSummary[]>;
  /** The raw .eml text of an outbox alert; null for SMTP alerts and unknown keys. */
  readAlert(key: string): Promise<string | null>;
  stats(): AlerterStats;
  /** Resolves once the decisions made so far are logged and each of their emails had its first attempt. */
  settled(): Promise<void>;
  /** Stops retries and waits for an in-flight send. Pending alerts are sent at the next start. */
  close(): Promise<void>;
}

export interface AlerterOptions {
  dataDir: string;
  dashboardUrl: string;
  log: AlertLog;
  mailer: Mailer;
  backoff?: BackoffPolicy;
  /** Frames in error emails are shown in original source when maps were uploaded. */
  symbolicator?: Symbolicator;
  /** Fingerprints on symbolicated frames, exactly as the sinks store them (see intelligence/symbolicate/regroup.ts). */
  regroup?: Regroup;
  /** Group lifecycle: ignored groups never alert; resolved ones alert again on regression. */
  groups?: GroupStates;
  rules?: MuteRules;
  /** At most this many emails per kind per window (default 10); the rest go into one digest per window. */
  maxPerWindow?: number;
  /** The throttling window, ms (default one hour). */
  windowMs?: number;
  /** New alert keys recorded per app per window (default 100); the rest are counted into the window's digest. */
  maxNewKeysPerApp?: number;
  /** Finished alerts older than this leave the log at compaction, keeping a key-only marker (default 90). */
  retentionDays?: number;
  /** Also alert the first use of a feature by each account (default false). */
  firstUsePerAccount?: boolean;
  now?: () => number;
  /**
   * Appended to digest keys (`digest:<window start>/<scope>`) when several alerters share one
   * listing, e.g. one per Kafka partition: each partition's digest is its own email.
   */
  digestScope?: string;
  /**
   * Pending alerts found at start are sent after this long (default 0). A Kafka owner that took a
   * partition from a live one waits, so that owner's in-flight send can log `sent` first.
   */
  inheritedPendingDelayMs?: number;
  /** Each app's webhooks: every alert that is emailed on its own, and every digest, goes to them once. */
  webhooks?: AppWebhooks;
  webhookPolicy?: WebhookPolicy;
}

export const ALERT_THROTTLE_DEFAULTS = Object.freeze({
  maxPerWindow: 10,
  windowMs: 3_600_000,
  maxNewKeysPerApp: 100,
  retentionDays: 90,
});
/** Retention is checked at most this often (the log only shrinks by whole days anyway). */
const RETENTION_CHECK_MS = 3_600_000;

interface Candidate {
  key: string;
  kind: AlertKind;
  event: EnrichedEvent;
  occurrences: number;
  users: Set<string>;
  group?: GroupState;
}

/**
 * Exactly one email per new error group, regression, first feature use and new failing assert: the
 * decision is logged (fsync'd) before sending and as `sent` after, and the log survives restarts.
 * Mute rules and the hourly cap are decided at the same moment and logged the same way, so a replay
 * can neither resend a muted alert nor lift a deferred one out of its digest. Sending runs in the
 * background with backoff, so a dead SMTP server only delays the emails.
 */
export function createAlerter(options: AlerterOptions): Alerter {
  const { mailer } = options;
  // Every line built from the latest state: email, webhooks and decisions write the same keys.
  const log = withDeliveries(options.log);
  const backoff = options.backoff ?? MAIL_BACKOFF;
  const now = options.now ?? Date.now;
  const windowMs = options.windowMs ?? ALERT_THROTTLE_DEFAULTS.windowMs;
  const maxPerWindow = options.maxPerWindow ?? ALERT_THROTTLE_DEFAULTS.maxPerWindow;
  // Digest timers; the sender keeps its own.
  const timers = new Map<string, NodeJS.Timeout>();
  // Decisions (process, digests) run one at a time: a digest never misses a deferral made beside it.
  let decisions: Promise<void> = Promise.resolve();
  let closed = false;
  const stats = { sent: 0, failures: 0, lastError: undefined as string | undefined, muted: 0, deferred: 0 };
  const logStats = { compactions: 0, expired: 0 };
  const retentionMs = (options.retentionDays ?? ALERT_THROTTLE_DEFAULTS.retentionDays) * 86_400_000;
  let retentionCheckedAt = Number.NEGATIVE_INFINITY;

  const windowOf = (time: number): number => Math.floor(time / windowMs);
  const scope = options.digestScope === undefined ? '' : `/${options.digestScope}`;
  const digestKey = (window: number): string => `digest:${new Date(window * windowMs).toISOString()}${scope}`;
  // The ISO start holds no "/": the scope is cut off before parsing.
  const digestStart = (key: string): number => Date.parse(key.slice('digest:'.length).split('/')[0] ?? '');
  const capKey = (window: number, kind: AlertKind): string => `${window}:${kind}`;
  const newKeys = createNewKeyCap({
    max: options.maxNewKeysPerApp ?? ALERT_THROTTLE_DEFAULTS.maxNewKeysPerApp,
    log,
    windowOf,
    windowStart: (window) => new Date(window * windowMs).toISOString(),
    dashboardUrl: options.dashboardUrl,
    transport: mailer.transport,
    now,
  });
  // Emails sent on their own per window and kind, rebuilt from the log so a restart keeps counting.
  const emailed = new Map<string, number>();
  for (const status of ['pending', 'sent'] as const) {
    for (const record of log.withStatus(status)) {
      if (record.kind === 'digest') continue;
      const key = capKey(windowOf(Date.parse(record.createdAt)), record.kind);
      emailed.set(key, (emailed.get(key) ?? 0) + 1);
    }
  }

  function decide<T>(step: () => Promise<T>): Promise<T> {
    const result = decisions.then(step);
    decisions = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /** Rewrites the log when it holds mostly superseded lines, or when finished alerts passed retention. */
  async function maintain(): Promise<void> {
    const time = now();
    let due = log.needsCompaction();
    if (!due && time - retentionCheckedAt >= RETENTION_CHECK_MS) {
      retentionCheckedAt = time;
      due = log.hasExpired(time - retentionMs);
    }
    if (!due) return;
    const { expired } = await log.compact({ retainSince: time - retentionMs });
    logStats.compactions += 1;
    logStats.expired += expired;
  }
  const sender = createAlertSender({ log, mailer, backoff, stats, onLogged: () => scheduleMaintenance() });
  const hooks = createWebhookSender({
    log,
    webhooks: options.webhooks ?? new Map(),
    ...(options.webhookPolicy === undefined ? {} : { policy: options.webhookPolicy }),
    onLogged: () => scheduleMaintenance(),
  });
  const schedule = (key: string, delayMs: number): void => {
    sender.schedule(key, delayMs);
    hooks.scheduleAlert(key, delayMs);
  };
  let maintenanceQueued = false;
  function scheduleMaintenance(): void {
    if (closed || maintenanceQueued || !log.needsCompaction()) return;
    maintenanceQueued = true;
    decide(async () => {
      maintenanceQueued = false;
      if (!closed) await maintain();
    }).catch((error: unknown) => {
      stats.lastError = error instanceof Error ? error.message : String(error);
    });
  }

  /** At the end of a window, the alerts it deferred become one digest email (decided once, like any alert). */
  function flushDigest(key: string): Promise<void> {
    return decide(async () => {
      if (closed || log.has(key)) return;
      const deferred = log.withStatus('deferred').filter((r) => r.digest === key);
      if (deferred.length === 0) return;
      const start = digestStart(key);
      const message = composeDigest(key, start, windowMs, deferred, options.dashboardUrl);
      const createdAt = new Date(now()).toISOString();
      const record: AlertRecord = {
        key,
        kind: 'digest',
        app: message.app,
        subject: message.subject,
        createdAt,
        status: 'pending',
        transport: mailer.transport,
        link: message.link,
        count: deferred.reduce((sum, r) => sum + (r.key.startsWith(OVERFLOW_PREFIX) ? (r.count ?? 0) : 1), 0),
        messageId: messageId(key),
        text: message.text,
        html: message.html,
      };
      const deliveries = initialDeliveries(options.webhooks, new Set(deferred.map((r) => r.app)));
      if (deliveries !== undefined) record.deliveries = deliveries;
      if (mailer.transport === 'outbox')
        record.file = path.posix.join('outbox', outboxFileName(createdAt, key));
      await log.append([
        record,
        ...deferred.map((r): AlertRecord => ({ ...summaryOf(r), status: 'digested' })),
      ]);
      schedule(key, 0);
    });
  }

  function scheduleDigest(key: string): void {
    const timerKey = `timer:${key}`;
    if (closed || timers.has(timerKey)) return;
    const end = digestStart(key) + windowMs;
    const timer = setTimeout(
      () => {
        timers.delete(timerKey);
        flushDigest(key).catch((error: unknown) => {
          stats.lastError = error instanceof Error ? error.message : String(error);
          scheduleDigest(key);
        });
      },
      Math.max(0, end - now()),
    );
    timers.set(timerKey, timer);
  }

  async function compose(candidate: Candidate) {
    const context: AlertContext = {
      dashboardUrl: options.dashboardUrl,
      occurrences: candidate.occurrences,
      users: candidate.users.size,
    };
    if (candidate.group !== undefined) context.group = candidate.group;
    const { event } = candidate;
    if (event.kind === 'error' && event.stack !== null && options.symbolicator !== undefined) {
      const result = await options.symbolicator.symbolicate({
        app: event.app,
        release: event.release,
        frames: parseStack(event.stack),
      });
      context.frames = result.frames;
    }
    return composeAlert(event, candidate, context);
  }

  async function decideAlerts(events: readonly EnrichedEvent[]): Promise<void> {
    const fresh = new Map<string, Candidate>();
    const regressions: EnrichedEvent[] = [];
    for (const event of events) {
      let resolution: number | undefined;
      let group: GroupState | undefined;
      if (event.kind === 'error' && event.fingerprint !== null && options.groups !== undefined) {
        group = options.groups.get(event.app, event.fingerprint);
        // Ignored means "never tell me about this one again".
        if (group?.status === 'ignored') continue;
        if (isRegression(group, event)) {
          resolution = group?.resolution;
          regressions.push(event);
        }
      }
      for (const alert of alertKeys(event, { firstUsePerAccount: options.firstUsePerAccount, resolution })) {
        // Most events repeat a known key: decide before rendering any email.
        if (log.has(alert.key)) continue;
        if (alert.kind === 'regression' && fresh.has(`new-error:${event.app}:${event.fingerprint ?? ''}`))
          continue;
        let candidate = fresh.get(alert.key);
        if (candidate === undefined) {
          candidate = { ...alert, event, occurrences: 0, users: new Set() };
          if (group !== undefined) candidate.group = group;
          fresh.set(alert.key, candidate);
        }
        candidate.occurrences += event.count;
        candidate.users.add(event.userId === null ? `s:${event.session}` : `u:${event.userId}`);
      }
    }
    if (fresh.size === 0 && regressions.length === 0) return;

    const time = now();
    const createdAt = new Date(time).toISOString();
    const window = windowOf(time);
    const records: AlertRecord[] = [];
    const toSend: string[] = [];
    let digest: string | undefined;
    for (const candidate of fresh.values()) {
      // Over the app's cap: counted for the digest before any email is rendered, never logged one by one.
      if (!newKeys.admit(window, candidate.event.app, candidate.kind, candidate.key)) continue;
      const message = await compose(candidate);
      if (message === undefined) continue;
      const record: AlertRecord = {
        key: message.key,
        kind: message.kind,
        app: message.app,
        subject: message.subject,
        createdAt,
        status: 'pending',
        transport: mailer.transport,
        link: message.link,
      };
      const rule = options.rules?.match(candidate.event);
      const cap = capKey(window, message.kind);
      if (rule !== undefined) {
        record.status = 'muted';
        record.mutedBy = rule.id;
        stats.muted += 1;
      } else if ((emailed.get(cap) ?? 0) >= maxPerWindow) {
        record.status = 'deferred';
        record.digest = digest = digestKey(window);
        stats.deferred += 1;
      } else {
        emailed.set(cap, (emailed.get(cap) ?? 0) + 1);
        record.messageId = messageId(message.key);
        record.text = message.text;
        record.html = message.html;
        const deliveries = initialDeliveries(options.webhooks, [message.app]);
        if (deliveries !== undefined) record.deliveries = deliveries;
        if (mailer.transport === 'outbox')
          record.file = path.posix.join('outbox', outboxFileName(createdAt, message.key));
        toSend.push(message.key);
      }
      records.push(record);
    }
    const overflow = newKeys.drain(window, createdAt, digestKey(window));
    if (overflow.length > 0) {
      records.push(...overflow);
      digest = digestKey(window);
    }
    await log.append(records);
    // The lifecycle follows the alert decision: a crash between the two re-decides on replay (isRegression is pure).
    for (const event of regressions)
      await options.groups?.markRegressed(
        event.app,
        event.fingerprint ?? '',
        event.receivedAt,
        event.release,
      );
    for (const key of toSend) schedule(key, 0);
    if (digest !== undefined) scheduleDigest(digest);
    for (const key of emailed.keys()) if (Number(key.split(':')[0]) < window) emailed.delete(key);
    await maintain();
  }

  // A log grown while the process was down (or past retention) is rewritten before the first decision.
  decide(maintain).catch((error: unknown) => {
    stats.lastError = error instanceof Error ? error.message : String(error);
  });
  // Alerts decided before a crash or shutdown and never confirmed sent; digests of past windows.
  for (const record of log.pending()) schedule(record.key, options.inheritedPendingDelayMs ?? 0);
  // Webhooks of alerts already emailed that a crash or shutdown cut short.
  for (const record of log.withStatus('sent'))
    if (record.deliveries !== undefined)
      hooks.scheduleAlert(record.key, options.inheritedPendingDelayMs ?? 0);
  for (const key of new Set(log.withStatus('deferred').map((r) => r.digest ?? '')))
    if (key !== '') scheduleDigest(key);

  return {
    process: (events) =>
      decide(async () =>
        decideAlerts(options.regroup === undefined ? events : await options.regroup([...events])),
      ),
    async listAlerts(query) {
      return log.list(query);
    },
    async readAlert(key) {
      const file = log.get(key)?.file;
      if (file === undefined) return null;
      // Only a bare file name inside outbox/: the key comes from a URL.
      return readFile(path.join(outboxDir(options.dataDir), path.basename(file)), 'utf8').catch(() => null);
    },
    async settled() {
      await decisions;
      await Promise.all([sender.idle(), hooks.idle()]);
    },
    stats() {
      return {
        transport: mailer.transport,
        pending: log.count('pending'),
        ...stats,
        ...newKeys.stats(),
        log: { ...log.size(), ...logStats },
        webhooks: hooks.stats(),
      };
    },
    async close() {
      closed = true;
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      await decisions;
      await Promise.all([sender.close(), hooks.close()]);
    },
  };
}
