import type { Batch, ErrorEvent } from '@telltale/protocol';
import { createBreadcrumbs } from './breadcrumbs.js';
import { newId } from './ids.js';
import { createQueue } from './queue.js';
import { DELIVERED, REJECTED, decide } from './retry.js';
import { MAX_ID, MAX_STRING, scrub, scrubAttributes } from './scrub.js';
import type { Answer, Attributes, LogLevel, Options, Platform, QueueItem, TelltaleEvent } from './types.js';

export const SDK_NAME = 'telltale-browser/0.1.0';
/** Flush this long after the first queued event, so a burst becomes one request. */
export const DEBOUNCE_MS = 1000;
/** A batch holds at most this many events, and a flush starts at once when that many are waiting. */
export const BATCH_EVENTS = 50;
/** A batch's events stay under this many JSON bytes, so any batch fits a keepalive request (64 KB). */
export const BATCH_BYTES = 60_000;
/** Retry delay while the platform says it is offline; its `online` event resumes sooner. */
export const OFFLINE_RETRY_MS = 30_000;
/** Batches in flight at once outside page hide. */
export const MAX_PARALLEL = 2;
/** Distinct errors per session, and events per assert / feature / blocked name: beyond, only counted as dropped. */
export const MAX_PER_SESSION = 100;

const LEVELS = ['debug', 'info', 'warn', 'error'];

export interface CaptureExtra {
  /** Groups errors by this instead of the server's fingerprint. */
  fingerprint?: string;
  /** How the error was caught (`onerror`, `onunhandledrejection`); `manual` by default. */
  mechanism?: string;
}

export type Client = ReturnType<typeof createClient>;

/**
 * An error seen this session: its queued item (null: ignored) and the repeats not counted in it yet.
 * For an assert / feature / blocked name, `n` counts its events.
 */
interface Seen {
  it: QueueItem | null;
  n: number;
}

/** type, message and stack of anything thrown or rejected; a non-Error object gives only its keys (no customer data). */
export function describe(err: unknown): [type: string, message: string, stack?: string] {
  const e = err as Error;
  return e && typeof e == 'object'
    ? typeof e.message == 'string'
      ? [`${e.name || 'Error'}`, e.message, typeof e.stack == 'string' ? e.stack : undefined]
      : ['NonError', `Object with keys: ${Object.keys(e).slice(0, 9)}`]
    : ['NonError', `${e}`];
}

/** The first stack frame after the message: with type and message, it tells one error from another. */
export function firstFrame(message: string, stack = ''): string {
  const i = stack.indexOf(message);
  return (i < 0 ? stack : stack.slice(i + message.length)).split('\n').find((l) => /:\d+/.test(l)) || '';
}

/** Scrubs and caps every text field of an event, including what `beforeSend` may have added. */
function clean(e: TelltaleEvent): TelltaleEvent {
  const x = e as unknown as Record<string, unknown>;
  // Ids (required ones must not end up empty), then free text.
  ['type', 'name', 'reason', 'mechanism', 'fingerprint', 'message', 'stack', 'url'].forEach((k, i) => {
    if (x[k] != null) x[k] = scrub(x[k] as string, i > 4 ? MAX_STRING : MAX_ID) || (i > 4 ? '' : '?');
  });
  x.vars &&= scrubAttributes(x.vars);
  x.props &&= scrubAttributes(x.props);
  return e;
}

/** The SDK's state and logic, host-independent: the platform brings transport, session and page context. */
export function createClient(o: Options, p: Platform) {
  const url = `${(o.endpoint || '').replace(/\/+$/, '')}/v1/batch?key=${encodeURIComponent(o.key)}`;
  const crumbs = createBreadcrumbs();
  const q = createQueue((n) => (dropped += n), p.store);
  /** Batch ids in flight; true when sent with keepalive. */
  const flying = new Map<string, boolean>();
  /** Failed attempts per batch id. */
  const tries = new Map<string, number>();
  let dropped = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** No send before retryAt (backoff); page hide only waits for `hold` (a Retry-After). */
  let retryAt = 0;
  let hold = 0;
  let fresh = 0;
  let inside = false;
  let session = '';
  let user: string | undefined;
  let account: string | undefined;
  let seen = new Map<string, Seen>();
  let distinctErrors = 0;

  // Nothing the SDK does may throw into the app, or start again while it runs (that is how loops start).
  const guard =
    <A extends unknown[], R>(fn: (...a: A) => R, fallback?: R) =>
    (...a: A): R => {
      if (inside) return fallback!;
      inside = true;
      try {
        return fn(...a);
      } catch {
        return fallback!;
      } finally {
        inside = false;
      }
    };

  /** Current [session, trace]; a new session forgets the errors and names counted in the old one. */
  const sess = (): [string, string] => {
    const s = p.session();
    if (s[0] != session) {
      session = s[0];
      seen = new Map();
      distinctErrors = 0;
    }
    return s;
  };

  const schedule = (ms = DEBOUNCE_MS): void => {
    if (timer && ms) return;
    clearTimeout(timer);
    timer = setTimeout(flush, Math.max(ms, retryAt - Date.now()));
  };

  const enqueue = (fields: object, withCrumbs?: boolean): QueueItem | null => {
    let e: TelltaleEvent | null | false | undefined = {
      id: newId(),
      ts: Date.now(),
      trace: sess()[1],
      ...p.context(),
      ...fields,
      breadcrumbs: withCrumbs ? crumbs.list() : undefined,
    } as TelltaleEvent;
    try {
      e = o.beforeSend ? o.beforeSend(e) : e;
    } catch {
      e = null;
      dropped++;
    }
    if (!e) return null;
    const it = q.push(clean(e));
    schedule(++fresh < BATCH_EVENTS ? DEBOUNCE_MS : 0);
    return it;
  };

  const capture = (fields: object, key: string, withCrumbs?: boolean): void => {
    sess();
    const s = seen.get(key) || { it: null, n: 0 };
    seen.set(key, s);
    if (++s.n > MAX_PER_SESSION) dropped++;
    else enqueue(fields, withCrumbs);
  };

  const captureError = (err: unknown, extra?: CaptureExtra): void => {
    const [type, message, stack] = describe(err);
    sess();
    const key = `${type}\n${message.slice(0, 300)}\n${firstFrame(message, stack)}`;
    const s = seen.get(key);
    if (s?.it) {
      // A repeat: raise the queued event's count while it may still change, else count it for the next flush.
      if (s.it.b) {
        s.n++;
        schedule();
      } else {
        const e = s.it.e as ErrorEvent;
        e.count = (e.count || 1) + 1;
        q.save();
      }
    } else if (s) {
      // ignored, sampled out or refused by beforeSend: its repeats are too
    } else if (distinctErrors++ >= MAX_PER_SESSION) {
      dropped++;
    } else {
      const text = `${type}: ${message}`;
      seen.set(key, { it: null, n: 0 });
      if (
        Math.random() < (o.sampleRate ?? 1) &&
        !o.ignoreErrors?.some((m) => (typeof m == 'string' ? text.includes(m) : m.test(text)))
      ) {
        const it = enqueue(
          {
            kind: 'error',
            type,
            message,
            stack,
            count: 1,
            mechanism: extra?.mechanism || 'manual',
            fingerprint: extra?.fingerprint,
          },
          true,
        );
        seen.set(key, { it, n: 0 });
      }
    }
  };

  const send = (id: string, items: QueueItem[], keepalive: boolean): Promise<void> => {
    // The drop count rides on one batch at a time and comes back unless that batch is delivered.
    const reported = dropped;
    dropped = 0;
    const batch: Batch = {
      v: 1,
      batchId: id,
      sentAt: Date.now(),
      // a batch without them would be refused whole: better a visible placeholder than silent loss
      release: o.release || 'unknown',
      environment: o.environment || 'unknown',
      session: sess()[0],
      user,
      account,
      loadMs: p.loadMs?.(),
      dropped: reported || undefined,
      sdk: SDK_NAME,
      events: items.map((it) => it.e),
    };
    flying.set(id, keepalive);
    return new Promise<Answer>((resolve) => resolve(p.send(url, JSON.stringify(batch), keepalive)))
      .catch((): Answer => ({ status: 0 }))
      .then(
        guard((a: Answer) => {
          flying.delete(id);
          const attempt = tries.get(id) || 0;
          // Offline is not the collector's fault: wait for the `online` event without spending an attempt.
          const offline = !a.status && p.context().online === false;
          const r = offline ? OFFLINE_RETRY_MS : decide(a.status, a.retryAfter, attempt);
          if (r != DELIVERED) dropped += reported;
          const left = q.items().filter((it) => it.b == id).length;
          if (!left) return; // another send of this batch settled it already
          if (r == DELIVERED || r == REJECTED) {
            if (r) dropped += left;
            tries.delete(id);
            q.remove(id);
            if (q.items().length) schedule();
          } else {
            if (!offline) tries.set(id, attempt + 1);
            retryAt = Date.now() + r;
            if (a.retryAfter && (a.status == 429 || a.status == 503)) hold = retryAt;
            schedule(r);
          }
        }),
      );
  };

  /** Sends what is queued: first the repeats counted since the last flush, then batches not in flight yet. */
  const flush = guard((keepalive?: boolean): Promise<void> => {
    clearTimeout(timer);
    timer = undefined;
    const now = Date.now();
    const sends: Promise<void>[] = [];
    if (now < (keepalive ? hold : retryAt)) schedule(retryAt - now);
    else {
      seen.forEach((s) => {
        if (s.n && s.it) {
          s.it = q.push({
            ...s.it.e,
            id: newId(now),
            ts: now,
            count: s.n,
            breadcrumbs: undefined,
          } as ErrorEvent);
          s.n = 0;
        }
      });
      // Seal waiting events into batches: each keeps its batch id from now on, so the collector recognises a retry.
      const groups = new Map<string, QueueItem[]>();
      let open = '';
      let size = 0;
      let count = 0;
      for (const it of q.items()) {
        if (!it.b) {
          if (!open || count >= BATCH_EVENTS || size + it.n > BATCH_BYTES) {
            open = newId(now);
            size = count = 0;
          }
          it.b = open;
          size += it.n;
          count++;
        }
        groups.set(it.b, (groups.get(it.b) || []).concat(it));
      }
      fresh = 0;
      q.save();
      let budget = BATCH_BYTES;
      for (const [id, items] of groups) {
        const f = flying.get(id);
        // On page hide, a batch in flight without keepalive is sent again: the page may cancel that request.
        if (f || (f == false && !keepalive)) continue;
        if (keepalive ? (budget -= items.reduce((n, it) => n + it.n, 0)) < 0 : sends.length >= MAX_PARALLEL)
          break;
        sends.push(send(id, items, !!keepalive));
      }
    }
    return Promise.all(sends).then(() => {});
  }, Promise.resolve());

  const report = guard(capture);

  /** assert and softAssert: never throw; a falsy condition queues an assert event. */
  const check =
    (soft: boolean) =>
    (cond: unknown, name: string, vars?: Attributes): void => {
      if (!cond) report({ kind: 'assert', name: `${name}`, soft, vars }, `${soft}${name}`, true);
    };

  return {
    captureError: guard(captureError),
    assert: check(false),
    softAssert: check(true),
    track: guard((name: string, props?: Attributes): void =>
      capture({ kind: 'feature', name: `${name}`, props }, `f${name}`),
    ),
    blocked: guard((reason: string, props?: Attributes): void =>
      capture({ kind: 'blocked', reason: `${reason}`, props }, `b${reason}`),
    ),
    /** A breadcrumb only: logs travel with the next error or failed assert, never alone. */
    log: guard((level: LogLevel, message: string): void => {
      crumbs.add(message, LEVELS.includes(level) ? level : 'info');
    }),
    /** Ids only, never names or emails (scrubbed all the same). */
    setUser: guard((u?: { id?: string; account?: string } | null): void => {
      user = u?.id ? scrub(u.id, MAX_ID) : undefined;
      account = u?.account ? scrub(u.account, MAX_ID) : undefined;
    }),
    flush,
    /** The network is back: end the backoff wait (not a Retry-After) and send. */
    resume: (): void => {
      retryAt = hold;
      void flush();
    },
  };
}
