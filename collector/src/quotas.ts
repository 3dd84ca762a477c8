import type { ErrorCode } from '@telltale/protocol';
import type { APP_QUOTA_NAMES, AppQuotas, CollectorApp } from './apps.js';
import type { CollectorQuotas } from './config.js';
import { createPublicBudgets, type PublicBudgetLedger, type PublicClient } from './public-budgets.js';

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Most sessions whose attachment count is remembered today; the oldest are forgotten first. */
export const MAX_SESSIONS_TRACKED = 100_000;

/** Which quota refused, its value, and when the window it counts in frees capacity. */
export interface QuotaRefusal {
  quota: keyof AppQuotas | 'spoolShare';
  limit: number;
  retryAfterSeconds: number;
  /** The metric reason (`quota_events_per_minute`, …). */
  reason: string;
  message: string;
  /** The answer's code: TELLTALE_ERR_QUOTA_EXCEEDED unless it says (a public-key client's budget). */
  code?: ErrorCode;
}

/** Reserved room: commit once stored, release when the store failed (the room is given back). */
export interface Admission {
  release(): void;
}

export type AdmitResult = { ok: true; admission: Admission } | { ok: false; refusal: QuotaRefusal };

/** Thrown inside a store step when a quota refuses; the route answers 429 from it. */
export class QuotaRefused extends Error {
  constructor(readonly refusal: QuotaRefusal) {
    super(refusal.message);
    this.name = 'QuotaRefused';
  }
}

export interface QuotaLedger {
  /**
   * Events and spool bytes of one accepted request: all fit, or nothing is counted. `client` is
   * given for requests made with a public ingest key: its address and session budgets apply first.
   */
  admit(app: CollectorApp, events: number, bytes: number, client?: PublicClient): AdmitResult;
  /**
   * One attachment of `bytes` for `session`; `client` for uploads with the public ingest key (the
   * per-session count and the client address's budgets apply), none for secret-key uploads.
   */
  admitAttachment(app: CollectorApp, session: string, bytes: number, client?: PublicClient): AdmitResult;
  /** Start-up: bytes and attachments already stored today (rebuilt from the spools and the store). */
  seedDay(appId: string, usage: { bytes?: number; attachments?: number; attachmentBytes?: number }): void;
  /** Today's usage of one app (for tests and /metrics). */
  usage(appId: string): {
    eventsThisMinute: number;
    bytesToday: number;
    attachmentsToday: number;
    attachmentBytesToday: number;
  };
  /** The public-key clients' budget counters (bounded maps). */
  readonly publicBudgets: PublicBudgetLedger;
}

interface AppWindow {
  minute: number;
  events: number;
  day: number;
  bytes: number;
  attachments: number;
  attachmentBytes: number;
}

type AppQuotaName = (typeof APP_QUOTA_NAMES)[number];

const REASONS: Record<AppQuotaName, string> = {
  eventsPerMinute: 'quota_events_per_minute',
  bytesPerDay: 'quota_bytes_per_day',
  attachmentsPerSession: 'quota_attachments_per_session',
  attachmentsPerDay: 'quota_attachments_per_day',
  attachmentBytesPerDay: 'quota_attachment_bytes_per_day',
};

const WHAT: Record<AppQuotaName, string> = {
  eventsPerMinute: 'events per minute',
  bytesPerDay: 'stored bytes per day (UTC)',
  attachmentsPerSession: 'attachments per session per day (UTC)',
  attachmentsPerDay: 'attachments per day (UTC)',
  attachmentBytesPerDay: 'attachment bytes per day (UTC)',
};

const secondsUntil = (end: number, now: number): number => Math.max(1, Math.ceil((end - now) / 1000));

/**
 * Per-app counters in fixed windows: the clock minute for events, the UTC day for bytes and
 * attachments. In memory; limits come from the app (`quotas` in the apps file) or the defaults,
 * read at each request so a reloaded apps file applies at once. A limit of 0 is off.
 */
export function createQuotaLedger(defaults: CollectorQuotas, now: () => number = Date.now): QuotaLedger {
  const windows = new Map<string, AppWindow>();
  // `app \n session` → attachments today; Map order is first-seen order, for eviction.
  let sessions = new Map<string, number>();
  let sessionsDay = -1;

  const windowOf = (appId: string, at: number): AppWindow => {
    const minute = Math.floor(at / MINUTE_MS);
    const day = Math.floor(at / DAY_MS);
    let w = windows.get(appId);
    if (w === undefined) {
      w = { minute, events: 0, day, bytes: 0, attachments: 0, attachmentBytes: 0 };
      windows.set(appId, w);
    }
    if (w.minute !== minute) {
      w.minute = minute;
      w.events = 0;
    }
    if (w.day !== day) Object.assign(w, { day, bytes: 0, attachments: 0, attachmentBytes: 0 });
    return w;
  };
  const limitOf = (app: CollectorApp, name: keyof AppQuotas): number => app.quotas?.[name] ?? defaults[name];
  const publicBudgets = createPublicBudgets(limitOf, now);
  const refusal = (app: CollectorApp, name: AppQuotaName, at: number): QuotaRefusal => {
    const limit = limitOf(app, name);
    const end =
      name === 'eventsPerMinute'
        ? (Math.floor(at / MINUTE_MS) + 1) * MINUTE_MS
        : (Math.floor(at / DAY_MS) + 1) * DAY_MS;
    return {
      quota: name,
      limit,
      retryAfterSeconds: secondsUntil(end, at),
      reason: REASONS[name],
      message: `app "${app.id}" is over its quota ${name} (${limit} ${WHAT[name]}); this request was not stored, retry after the Retry-After delay`,
    };
  };
  // True when `more` would take `used` past the limit (0 = off).
  const over = (app: CollectorApp, name: keyof AppQuotas, used: number, more: number): boolean => {
    const limit = limitOf(app, name);
    return limit > 0 && used + more > limit;
  };

  return {
    publicBudgets,

    admit(app, events, bytes, client) {
      const at = now();
      const w = windowOf(app.id, at);
      if (over(app, 'eventsPerMinute', w.events, events))
        return { ok: false, refusal: refusal(app, 'eventsPerMinute', at) };
      if (over(app, 'bytesPerDay', w.bytes, bytes))
        return { ok: false, refusal: refusal(app, 'bytesPerDay', at) };
      // After the app's own quotas, so a client is not told it is over its share when the app is over its day.
      const byClient = client === undefined ? undefined : publicBudgets.admitBytes(app, client, bytes);
      if (byClient !== undefined && !byClient.ok) return byClient;
      w.events += events;
      w.bytes += bytes;
      const { minute, day } = w;
      return {
        ok: true,
        admission: {
          release() {
            byClient?.admission.release();
            // Only the window the room was taken from gets it back.
            const current = windowOf(app.id, now());
            if (current.minute === minute) current.events -= events;
            if (current.day === day) current.bytes -= bytes;
          },
        },
      };
    },

    admitAttachment(app, session, bytes, client) {
      const at = now();
      const w = windowOf(app.id, at);
      if (sessionsDay !== w.day) {
        sessions = new Map();
        sessionsDay = w.day;
      }
      const perSession = client !== undefined;
      const key = `${app.id}\n${session}`;
      const bySession = sessions.get(key) ?? 0;
      if (perSession && over(app, 'attachmentsPerSession', bySession, 1))
        return { ok: false, refusal: refusal(app, 'attachmentsPerSession', at) };
      if (over(app, 'attachmentsPerDay', w.attachments, 1))
        return { ok: false, refusal: refusal(app, 'attachmentsPerDay', at) };
      if (over(app, 'attachmentBytesPerDay', w.attachmentBytes, bytes))
        return { ok: false, refusal: refusal(app, 'attachmentBytesPerDay', at) };
      // A new ?session= per upload escapes the per-session count, not its address's budget.
      const byClient = client === undefined ? undefined : publicBudgets.admitAttachment(app, client, bytes);
      if (byClient !== undefined && !byClient.ok) return byClient;
      w.attachments += 1;
      w.attachmentBytes += bytes;
      if (perSession) {
        if (!sessions.has(key) && sessions.size >= MAX_SESSIONS_TRACKED) {
          const oldest = sessions.keys().next();
          if (!oldest.done) sessions.delete(oldest.value);
        }
        sessions.set(key, bySession + 1);
      }
      const { day } = w;
      return {
        ok: true,
        admission: {
          release() {
            byClient?.admission.release();
            const current = windowOf(app.id, now());
            if (current.day !== day) return;
            current.attachments -= 1;
            current.attachmentBytes -= bytes;
            const left = (sessions.get(key) ?? 1) - 1;
            if (perSession && sessionsDay === day) sessions.set(key, Math.max(0, left));
          },
        },
      };
    },

    seedDay(appId, usage) {
      const w = windowOf(appId, now());
      w.bytes += usage.bytes ?? 0;
      w.attachments += usage.attachments ?? 0;
      w.attachmentBytes += usage.attachmentBytes ?? 0;
    },

    usage(appId) {
      const w = windowOf(appId, now());
      return {
        eventsThisMinute: w.events,
        bytesToday: w.bytes,
        attachmentsToday: w.attachments,
        attachmentBytesToday: w.attachmentBytes,
      };
    },
  };
}

/** The UTC day (days since the epoch) of a time: what `bytesPerDay` counts in. */
export const utcDay = (ms: number): number => Math.floor(ms / DAY_MS);
