/**
 * The one retry policy of the dispatchers: exponential backoff with jitter, capped. Sinks and the
 * mailer never retry on their own; the consumer loop and the alerter call these.
 */
export interface BackoffPolicy {
  /** Delay before the first retry, ms. */
  readonly baseMs: number;
  /** Growth per attempt. */
  readonly multiplier: number;
  /** Largest delay, ms: a dead sink is probed at this rate until it returns. */
  readonly capMs: number;
  /** Fraction of the delay that is randomised (0..1), so restarted workers do not retry in lockstep. */
  readonly jitter: number;
}

/** Sinks (DuckDB, later ClickHouse / Log Analytics): retry fast at first, then every 30 s. */
export const SINK_BACKOFF: BackoffPolicy = Object.freeze({
  baseMs: 200,
  multiplier: 2,
  capMs: 30_000,
  jitter: 0.5,
});

/** SMTP: a mail server that is down tends to stay down for minutes, so start slower and cap at 10 min. */
export const MAIL_BACKOFF: BackoffPolicy = Object.freeze({
  baseMs: 1_000,
  multiplier: 2,
  capMs: 600_000,
  jitter: 0.5,
});

/** Delay before retry number `attempt` (1 = first retry); `hintMs` (a Retry-After) wins when larger. */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy,
  hintMs?: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, attempt - 1);
  const raw = Math.min(policy.capMs, policy.baseMs * policy.multiplier ** exponent);
  const delay = raw * (1 - policy.jitter) + raw * policy.jitter * random();
  const hinted =
    hintMs !== undefined && Number.isFinite(hintMs) ? Math.min(policy.capMs, Math.max(0, hintMs)) : 0;
  return Math.round(Math.max(delay, hinted));
}

/** A sleep that `wake()` ends early (stop requests, new data). */
export interface Sleeper {
  sleep(ms: number): Promise<void>;
  wake(): void;
}

export function createSleeper(): Sleeper {
  let pending: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  return {
    sleep(ms) {
      return new Promise<void>((resolve) => {
        const done = (): void => {
          if (pending?.resolve === done) {
            clearTimeout(pending.timer);
            pending = undefined;
          }
          resolve();
        };
        pending = { timer: setTimeout(done, ms), resolve: done };
      });
    },
    wake() {
      pending?.resolve();
    },
  };
}

/**
 * Circuit breaker: after `failureThreshold` failed exports in a row the sink is left alone for
 * `openMs` (doubling up to `maxOpenMs` while it stays dead), then one probe is let through.
 */
export interface BreakerPolicy {
  readonly failureThreshold: number;
  readonly openMs: number;
  readonly maxOpenMs: number;
}

export const SINK_BREAKER: BreakerPolicy = Object.freeze({
  failureThreshold: 5,
  openMs: 5_000,
  maxOpenMs: 60_000,
});

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerStats {
  state: BreakerState;
  /** Failed exports in a row. */
  failures: number;
  /** Times the breaker opened since start. */
  opened: number;
  /** Exports answered "retry later" without calling the sink, since start. */
  shortCircuited: number;
}

export interface CircuitBreaker {
  /** Undefined: go ahead (closed, or this call is the probe). A number: wait that long, do not call. */
  check(): number | undefined;
  /** The outcome of a call that `check` let through. */
  record(success: boolean): void;
  stats(): BreakerStats;
}

export function createCircuitBreaker(
  policy: BreakerPolicy = SINK_BREAKER,
  now: () => number = Date.now,
): CircuitBreaker {
  let failures = 0;
  let opened = 0;
  let shortCircuited = 0;
  let openUntil = 0;
  let openFor = policy.openMs;
  let probing = false;
  const state = (): BreakerState =>
    failures < policy.failureThreshold ? 'closed' : now() < openUntil || probing ? 'open' : 'half-open';
  return {
    check() {
      if (failures < policy.failureThreshold) return undefined;
      const wait = openUntil - now();
      if (wait <= 0 && !probing) {
        probing = true; // exactly one probe at a time; the sink's other consumers keep waiting
        return undefined;
      }
      shortCircuited += 1;
      // While the probe is out, look again shortly: it decides for everyone.
      return wait > 0 ? wait : Math.min(policy.openMs, 1_000);
    },
    record(success) {
      const wasProbe = probing;
      probing = false;
      if (success) {
        failures = 0;
        openFor = policy.openMs;
        return;
      }
      failures += 1;
      if (failures === policy.failureThreshold || wasProbe) {
        if (wasProbe) openFor = Math.min(policy.maxOpenMs, openFor * 2);
        openUntil = now() + openFor;
        opened += 1;
      }
    },
    stats: () => ({ state: state(), failures, opened, shortCircuited }),
  };
}

/** What `retryUntil` needs from one attempt: done, or try again (after at least `retryAfterMs`). */
export type AttemptResult<T> =
  { done: true; value: T } | { done: false; retryAfterMs?: number; reason: string };

/**
 * The retry loop for callers outside the consumer loop (the CLI's replay): backoff with jitter,
 * Retry-After honoured, given up at `deadlineMs` with the last reason.
 */
export async function retryUntil<T>(
  attempt: () => Promise<AttemptResult<T>>,
  options: {
    policy?: BackoffPolicy;
    deadlineMs: number;
    onRetry?: (reason: string, delayMs: number) => void;
  },
): Promise<T> {
  const policy = options.policy ?? SINK_BACKOFF;
  const deadline = Date.now() + options.deadlineMs;
  for (let n = 1; ; n += 1) {
    const result = await attempt();
    if (result.done) return result.value;
    const delay = backoffDelay(n, policy, result.retryAfterMs);
    if (Date.now() + delay > deadline) throw new Error(`gave up after ${n} attempts: ${result.reason}`);
    options.onRetry?.(result.reason, delay);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/**
 * A server's wait hint in ms: `retry-after-ms` / `x-ms-retry-after-ms`, or `Retry-After` as seconds or
 * an HTTP date. Undefined when absent or unreadable.
 */
export function parseRetryAfter(
  header: (name: string) => string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const ms = Number(header(name));
    if (header(name) && Number.isFinite(ms) && ms >= 0) return ms;
  }
  const value = header('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(?:\.\d+)?$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
