import type { Batch, Breadcrumb, ErrorEvent } from '@telltale/protocol';
import { newId } from './ids.js';
import { decide } from './retry.js';
import { MAX_ID, MAX_STRING, scrub, scrubAttributes } from './scrub.js';
import type { Answer, Attributes, LogLevel, Options, Platform, QueueItem, TelltaleEvent } from './types.js';

declare const TELLTALE_DEBUG: boolean | undefined;
/** Debug builds (dist/telltale.debug.js) say what the SDK does; in production builds every such line is removed. */
const DEBUG = typeof TELLTALE_DEBUG != 'undefined' && TELLTALE_DEBUG;
const say = (...a: unknown[]) => console.debug('[telltale]', ...a);

/** Flush this long after the first queued event, so a burst becomes one request. */
export const DEBOUNCE_MS = 1000;
/** A batch's events stay under this many JSON bytes, so any batch fits a keepalive request (64 KB). */
export const BATCH_BYTES = 60_000;
/** Queue caps: beyond any of them the oldest events are dropped, and counted. */
export const MAX_ITEMS = 500;
export const MAX_BYTES = 1 << 20;
export const MAX_AGE_MS = 7 * 86_400_000;
/** Breadcrumbs kept; older ones fall off the ring. */
export const MAX_BREADCRUMBS = 20;
/** A session ends after 30 minutes without an event (the usual web analytics rule). */
export const SESSION_IDLE_MS = 30 * 60_000;
/** The persisted state is read and written at most this often: 10,000 errors in a loop must stay cheap. */
export const TOUCH_MS = 5000;
/** Rate limit, a token bucket kept across reloads: bursts of RATE_BURST events, then one per RATE_MS. */
export const RATE_MS = 1000;
export const RATE_BURST = 60;
/** Key of the persisted state, `session lastActive retryAfterUntil rateLimitClock` (kv) */
export const STATE_KEY = 'telltale';

// A value another script could have written: refuse anything that would make the collector reject batches.
const VALID = /^[\da-f]{32}( \d+){3}$/;
const LEVELS = /^(debug|info|warn|error)$/;
// Fields scrubbed on every event (never left empty: '?'): ids first, capped at MAX_ID, then free text.
const FIELDS = ['type', 'name', 'reason', 'mechanism', 'fingerprint', 'message', 'stack', 'url'];

export interface CaptureExtra {
  /** Groups errors by this instead of the server's fingerprint. */
  fingerprint?: string;
  /** How the error was caught: `onerror`, `onunhandledrejection`; none for `captureError` calls (manual). */
  mechanism?: string;
}

type Fields = Record<string, unknown>;
export type Client = ReturnType<typeof createClient>;
/** What add-ons see of a running client. */
export type Ctx = ReturnType<Client['ctx']>;

/** type, message and stack of anything thrown or rejected; a non-Error object gives only its keys (no customer data). */
export function describe(e: Error): [type: string, message: string, stack?: string] {
  return e && typeof e == 'object'
    ? typeof e.message == 'string'
      ? [e.name || 'Error', e.message, e.stack]
      : ['NonError', `${Object.keys(e)}`]
    : ['NonError', `${e}`];
}

/** The first stack frame (a line ending in `:line:col`): with type and message, it tells one error from another. */
export function firstFrame(stack = ''): string {
  return stack.split('\n').find((l) => /:\d+:\d+\)?$/.test(l)) || '';
}

/**
 * The SDK's state and logic, host-independent: the platform brings transport, storage and page context.
 * The session id is 32 hex digits, a valid W3C trace id: it is the session's trace id too.
 */
export function createClient(o: Options, p: Platform) {
  const now = Date.now;
  const done = Promise.resolve();
  const max = Math.max;
  // The app's own endpoint setting, read once at init: not text from outside, and the fix costs bytes.
  // eslint-disable-next-line regexp/no-super-linear-move
  const base = `${(o.endpoint || '').replace(/\/+$/, '')}/v1/`;
  const key = `?key=${encodeURIComponent(o.key)}`;
  const ring: Breadcrumb[] = [];
  /** Batch ids in flight: true when sent with keepalive. */
  const flying: Record<string, boolean> = {};
  let items: QueueItem[] = [];
  /**
   * Events of this session that count their repeats, by what tells them apart (errors: type, message and
   * first frame; features, blocked and asserts: the whole event as called): their latest queued item, or
   * null when ignored (sampled out, beforeSend).
   */
  let seen: Record<string, QueueItem | null> = {};
  /** Persisted: session id, last activity, no upload before (Retry-After), the rate limiter's clock. */
  let st: [string, number, number, number] = ['', 0, 0, 0];
  let dropped = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** No send before retryAt (backoff, Retry-After); a page hide only waits for st[2] (Retry-After). */
  let retryAt = 0;
  /** Answers in a row that asked for a retry: the backoff grows with it, a delivery resets it. */
  let fails = 0;
  let inside = 0;
  let user: string | undefined;
  let account: string | undefined;

  // Nothing the SDK does may throw into the app, or start again while it runs (that is how loops start).
  const guard =
    <A extends unknown[], R>(fn: (...a: A) => R, fallback?: R) =>
    (...a: A): R => {
      if (!inside) {
        inside = 1;
        try {
          return fn(...a);
        } catch (x) {
          if (DEBUG) say('internal error', x);
        } finally {
          inside = 0;
        }
      }
      return fallback!;
    };

  /** Adopts the persisted state where another tab or an earlier page was active later, renews an idle session, writes it back. */
  const sync = (force?: unknown): void => {
    const t = now();
    if (force || t - st[1] > TOUCH_MS) {
      try {
        const v = p.kv().getItem(STATE_KEY)!;
        // The session of whoever was active last; for activity, Retry-After and the rate limit, the later time.
        if (VALID.test(v))
          st = v
            .split(' ')
            .map((x, i, a) => (i ? max(+x, st[i] as number) : +a[1]! > st[1] ? x : st[0])) as typeof st;
      } catch {
        // storage blocked (privacy mode, sandboxed iframe): the state lives as long as the page
      }
      // A new session forgets the errors counted in the old one (one adopted from another tab keeps
      // them: their repeats are then sent as counts, not lost).
      if (t - st[1] > SESSION_IDLE_MS) {
        st[0] = newId(t);
        seen = {};
      }
      st[1] = t;
      try {
        p.kv().setItem(STATE_KEY, st.join(' '));
      } catch {
        // as above
      }
    }
  };

  /** Applies the caps, dropping the oldest first (counted); returns what it dropped, for the store. */
  const trim = (): QueueItem[] => {
    const gone: QueueItem[] = [];
    let bytes = items.reduce((n, it) => n + it.n, 0);
    const old = now() - MAX_AGE_MS;
    while (items.length > MAX_ITEMS || bytes > MAX_BYTES || (items[0]?.e.ts ?? old) < old) {
      const it = items.shift()!;
      // marked as if in a batch, so a repeat of its error starts a new event instead of counting into it
      it.b = '-';
      bytes -= it.n;
      dropped++;
      gone.push(it);
      if (DEBUG) say('queue full: dropped', it.e);
    }
    return gone;
  };

  const schedule = (ms = DEBOUNCE_MS): void => {
    if (!timer || !ms) {
      clearTimeout(timer);
      timer = setTimeout(flush, max(ms, retryAt - now()));
    }
  };

  // The store writes only what changed: an event is one record, whatever the queue's length.
  const push = (e: TelltaleEvent): QueueItem => {
    const it = { e, n: JSON.stringify(e).length };
    items.push(it);
    p.store.save([it], trim());
    schedule();
    return it;
  };

  /** Queues an event (after a sync); 0 when the rate limit refused it, null when beforeSend dropped it. */
  const enqueue = (fields: object, withCrumbs?: unknown): QueueItem | null | 0 => {
    const t = now();
    if (st[3] - t > RATE_MS * RATE_BURST) {
      dropped++;
      if (DEBUG) say('rate limited: dropped', fields);
      return 0;
    }
    st[3] = max(st[3], t) + RATE_MS;
    let e: TelltaleEvent | null | false | undefined = {
      id: newId(t),
      ts: t,
      trace: st[0],
      ...p.context(),
      // every queued kind counts its repeats (see counted)
      count: 1,
      ...fields,
      breadcrumbs: withCrumbs && ring.slice(),
    } as TelltaleEvent;
    try {
      if (o.beforeSend) e = o.beforeSend(e as TelltaleEvent);
    } catch {
      e = null;
      dropped++;
      if (DEBUG) say('beforeSend threw: dropped');
    }
    if (!e) return null;
    // Scrubbed after beforeSend, so whatever it added is scrubbed too.
    FIELDS.forEach((k, i) => {
      if ((e as Fields)[k] != null)
        (e as Fields)[k] = scrub((e as Fields)[k] as string, i > 4 ? MAX_STRING : MAX_ID) || '?';
    });
    (e as Fields).vars = scrubAttributes((e as Fields).vars);
    (e as Fields).props = scrubAttributes((e as Fields).props);
    return push(e);
  };

  /**
   * Queues the first occurrence of `k` (remembered unless the rate limit refused it); a repeat raises the
   * count of its queued event, and once that event is in a batch, a copy carries the next repeats.
   */
  const counted = (k: string, first: () => QueueItem | null | 0): void => {
    sync();
    const s = seen[k];
    if (s) {
      if (s.b) {
        seen[k] = push({ ...s.e, id: newId(), ts: now(), count: 1, breadcrumbs: undefined } as ErrorEvent);
      } else {
        (s.e as ErrorEvent).count!++;
        // stored at once: a count must survive a reload as its event does
        p.store.save([s]);
      }
    } else if (s === undefined) {
      const it = first();
      // Refused by the rate limit: not remembered, so a later occurrence may still be reported.
      if (it !== 0) seen[k] = it;
    }
  };

  const captureError = (err: unknown, extra?: CaptureExtra): void => {
    const [type, message, stack] = describe(err as Error);
    const text = `${type}: ${message}`;
    counted(`${text.slice(0, 300)}\n${firstFrame(stack)}`, () =>
      Math.random() < (o.sampleRate ?? 1) &&
      !o.ignoreErrors?.some((m) => (typeof m == 'string' ? text.includes(m) : m.test(text)))
        ? enqueue({ kind: 'error', type, message, stack, ...extra }, 1)
        : null,
    );
  };

  /** Features, blocked and failed asserts: the same call again (name, props / vars) counts into one event. */
  const use = guard((fields: object, withCrumbs?: unknown): void =>
    counted(JSON.stringify(fields), () => enqueue(fields, withCrumbs)),
  );

  const send = (id: string, keepalive: unknown): Promise<void> => {
    // The drop count rides on one batch at a time and comes back unless that batch is delivered.
    const reported = dropped;
    const batch: Batch = {
      v: 1,
      batchId: id,
      sentAt: now(),
      // a batch without them would be refused whole: better a visible placeholder than silent loss
      release: o.release || '?',
      environment: o.environment || '?',
      session: st[0],
      user,
      account,
      ...p.meta(),
      dropped: reported || undefined,
      sdk: p.sdk,
      events: items.filter((it) => it.b == id).map((it) => it.e),
    };
    dropped = 0;
    flying[id] = !!keepalive;
    return new Promise<Answer>((resolve) =>
      resolve(p.send(base + 'batch' + key, JSON.stringify(batch), keepalive)),
    )
      .catch((): Answer => ({ status: 0 }))
      .then(
        guard((a: Answer) => {
          const retryAfter = (a.status == 429 || a.status == 503) && a.headers?.get('retry-after');
          const r = decide(a.status, retryAfter, fails);
          const left = items.filter((it) => it.b == id).length;
          if (DEBUG) say('batch', id, 'answered', a.status, r ? `retry in ${r} ms` : 'delivered');
          delete flying[id];
          if (r) dropped += reported;
          if (!left) {
            // another send of this batch settled it already
          } else if (r < 1) {
            // delivered (0), or refused for good (-1) and counted as dropped
            if (r) dropped += left;
            fails = 0;
            p.store.save(
              [],
              items.filter((it) => it.b == id),
            );
            items = items.filter((it) => it.b != id);
            if (items.length) schedule(0);
          } else {
            fails++;
            retryAt = now() + r;
            // Remembered across reloads: a collector asking for quiet gets it from the next page too.
            if (retryAfter) {
              st[2] = retryAt;
              sync(1);
            }
            schedule(r);
          }
        }),
      );
  };

  /**
   * Seals waiting events into batches, then sends the first batch not in flight; on page hide, the
   * first not in flight with keepalive (a normal request may be cancelled with the page). One batch
   * per flush: what a page hide cannot send in one keepalive request waits in the store.
   */
  const flush = guard((keepalive?: unknown): Promise<unknown> => {
    const t = now();
    const sealed: QueueItem[] = [];
    let open = '';
    let size = 0;
    clearTimeout(timer);
    timer = undefined;
    sync(1);
    const wait = (keepalive ? st[2] : max(st[2], retryAt)) - t;
    if (wait > 0) schedule(wait);
    else {
      // Each event keeps its batch id from now on, so the collector recognises a retry.
      for (const it of items)
        if (!it.b) {
          if (!open || size + it.n > BATCH_BYTES) {
            open = newId(t);
            size = 0;
          }
          it.b = open;
          size += it.n;
          sealed.push(it);
        }
      p.store.save(sealed);
      const id = items.find((it) => (keepalive ? !flying[it.b!] : flying[it.b!] == null))?.b;
      if (id) return send(id, keepalive);
    }
    return done;
  }, done);

  /** assert and softAssert: never throw; a falsy condition queues an assert event. */
  const check =
    (soft: boolean) =>
    (cond: unknown, name: string, vars?: Attributes): void => {
      if (!cond) use({ kind: 'assert', name: `${name}`, soft, vars }, 1);
    };

  // Items left by an earlier page go first; a store that cannot load leaves the queue in memory.
  p.store
    .load()
    .then(
      guard((old: QueueItem[]) => {
        items = old.concat(items);
        p.store.save([], trim());
        sync(1);
        if (items.length) schedule();
      }),
    )
    .catch(() => {});
  sync();

  return {
    captureError: guard(captureError),
    assert: check(false),
    softAssert: check(true),
    track: (name: string, props?: Attributes): void => {
      use({ kind: 'feature', name: `${name}`, props });
    },
    blocked: (reason: string, props?: Attributes): void => {
      use({ kind: 'blocked', reason: `${reason}`, props });
    },
    /** A breadcrumb only: logs travel with the next error or failed assert, never alone. */
    log: guard((level: LogLevel, message: string): void => {
      if (
        ring.push({ ts: now(), level: LEVELS.test(level) ? level : 'info', message: scrub(message) }) >
        MAX_BREADCRUMBS
      )
        ring.shift();
    }),
    /** Ids only, never names or emails (scrubbed all the same). */
    setUser: guard((u?: { id?: string; account?: string } | null): void => {
      user = u?.id ? scrub(u.id, MAX_ID) : undefined;
      account = u?.account ? scrub(u.account, MAX_ID) : undefined;
    }),
    flush,
    /** The network is back: end the backoff wait (not a Retry-After) and send. */
    resume: (): void => {
      retryAt = 0;
      void flush();
    },
    /** What add-ons (bug reports, traceparent) need: routes, the session (= trace) id, breadcrumbs, options, platform. */
    ctx: () => (
      sync(),
      { url: (route: string) => base + route + key, session: st[0], user, account, ring, o, p }
    ),
  };
}
